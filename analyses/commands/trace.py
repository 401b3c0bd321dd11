"""`satrnn trace MODEL TEXT --out FILE.npy`: the hidden states, row t = state after byte t."""
from __future__ import annotations

from satrnn.rnn.forward import PRECISIONS, run_states
from satrnn.rnn.errors import SatrnnInputError

from ..clikit import (StagedOutputs, add_json_flag, add_model_text_args, check_writable, console,
                      declare_outputs, emit_json, load_model_text_args, save_npy)


def register(sub) -> None:
    p = sub.add_parser("trace", help="write the (n, H) hidden states of the reference forward to a .npy file")
    add_model_text_args(p)
    p.add_argument("--out", required=True, metavar="FILE.npy", help="output .npy file for the (n, H) states")
    p.add_argument("--preact", metavar="FILE.npy", help="also write the pre-activations z (n, H)")
    p.add_argument("--precision", choices=PRECISIONS, default="f32")
    declare_outputs(p, "out", "preact")
    add_json_flag(p)
    p.set_defaults(func=run)


def run(args) -> int:
    for path in (args.out, args.preact):
        if path is not None:
            if not str(path).endswith(".npy"):
                raise SatrnnInputError(f"output file {path} must end in .npy")
            check_writable(path)
    model, xs = load_model_text_args(args, min_bytes=1)
    hs, zs = run_states(model, xs, precision=args.precision)
    with StagedOutputs():  # both files or neither
        save_npy(args.out, hs)
        if args.preact:
            save_npy(args.preact, zs)
    out = {"out": args.out, "preact": args.preact, "shape": list(hs.shape), "dtype": str(hs.dtype),
           "alignment": "row t = h_t, the state after reading byte t (h_-1 = 0)"}
    if args.json:
        emit_json(out)
    else:
        console.print(f"wrote {hs.shape[0]:,} x {hs.shape[1]} {hs.dtype} states to {args.out}"
                      + (f" and pre-activations to {args.preact}" if args.preact else ""))
    return 0
