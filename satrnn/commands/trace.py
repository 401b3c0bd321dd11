"""`satrnn trace MODEL TEXT --out FILE.npy`: the hidden states, row t = state after byte t.

Streamed: the text is read and run in chunks (O(H) state carried); each chunk's rows are appended to the
.npy files behind a header written first, so memory stays flat whatever the length. The files are staged
(`StagedOutputs`) and renamed only when every one is complete: all of them or none.
"""
from __future__ import annotations

import numpy as np

from satrnn import options as o
from satrnn.clikit import StagedOutputs, check_writable, console, emit_json, model_and_text_source, progress
from satrnn.rnn.errors import SatrnnInputError
from satrnn.rnn.forward import PRECISIONS, iter_states
from satrnn.unit import Command, option


def _open_output(tmp: str):
    return open(tmp, "wb")


def _write(f, what, data):
    try:
        f.write(data)
    except OSError as e:
        raise SatrnnInputError(f"cannot write {what}: {e.strerror}") from None


def run(args) -> int:
    paths = [p for p in (args.out, args.preact) if p is not None]
    for path in paths:
        if not str(path).endswith(".npy"):
            raise SatrnnInputError(f"output file {path} must end in .npy")
        check_writable(path)
    model, source, n = model_and_text_source(args, min_bytes=1)
    dtype = np.dtype(np.float32 if args.precision == "f32" else np.float64)
    header = {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False, "shape": (n, model.H)}
    rows = 0
    with StagedOutputs() as staged:   # every file complete and renamed, or none
        files = [_open_output(staged.reserve(p)) for p in paths]
        try:
            for f, p in zip(files, paths):
                try:
                    np.lib.format.write_array_header_1_0(f, header)
                except OSError as e:
                    raise SatrnnInputError(f"cannot write {p}: {e.strerror}") from None
            with progress() as bar:
                task = bar.add_task(f"trace ({args.precision})", total=n)
                for block in iter_states(model, source, args.precision, want_z=args.preact is not None):
                    _write(files[0], args.out, memoryview(block.hs[1:]).cast("B"))
                    if args.preact is not None:
                        _write(files[1], args.preact, memoryview(block.zs).cast("B"))
                    rows = block.start + block.xs.shape[0]
                    bar.update(task, completed=rows)
            if rows != n:
                raise SatrnnInputError(f"TEXT gave {rows:,} bytes, expected {n:,} (did it change while read?)")
        finally:
            for f in files:
                f.close()
    out = {"out": args.out, "preact": args.preact, "shape": [n, model.H], "dtype": dtype.name,
           "alignment": "row t = h_t, the state after reading byte t (h_-1 = 0)"}
    if args.json:
        emit_json(out)
    else:
        console.print(f"wrote {n:,} x {model.H} {dtype.name} states to {args.out}"
                      + (f" and pre-activations to {args.preact}" if args.preact else ""))
    return 0


COMMAND = Command(
    "trace", "write the (n, H) hidden states of the reference forward to a .npy file", run,
    options=(o.MODEL_TEXT,
             o.OUT.but(required=True, metavar="FILE.npy", help="output .npy file for the (n, H) states"),
             option("--preact", metavar="FILE.npy", writes=True, help="also write the pre-activations z (n, H)"),
             o.PRECISION.but(choices=PRECISIONS, help=None), o.JSON))
