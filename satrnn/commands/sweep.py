"""`satrnn sweep cycles|pin MODEL [TEXT] --db FILE`, `satrnn sweep status|export --db FILE`: cycle searches
and pinning sweeps on Dask (a LocalCluster, or `--scheduler tcp://HOST:PORT`), results in SQLite.

Jobs take the options of `satrnn cycles` (--input, --periodic-text, --starts, --seed, --budget, --semantics) and
give, job for job, the rows `satrnn cycles --json` prints for the same options. See docs/sweeps.md."""
from __future__ import annotations

from types import MappingProxyType

from rich.table import Table

from satrnn.automaton import cycles as cyc
from satrnn.automaton import landscape as ls
from satrnn.clikit import (
    add_json_flag,
    add_model_text_args,
    add_seed_arg,
    add_semantics_arg,
    check_float,
    check_int,
    console,
    declare_inputs,
    declare_outputs,
    emit_json,
    load_model_arg,
    load_model_text_args,
    progress,
    write_file,
)
from satrnn.commands.cycles import MAX_JOBS, MAX_STARTS, cycle_inputs, label_cycle_inputs, per_input_rows
from satrnn.report import render
from satrnn.report.render_landscape import input_label, render_landscape
from satrnn.rnn.errors import SatrnnInputError, SatrnnRunError
from satrnn.sweeps import sweep as sw
from satrnn.sweeps.store import (
    DEFAULT_LOCK_TIMEOUT,
    JOB_TABLES,
    SweepStore,
    export_text,
    probe_writable,
    store_exists,
)

MAX_TIMEOUT = 86400.0



def register(sub) -> None:
    p = sub.add_parser("sweep", help="cycle, landscape and pinning sweeps on Dask workers, results in SQLite")
    kinds = p.add_subparsers(dest="sweep_command", metavar="KIND")
    for kind, help_ in (("cycles", "Brent cycle search per (input, start) job, like `satrnn cycles`"),
                        ("pin", "the cycle search under each pin set (default: every neuron at +1 and at -1), "
                                "like `satrnn cycles --pin`"),
                        ("landscape", "estimated attractor landscapes: jobs of N starts per (input, seed), merged "
                                      "like `satrnn landscape`")):
        q = kinds.add_parser(kind, help=help_)
        add_model_text_args(q)
        q.add_argument("--input", action="append", default=None, metavar="X",
                       help="constant input byte (65, 0x41, 'A'); repeat for several, or 'all' for 0..255")
        q.add_argument("--periodic-text", action="store_true", help="input = TEXT repeated (one input sequence)")
        q.add_argument("--starts", type=int, default=256 if kind == "landscape" else 16, metavar="N",
                       help="random starts per job (landscape; default 256)" if kind == "landscape" else
                       "N seeded random start states per input (start i = `satrnn cycles`' start i)")
        add_seed_arg(q)
        if kind == "landscape":
            q.add_argument("--seeds", type=int, default=1, metavar="K",
                           help="jobs per input and pin set: seeds SEED .. SEED+K-1, N starts each (default 1)")
        q.add_argument("--budget", type=int, default=10**6, metavar="STEPS",
                       help="detection budget per start in Boolean steps (default 1e6)")
        add_semantics_arg(q)
        q.add_argument("--pin", action="append", default=None, metavar="SPEC",
                       help="neurons held at a sign, e.g. 8=+1,56=-1" + (
                           " (repeat for several pin sets; default every single neuron at +1 and -1)"
                           if kind == "pin" else ""))
        _add_engine_args(q)
        add_json_flag(q)
        q.set_defaults(func=run, sweep_kind=kind)
    s = kinds.add_parser("status", help="the sweeps in a store and how far each has got")
    s.add_argument("--db", required=True, metavar="FILE", help="the SQLite result store (only read)")
    _add_lock_timeout(s)
    add_json_flag(s)
    s.set_defaults(func=run_status)
    e = kinds.add_parser("export", help="every stored job of one kind as CSV or JSON")
    e.add_argument("--db", required=True, metavar="FILE", help="the SQLite result store (only read)")
    _add_lock_timeout(e)
    e.add_argument("--format", choices=("csv", "json"), default="csv")
    e.add_argument("--kind", choices=JOB_TABLES, default="cycles", help="which kind's table (default cycles)")
    e.add_argument("--out", default=None, metavar="FILE", help="write to FILE (default stdout)")
    declare_inputs(e, "db")
    declare_outputs(e, "out")
    e.set_defaults(func=run_export)
    p.set_defaults(func=_usage(p))


def _usage(p):
    def f(args):
        p.print_help()
        return 2
    return f


def _add_lock_timeout(q) -> None:
    q.add_argument("--lock-timeout", type=float, default=DEFAULT_LOCK_TIMEOUT, metavar="SECONDS",
                   help="how long to wait for a store locked by another process before giving up (exit 1; "
                        f"default {DEFAULT_LOCK_TIMEOUT:g})")


def _add_engine_args(q) -> None:
    q.add_argument("--db", required=True, metavar="FILE", help="SQLite result store (created if missing)")
    q.add_argument("--scheduler", default=None, metavar="ADDR",
                   help="an existing Dask scheduler, tcp://HOST:PORT (default: a LocalCluster on this machine)")
    q.add_argument("--connect-timeout", type=float, default=sw.DEFAULT_CONNECT_TIMEOUT, metavar="SECONDS",
                   help="how long to wait for --scheduler to answer (and for its first worker) before giving up "
                        f"(exit 2; default {sw.DEFAULT_CONNECT_TIMEOUT:g})")
    q.add_argument("--workers", type=int, default=None, metavar="N",
                   help="LocalCluster worker processes, one thread each (default: the number of cores; at most "
                        f"{sw.WORKERS_PER_CORE} per core)")
    _add_lock_timeout(q)
    q.add_argument("--chunk", type=int, default=None, metavar="JOBS",
                   help="jobs per Dask task (default: about 2e8 budget steps per task, >= 4 tasks per worker)")
    declare_outputs(q, "db")


def _spec(args, model, xs) -> sw.SweepSpec:
    H = model.H
    budget = check_int("--budget", args.budget, 1, cyc.MAX_BUDGET)
    starts = check_int("--starts", args.starts, 1, MAX_STARTS)
    args.paper = False  # cycle_inputs (shared with `satrnn cycles`) reads it
    seqs, _ = cycle_inputs(args, xs, model)
    if seqs.shape[1] > budget:
        raise SatrnnInputError(f"--budget {budget} is shorter than one input period ({seqs.shape[1]} steps)")
    if args.sweep_kind == "pin":
        if args.pin:
            pin_sets = [sw.parse_pins(p, H) for p in args.pin]
        else:
            pin_sets = [f"{i}={s}" for i in range(H) for s in ("+1", "-1")]
        if len(set(pin_sets)) != len(pin_sets):
            raise SatrnnInputError("the same pin set is given twice")
    else:
        if args.pin and len(args.pin) > 1:
            raise SatrnnInputError(f"`sweep {args.sweep_kind}` takes one --pin set for all jobs; use `sweep pin` "
                                   "for several")
        pin_sets = [sw.parse_pins(args.pin[0], H) if args.pin else ""]
    seeds = check_int("--seeds", args.seeds, 1, MAX_STARTS) if args.sweep_kind == "landscape" else 1
    keys = tuple(sw.input_key(bytes(s)) for s in seqs)
    long = {k: bytes(s) for k, s in zip(keys, seqs) if k.startswith(sw.DIGEST_PREFIX)}
    spec = sw.SweepSpec(kind=args.sweep_kind, model_digest=sw.model_digest(model), H=H, semantics=args.semantics,
                        inputs=keys, starts=starts, seed=args.seed, budget=budget, pin_sets=tuple(pin_sets),
                        seeds=seeds, sequences=MappingProxyType(long))
    if spec.n_jobs > MAX_JOBS:
        raise SatrnnInputError(f"{spec.n_jobs} jobs is more than {MAX_JOBS}")
    return spec


def _timeouts(args) -> tuple[float, float]:
    lock = check_float("--lock-timeout", args.lock_timeout, 0.0, MAX_TIMEOUT)
    connect = getattr(args, "connect_timeout", None)
    return lock, (check_float("--connect-timeout", connect, 0.1, MAX_TIMEOUT) if connect is not None else 0.0)


def run(args) -> int:
    """Everything is checked before anything is created or started: options, the scheduler's address, the
    model and text, an existing store (valid, and its write lock obtainable). Then the cluster is reached or
    started, and only then is a new store created."""
    lock_timeout, connect_timeout = _timeouts(args)
    if args.scheduler is not None:
        sw.parse_scheduler(args.scheduler)
    if args.workers is not None:
        cap = sw.max_workers()
        if args.scheduler:
            raise SatrnnInputError("--workers sizes the LocalCluster; with --scheduler the cluster has its own workers")
        if not 1 <= args.workers <= cap:
            raise SatrnnInputError(f"--workers must be between 1 and {cap} ({sw.WORKERS_PER_CORE} per core, "
                                   f"{sw.usable_cores()} core(s) here), got {args.workers}")
    if args.chunk is not None:
        check_int("--chunk", args.chunk, 1, MAX_JOBS)
    sw.require_dask()
    if args.text is None and args.model is not None:
        model, xs = load_model_arg(args), None
    else:
        model, xs = load_model_text_args(args)
    spec = _spec(args, model, xs)
    if store_exists(args.db):
        probe_writable(args.db, lock_timeout)
        with SweepStore(args.db, writable=False, lock_timeout=lock_timeout) as store:
            store.check_rows(spec.kind, *spec.where())
            pending = len(sw.pending_jobs(spec, store))
    else:
        pending = spec.n_jobs
    client, cluster = (sw.open_client(args.scheduler, args.workers, timeout=connect_timeout) if pending
                       else (None, None))
    completed = False
    try:
        with SweepStore(args.db, lock_timeout=lock_timeout) as store:
            with progress() as bar:
                task = bar.add_task(f"sweep {spec.kind}", total=spec.n_jobs)

                def on_progress(p: sw.Progress):
                    bar.update(task, completed=p.done, description=f"sweep {spec.kind}: {p.running} running, "
                                                                    f"{p.failed} failed")

                outcome = sw.run_sweep(spec, model, store, client, chunk_size=args.chunk, on_progress=on_progress,
                                       worker_timeout=connect_timeout if args.scheduler else 60.0)
            rows = store.rows(spec.kind, *spec.where())
        completed = True
    finally:
        if client is not None:
            sw.close_client(client, cluster, interrupted=not completed)
    return _report(args, spec, outcome, rows)


def _plan(spec: sw.SweepSpec) -> str:
    per = (f"seeds {spec.seed}..{spec.seed + spec.seeds - 1} of {spec.starts} start(s) each"
           if spec.kind == "landscape" else f"seed {spec.seed}, {spec.starts} start(s)")
    return (f"{per} x {len(spec.inputs)} input(s) x {len(spec.pin_sets)} pin set(s) = {spec.n_jobs:,} jobs, "
            f"semantics {spec.semantics}, budget {spec.budget:,} steps")


def _failed_jobs(args, spec, n_failed: int) -> None:
    if n_failed:
        raise SatrnnRunError(f"{n_failed:,} of {spec.n_jobs:,} jobs failed (stored with their errors: `satrnn sweep "
                             f"export --db {args.db} --kind {spec.kind}`, column error); re-run the same command "
                             "to retry only those")


def _report(args, spec: sw.SweepSpec, outcome: sw.SweepOutcome, rows) -> int:
    n_failed = sum(r.status == "failed" for r in rows)
    out = {"command": "sweep", "kind": spec.kind, "db": str(args.db), "sweep_id": outcome.sweep_id,
           "params": spec.params(), "jobs": outcome.jobs, "skipped_already_done": outcome.skipped,
           "computed": outcome.computed, "failed": n_failed, "finished": outcome.finished,
           "chunks": outcome.chunks, "chunk_size": outcome.chunk_size, "workers": outcome.workers,
           "resubmitted_chunks": outcome.resubmitted, "seconds": outcome.seconds}
    if spec.kind == "landscape":
        summaries = _landscape_summaries(spec, rows)
    else:
        summaries = _cycle_summaries(spec, rows)
    out["results"] = [{k: v for k, v in s.items() if k != "estimate"} for s in summaries]
    if args.json:
        emit_json(out)
        _failed_jobs(args, spec, n_failed)
        return 0
    console.print(f"sweep {outcome.sweep_id} ({spec.kind}): {_plan(spec)}; store {args.db}")
    console.print(f"{outcome.jobs:,} jobs, {outcome.skipped:,} already in "
                  f"the store, {outcome.computed:,} computed now on {outcome.workers} worker(s) in "
                  f"{outcome.seconds:.1f} s ({outcome.chunks} task(s) of <= {outcome.chunk_size} jobs); "
                  f"{n_failed} failed"
                  + (f"; {outcome.resubmitted} task(s) resubmitted (lost input)" if outcome.resubmitted else "")
                  + ("" if outcome.finished else " -- not finished, re-run to retry"))
    for s in summaries[:8]:
        if spec.kind == "landscape":
            if s["estimate"] is not None:
                console.print(render_landscape(s["estimate"], max_rows=10))
            continue
        if len(spec.pin_sets) > 1 or s["pins"]:
            console.print(f"[bold]pins {s['pins'] or 'none'}[/bold]")
        console.print(render.cycles(s["summary"], s["per_input"]))
    if len(summaries) > 8:
        console.print(f"... {len(summaries) - 8} more (use --json or `satrnn sweep export`)")
    _failed_jobs(args, spec, n_failed)
    return 0


def _cycle_summaries(spec, rows) -> list[dict]:
    """Per pin set: cycles.summarize of its stored rows (the summary `satrnn cycles` prints)."""
    labels = [int(s, 16) if len(s) == 2 else "text" for s in spec.inputs]
    summaries = []
    for pins in spec.pin_sets:
        sel = [r for r in rows if r.pins == pins and r.status != "failed"]
        search = sw.search_from_rows(spec, sel)
        search.seconds = sum(r.seconds or 0.0 for r in sel)
        summaries.append({"pins": pins, "summary": label_cycle_inputs(cyc.summarize(search), labels),
                          "per_input": per_input_rows(search, labels)})
    return summaries


def _landscape_summaries(spec, rows) -> list[dict]:
    """Per (pin set, input): landscape.merge_jobs of its stored jobs (None if none finished)."""
    out = []
    for pins in spec.pin_sets:
        for inp in spec.inputs:
            seq = sw.input_bytes(inp, spec.sequences)
            as_tuple = tuple(seq)  # one tuple per input, shared by its jobs (a periodic TEXT can be long)
            jobs = [sw.landscape_job_of(r, spec.H, seq=as_tuple) for r in rows
                    if r.pins == pins and r.input == inp and r.status != "failed"]
            est = ls.merge_jobs(jobs) if jobs else None
            out.append({"pins": pins, "input": inp, "label": input_label(seq), "jobs": len(jobs),
                        "landscape": est.as_dict() if est is not None else None, "estimate": est})
    return out


def run_status(args) -> int:
    lock_timeout, _ = _timeouts(args)
    with SweepStore(args.db, writable=False, lock_timeout=lock_timeout) as store:
        sweeps = []
        for s in store.sweeps():
            p = s.params
            spec = sw.SweepSpec.from_params(p)
            counts = store.counts(s.kind, *spec.where())
            done = counts["cycle"] + counts["unresolved"] + counts["done"]
            sweeps.append({"id": s.id, "kind": s.kind, "jobs": s.jobs, "done": done, "failed": counts["failed"],
                           "cycle": counts["cycle"], "unresolved": counts["unresolved"],
                           "missing": s.jobs - done - counts["failed"], "created": s.created, "started": s.started,
                           "finished": s.finished, "runs": s.runs, "model_digest": s.model_digest,
                           "package_version": s.package_version, "params": p})
    if args.json:
        emit_json({"command": "sweep status", "db": str(args.db), "sweeps": sweeps})
        return 0
    t = Table(title=f"Sweeps in {args.db}")
    for c in ("id", "kind", "jobs", "done", "failed", "budget", "created (UTC)", "finished"):
        t.add_column(c)
    for s in sweeps:
        p = s["params"]
        shape = f"{len(p['inputs'])} in x {p.get('seeds', p['starts'])} x {len(p['pin_sets'])} pin"
        t.add_row(str(s["id"]), s["kind"], f"{s['jobs']:,} ({shape})", f"{s['done']:,}", str(s["failed"]),
                  f"{p['budget']:,}", s["created"][:19].replace("T", " "), "yes" if s["finished"] else "no")
    console.print(t)
    return 0


def run_export(args) -> int:
    lock_timeout, _ = _timeouts(args)
    with SweepStore(args.db, writable=False, lock_timeout=lock_timeout) as store:
        text = export_text(args.kind, store.rows(args.kind), store.sweeps(), args.format)
    if args.out is None:
        print(text, end="")
    else:
        write_file(args.out, text)
    return 0
