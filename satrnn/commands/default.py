"""`satrnn default [--rebuild]`: where the cached default model lives, its bpc and its recipe."""
from __future__ import annotations

from rich.table import Table

from satrnn.clikit import add_json_flag, add_tanh_arg, console, emit_json, progress
from satrnn.rnn.default import DEFAULT_RECIPE, build_model, cache_dir, check_cached, default_corpus, default_model_path
from satrnn.rnn.forward import forward
from satrnn.rnn.train import text_digest


def register(sub) -> None:
    p = sub.add_parser("default", help="the default model: where it is read from (shipped or rebuilt cache), bpc, "
                       "recipe")
    add_tanh_arg(p)
    p.add_argument("--rebuild", action="store_true", help="retrain the default model (into the cache directory) even "
                   "if a valid one exists")
    add_json_flag(p)
    p.set_defaults(func=run)


def run(args) -> int:
    path = default_model_path()
    _, before = check_cached(path, DEFAULT_RECIPE, default_corpus())
    model, info = build_model(progress, rebuild=args.rebuild)
    xs = default_corpus()
    m = model.meta
    # the shipped bpc is the fdlibm one (the model's own semantics); another --tanh is measured now
    bpc = m.get("bpc_f32") if args.tanh == model.tanh else forward(model.with_tanh(args.tanh), xs).bpc
    doc = {"path": info["path"], "cache_path": str(path), "cache_dir": str(cache_dir()), "status": info["status"],
           "cache_before": before, "H": model.H, "bpc": bpc,
           "bpc_definition": "float32 reference forward on the corpus, h_-1 = 0, clamped cost",
           "corpus": "rnn/data/default_corpus.txt (bundled)", "corpus_bytes": int(len(xs)),
           "corpus_sha256": text_digest(xs), "recipe": DEFAULT_RECIPE.to_dict(),
           "recipe_sha256": DEFAULT_RECIPE.digest(), "seed": DEFAULT_RECIPE.seed,
           "train_seconds": m.get("train_seconds"), "created_utc": m.get("created_utc"),
           "weights_sha256": m.get("weights_sha256"), "seconds_this_call": info["seconds"]}
    if args.json:
        emit_json(doc)
        return 0
    r = DEFAULT_RECIPE
    t = Table(title="default model", title_justify="left", show_header=False)
    t.add_column("", style="bold")
    t.add_column("")
    t.add_row("file", info["path"] + (" (shipped with satrnn)" if info["status"] == "bundled" else ""))
    t.add_row("status", f"{info['status']}" + (f" ({info.get('reason')})" if info["status"] == "trained" else ""))
    t.add_row("bpc", f"{doc['bpc']:.4f} on the bundled corpus ({len(xs):,} bytes; float32 reference forward, "
                     f"{args.tanh} tanh)")
    t.add_row("recipe", f"H={r.H}, {r.epochs} epochs, BPTT-{r.bptt}, {r.optimizer} lr={r.lr:g} {r.schedule}, "
                        f"clip={r.clip:g}, seed={r.seed}, {r.precision}")
    t.add_row("training time", f"{doc['train_seconds']:.1f} s (when it was built, {doc['created_utc']})")
    t.add_row("override", f"`satrnn default --rebuild` retrains into {path} (used instead of the shipped file); "
                          "set SATRNN_HOME to cache elsewhere")
    console.print(t)
    return 0
