"""`satrnn train [TEXT] --out MODEL.npz`: truncated-BPTT training of an Elman RNN (Numba)."""
from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

from rich.table import Table

from satrnn.clikit import (
    StagedOutputs,
    add_json_flag,
    check_int,
    check_writable,
    console,
    declare_inputs,
    declare_outputs,
    emit_json,
    progress,
)
from satrnn.rnn.default import DEFAULT_RECIPE, default_corpus
from satrnn.rnn.errors import SatrnnInputError
from satrnn.rnn.model import TANH_SEMANTICS, save_model
from satrnn.rnn.text import load_text
from satrnn.rnn.train import OPTIMIZERS, SCHEDULES, Recipe, load_checkpoint, train

# The papers' stated recipe (seed 003 section 2: BPTT-50, Adam 0.001, 4000 epochs, seed 42). Their
# initialisation, clipping and schedule are not stated; we use ours with no clipping and a constant rate.
PAPERS_RECIPE = Recipe(H=128, epochs=4000, bptt=50, lr=0.001, optimizer="adam", schedule="constant", clip=0.0,
                       seed=42)
PRESETS = {"default": DEFAULT_RECIPE, "papers": PAPERS_RECIPE}
OVERRIDES = {"hidden": "H", "epochs": "epochs", "bptt": "bptt", "lr": "lr", "lr_min": "lr_min",
             "optimizer": "optimizer", "schedule": "schedule", "clip": "clip", "seed": "seed",
             "precision": "precision", "tanh": "tanh"}


def register(sub) -> None:
    p = sub.add_parser("train", help="train an Elman RNN with truncated BPTT (Adam/SGD, clipping, cosine lr)")
    p.add_argument("text", nargs="?", default=None, metavar="TEXT",
                   help="training text (bytes); omit for the bundled default corpus")
    p.add_argument("--out", required=True, metavar="FILE", help="trained model (.npz, or .bin for raw float32)")
    p.add_argument("--max-bytes", type=int, default=None, metavar="N", help="train on the first N bytes only")
    p.add_argument("--recipe", choices=sorted(PRESETS), default="default",
                   help="starting values for every option below: 'default' (the default model's recipe) or "
                        "'papers' (BPTT-50, Adam 0.001 constant, 4000 epochs, seed 42, no clipping)")
    p.add_argument("--hidden", type=int, default=None, metavar="H", help="hidden neurons")
    p.add_argument("--epochs", type=int, default=None, help="passes over the text")
    p.add_argument("--bptt", type=int, default=None, metavar="T", help="predictions per truncated-BPTT chunk")
    p.add_argument("--lr", type=float, default=None, help="(peak) learning rate")
    p.add_argument("--lr-min", type=float, default=None, help="final learning rate of the cosine schedule")
    p.add_argument("--schedule", choices=SCHEDULES, default=None, help="learning-rate schedule")
    p.add_argument("--optimizer", choices=OPTIMIZERS, default=None, help="adam or plain sgd")
    p.add_argument("--clip", type=float, default=None, help="clip each update's gradient to this L2 norm (0 = off)")
    p.add_argument("--seed", type=int, default=None, help="initialisation seed")
    p.add_argument("--precision", choices=("f64", "f32"), default=None,
                   help="arithmetic of the master weights and gradients (the model is saved as float32)")
    p.add_argument("--checkpoint", metavar="FILE", default=None,
                   help="write a resumable checkpoint (.npz, also loadable as a model) every --checkpoint-every "
                        "epochs and at the end")
    p.add_argument("--checkpoint-every", type=int, default=50, metavar="N", help="epochs between checkpoints")
    p.add_argument("--resume", metavar="FILE", default=None,
                   help="continue from a checkpoint (its recipe is used; recipe options are then refused)")
    p.add_argument("--bin", metavar="FILE", default=None, help="also write the papers' raw float32 .bin")
    p.add_argument("--tanh", choices=TANH_SEMANTICS, default=None,
                   help="float32 tanh of the forward (training at --precision f32, and the final bpc): fdlibm "
                        "(default; glibc <= 2.40's tanhf) or cr (correctly rounded)")
    declare_inputs(p, "text", "resume")
    declare_outputs(p, "out", "bin")
    declare_outputs(p, "checkpoint", may_replace=("resume",))  # a checkpoint rewritten is still resumable
    add_json_flag(p)
    p.set_defaults(func=run)


def _recipe_from_args(args) -> Recipe:
    r = PRESETS[args.recipe]
    changes = {field: getattr(args, opt) for opt, field in OVERRIDES.items() if getattr(args, opt) is not None}
    return replace(r, **changes).validate()


def _check_out(path: str, option: str, suffixes: tuple[str, ...]) -> Path:
    p = Path(path)
    if p.suffix.lower() not in suffixes:
        raise SatrnnInputError(f"{option} {p} must end in {' or '.join(suffixes)}")
    return check_writable(p)


def run(args) -> int:
    # validate everything before training
    out = _check_out(args.out, "--out", (".npz", ".bin"))
    binp = _check_out(args.bin, "--bin", (".bin",)) if args.bin else None
    ckpt = _check_out(args.checkpoint, "--checkpoint", (".npz",)) if args.checkpoint else None
    every = check_int("--checkpoint-every", args.checkpoint_every, 1, 10**7)
    resume = None
    if args.resume:
        given = [f"--{o.replace('_', '-')}" for o in OVERRIDES if getattr(args, o) is not None]
        if given or args.recipe != "default":
            raise SatrnnInputError(f"--resume uses the checkpoint's recipe; drop {', '.join(given) or '--recipe'}")
        resume = load_checkpoint(args.resume)
        recipe = resume.recipe
    else:
        recipe = _recipe_from_args(args)
    if args.text is None:
        xs, source = default_corpus(), "bundled default corpus"
        if args.max_bytes is not None:
            xs = xs[:check_int("--max-bytes", args.max_bytes, 2, 1 << 40)]
    else:
        xs, source = load_text(args.text, max_bytes=args.max_bytes), args.text
    if resume is not None and resume.epoch >= recipe.epochs:
        raise SatrnnInputError(f"checkpoint {args.resume} already completed all {recipe.epochs} epochs")

    start_epoch = resume.epoch if resume is not None else 0
    with progress() as prog:
        result = train(xs, resume=resume, recipe=recipe, progress=prog, checkpoint=ckpt, checkpoint_every=every)
    with StagedOutputs():  # --out and --bin together or neither
        save_model(result.model, out)
        if binp is not None:
            save_model(result.model, binp)
    st = result.state
    doc = {"out": str(out), "bin": str(binp) if binp else None, "checkpoint": str(ckpt) if ckpt else None,
           "text": source, "bytes": int(len(xs)), "text_sha256": st.text_sha256, "recipe": recipe.to_dict(),
           "seed": recipe.seed, "epochs": st.epoch, "updates": st.step, "resumed_from_epoch":
           start_epoch if resume is not None else None,
           "bpc": result.bpc, "bpc_definition": "float32 reference forward (rnn.forward) on the training text, "
           "h_-1 = 0, clamped cost", "train_bpc_last_epoch": st.history[-1],
           "train_seconds": result.seconds}
    if args.json:
        emit_json(doc)
        return 0
    t = Table(title=f"trained {out}", title_justify="left", show_header=False)
    t.add_column("", style="bold")
    t.add_column("")
    r = recipe
    t.add_row("text", f"{source} ({len(xs):,} bytes)")
    t.add_row("recipe", f"H={r.H}, {r.epochs} epochs, BPTT-{r.bptt}, {r.optimizer} lr={r.lr:g} "
                        f"({r.schedule}{'' if r.schedule == 'constant' else f' to {r.lr_min:g}'}), "
                        f"clip={r.clip:g}, seed={r.seed}, {r.precision}")
    t.add_row("bpc", f"{result.bpc:.4f} (float32 reference forward); last epoch's training bpc "
                     f"{st.history[-1]:.4f}")
    t.add_row("time", f"{result.seconds:.1f} s ({st.epoch / max(result.seconds, 1e-9):.1f} epochs/s)"
              if math.isfinite(result.seconds) else "-")
    if binp:
        t.add_row("raw .bin", str(binp))
    if ckpt:
        t.add_row("checkpoint", str(ckpt))
    console.print(t)
    return 0
