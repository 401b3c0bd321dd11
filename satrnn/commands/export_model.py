"""`satrnn export MODEL --format safetensors --out model.safetensors`: a satrnn model as a PyTorch state dict.

Writes the one-hot layout of a one-layer tanh nn.RNN with an nn.Linear decoder (the names recorded at import,
else rnn.* and decoder.*); `satrnn import` of the result gives the same bits (see `satrnn.rnn.torch_layout`).
"""
from __future__ import annotations

from satrnn import options as o
from satrnn.clikit import console, emit_json, load_model_arg
from satrnn.rnn.errors import SatrnnInputError
from satrnn.rnn.torch_layout import export_safetensors
from satrnn.unit import Command, option

FORMATS = ("safetensors",)


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


COMMAND = Command("export", "write a model as a PyTorch state dict (safetensors), for the round trip", run,
                  options=(o.MODEL,
                           option("--format", choices=FORMATS, default="safetensors",
                                  help="output format (default safetensors)"),
                           o.OUT.but(required=True, metavar="FILE.safetensors", default=None, help="the file to write"),
                           o.JSON))
