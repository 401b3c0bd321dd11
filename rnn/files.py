"""Safe file access for every command: bounded reads, protected outputs, all-or-nothing writes.

Reading: `read_regular(path, what, cap)` opens with O_NONBLOCK (a FIFO with no writer cannot block), refuses
anything that is not a regular file (devices such as /dev/zero, FIFOs, sockets) and refuses files larger than
`cap` bytes, so no read grows without bound. `NpzReader` reads `.npz` members after checking each `.npy`
header's shape and dtype, so a header claiming 10^12 floats is refused before any allocation.

Writing: `check_output(path, inputs)` refuses an output that resolves to one of the command's inputs, that
exists but is not a regular file (device, FIFO, symlink to one, /proc/self/fd links), whose name is too long
or whose directory is missing or unwritable. `StagedOutputs` writes every output of a command into a
temporary sibling (short fixed-length name, so any valid output name works) and renames them all only when
every write succeeded; on any failure or Ctrl-C the temporaries are removed and no output appears.
"""
from __future__ import annotations

import errno
import json
import os
import signal
import stat
import tempfile
import threading
import zipfile
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

import numpy as np

from satrnn.rnn.errors import SatrnnInputError

TMP_PREFIX = ".satrnn-"
TMP_SUFFIX = ".tmp"


def _strerror(e: OSError) -> str:
    return e.strerror or type(e).__name__


def _check_name_lengths(p: Path, what: str) -> None:
    limit = 255
    for part in p.parts:
        if len(os.fsencode(part)) > limit:
            raise SatrnnInputError(f"{what} {str(p)[:60]}...: a path component is {len(os.fsencode(part))} "
                                   f"bytes long; the limit is {limit}")
    if len(os.fsencode(str(p))) > 4095:
        raise SatrnnInputError(f"{what} path is {len(os.fsencode(str(p)))} bytes long; the limit is 4095")


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


# ---- reading ------------------------------------------------------------------------------------------

def open_regular(path: str | os.PathLike, what: str):
    """Open a regular file for reading without ever blocking; returns (file object, size in bytes)."""
    p = Path(path)
    _check_name_lengths(p, what)
    try:
        fd = os.open(p, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise SatrnnInputError(f"{what} not found: {p}") from None
    except OSError as e:
        if e.errno == errno.EISDIR:
            raise SatrnnInputError(f"{what} {p} is a directory") from None
        raise SatrnnInputError(f"cannot read {what} {p}: {_strerror(e)}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise SatrnnInputError(f"{what} {p} is {_kind(st.st_mode)}, not a regular file")
        if st.st_size == 0 and os.path.realpath(p).startswith(("/proc/", "/sys/")):
            # procfs and sysfs report size 0 for files whose content is generated as they are read
            raise SatrnnInputError(f"{what} {p} is a /proc or /sys pseudo-file (its size is unknown until read); "
                                   "copy it to a regular file first")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb"), int(st.st_size)
    except BaseException:
        os.close(fd)
        raise


def read_regular(path: str | os.PathLike, what: str, cap: int, limit: int | None = None,
                 too_big: str = "") -> bytes:
    """The bytes of a regular file, at most `limit` of them (None: all).

    A file that holds more than `cap` bytes (after applying `limit`) is refused; `too_big` is appended to
    that message (e.g. how to ask for a prefix).
    """
    f, size = open_regular(path, what)
    with f:
        want = size if limit is None else min(size, limit)
        if want > cap:
            raise SatrnnInputError(f"{what} {path} has {size:,} bytes, more than the {cap:,} this command "
                                   f"reads{too_big}")
        try:
            data = f.read(want + 1 if limit is None else want)
        except OSError as e:
            raise SatrnnInputError(f"cannot read {what} {path}: {_strerror(e)}") from None
    if len(data) > cap:  # the file grew while we read it
        raise SatrnnInputError(f"{what} {path} grew beyond {cap:,} bytes while being read")
    return data


class NpzReader:
    """Read arrays from a `.npz` after checking each header: no pickles, no allocation a header asks for
    beyond what the caller allows. Use as a context manager; errors are one-line SatrnnInputErrors."""

    def __init__(self, path: str | os.PathLike, what: str, cap: int):
        self.path, self.what = Path(path), what
        f, size = open_regular(path, what)
        if size > cap:
            f.close()
            raise SatrnnInputError(f"{what} {path} has {size:,} bytes, more than the {cap:,} it can hold")
        try:
            self._zip = zipfile.ZipFile(f)
        except (zipfile.BadZipFile, ValueError, OSError, EOFError) as e:
            f.close()
            raise SatrnnInputError(f"{what} {path} is not a readable .npz archive ({type(e).__name__}: {e})") from None
        self._file = f
        self.names = {n[:-4]: n for n in self._zip.namelist() if n.endswith(".npy")}

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self._zip.close()
        self._file.close()

    def _bad(self, msg: str) -> SatrnnInputError:
        return SatrnnInputError(f"{self.what} {self.path}: {msg}")

    def __contains__(self, name: str) -> bool:
        return name in self.names

    def array(self, name: str, max_elems: int, shape: tuple | None = None, kinds: str = "biufcU") -> np.ndarray:
        """Member `name` as an array; refused unless its header promises <= max_elems elements of a
        numeric/str kind (and the exact `shape` when given)."""
        if name not in self.names:
            raise self._bad(f"lacks array {name}")
        fmt = np.lib.format
        try:
            with self._zip.open(self.names[name]) as m:
                version = fmt.read_magic(m)
                if version == (1, 0):
                    hshape, fortran, dtype = fmt.read_array_header_1_0(m)
                elif version in ((2, 0), (3, 0)):
                    hshape, fortran, dtype = fmt.read_array_header_2_0(m)
                else:
                    raise self._bad(f"array {name} has unsupported .npy version {version}")
                n = 1
                for d in hshape:
                    n *= int(d)
                if dtype.hasobject or dtype.kind not in kinds:
                    raise self._bad(f"array {name} has dtype {dtype}, not a plain numeric/string type")
                if shape is not None and tuple(hshape) != tuple(shape):
                    raise self._bad(f"array {name} has shape {tuple(hshape)}, expected {tuple(shape)}")
                if n > max_elems or n * dtype.itemsize > 8 * max_elems + 4096:
                    raise self._bad(f"array {name} claims {n:,} elements of {dtype}, more than the "
                                    f"{max_elems:,} allowed")
                data = m.read(n * dtype.itemsize + 1)
        except SatrnnInputError:
            raise
        except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError, RuntimeError,
                NotImplementedError) as e:
            raise self._bad(f"array {name} is unreadable ({type(e).__name__}: {e})") from None
        if len(data) != n * dtype.itemsize:
            raise self._bad(f"array {name} holds {len(data):,} bytes, its header says {n * dtype.itemsize:,}")
        a = np.frombuffer(data, dtype=dtype).reshape(hshape, order="F" if fortran else "C")
        return np.array(a, order="C")

    def scalar_int(self, name: str) -> int:
        a = self.array(name, 1, kinds="biu")
        if a.shape != ():
            raise self._bad(f"{name} must be a single integer, got an array of shape {a.shape}")
        return int(a)

    def string(self, name: str, max_chars: int = 1 << 22) -> str:
        a = self.array(name, max_chars, kinds="U")
        if a.shape != ():
            raise self._bad(f"{name} must be a single string, got an array of shape {a.shape}")
        return str(a)

    def json_object(self, name: str) -> dict:
        try:
            obj = json.loads(self.string(name))
        except json.JSONDecodeError as e:
            raise self._bad(f"{name} is not valid JSON ({e.msg})") from None
        if not isinstance(obj, dict):
            raise self._bad(f"{name} must be a JSON object, got {type(obj).__name__}")
        return obj


# ---- writing ------------------------------------------------------------------------------------------

def in_pseudo_fs(path: str | os.PathLike) -> bool:
    """True when `path` resolves inside /proc, /dev or /sys (but not /dev/shm): no output may be written there."""
    real = os.path.realpath(path)
    return real.startswith(("/proc/", "/dev/", "/sys/")) and not real.startswith("/dev/shm/")


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except (OSError, ValueError):
        return os.path.realpath(a) == os.path.realpath(b)


def check_output(path: str | os.PathLike, inputs=(), what: str = "output") -> Path:
    """Validate an output path before any computation; returns the path to write.

    Refused (one line): an empty or over-long name, an existing directory / device / FIFO / socket, any
    symlink (e.g. /proc/self/fd/1, /dev/stdout), anything under /proc, /dev or /sys, a missing or unwritable
    directory, and any path that is the same file as one of `inputs` (after symlinks and hard links).
    """
    s = os.fspath(path)
    if not s:
        raise SatrnnInputError(f"{what} file name is empty")
    p = Path(s)
    _check_name_lengths(p, what)
    target = p
    if os.path.islink(s):
        # Never write through or replace a link: /dev/stdout, /proc/self/fd/N and friends point at whatever
        # the shell opened (a captured stdout is a regular file); the rename would replace the link itself.
        try:
            st = os.stat(s)
            kind = "a regular file" if stat.S_ISREG(st.st_mode) else _kind(st.st_mode)
        except OSError:
            kind = "nothing"
        raise SatrnnInputError(f"{what} {p} is a symlink (to {kind}); refusing to replace it: name the "
                               f"target file itself")
    if in_pseudo_fs(s):
        raise SatrnnInputError(f"{what} {p} is inside /proc, /dev or /sys; refusing to write there")
    try:
        st = os.stat(target)
    except FileNotFoundError:
        st = None
    except OSError as e:
        raise SatrnnInputError(f"cannot write {what} {p}: {_strerror(e)}") from None
    if st is not None and not stat.S_ISREG(st.st_mode):
        raise SatrnnInputError(f"{what} {p} is {_kind(st.st_mode)}; refusing to replace it")
    for inp in inputs:
        if inp is None or inp == "-":
            continue
        inp = os.fspath(inp)
        if (st is not None and os.path.exists(inp) and _same_file(str(target), inp)) or \
                os.path.realpath(target) == os.path.realpath(inp):
            raise SatrnnInputError(f"{what} {p} is the input {inp}; refusing to overwrite an input")
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.is_dir():
        raise SatrnnInputError(f"cannot write {what} {p}: directory {parent} does not exist")
    if not os.access(parent, os.W_OK) or (st is not None and not os.access(target, os.W_OK)):
        raise SatrnnInputError(f"cannot write {what} {p}: permission denied")
    return target


def check_distinct(named_outputs: dict) -> None:
    """Refuse two options naming the same output file (e.g. --out X.npz --checkpoint X.npz)."""
    seen: dict[str, str] = {}
    for option, path in named_outputs.items():
        if path is None or path == "-":
            continue
        key = os.path.realpath(os.fspath(path))
        if key in seen:
            raise SatrnnInputError(f"{seen[key]} and {option} name the same file {path}")
        for k, opt in list(seen.items()):
            if os.path.exists(k) and os.path.exists(key) and _same_file(k, key):
                raise SatrnnInputError(f"{opt} and {option} name the same file {path}")
        seen[key] = option


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def _sigint_deferred():
    """Hold SIGINT back (main thread, POSIX) for the few microseconds of a batch of renames."""
    if not hasattr(signal, "pthread_sigmask") or threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


class StagedOutputs:
    """All of a command's outputs, or none of them.

        with StagedOutputs() as out:
            out.write("a.npy", lambda f: np.save(f, a))      # written now, into a temporary sibling
            tmp = out.reserve("b.npy")                        # a temporary path for path-based writers
            ...
        # here every output has been renamed into place; on an exception none has

    Temporary names are `.satrnn-XXXXXXXX.tmp` in the output's directory (same file system, so the rename
    is atomic; fixed length, so a 255-byte output name works).
    """

    def __init__(self):
        self._staged: list[tuple[str, Path]] = []   # (temporary path, final path)
        self._token = None

    def __enter__(self):
        # While a batch is open, every `atomic_write_bytes` (save_model, write_file, save_npy, ...) joins it.
        self._token = _ACTIVE.set(self)
        return self

    def reserve(self, path: str | os.PathLike) -> str:
        p = check_output(path)
        parent = p.parent if str(p.parent) else Path(".")
        try:
            fd, tmp = tempfile.mkstemp(prefix=TMP_PREFIX, suffix=TMP_SUFFIX, dir=parent)
        except OSError as e:
            raise SatrnnInputError(f"cannot write {path}: {_strerror(e)}") from None
        os.close(fd)
        self._staged.append((tmp, p))
        return tmp

    def write(self, path: str | os.PathLike, write) -> None:
        """Stage one output now: `write(fileobj)` fills it."""
        tmp = self.reserve(path)
        try:
            with open(tmp, "wb") as f:
                write(f)
        except OSError as e:
            raise SatrnnInputError(f"cannot write {path}: {_strerror(e)}") from None

    def discard(self) -> None:
        for tmp, _ in self._staged:
            try:
                os.unlink(tmp)
            except OSError:
                pass
        self._staged.clear()

    def commit(self) -> None:
        mode = 0o666 & ~_umask()  # mkstemp makes 0600; give the files the usual permissions
        try:
            for tmp, _ in self._staged:
                os.chmod(tmp, mode)
        except OSError as e:
            self.discard()
            raise SatrnnInputError(f"cannot write outputs: {_strerror(e)}") from None
        done = []
        with _sigint_deferred():  # the renames finish together even if Ctrl-C arrives now
            self._rename_all(done)
        self._staged.clear()

    def _rename_all(self, done: list) -> None:
        for tmp, final in self._staged:
            existed = os.path.lexists(final)
            try:
                os.replace(tmp, final)
            except OSError as e:
                # Best effort "none": outputs this command created are removed again (a file that
                # existed before has already been replaced and cannot be restored).
                for f, was in done:
                    if not was:
                        try:
                            os.unlink(f)
                        except OSError:
                            pass
                failed = final
                self._staged = [(t, f) for t, f in self._staged if os.path.exists(t)]
                self.discard()
                raise SatrnnInputError(f"cannot write {failed}: {_strerror(e)}") from None
            done.append((final, existed))

    def __exit__(self, exc_type, exc, tb):
        if self._token is not None:
            _ACTIVE.reset(self._token)
            self._token = None
        if exc_type is None:
            self.commit()
        else:
            self.discard()
        return False


_ACTIVE: ContextVar[StagedOutputs | None] = ContextVar("satrnn_staged_outputs", default=None)


def atomic_write_bytes(path: str | os.PathLike, write) -> None:
    """Write one file via a temporary sibling and rename; `write(fileobj)` does the writing.

    Inside an open `StagedOutputs` batch the file joins the batch (renamed with the others at its end).
    """
    batch = _ACTIVE.get()
    if batch is not None:
        batch.write(path, write)
        return
    with StagedOutputs() as out:
        out.write(path, write)
