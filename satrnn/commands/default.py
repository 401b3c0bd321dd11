"""`satrnn default [--rebuild]`: where the cached default model lives, its bpc and its recipe."""
from __future__ import annotations

from satrnn import options as o
from satrnn.clikit import console, emit_json, progress
from satrnn.report import render
from satrnn.rnn.default import DEFAULT_RECIPE, build_model, cache_dir, check_cached, default_corpus, default_model_path
from satrnn.rnn.forward import forward
from satrnn.rnn.train import text_digest
from satrnn.unit import Command, option


def run(args) -> int:
    path = default_model_path()
    _, before = check_cached(path, DEFAULT_RECIPE, default_corpus())
    model, info = build_model(progress, rebuild=args.rebuild)
    xs = default_corpus()
    m = model.meta
    # the shipped bpc is the fdlibm one (the model's own semantics); another --tanh is measured now
    bpc = m.get("bpc_f32") if args.tanh == model.tanh else forward(model.with_tanh(args.tanh), xs).bpc
    doc = {"path": info.path, "cache_path": str(path), "cache_dir": str(cache_dir()), "status": info.status,
           "cache_before": before, "H": model.H, "bpc": bpc,
           "bpc_definition": "float32 reference forward on the corpus, h_-1 = 0, clamped cost",
           "corpus": "rnn/data/default_corpus.txt (bundled)", "corpus_bytes": int(len(xs)),
           "corpus_sha256": text_digest(xs), "recipe": DEFAULT_RECIPE.to_dict(),
           "recipe_sha256": DEFAULT_RECIPE.digest(), "seed": DEFAULT_RECIPE.seed,
           "train_seconds": m.get("train_seconds"), "created_utc": m.get("created_utc"),
           "weights_sha256": m.get("weights_sha256"), "seconds_this_call": info.seconds}
    if args.json:
        emit_json(doc)
        return 0
    console.print(render.default_model(info, doc, DEFAULT_RECIPE, len(xs), args.tanh, path))
    return 0


COMMAND = Command("default", "the default model: where it is read from (shipped or rebuilt cache), bpc, recipe", run,
                  options=(o.TANH,
                           option("--rebuild", action="store_true", help="retrain the default model (into the cache "
                                  "directory) even if a valid one exists"),
                           o.JSON))
