#!/usr/bin/env bash
# The same bits on a second glibc: build a Debian 13 (trixie: glibc 2.41, correctly rounded tanhf/expm1f)
# root with mmdebstrap, install satrnn in it with pip, and run the bit-exactness tests there: golden hashes of
# satrnn's own arithmetic, the published weights' states and bpc under both tanh semantics, the RNN-UM
# isomorphism under both, "cr" against the host's own correctly rounded tanhf, and the default model's
# rebuild bits. Usage: bash .ci/cross_host.sh  (root; about 3-5 minutes). Skips, saying why, only where the
# machine cannot build the root (not root, no mmdebstrap and no apt, no chroot). SATRNN_CROSS_EXHAUSTIVE=FILE
# also runs scripts/check_tanhf_exhaustive.py over all 2^32 inputs in the root (about 15 minutes on two cores)
# and writes its JSON to FILE.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
DATA="${SATRNN_DATA:-$(cd .. && pwd)/shared/data}"

skip() { echo "cross-host check SKIPPED: $*" >&2; exit 0; }
[ "$(id -u)" = 0 ] || skip "needs root (mmdebstrap, chroot, mount)"
if ! command -v mmdebstrap >/dev/null; then
  command -v apt-get >/dev/null || skip "no mmdebstrap and no apt-get to install it"
  apt-get install -y -q mmdebstrap >/dev/null 2>&1 || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q mmdebstrap >/dev/null; } \
    || skip "mmdebstrap could not be installed"
fi

WORK=$(mktemp -d /tmp/satrnn-trixie.XXXXXX)
ROOT="$WORK/root"
cleanup() {
  local m
  for m in "$ROOT/proc" "$ROOT/dev"; do
    mountpoint -q "$m" 2>/dev/null && { umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; }
  done
  # never delete through a mount that is still there (it would be the host's /dev or /proc)
  if mountpoint -q "$ROOT/proc" 2>/dev/null || mountpoint -q "$ROOT/dev" 2>/dev/null; then
    echo "cross-host: $ROOT still has mounts; left in place" >&2
  else
    rm -rf --one-file-system "$WORK"
  fi
}
trap cleanup EXIT

echo "cross-host: building a Debian 13 root in $ROOT" >&2
mmdebstrap --quiet --variant=apt --include=python3,python3-venv,libstdc++6,ca-certificates trixie "$ROOT" \
  || skip "mmdebstrap could not build a trixie root (no network to the Debian mirror?)"
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
if [ -f /etc/ssl/certs/ca-certificates.crt ]; then     # this machine's CA bundle (it may hold a proxy's CA)
  cp /etc/ssl/certs/ca-certificates.crt "$ROOT/etc/ssl/certs/ca-certificates.crt"
fi
mount --bind /proc "$ROOT/proc"
mount --bind /dev "$ROOT/dev"
mkdir -p "$ROOT/src" "$ROOT/data"
git ls-files -z | tar --null -T - -cf - | tar -xf - -C "$ROOT/src"
cp "$DATA/sat_model.bin" "$DATA/enwik_1024.txt" "$ROOT/data/"

chroot "$ROOT" /usr/bin/env -i PATH=/usr/local/bin:/usr/bin:/bin HOME=/root LANG=C.UTF-8 \
  PIP_CERT=/etc/ssl/certs/ca-certificates.crt PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_DEFAULT_TIMEOUT=180 \
  SATRNN_DATA=/data NUMBA_CACHE_DIR=/tmp/numba EXHAUSTIVE="${SATRNN_CROSS_EXHAUSTIVE:-}" \
  /bin/bash -euo pipefail -c '
    echo "cross-host: $(ldd --version | head -1); $(python3 --version)" >&2
    python3 -m venv /venv
    /venv/bin/python -m pip install -q /src pytest hypothesis mpmath
    cd /tmp          # not /src: its satrnn/ folder would shadow the installed package
    /venv/bin/python -c "import ctypes; f = ctypes.CDLL(None).gnu_get_libc_version; f.restype = ctypes.c_char_p; print(\"glibc\", f().decode())"
    /venv/bin/python -m pytest -q -p no:cacheprovider --rootdir /src -c /src/pyproject.toml \
      /src/tests/test_portability.py /src/tests/test_elementary.py \
      "/src/tests/test_default.py::test_shipped_weights_are_what_the_recipe_trains"
    if [ -n "${EXHAUSTIVE:-}" ]; then
      /venv/bin/python /src/scripts/check_tanhf_exhaustive.py --json > /tmp/exhaustive.json || true
    fi
  '
if [ -n "${SATRNN_CROSS_EXHAUSTIVE:-}" ]; then
  cp "$ROOT/tmp/exhaustive.json" "$SATRNN_CROSS_EXHAUSTIVE"
fi
echo "cross-host: the same bits on Debian 13 (glibc 2.41)" >&2
