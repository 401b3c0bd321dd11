/* The naive C forward of DEFINITIONS 0.3-0.5, written as the papers' reference programs compute it: for
 * each byte, each neuron's float32 pre-activation summed in order (j ascending), the host libm's tanhf, then
 * the double readout (float32 products accumulated in double, o outer, j inner), softmax with libm exp,
 * -log2 of the clamped probability. No vectorisation beyond what gcc -O2 does by itself.
 *
 * Usage: naive_forward MODEL.bin TEXT  -> prints "bpc <value> seconds <compute time>" (file reading
 * excluded). Built by benchmarks/bench_arith.py with `cc -O2 -lm` (no -ffast-math, no -march=native).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

int main(int argc, char **argv) {
    if (argc != 3) { fprintf(stderr, "usage: %s MODEL.bin TEXT\n", argv[0]); return 2; }
    FILE *f = fopen(argv[1], "rb");
    if (!f) { perror(argv[1]); return 2; }
    fseek(f, 0, SEEK_END);
    long nb = ftell(f);
    fseek(f, 0, SEEK_SET);
    long nf = nb / 4;
    int H = 0;
    while ((long)(H + 1) * (H + 1) + 513L * (H + 1) + 256 <= nf) H++;
    if ((long)H * H + 513L * H + 256 != nf) { fprintf(stderr, "bad model size\n"); return 2; }
    float *w = malloc(nb);
    if (fread(w, 4, nf, f) != (size_t)nf) { fprintf(stderr, "short read\n"); return 2; }
    fclose(f);
    float *Wx = w, *Wh = Wx + H * 256, *bh = Wh + H * H, *Wy = bh + H, *by = Wy + 256 * H;
    f = fopen(argv[2], "rb");
    if (!f) { perror(argv[2]); return 2; }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *x = malloc(n);
    if (fread(x, 1, n, f) != (size_t)n) { fprintf(stderr, "short read\n"); return 2; }
    fclose(f);

    float *h = calloc(H, 4), *hn = malloc(H * 4);
    double L[256];
    double total = 0.0;
    double t0 = now();
    for (long t = 0; t + 1 < n; t++) {
        for (int i = 0; i < H; i++) {
            float z = bh[i] + Wx[i * 256 + x[t]];
            for (int j = 0; j < H; j++) z += Wh[i * H + j] * h[j];
            hn[i] = tanhf(z);
        }
        memcpy(h, hn, H * 4);
        double mx = -INFINITY;
        for (int o = 0; o < 256; o++) {
            double acc = by[o];
            for (int j = 0; j < H; j++) acc += (double)(Wy[o * H + j] * h[j]);
            L[o] = acc;
            if (acc > mx) mx = acc;
        }
        double Z = 0.0;
        for (int o = 0; o < 256; o++) Z += exp(L[o] - mx);
        double p = exp(L[x[t + 1]] - mx) / Z;
        total += -log2(p > 1e-30 ? p : 1e-30);
    }
    double secs = now() - t0;
    printf("bpc %.17g seconds %.6f\n", total / (n - 1), secs);
    return 0;
}
