"""The result store of `satrnn sweep`: one SQLite file (standard library `sqlite3`), written by the client only.

Schema (version `SCHEMA_VERSION`, marked by `PRAGMA application_id = APPLICATION_ID` and `user_version`):

- `sweep`: one row per distinct sweep. `params` is the canonical JSON of everything that defines the job list
  (kind, model digest, semantics, inputs, starts, seed, budget, pin sets); `params_sha256` is UNIQUE, so running
  the same sweep again finds its row. `model_digest` (sha256 of the float32 weights in file order),
  `package_version`, `jobs` (total), `created`, `started` (last run), `finished` (NULL until every job has a
  row), `runs` (how many times it was started). Times are ISO 8601 UTC.
- one result table per sweep kind (`cycles`, `pin`), keyed by the job's parameters
  (PRIMARY KEY model_digest, semantics, input, seed, start_index, budget, pins): `input` is the input byte
  sequence in hex (one byte = two digits; a constant input is one byte), `pins` the canonical pin set
  ("" = none, else "i=+1,j=-1" sorted by neuron), `start` the start state in hex. Results: `status`
  ('cycle' | 'unresolved' | 'failed'), `transient` and `period` in steps, `rep` (hex of the smallest state
  on the cycle at sequence boundaries), `steps`, `fallbacks`; `error` for a failed job; `worker`, `seconds`,
  `sweep_id` (the sweep that computed it), `finished`.

Writes: each finished chunk is one transaction (`INSERT ... ON CONFLICT DO UPDATE ... WHERE status = 'failed'`):
a result row is never written twice or half; a failed job is retried by the next run and replaced by its
result. Before anything is written an existing file is opened read-only and checked (SQLite header,
application id, schema version, tables): a corrupt or foreign file is refused and left untouched.
"""
from __future__ import annotations

import csv
import io
import json
import os
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from satrnn.rnn.errors import SatrnnInputError

APPLICATION_ID = 0x73524E53  # b"sRNS"
SCHEMA_VERSION = 1
SQLITE_MAGIC = b"SQLite format 3\x00"

STATUS_CYCLE = "cycle"
STATUS_UNRESOLVED = "unresolved"
STATUS_FAILED = "failed"

# Column name -> SQL type, per kind. Every job table: its key (the job's parameters) first, then `status`
# and the results, then error / worker / seconds / sweep_id / finished.
_CYCLE_KEY = (("model_digest", "TEXT"), ("semantics", "TEXT"), ("input", "TEXT"), ("seed", "INTEGER"),
              ("start_index", "INTEGER"), ("budget", "INTEGER"), ("pins", "TEXT"))
_CYCLE_RESULT = (("start", "TEXT"), ("status", "TEXT"), ("transient", "INTEGER"), ("period", "INTEGER"),
                 ("rep", "TEXT"), ("steps", "INTEGER"), ("fallbacks", "INTEGER"))
_LANDSCAPE_KEY = (("model_digest", "TEXT"), ("semantics", "TEXT"), ("input", "TEXT"), ("seed", "INTEGER"),
                  ("starts", "INTEGER"), ("budget", "INTEGER"), ("pins", "TEXT"))
_LANDSCAPE_RESULT = (("status", "TEXT"), ("attractors", "TEXT"), ("unresolved", "INTEGER"), ("steps", "INTEGER"),
                     ("fallbacks", "INTEGER"))
_TAIL = (("error", "TEXT"), ("worker", "TEXT"), ("seconds", "REAL"), ("sweep_id", "INTEGER"), ("finished", "TEXT"))
SCHEMAS = {
    "cycles": (_CYCLE_KEY, _CYCLE_RESULT + _TAIL),
    "pin": (_CYCLE_KEY, _CYCLE_RESULT + _TAIL),
    "landscape": (_LANDSCAPE_KEY, _LANDSCAPE_RESULT + _TAIL),
}
JOB_TABLES = tuple(SCHEMAS)
STATUS_DONE = "done"  # a landscape job (its attractors and unresolved count are the result)
STATUSES = (STATUS_CYCLE, STATUS_UNRESOLVED, STATUS_DONE, STATUS_FAILED)


def key_columns(table: str) -> tuple[str, ...]:
    return tuple(c for c, _ in SCHEMAS[_table(table)][0])


def result_columns(table: str) -> tuple[str, ...]:
    return tuple(c for c, _ in SCHEMAS[_table(table)][1])


def columns(table: str) -> tuple[str, ...]:
    return key_columns(table) + result_columns(table)


def _job_table_ddl(name: str) -> str:
    key, result = SCHEMAS[name]
    cols = [f"    {c} {t} NOT NULL" for c, t in key]
    cols += [f"    {c} {t}" + (" NOT NULL CHECK (status IN ({}))".format(", ".join(f"'{v}'" for v in STATUSES))
                                 if c == "status" else " NOT NULL" if c == "finished" else "")
             for c, t in result]
    cols.append(f"    PRIMARY KEY ({', '.join(c for c, _ in key)})")
    return f"CREATE TABLE {name} (\n" + ",\n".join(cols) + "\n) WITHOUT ROWID"


_SWEEP_DDL = """CREATE TABLE sweep (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    params TEXT NOT NULL,
    params_sha256 TEXT NOT NULL UNIQUE,
    model_digest TEXT NOT NULL,
    package_version TEXT NOT NULL,
    jobs INTEGER NOT NULL,
    created TEXT NOT NULL,
    started TEXT,
    finished TEXT,
    runs INTEGER NOT NULL DEFAULT 0
)"""


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class _Job:
    """What every stored job has (see the kind tables for the column meanings)."""

    model_digest: str
    semantics: str
    input: str
    seed: int
    budget: int
    pins: str
    status: str
    steps: int | None
    fallbacks: int | None
    error: str | None
    worker: str | None
    seconds: float | None
    sweep_id: int | None
    finished: str


@dataclass(frozen=True)
class JobRow(_Job):
    """One cycle-search job's stored result (a row of `cycles` or `pin`)."""

    start_index: int = 0
    start: str | None = None
    transient: int | None = None
    period: int | None = None
    rep: str | None = None

    @property
    def key(self) -> tuple:
        return tuple(getattr(self, c) for c, _ in _CYCLE_KEY)


@dataclass(frozen=True)
class LandscapeRow(_Job):
    """One landscape job's stored result (a row of `landscape`): `starts` random starts from `seed`;
    attractors = JSON list of {rep, period, count, transient_min, transient_max, transient_sum}."""

    starts: int = 0
    attractors: str | None = None
    unresolved: int | None = None

    @property
    def key(self) -> tuple:
        return tuple(getattr(self, c) for c, _ in _LANDSCAPE_KEY)


ROW_TYPES = {"cycles": JobRow, "pin": JobRow, "landscape": LandscapeRow}


@dataclass(frozen=True)
class SweepRow:
    id: int
    kind: str
    params: dict
    model_digest: str
    package_version: str
    jobs: int
    created: str
    started: str | None
    finished: str | None
    runs: int


def _refuse(path, why: str):
    raise SatrnnInputError(f"{path} is not a satrnn sweep database ({why}); nothing was written to it")


def check_existing(path: Path) -> None:
    """Validate an existing store without writing to it (read-only open): header, application id, schema
    version, tables, and SQLite's quick_check. Raises SatrnnInputError with one line on any mismatch."""
    if path.is_dir() or (path.exists() and not path.is_file()):
        raise SatrnnInputError(f"--db {path} is not a regular file")
    with open(path, "rb") as f:
        head = f.read(100)
    if len(head) == 0:
        return  # an empty file (e.g. `touch`) is a new, empty database to SQLite as well
    if len(head) < 100 or not head.startswith(SQLITE_MAGIC):
        _refuse(path, "not an SQLite file")
    # The application id is in the main file's header (the schema is created in rollback-journal mode), so a
    # foreign database is refused before SQLite opens it (which could leave -shm/-wal files beside it).
    app_id = int.from_bytes(head[68:72], "big")
    if app_id != APPLICATION_ID:
        _refuse(path, f"application id {app_id:#x}, expected {APPLICATION_ID:#x}")
    # A WAL-mode file without a -wal file has no writer and nothing outside the main file: open it immutable
    # (no -shm created beside a possibly damaged file). Otherwise an ordinary read-only open.
    idle = head[18] == 2 and not Path(f"{path}-wal").exists()
    try:
        con = sqlite3.connect(f"{path.resolve().as_uri()}?{'immutable=1' if idle else 'mode=ro'}", uri=True)
        try:
            (version,) = con.execute("PRAGMA user_version").fetchone()
            if version != SCHEMA_VERSION:
                _refuse(path, f"schema version {version}, this satrnn reads version {SCHEMA_VERSION}")
            names = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            missing = {"sweep", *JOB_TABLES} - names
            if missing:
                _refuse(path, f"missing table(s) {', '.join(sorted(missing))}")
            for t in JOB_TABLES:
                cols = tuple(r[1] for r in con.execute(f"PRAGMA table_info({t})"))
                if cols != columns(t):
                    _refuse(path, f"table {t} has unexpected columns")
            (ok,) = con.execute("PRAGMA quick_check").fetchone()
            if ok != "ok":
                _refuse(path, f"damaged: {ok}")
        finally:
            con.close()
    except sqlite3.DatabaseError as e:
        _refuse(path, f"SQLite: {e}")


class SweepStore:
    """An open, validated store. Use as a context manager; `writable=False` opens read-only."""

    def __init__(self, path: str | os.PathLike, writable: bool = True):
        self.path = Path(path)
        if not writable and not self.path.is_file():
            raise SatrnnInputError(f"--db {self.path} does not exist")
        if self.path.exists():
            check_existing(self.path)
        elif writable:
            parent = self.path.parent if str(self.path.parent) else Path(".")
            if not parent.is_dir():
                raise SatrnnInputError(f"cannot create --db {self.path}: directory {parent} does not exist")
            if not os.access(parent, os.W_OK):
                raise SatrnnInputError(f"cannot create --db {self.path}: permission denied")
        try:
            if writable:
                self.con = sqlite3.connect(self.path, isolation_level=None, timeout=30)
                self._init_schema()
            else:
                self.con = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True,
                                           isolation_level=None)
        except sqlite3.OperationalError as e:
            raise SatrnnInputError(f"cannot open --db {self.path}: {e}") from None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self) -> None:
        self.con.close()

    def _init_schema(self) -> None:
        c = self.con
        (app_id,) = c.execute("PRAGMA application_id").fetchone()
        if app_id != APPLICATION_ID:
            # Created in rollback-journal mode, so the header (application id) is in the main file at once.
            with self._tx():
                c.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                c.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                c.execute(_SWEEP_DDL)
                for t in JOB_TABLES:
                    c.execute(_job_table_ddl(t))
        c.execute("PRAGMA journal_mode = WAL")  # readers (`sweep status`) never block the writer
        c.execute("PRAGMA synchronous = NORMAL")

    # ---- sweeps ----------------------------------------------------------------------------------

    def sweep_for(self, kind: str, params: dict, params_sha256: str, model_digest: str, package_version: str,
                  jobs: int) -> int:
        """The id of the sweep with these parameters (created on first use); counts a run."""
        now = utc_now()
        with self._tx():
            self.con.execute("INSERT INTO sweep (kind, params, params_sha256, model_digest, package_version, jobs, "
                             "created) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (params_sha256) DO NOTHING",
                             (kind, json.dumps(params, sort_keys=True), params_sha256, model_digest,
                              package_version, jobs, now))
            self.con.execute("UPDATE sweep SET runs = runs + 1, started = ?, package_version = ? "
                             "WHERE params_sha256 = ?", (now, package_version, params_sha256))
            (sid,) = self.con.execute("SELECT id FROM sweep WHERE params_sha256 = ?", (params_sha256,)).fetchone()
        return int(sid)

    def mark_finished(self, sweep_id: int) -> None:
        with self._tx():
            self.con.execute("UPDATE sweep SET finished = ? WHERE id = ?", (utc_now(), sweep_id))

    def sweeps(self) -> list[SweepRow]:
        rows = self.con.execute("SELECT id, kind, params, model_digest, package_version, jobs, created, started, "
                                "finished, runs FROM sweep ORDER BY id").fetchall()
        return [SweepRow(r[0], r[1], json.loads(r[2]), *r[3:]) for r in rows]

    # ---- jobs ------------------------------------------------------------------------------------

    def done_keys(self, table: str, where: str, args: tuple) -> set[tuple]:
        """Keys of jobs with a result (not failed) among those selected by `where`."""
        sql = (f"SELECT {', '.join(key_columns(table))} FROM {table} WHERE status != 'failed' AND ({where})")
        return {tuple(r) for r in self.con.execute(sql, args)}

    def write_rows(self, table: str, rows: list) -> None:
        """One transaction: insert every row; a row replaces an existing one only if that one had failed."""
        if not rows:
            return
        cols, key = columns(table), key_columns(table)
        upd = ", ".join(f"{c} = excluded.{c}" for c in result_columns(table))
        sql = (f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))}) "
               f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {upd} WHERE {table}.status = 'failed'")
        with self._tx():
            self.con.executemany(sql, [tuple(getattr(r, c) for c in cols) for r in rows])

    def rows(self, table: str, where: str = "1", args: tuple = ()) -> list:
        sql = f"SELECT {', '.join(columns(table))} FROM {table} WHERE {where} ORDER BY {', '.join(key_columns(table))}"
        cols = columns(table)
        return [ROW_TYPES[table](**dict(zip(cols, r))) for r in self.con.execute(sql, args)]

    def counts(self, table: str, where: str, args: tuple) -> dict[str, int]:
        sql = f"SELECT status, COUNT(*) FROM {_table(table)} WHERE {where} GROUP BY status"
        out = dict.fromkeys(STATUSES, 0)
        out.update({s: int(n) for s, n in self.con.execute(sql, args)})
        return out

    def _tx(self):
        return _Transaction(self.con)


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on any exception (Ctrl-C included): all or nothing."""

    def __init__(self, con):
        self.con = con

    def __enter__(self):
        self.con.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.con.execute("COMMIT")
        else:
            self.con.execute("ROLLBACK")
        return False


def _table(name: str) -> str:
    if name not in JOB_TABLES:
        raise SatrnnInputError(f"unknown sweep kind {name!r}; kinds with results: {', '.join(JOB_TABLES)}")
    return name


def export_text(table: str, rows: list, sweeps: list[SweepRow], fmt: str) -> str:
    """CSV (one header line, one line per job) or JSON ({"sweeps": [...], "jobs": [...]})."""
    cols = columns(table)
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(cols)
        for r in rows:
            w.writerow(["" if getattr(r, c) is None else getattr(r, c) for c in cols])
        return buf.getvalue()
    if fmt == "json":
        return json.dumps({"sweeps": [s.__dict__ for s in sweeps if s.kind == table],
                           "jobs": [{c: getattr(r, c) for c in cols} for r in rows]}, indent=2) + "\n"
    raise SatrnnInputError(f"--format must be csv or json, got {fmt!r}")
