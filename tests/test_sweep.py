"""`satrnn sweep`: Dask sweeps with an SQLite store. Real LocalClusters of 2 worker processes, a worker killed
by pid, SIGINT and resume, corrupt/foreign stores, and a separate `dask scheduler` + `dask worker`.

Kept small for a shared 2-core CI machine: the published weights with budgets of 2e5..1e6 steps (a job takes
tens of milliseconds once compiled); the kernels are compiled in this process first (`warm`), so the worker
processes load them from numba's cache instead of compiling."""
from __future__ import annotations

import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from satrnn.automaton import cycles as cyc
from satrnn.cli import main
from satrnn.rnn.model import load_model, random_model
from satrnn.sweeps import sweep as sw
from satrnn.sweeps.store import SweepStore

pytest.importorskip("distributed")

INPUTS = ["32", "65"]  # ' ' resolves at budget 2e5 for some starts (period 19,168), 'A' does not
BUDGET = 200_000


def _env():
    env = dict(os.environ)
    env["NUMBA_NUM_THREADS"] = "1"
    return env


def _satrnn(*argv, timeout=240, **kw):
    return subprocess.run([sys.executable, "-m", "satrnn", *map(str, argv)], capture_output=True,
                          text=True, env=_env(), timeout=timeout, **kw)


def _popen(*argv):
    return subprocess.Popen([sys.executable, "-m", "satrnn", *map(str, argv)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=_env(), start_new_session=True)


def _spec(model, starts, inputs=INPUTS, budget=BUDGET, seed=0):
    return sw.SweepSpec(kind="cycles", model_digest=sw.model_digest(model), H=model.H, semantics="exact",
                        inputs=tuple(bytes([int(x)]).hex() for x in inputs), starts=starts, seed=seed,
                        budget=budget)


def _stored(db, table="cycles"):
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return con.execute(f"SELECT input, start_index, start, status, transient, period, rep, steps, fallbacks "
                           f"FROM {table} ORDER BY input, start_index").fetchall()
    finally:
        con.close()


def _serial(model, spec):
    rows = [(r.input, r.start_index, r.start, r.status, r.transient, r.period, r.rep, r.steps, r.fallbacks)
            for r in sw.run_serial(spec, model)]
    return sorted(rows)


def _rows_of_jobs(db):
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return con.execute("SELECT COUNT(*), COUNT(DISTINCT input || ':' || start_index) FROM cycles").fetchone()
    finally:
        con.close()


@pytest.fixture(scope="module")
def model(model_path):
    return load_model(model_path)


@pytest.fixture(scope="module")
def warm(model):
    """Compile the kernels here once, so worker processes load them from numba's cache."""
    sw.run_serial(_spec(model, 1, budget=1000), model)
    return True


# ---- no cluster needed ----------------------------------------------------------------------------

@pytest.mark.parametrize("H", [5, 64, 128, 130])
def test_start_states_equal_random_starts_rows(H):
    ref = cyc.random_starts(H, 40, seed=17)
    idx = [39, 0, 1, 2, 7, 8, 20, 5]
    assert np.array_equal(sw.start_states(H, 17, idx), ref[idx])
    assert np.array_equal(sw.start_states(H, 17, range(40)), ref)


@settings(max_examples=40, deadline=None)
@given(H=st.integers(1, 200), seed=st.integers(0, 2**63 - 1),
       idx=st.lists(st.integers(0, 63), min_size=0, max_size=20))
def test_start_states_property(H, seed, idx):
    """Any subset, order or repetition of start indices gives the rows of random_starts."""
    ref = cyc.random_starts(H, 64, seed)
    assert np.array_equal(sw.start_states(H, seed, idx), ref[idx])


def test_parse_pins_canonical_and_errors():
    from satrnn.rnn.errors import SatrnnInputError
    assert sw.parse_pins("56=-1, 8=+1", 128) == "8=+1,56=-1"
    assert sw.parse_pins("", 128) == ""
    assert sw.pins_of("8=+1,56=-1", 128) == ((8, 1), (56, -1))
    for bad in ("8=+2", "128=+1", "x=+1", "8=+1,8=-1", "8"):
        with pytest.raises(SatrnnInputError):
            sw.parse_pins(bad, 128)


def test_auto_chunk_size():
    assert sw.auto_chunk_size(1000, 10**6, 2) == 125  # balance: >= 4 chunks per worker
    assert sw.auto_chunk_size(10**6, 10**8, 2) == 2  # cost: about 2e8 budget steps per chunk
    assert sw.auto_chunk_size(3, 10**9, 8) == 1


def _foreign_files(tmp_path):
    garbage = tmp_path / "garbage.sqlite"
    garbage.write_bytes(b"this is not a database\n" * 10)
    other = tmp_path / "other.sqlite"
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE t (a)")
    con.execute("INSERT INTO t VALUES (1)")
    con.commit()
    con.close()
    damaged = tmp_path / "damaged.sqlite"
    SweepStore(damaged).close()
    data = bytearray(damaged.read_bytes())
    data[100:4096] = os.urandom(3996)  # page 1's b-tree (the schema) destroyed, header intact
    damaged.write_bytes(bytes(data))
    wrong_version = tmp_path / "v99.sqlite"
    SweepStore(wrong_version).close()
    con = sqlite3.connect(wrong_version)
    con.execute("PRAGMA user_version = 99")
    con.commit()
    con.close()
    return [garbage, other, damaged, wrong_version]


def test_corrupt_or_foreign_db_exit_2_untouched(tmp_path, model_path, capsys):
    for f in _foreign_files(tmp_path):
        before = hashlib.sha256(f.read_bytes()).hexdigest()
        names = sorted(p.name for p in tmp_path.iterdir())
        for argv in (["sweep", "cycles", model_path, "--input", "32", "--starts", "2", "--budget", "1000",
                      "--db", f, "--workers", "1"],
                     ["sweep", "status", "--db", f], ["sweep", "export", "--db", f, "--format", "json"]):
            assert main([str(a) for a in argv]) == 2, (f.name, argv[1])
            err = capsys.readouterr().err
            assert "satrnn: error:" in err and len(err.strip().splitlines()) == 1, err
            assert "not a satrnn sweep database" in err
        assert hashlib.sha256(f.read_bytes()).hexdigest() == before, f.name
        assert sorted(p.name for p in tmp_path.iterdir()) == names  # no -wal/-journal left beside it


def test_missing_dask_extra_one_line_exit_2(monkeypatch, tmp_path, model_path, capsys):
    monkeypatch.setitem(sys.modules, "distributed", None)
    rc = main(["sweep", "cycles", str(model_path), "--input", "32", "--db", str(tmp_path / "r.sqlite")])
    err = capsys.readouterr().err
    assert rc == 2
    assert err.strip() == "satrnn: error: " + sw.CLUSTER_EXTRA_MESSAGE
    assert not (tmp_path / "r.sqlite").exists()


def test_bad_options_exit_2(tmp_path, model_path, capsys):
    db = tmp_path / "r.sqlite"
    for extra in (["--budget", "0"], ["--starts", "0"], ["--workers", "0"], ["--input", "300"],
                  ["--pin", "1=+1", "--pin", "2=+1"], ["--pin", "1=+2"], ["--workers", "2", "--scheduler", "tcp://x:1"],
                  ["--chunk", "0"]):
        assert main(["sweep", "cycles", str(model_path), "--input", "32", "--db", str(db), *extra]) == 2, extra
        assert len(capsys.readouterr().err.strip().splitlines()) == 1
    assert main(["sweep", "status", "--db", str(tmp_path / "missing.sqlite")]) == 2


# ---- a real LocalCluster --------------------------------------------------------------------------

def test_local_cluster_equals_serial_and_satrnn_cycles(tmp_path, model, model_path, warm, capsys):
    db = tmp_path / "r.sqlite"
    argv = [model_path, "--input", INPUTS[0], "--input", INPUTS[1], "--starts", 6, "--seed", 3,
            "--budget", BUDGET]
    p = _satrnn("sweep", "cycles", *argv, "--db", db, "--workers", 2, "--chunk", 2, "--json")
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["jobs"] == 12 and out["computed"] == 12 and out["finished"] and out["workers"] == 2
    spec = _spec(model, 6, seed=3)
    stored = _stored(db)
    assert stored == _serial(model, spec)
    assert {r[3] for r in stored} == {"cycle", "unresolved"}  # both outcomes exercised
    # The same jobs through `satrnn cycles --json` (one process, numba threads): identical rows.
    c = _satrnn("cycles", *argv, "--json")
    assert c.returncode == 0, c.stderr
    ref = sorted((bytes([r["input"]]).hex(), r["start_index"], r["start"], r["status"], r["transient"], r["period"],
                  r["rep"], r["steps"]) for r in json.loads(c.stdout)["results"])
    assert [r[:8] for r in stored] == ref
    assert out["results"][0]["summary"]["cycles"] == json.loads(c.stdout)["summary"]["cycles"]
    # Re-running the same sweep computes nothing, starts no cluster and adds no row.
    p2 = _satrnn("sweep", "cycles", *argv, "--db", db, "--json")
    assert p2.returncode == 0, p2.stderr
    o2 = json.loads(p2.stdout)
    assert (o2["skipped_already_done"], o2["computed"], o2["sweep_id"]) == (12, 0, out["sweep_id"])
    assert _stored(db) == stored
    # A larger sweep shares the stored jobs and computes only the new ones.
    p3 = _satrnn("sweep", "cycles", *argv[:-4], "--starts", 8, "--seed", 3, "--budget", BUDGET, "--db", db,
                 "--workers", 1, "--json")
    assert p3.returncode == 0, p3.stderr
    o3 = json.loads(p3.stdout)
    assert (o3["skipped_already_done"], o3["computed"]) == (12, 4) and o3["sweep_id"] != out["sweep_id"]
    assert _stored(db) == _serial(model, _spec(model, 8, seed=3))
    # status and export (in this process: no cluster involved)
    assert main(["sweep", "status", "--db", str(db), "--json"]) == 0
    sweeps = json.loads(capsys.readouterr().out)["sweeps"]
    assert [(s["jobs"], s["done"], s["failed"], s["runs"], s["finished"] is not None) for s in sweeps] == \
        [(12, 12, 0, 2, True), (16, 16, 0, 1, True)]
    assert sweeps[0]["model_digest"] == spec.model_digest and sweeps[0]["package_version"]
    assert main(["sweep", "status", "--db", str(db)]) == 0 and "Sweeps in" in capsys.readouterr().out
    assert main(["sweep", "export", "--db", str(db), "--format", "csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("model_digest,semantics,input,seed,start_index") and len(lines) == 17
    out_json = tmp_path / "e.json"
    assert main(["sweep", "export", "--db", str(db), "--format", "json", "--out", str(out_json)]) == 0
    assert main(["sweep", "export", "--db", str(db), "--format", "json", "--out", str(db)]) == 2  # not the store
    assert len(json.loads(out_json.read_text())["jobs"]) == 16


@pytest.fixture(scope="module")
def cluster(warm):
    client, cl = sw.open_client(None, 2)
    yield client
    sw.close_client(client, cl)


def test_failing_job_recorded_sweep_goes_on_then_retried(tmp_path, model, cluster):
    # Input "4142434445" is 5 bytes long but the budget below is 3 steps: find_cycles raises for those jobs.
    spec = sw.SweepSpec(kind="cycles", model_digest=sw.model_digest(model), H=model.H, semantics="exact",
                        inputs=("20", "4142434445"), starts=3, seed=0, budget=3)
    with SweepStore(tmp_path / "r.sqlite") as store:
        out = sw.run_sweep(spec, model, store, cluster, chunk_size=2)
        assert (out.computed, out.failed, out.finished) == (6, 3, False)
        rows = store.rows("cycles")
        bad = [r for r in rows if r.input == "4142434445"]
        assert all(r.status == "failed" and "budget" in r.error for r in bad) and len(bad) == 3
        assert all(r.status == "unresolved" for r in rows if r.input == "20")
        # a re-run retries only the failed jobs (they fail again; nothing is duplicated)
        out2 = sw.run_sweep(spec, model, store, cluster, chunk_size=2)
        assert (out2.skipped, out2.computed, out2.failed) == (3, 3, 3)
        assert len(store.rows("cycles")) == 6


def _scattered_keys(client) -> set:
    """Keys of data scattered to the workers (the sweep's model bytes), not of tasks."""
    return {k for ks in client.has_what().values() for k in ks if str(k).startswith("bytes-")}


def test_lost_model_bytes_are_scattered_again_and_chunks_resubmitted(tmp_path, model, cluster):
    # The scheduler forgets the scattered model mid-sweep (as when every worker holding it dies): the
    # chunks depending on it are cancelled by the cluster, and run_sweep must scatter it again and resubmit
    # them, ending with every job done exactly once and the rows of a serial run.
    import distributed
    spec = _spec(model, 8)  # budget 2e5: chunks still run when the model is lost
    lost = []

    def lose_model(progress):
        if not lost:
            keys = _scattered_keys(cluster)
            if keys:
                cluster.cancel([distributed.Future(k, cluster) for k in keys], force=True)
                lost.extend(keys)

    with SweepStore(tmp_path / "r.sqlite") as store:
        out = sw.run_sweep(spec, model, store, cluster, chunk_size=1, on_progress=lose_model)
        assert lost, "the test never found the scattered model to lose"
        errors = [r.error for r in store.rows("cycles") if r.status == "failed"]
        assert (out.computed, out.failed, out.finished, errors) == (16, 0, True, [])
        assert out.resubmitted >= 1
    assert _stored(tmp_path / "r.sqlite") == _serial(model, spec)
    deadline = time.time() + 10  # the release reaches the scheduler asynchronously
    while _scattered_keys(cluster) and time.time() < deadline:
        time.sleep(0.05)
    assert not _scattered_keys(cluster)  # and the copy scattered again is released at the end


def test_chunks_lost_past_the_retry_limit_are_stored_failed_then_retried(tmp_path, model, cluster, monkeypatch):
    import distributed
    monkeypatch.setattr(sw, "MAX_CANCELLED_RETRIES", 0)
    spec = _spec(model, 8)
    lost = []

    def lose_model(progress):
        if not lost and (keys := _scattered_keys(cluster)):
            cluster.cancel([distributed.Future(k, cluster) for k in keys], force=True)
            lost.extend(keys)

    with SweepStore(tmp_path / "r.sqlite") as store:
        out = sw.run_sweep(spec, model, store, cluster, chunk_size=1, on_progress=lose_model)
        errors = [r.error for r in store.rows("cycles") if r.status == "failed"]
        assert lost and out.resubmitted == 0 and not out.finished and out.failed == len(errors) >= 1
        assert all("lost input" in e for e in errors)
        out2 = sw.run_sweep(spec, model, store, cluster, chunk_size=1)  # a re-run retries exactly those jobs
        assert (out2.computed, out2.failed, out2.finished) == (len(errors), 0, True)
    assert _stored(tmp_path / "r.sqlite") == _serial(model, spec)


def test_back_to_back_reruns_on_one_client(tmp_path, model, cluster):
    # CI once saw a re-run right after a run on the same client cancelled for "lost dependencies": the model
    # was scattered under its content hash, which the scheduler was still forgetting. Ten tight re-runs.
    spec = sw.SweepSpec(kind="cycles", model_digest=sw.model_digest(model), H=model.H, semantics="exact",
                        inputs=("20", "4142434445"), starts=3, seed=0, budget=3)
    with SweepStore(tmp_path / "r.sqlite") as store:
        for _ in range(10):
            out = sw.run_sweep(spec, model, store, cluster, chunk_size=2)
            assert out.failed == 3 and len(store.rows("cycles")) == 6


def test_store_rows_are_idempotent_and_failed_rows_replaced(tmp_path, model):
    spec = _spec(model, 2, budget=1000)
    rows = sw.run_serial(spec, model)
    chunk = sw.Chunk("cycles", spec.model_digest, spec.H, spec.semantics, spec.seed, spec.budget, ())
    failed = [sw._failed(chunk, r.input, r.start_index, r.pins, RuntimeError("x"), "w") for r in rows]
    with SweepStore(tmp_path / "r.sqlite") as store:
        store.write_rows("cycles", failed)
        store.write_rows("cycles", rows)  # results replace failures
        store.write_rows("cycles", failed)  # ... but failures never replace results
        store.write_rows("cycles", rows)
        stored = {r.key: (r.status, r.transient, r.period, r.rep, r.steps) for r in store.rows("cycles")}
        assert stored == {r.key: (r.status, r.transient, r.period, r.rep, r.steps) for r in rows}


def _wait_rows(db, n, proc, timeout=180):
    t0 = time.time()
    while time.time() - t0 < timeout:
        assert proc.poll() is None, proc.communicate()
        try:
            if _rows_of_jobs(db)[0] >= n:
                return
        except sqlite3.Error:
            pass
        time.sleep(0.1)
    raise AssertionError("sweep made no progress")


def _worker_pids(pid):
    import psutil
    kids = psutil.Process(pid).children(recursive=True)
    return [k.pid for k in kids if any("spawn_main" in a for a in k.cmdline())]


SLOW = ["--input", "32", "--input", "65", "--starts", "12", "--budget", 1_000_000, "--chunk", 1]
SLOW_JOBS = 24


@pytest.fixture(scope="module")
def slow_serial(model, warm):
    return _serial(model, _spec(model, 12, budget=1_000_000))


def test_worker_killed_by_pid_mid_sweep_every_job_once(tmp_path, model_path, slow_serial):
    db = tmp_path / "r.sqlite"
    p = _popen("sweep", "cycles", model_path, *SLOW, "--db", db, "--workers", 2, "--json")
    _wait_rows(db, 4, p)
    pids = _worker_pids(p.pid)
    assert len(pids) == 2, pids
    os.kill(pids[0], signal.SIGKILL)
    assert _rows_of_jobs(db)[0] < SLOW_JOBS  # the kill was mid-sweep
    out, err = p.communicate(timeout=240)
    assert p.returncode == 0, err
    o = json.loads(out)
    assert o["finished"] and o["computed"] == SLOW_JOBS and o["failed"] == 0
    assert _rows_of_jobs(db) == (SLOW_JOBS, SLOW_JOBS)
    assert _stored(db) == slow_serial


def test_sigint_mid_sweep_then_rerun_without_duplicates(tmp_path, model_path, slow_serial):
    db = tmp_path / "r.sqlite"
    p = _popen("sweep", "cycles", model_path, *SLOW, "--db", db, "--workers", 2)
    _wait_rows(db, 4, p)
    os.killpg(p.pid, signal.SIGINT)  # like Ctrl-C in a terminal: the whole process group
    t0 = time.time()
    _, err = p.communicate(timeout=30)
    assert p.returncode == 130, err
    assert time.time() - t0 < 10  # about 1 s on an idle machine; CI shares its 2 cores
    assert "Traceback" not in err and err.strip().endswith("satrnn: interrupted")
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert con.execute("SELECT finished FROM sweep").fetchall() == [(None,)]
    n_before = con.execute("SELECT COUNT(*) FROM cycles").fetchone()[0]
    con.close()
    assert 4 <= n_before < SLOW_JOBS
    r = _satrnn("sweep", "cycles", model_path, *SLOW, "--db", db, "--workers", 2, "--json")
    assert r.returncode == 0, r.stderr
    o = json.loads(r.stdout)
    assert o["skipped_already_done"] == n_before and o["computed"] == SLOW_JOBS - n_before and o["finished"]
    assert _rows_of_jobs(db) == (SLOW_JOBS, SLOW_JOBS)
    assert _stored(db) == slow_serial


def test_external_dask_scheduler_and_worker(tmp_path, model, model_path, warm):
    dask = Path(sys.executable).with_name("dask")
    sched_file = tmp_path / "scheduler.json"
    procs = []
    try:
        procs.append(subprocess.Popen([str(dask), "scheduler", "--host", "127.0.0.1", "--port", "0",
                                       "--no-dashboard", "--scheduler-file", str(sched_file)],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=_env()))
        t0 = time.time()
        while not sched_file.exists() and time.time() - t0 < 60:
            time.sleep(0.1)
        address = json.loads(sched_file.read_text())["address"]
        assert address.startswith("tcp://127.0.0.1:")
        procs.append(subprocess.Popen([str(dask), "worker", "--scheduler-file", str(sched_file), "--nthreads", "1",
                                       "--nworkers", "1", "--host", "127.0.0.1", "--no-dashboard"],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=_env()))
        db = tmp_path / "r.sqlite"
        r = _satrnn("sweep", "cycles", model_path, "--input", "32", "--starts", 4, "--budget", BUDGET,
                    "--db", db, "--scheduler", address, "--json")
        assert r.returncode == 0, r.stderr
        assert json.loads(r.stdout)["workers"] == 1
        assert _stored(db) == _serial(model, _spec(model, 4, inputs=["32"]))
    finally:
        for pr in reversed(procs):
            pr.terminate()
        for pr in reversed(procs):
            try:
                pr.wait(timeout=20)
            except subprocess.TimeoutExpired:
                pr.kill()


def test_small_random_model_rows_equal_serial(tmp_path, cluster):
    """H = 20 random model (not the published one): cycles found quickly, also for a 3-byte periodic input."""
    m = random_model(20, seed=5, scale=1.5)
    spec = sw.SweepSpec(kind="cycles", model_digest=sw.model_digest(m), H=20, semantics="f32-seq",
                        inputs=("61", "616263"), starts=5, seed=9, budget=100_000)
    with SweepStore(tmp_path / "r.sqlite") as store:
        out = sw.run_sweep(spec, m, store, cluster, chunk_size=3)
        assert out.finished
    assert _stored(tmp_path / "r.sqlite") == _serial(m, spec)


def test_pin_sweep_equals_pinned_search_and_satrnn_cycles_pin(tmp_path, model, model_path, cluster):
    """Each pin set's rows equal find_cycles on the automaton built with those pins from the unpinned random
    starts (the kernels' pins; starts as given), and `satrnn cycles --pin P --json` row for row."""
    from satrnn.automaton.bitset import to_hex
    from satrnn.automaton.sign import SignAutomaton
    pin_sets = ("3=+1", "5=-1,7=+1")
    spec = sw.SweepSpec(kind="pin", model_digest=sw.model_digest(model), H=model.H, semantics="exact",
                        inputs=("20",), starts=3, seed=4, budget=BUDGET, pin_sets=pin_sets)
    db = tmp_path / "r.sqlite"
    with SweepStore(db) as store:
        assert sw.run_sweep(spec, model, store, cluster, chunk_size=2).finished
    st = cyc.random_starts(model.H, 3, 4)
    ref = []
    for pins in pin_sets:
        A = SignAutomaton.from_model(model, "exact", pins=dict(sw.pins_of(pins, model.H)))
        r = cyc.find_cycles(A, st, np.array([[0x20]], dtype=np.uint8), BUDGET)
        for i in range(3):
            ok = r.status[i] == cyc.STATUS_CYCLE
            ref.append(("20", i, to_hex(st[i], model.H), "cycle" if ok else "unresolved",
                        int(r.mu[i]) if ok else None, int(r.lam[i]) if ok else None, r.rep_hex(i),
                        int(r.steps[i]), int(r.fallbacks[i]), pins))
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    got = con.execute("SELECT input, start_index, start, status, transient, period, rep, steps, fallbacks, pins "
                      "FROM pin ORDER BY pins, start_index").fetchall()
    assert got == sorted(ref, key=lambda r: (r[-1], r[1]))
    c = _satrnn("cycles", model_path, "--input", "32", "--starts", 3, "--seed", 4, "--budget", BUDGET,
                "--pin", "7=+1,5=-1", "--json")
    assert c.returncode == 0, c.stderr
    cli = [("20", r["start_index"], r["start"], r["status"], r["transient"], r["period"], r["rep"], r["steps"])
           for r in json.loads(c.stdout)["results"]]
    assert cli == [g[:8] for g in got if g[-1] == "5=-1,7=+1"]


def test_landscape_sweep_equals_landscape_jobs_and_cli(tmp_path, model, model_path, cluster):
    from satrnn.automaton import landscape as ls
    from satrnn.automaton.sign import SignAutomaton
    spec = sw.SweepSpec(kind="landscape", model_digest=sw.model_digest(model), H=model.H, semantics="exact",
                        inputs=("20",), starts=6, seed=2, budget=BUDGET, seeds=2)
    db = tmp_path / "r.sqlite"
    with SweepStore(db) as store:
        assert sw.run_sweep(spec, model, store, cluster, chunk_size=1).finished
        rows = store.rows("landscape")
    A = SignAutomaton.from_model(model, "exact")
    seq = np.array([0x20], dtype=np.uint8)
    for r, seed in zip(rows, (2, 3)):
        ref = ls.landscape_job(A, seq, starts=6, budget=BUDGET, seed=seed, model_digest=spec.model_digest)
        got = sw.landscape_job_of(r, model.H)
        assert (got.reps, got.periods, got.counts, got.transient_min, got.transient_max, got.transient_sum,
                got.unresolved, got.steps, got.fallbacks) == \
            (ref.reps, ref.periods, ref.counts, ref.transient_min, ref.transient_max, ref.transient_sum,
             ref.unresolved, ref.steps, ref.fallbacks)
    # one seed's job = `satrnn landscape --starts 6 --seed 2`
    c = _satrnn("landscape", model_path, "--input", "32", "--starts", 6, "--seed", 2, "--budget", BUDGET,
                "--sensitivity-samples", 0, "--json")
    assert c.returncode == 0, c.stderr
    cli = json.loads(c.stdout)
    one = ls.merge_jobs([sw.landscape_job_of(rows[0], model.H)]).as_dict()
    key = lambda d: [(a["rep"], a["period"], a["starts"], a["basin_fraction_ci"]) for a in d["attractors"]]
    est = cli.get("estimate", cli)
    assert key(one) == key(est) and one["unresolved"] == est["unresolved"]


def test_sweep_with_failed_jobs_exits_1_saying_how_many_and_how_to_retry(tmp_path, model, model_path, cluster,
                                                                          monkeypatch, capsys):
    """Issue 28: a sweep that ended with failed jobs exited 0. Now exit 1, one stderr line with the count and
    the retry; the JSON document is still printed. (The CLI refuses a budget shorter than the input, so the
    failing sweep of test_failing_job_recorded... is put in place of the parsed one.)"""
    from satrnn.commands import sweep as sweep_cmd
    failing = sw.SweepSpec(kind="cycles", model_digest=sw.model_digest(model), H=model.H, semantics="exact",
                           inputs=("20", "4142434445"), starts=3, seed=0, budget=3)
    monkeypatch.setattr(sweep_cmd, "_spec", lambda args, m, xs: failing)
    monkeypatch.setattr(sw, "open_client", lambda *a, **k: (cluster, None))
    monkeypatch.setattr(sw, "close_client", lambda *a, **k: None)
    db = tmp_path / "r.sqlite"
    rc = main(["sweep", "cycles", str(model_path), "--input", "32", "--db", str(db), "--json"])
    out, err = capsys.readouterr()
    assert rc == 1
    assert json.loads(out)["failed"] == 3
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("satrnn: error: 3 of 6 jobs failed"), err
    assert "re-run the same command" in lines[0]


def test_full_disk_at_commit_simulated(tmp_path, model, cluster):
    """Issue 28: a full disk at a chunk's commit gave a traceback. SQLite's max_page_count makes the store
    "full" (SQLITE_FULL, as a full disk) after a few chunks: one-line SatrnnRunError, the chunks committed
    before are kept and intact, and a re-run with room completes with the serial rows."""
    from satrnn.rnn.errors import SatrnnRunError
    spec = _spec(model, 40, budget=2000)
    db = tmp_path / "r.sqlite"
    with SweepStore(db) as store:
        (pages,) = store.con.execute("PRAGMA page_count").fetchone()
        store.con.execute(f"PRAGMA max_page_count = {pages + 3}")
        with pytest.raises(SatrnnRunError, match="the disk is full") as e:
            sw.run_sweep(spec, model, store, cluster, chunk_size=4)
        assert "re-run the same command" in str(e.value) and "\n" not in str(e.value)
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    n_kept = con.execute("SELECT COUNT(*) FROM cycles").fetchone()[0]
    con.close()
    assert 0 < n_kept < spec.n_jobs and n_kept % 4 == 0  # whole chunks only
    with SweepStore(db) as store:
        out = sw.run_sweep(spec, model, store, cluster, chunk_size=4)
    assert (out.skipped, out.computed, out.finished) == (n_kept, spec.n_jobs - n_kept, True)
    assert _stored(db) == _serial(model, spec)


def test_periodic_text_stored_once_as_a_digest(tmp_path, text_path, cluster, capsys):
    """Issue 28: a --periodic-text sweep stored the whole TEXT in hex in every job row and in the params (10 MB
    x 8 starts: a 210 MB store). A sequence longer than 64 bytes is now keyed by its sha256 and travels to the
    workers once; the rows still equal the serial run and `satrnn cycles --periodic-text`, job for job."""
    m = random_model(20, seed=5, scale=1.5)
    m.save(tmp_path / "m.npz")
    text = text_path.read_bytes()  # 1,024 bytes
    key = sw.input_key(text)
    assert key.startswith("sha256:") and sw.input_key(text[:64]) == text[:64].hex()
    spec = sw.SweepSpec(kind="cycles", model_digest=sw.model_digest(m), H=m.H, semantics="exact", inputs=(key,),
                        starts=4, seed=1, budget=20_000, sequences=MappingProxyType({key: text}))
    db = tmp_path / "r.sqlite"
    with SweepStore(db) as store:
        out = sw.run_sweep(spec, m, store, cluster, chunk_size=1)
        assert out.finished and out.computed == 4
        stored = sorted((r.input, r.start_index, r.start, r.status, r.transient, r.period, r.rep, r.steps)
                        for r in store.rows("cycles"))
        assert len(store.sweeps()[0].params["inputs"][0]) == len(key)
    assert stored == sorted(r[:8] for r in _serial(m, spec))
    assert "cycle" in {r[3] for r in stored}
    assert db.stat().st_size < 64 * 1024
    assert main(["cycles", str(tmp_path / "m.npz"), str(text_path), "--periodic-text", "--starts", "4", "--seed", "1",
                 "--budget", "20000", "--json"]) == 0
    ref = sorted((key, r["start_index"], r["start"], r["status"], r["transient"], r["period"], r["rep"], r["steps"])
                 for r in json.loads(capsys.readouterr().out)["results"])
    assert stored == ref
