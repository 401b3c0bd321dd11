"""`satrnn export MODEL --format safetensors --out model.safetensors`: a satrnn model as a PyTorch state dict.

Writes the one-hot layout of a one-layer tanh nn.RNN with an nn.Linear decoder (the names recorded at import,
else rnn.* and decoder.*); `satrnn import` of the result gives the same bits (see `satrnn.rnn.torch_layout`).
"""
from __future__ import annotations

from satrnn.clikit import add_json_flag, add_model_arg, console, declare_outputs, emit_json, load_model_arg
from satrnn.rnn.errors import SatrnnInputError
from satrnn.rnn.torch_layout import export_safetensors

FORMATS = ("safetensors",)


def register(sub) -> None:
    p = sub.add_parser("export", help="write a model as a PyTorch state dict (safetensors), for the round trip")
    add_model_arg(p)
    p.add_argument("--format", choices=FORMATS, default="safetensors", help="output format (default safetensors)")
    p.add_argument("--out", required=True, metavar="FILE.safetensors", help="the file to write")
    declare_outputs(p, "out")
    add_json_flag(p)
    p.set_defaults(func=run)


def run(args) -> int:
    if not args.out.endswith(".safetensors"):
        raise SatrnnInputError(f"--out {args.out}: the file name must end in .safetensors")
    model = load_model_arg(args)
    names = export_safetensors(model, args.out)
    V = len(model.vocab_bytes())
    out = {"out": args.out, "format": args.format, "H": model.H, "V": V, "layout": "one-hot",
           "tensors": names, "vocab": list(model.vocab_bytes())}
    if args.json:
        emit_json(out)
        return 0
    tensors = ", ".join(n for n in names.values() if n is not None)
    console.print(f"wrote {args.out}: one-hot nn.RNN layout, H = {model.H}, V = {V} ({tensors})", markup=False)
    return 0
