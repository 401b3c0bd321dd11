"""`satrnn import MODEL.safetensors [--vocab VOCAB] --out model.npz`: bring your own PyTorch Elman RNN.

Reads a PyTorch state dict saved with safetensors (numpy only, no torch): an optional nn.Embedding, a one-layer
tanh nn.RNN and an nn.Linear decoder over V <= 256 symbols. The layout, the mapping to satrnn's float32 model
and every refusal are documented in `satrnn.rnn.torch_layout`.
"""
from __future__ import annotations

from satrnn import options as o
from satrnn.clikit import console, declare_inputs, emit_json
from satrnn.rnn.model import save_model
from satrnn.rnn.torch_layout import NONE, ROLES, import_safetensors
from satrnn.rnn.vocab import parse_vocab, show_vocab
from satrnn.unit import Arguments, Command, option


def _tensor_names(p) -> None:
    for role, (flag, what) in ROLES.items():
        none = f" ('{NONE}': absent)" if role in ("bias_ih", "bias_hh", "embedding", "decoder_bias") else ""
        p.add_argument(flag, dest=f"t_{role}", default=None, metavar="NAME",
                       help=f"tensor name of the {what}{none}, where the layout is ambiguous")
    declare_inputs(p, "source", "vocab")
    o.JSON.add_to(p)


def run(args) -> int:
    vocab = parse_vocab(args.vocab) if args.vocab is not None else None
    names = {role: getattr(args, f"t_{role}") for role in ROLES}
    model = import_safetensors(args.source, vocab=vocab, names=names)
    save_model(model, args.out)
    prov = model.meta["import"]
    out = {"out": args.out, "source": args.source, "sha256": prov["sha256"], "layout": prov["layout"],
           "H": model.H, "V": prov["V"], "E": prov["E"], "tensors": prov["tensors"], "dtypes": prov["dtypes"],
           "vocab": prov["vocab"], "vocab_from": prov["vocab_from"], "mapping": prov["mapping"]}
    if args.json:
        emit_json(out)
        return 0
    tensors = ", ".join(f"{r}={n}" for r, n in prov["tensors"].items() if n is not None)
    console.print(f"imported {args.source} (sha256 {prov['sha256'][:16]}...): {prov['layout']} layout, "
                  f"H = {model.H}, V = {prov['V']}" + (f", E = {prov['E']}" if prov["E"] else ""), markup=False)
    console.print(f"tensors: {tensors}", markup=False)
    console.print(f"vocabulary ({prov['vocab_from']}): {show_vocab(model.vocab)}", markup=False)
    console.print(f"wrote {args.out}", markup=False)
    return 0


COMMAND = Command(
    "import", "import a PyTorch Elman RNN state dict (safetensors) as a satrnn model", run,
    options=(option("source", metavar="MODEL.safetensors", help="the state dict, saved with safetensors"),
             o.OUT.but(required=True, metavar="FILE.npz", help="the satrnn model to write (.npz)"),
             option("--vocab", default=None, metavar="VOCAB",
                    help="the byte of each index: a JSON list ('[10, 32, 97]' or '[\"a\", \"b\"]'), a .json file "
                         "holding one, or a file of the V characters (latin-1, bytes as stored); not needed for "
                         "V = 256 or a file satrnn exported"),
             Arguments(_tensor_names)))
