"""The result store of `satrnn sweep`: one SQLite file (standard library `sqlite3`), written by the client only.

Schema (version `SCHEMA_VERSION`, marked by `PRAGMA application_id = APPLICATION_ID` and `user_version`):

- `sweep`: one row per distinct sweep. `params` is the canonical JSON of everything that defines the job list
  (kind, model digest, semantics, inputs, starts, seed, budget, pin sets); `params_sha256` is UNIQUE, so running
  the same sweep again finds its row. `model_digest` (sha256 of the float32 weights in file order),
  `package_version`, `jobs` (total), `created`, `started` (last run), `finished` (NULL until every job has a
  row), `runs` (how many times it was started). Times are ISO 8601 UTC.
- one result table per sweep kind (`cycles`, `pin`), keyed by the job's parameters
  (PRIMARY KEY model_digest, semantics, input, seed, start_index, budget, pins): `input` is the input byte
  sequence in hex (one byte = two digits; a constant input is one byte), or "sha256:<digest>" for a sequence
  over 64 bytes (sweep.input_key), `pins` the canonical pin set
  ("" = none, else "i=+1,j=-1" sorted by neuron), `start` the start state in hex. Results: `status`
  ('cycle' | 'unresolved' | 'failed'), `transient` and `period` in steps, `rep` (hex of the smallest state
  on the cycle at sequence boundaries), `steps`, `fallbacks`; `error` for a failed job; `worker`, `seconds`,
  `sweep_id` (the sweep that computed it), `finished`.

Writes: each finished chunk is one transaction (`INSERT ... ON CONFLICT DO UPDATE ... WHERE status = 'failed'`):
a result row is never written twice or half; a failed job is retried by the next run and replaced by its
result. A new store is created whole (schema written to a temporary sibling, then linked into place). Before
anything is written an existing file is checked without writing to or beside it (SQLite header, application
id, schema version, tables, quick_check, every sweep row's params): an empty, corrupt, damaged or foreign file
is refused and left untouched. Readers (`status`, `export`) open the store immutable when no writer is at
work (no lock, no -shm/-wal: a read-only file system is fine). A store locked by another connection is waited
for at most `lock_timeout` seconds, interruptibly (SQLite's own busy wait ignores Ctrl-C).
"""
from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import sqlite3
import stat
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from satrnn.rnn.errors import SatrnnInputError, SatrnnRunError

APPLICATION_ID = 0x73524E53  # b"sRNS"
SCHEMA_VERSION = 1
SQLITE_MAGIC = b"SQLite format 3\x00"
DEFAULT_LOCK_TIMEOUT = 10.0  # seconds a sweep waits for a store locked by another connection (--lock-timeout)
SQLITE_BUSY, SQLITE_LOCKED, SQLITE_FULL = 5, 6, 13  # primary result codes
TMP_PREFIX, TMP_SUFFIX = ".satrnn-", ".tmp"  # a store being created (as rnn.files' staged outputs)
# The keys and JSON types of a `sweep` row's params (SweepSpec.params; landscapes add an int `seeds`).
PARAM_TYPES = {"kind": str, "model_digest": str, "H": int, "semantics": str, "inputs": list, "starts": int,
               "seed": int, "budget": int, "pin_sets": list}

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


def _kind_of(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a regular file"


def _stat_existing(path: Path):
    """os.stat of the store, None when it does not exist; anything but a regular file is refused (one line)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    except OSError as e:
        raise SatrnnInputError(f"cannot read --db {path}: {e.strerror}") from None
    if not stat.S_ISREG(st.st_mode):
        raise SatrnnInputError(f"--db {path} is {_kind_of(st.st_mode)}, not a sweep store")
    return st


def _error_code(e: sqlite3.Error) -> int:
    return getattr(e, "sqlite_errorcode", 0) & 0xFF


def _busy(e: sqlite3.Error) -> bool:
    return isinstance(e, sqlite3.OperationalError) and (
        _error_code(e) in (SQLITE_BUSY, SQLITE_LOCKED) or "database is locked" in str(e))


def _full(e: sqlite3.Error) -> bool:
    return _error_code(e) == SQLITE_FULL or "disk is full" in str(e)


def _has_journal(path: Path) -> bool:
    """A -wal or -journal file with content beside the store: a writer is (or was, until it died) at work,
    and committed pages may live outside the main file."""
    for suffix in ("-wal", "-journal"):
        try:
            if os.stat(f"{path}{suffix}").st_size > 0:
                return True
        except OSError:
            pass
    return False


def _connect_read_only(path: Path) -> sqlite3.Connection:
    """A read-only connection that writes nothing beside the store. Without a journal (no writer at work), the
    file is opened immutable: no lock, no -shm/-wal created (works on a read-only file system). With one, an
    ordinary read-only open, which SQLite needs to read the pages in the write-ahead log."""
    uri = path.resolve().as_uri()
    if not _has_journal(path):
        return sqlite3.connect(f"{uri}?immutable=1", uri=True, isolation_level=None, timeout=0)
    try:
        con = sqlite3.connect(f"{uri}?mode=ro", uri=True, isolation_level=None, timeout=0)
        con.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()
        return con
    except sqlite3.OperationalError as e:
        if _busy(e):
            raise
        raise SatrnnInputError(f"cannot read --db {path}: it has a write-ahead log ({path.name}-wal) that SQLite "
                               f"cannot open read-only here ({e}); copy the store and its -wal/-shm files to a "
                               "writable directory") from None


def _retrying(what, path: Path, lock_timeout: float):
    """Run what() again while the store is locked by another connection (every 50 ms, interruptible), at most
    `lock_timeout` seconds; then a one-line SatrnnRunError (exit 1)."""
    t0 = time.monotonic()
    while True:
        try:
            return what()
        except sqlite3.OperationalError as e:
            if not _busy(e):
                raise
            if time.monotonic() - t0 >= lock_timeout:
                raise SatrnnRunError(f"--db {path} is locked by another process (waited {lock_timeout:g} s; "
                                     "--lock-timeout SECONDS waits longer)") from None
            time.sleep(0.05)


def _check_params(path: Path, sid, kind, text) -> None:
    """A `sweep` row's params must be the JSON object SweepSpec.params() wrote; anything else is damage."""
    where = f"sweep row {sid}"
    try:
        p = json.loads(text)
    except (TypeError, ValueError) as e:
        _refuse(path, f"{where}: params is not JSON ({type(e).__name__})")
    if not isinstance(p, dict):
        _refuse(path, f"{where}: params is a JSON {type(p).__name__}, not an object")
    missing = sorted(set(PARAM_TYPES) - set(p))
    if missing:
        _refuse(path, f"{where}: params lacks {', '.join(missing)}")
    for k, t in PARAM_TYPES.items():
        v = p[k]
        ok = (isinstance(v, list) and all(isinstance(x, str) for x in v)) if t is list else \
            (isinstance(v, t) and not isinstance(v, bool))
        if not ok:
            _refuse(path, f"{where}: params {k} is {type(v).__name__}, not {t.__name__}")
    if p["kind"] not in JOB_TABLES or p["kind"] != kind:
        _refuse(path, f"{where}: kind {kind!r} with params kind {p['kind']!r}")
    if "seeds" in p and (not isinstance(p["seeds"], int) or isinstance(p["seeds"], bool)):
        _refuse(path, f"{where}: params seeds is {type(p['seeds']).__name__}, not int")


def _validate(con: sqlite3.Connection, path: Path) -> None:
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
    for sid, kind, params in con.execute("SELECT id, kind, params FROM sweep ORDER BY id"):
        _check_params(path, sid, kind, params)


def check_existing(path: Path, lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> None:
    """Validate an existing store without writing to it or beside it (read-only open): a regular file, not
    empty, SQLite header, application id, schema version, tables, SQLite's quick_check, and every `sweep`
    row's params. Raises SatrnnInputError with one line on any mismatch."""
    st = _stat_existing(path)
    if st is None:
        raise SatrnnInputError(f"--db {path} does not exist")
    try:
        with open(path, "rb") as f:
            head = f.read(100)
    except OSError as e:
        raise SatrnnInputError(f"cannot read --db {path}: {e.strerror}") from None
    if len(head) == 0:
        raise SatrnnInputError(f"--db {path} is empty (0 bytes), not a satrnn sweep database; nothing was written "
                               "to it (remove it, or name a new file for a new store)")
    if len(head) < 100 or not head.startswith(SQLITE_MAGIC):
        _refuse(path, "not an SQLite file")
    # The application id is in the main file's header (the schema is created in rollback-journal mode), so a
    # foreign database is refused before SQLite opens it (which could leave -shm/-wal files beside it).
    app_id = int.from_bytes(head[68:72], "big")
    if app_id != APPLICATION_ID:
        _refuse(path, f"application id {app_id:#x}, expected {APPLICATION_ID:#x}")

    def check():
        con = _connect_read_only(path)
        try:
            _validate(con, path)
        finally:
            con.close()
    try:
        _retrying(check, path, lock_timeout)
    except sqlite3.DatabaseError as e:
        _refuse(path, f"SQLite: {e}")


def _create(path: Path) -> None:
    """Create an empty store at `path` all at once: the schema is written to a temporary sibling, which is then
    linked into place. An interrupted or failed creation leaves no file; a store another process created
    meanwhile is kept (and validated by the caller)."""
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise SatrnnInputError(f"cannot create --db {path}: directory {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise SatrnnInputError(f"cannot create --db {path}: permission denied")
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=TMP_PREFIX, suffix=TMP_SUFFIX, dir=parent)
        os.close(fd)
        con = sqlite3.connect(tmp, isolation_level=None)
        try:
            con.execute("BEGIN IMMEDIATE")
            con.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            con.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            con.execute(_SWEEP_DDL)
            for t in JOB_TABLES:
                con.execute(_job_table_ddl(t))
            con.execute("COMMIT")
            con.execute("PRAGMA journal_mode = WAL")  # readers (`sweep status`) never block the writer
        finally:
            con.close()
        os.chmod(tmp, 0o666 & ~_umask())
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
    except sqlite3.Error as e:
        raise SatrnnInputError(f"cannot create --db {path}: {e}") from None
    except OSError as e:
        raise SatrnnInputError(f"cannot create --db {path}: {e.strerror}") from None
    finally:
        if tmp is not None:
            for suffix in ("", "-journal", "-wal", "-shm"):
                with contextlib.suppress(OSError):
                    os.unlink(tmp + suffix)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def store_exists(path: str | os.PathLike) -> bool:
    """Whether --db names an existing file (anything but a regular file is refused, one line)."""
    return _stat_existing(Path(path)) is not None


def probe_writable(path: str | os.PathLike, lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> None:
    """Before a sweep starts its cluster: an existing store is valid and its write lock can be taken (waiting
    at most `lock_timeout` s). Writes nothing."""
    p = Path(path)
    if _stat_existing(p) is None:
        return
    with SweepStore(p, lock_timeout=lock_timeout) as store:
        store._retry(lambda: store.con.execute("BEGIN IMMEDIATE"))
        store.con.execute("ROLLBACK")


class SweepStore:
    """An open, validated store. Use as a context manager. `writable=False` opens read-only and never writes
    to or beside the file; a missing store is created (all at once) when writable. A store locked by another
    connection is waited for at most `lock_timeout` seconds (interruptible), then SatrnnRunError (exit 1); a
    full disk at a commit is SatrnnRunError too (the chunks committed before stay)."""

    def __init__(self, path: str | os.PathLike, writable: bool = True, lock_timeout: float = DEFAULT_LOCK_TIMEOUT):
        self.path = Path(path)
        self.lock_timeout = float(lock_timeout)
        if not writable:
            check_existing(self.path, self.lock_timeout)
            try:
                self.con = self._retry(lambda: _connect_read_only(self.path))
            except sqlite3.DatabaseError as e:
                _refuse(self.path, f"SQLite: {e}")
            return
        if _stat_existing(self.path) is None:
            _create(self.path)
        check_existing(self.path, self.lock_timeout)
        try:
            self.con = sqlite3.connect(self.path, isolation_level=None, timeout=0)
            mode = self._retry(lambda: self.con.execute("PRAGMA journal_mode = WAL").fetchone()[0])
            if mode != "wal":
                raise SatrnnInputError(f"cannot open --db {self.path} for writing: journal mode {mode}")
            self.con.execute("PRAGMA synchronous = NORMAL")
        except sqlite3.OperationalError as e:
            raise SatrnnInputError(f"cannot open --db {self.path}: {e}") from None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self) -> None:
        self.con.close()

    def _retry(self, what):
        return _retrying(what, self.path, self.lock_timeout)

    def _query(self, sql: str, args: tuple = ()) -> list:
        return self._retry(lambda: self.con.execute(sql, args).fetchall())

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
        rows = self._query("SELECT id, kind, params, model_digest, package_version, jobs, created, started, "
                           "finished, runs FROM sweep ORDER BY id")
        for r in rows:
            _check_params(self.path, r[0], r[1], r[2])
        return [SweepRow(r[0], r[1], json.loads(r[2]), *r[3:]) for r in rows]

    # ---- jobs ------------------------------------------------------------------------------------

    def done_keys(self, table: str, where: str, args: tuple) -> set[tuple]:
        """Keys of jobs with a result (not failed) among those selected by `where`."""
        sql = (f"SELECT {', '.join(key_columns(table))} FROM {table} WHERE status != 'failed' AND ({where})")
        return {tuple(r) for r in self._query(sql, args)}

    def check_rows(self, table: str, where: str, args: tuple) -> None:
        """Refuse (one line, exit 2) a store whose result rows among those selected by `where` are damaged: a
        status without its results, a state that is not hexadecimal, landscape attractors that are not a JSON
        array. Checked before a sweep writes anything, so the summary it prints never trips over them."""
        hexbad = "({c} IS NOT NULL AND ({c} = '' OR {c} GLOB '*[^0-9a-f]*'))"
        if _table(table) == "landscape":
            bad = ("status = 'done' AND (attractors IS NULL OR NOT json_valid(attractors) OR "
                   "json_type(attractors) != 'array' OR unresolved IS NULL)")
        else:
            bad = " OR ".join([hexbad.format(c="start"), hexbad.format(c="rep"),
                               "(status = 'cycle' AND (rep IS NULL OR transient IS NULL OR period IS NULL OR "
                               "period < 1 OR transient < 0))"])
        third = "starts" if table == "landscape" else "start_index"
        sql = (f"SELECT COUNT(*), MIN(input || ' / ' || seed || ' / ' || {third}) FROM {table} "
               f"WHERE ({where}) AND ({bad})")
        n, example = self._query(sql, args)[0]
        if n:
            _refuse(self.path, f"{n} damaged row(s) of this sweep in table {table}, e.g. input / seed / "
                               f"{'starts' if table == 'landscape' else 'start'} {str(example)[:80]}")

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
        return [ROW_TYPES[table](**dict(zip(cols, r))) for r in self._query(sql, args)]

    def counts(self, table: str, where: str, args: tuple) -> dict[str, int]:
        sql = f"SELECT status, COUNT(*) FROM {_table(table)} WHERE {where} GROUP BY status"
        out = dict.fromkeys(STATUSES, 0)
        out.update({s: int(n) for s, n in self._query(sql, args)})
        return out

    def _tx(self):
        return _Transaction(self)


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on any exception (Ctrl-C included): all or nothing. Taking the
    write lock waits at most the store's lock_timeout; a full disk is one line (SatrnnRunError)."""

    def __init__(self, store: SweepStore):
        self.store, self.con = store, store.con

    def __enter__(self):
        self.store._retry(lambda: self.con.execute("BEGIN IMMEDIATE"))

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            try:
                self.store._retry(lambda: self.con.execute("COMMIT"))
                return False
            except BaseException as e:  # noqa: BLE001 - rolled back below, then raised (translated)
                exc = e
        if self.con.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                self.con.execute("ROLLBACK")
        if isinstance(exc, sqlite3.Error):
            p = self.store.path
            if _full(exc):
                raise SatrnnRunError(f"cannot write to --db {p}: the disk is full ({exc}); every chunk committed "
                                     "before is kept: free space and re-run the same command to compute the "
                                     "rest") from None
            if isinstance(exc, sqlite3.OperationalError):
                raise SatrnnRunError(f"cannot write to --db {p}: {exc}; every chunk committed before is kept: "
                                     "re-run the same command to compute the rest") from None
        if exc_type is None:
            raise exc
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
