"""rnn.numba_config: the kernel cache lives in a folder named after the package sources, so a changed
function in one module can never be served from another module's stale cached machine code."""
import importlib.util
import os
from pathlib import Path
from types import SimpleNamespace

import numba

from satrnn.rnn import numba_config as nc


def test_cache_dir_is_named_after_the_sources():
    import satrnn.automaton.sign  # noqa: F401  (decorates kernels with the configured cache dir)
    assert Path(numba.config.CACHE_DIR).name == f"satrnn-{nc._source_digest()}"


def test_digest_changes_with_any_kernel_source_file(tmp_path, monkeypatch):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "a.py").write_text("import numba\n")
    (pkg / "b.py").write_text("import numba\ny = 2\n")
    (pkg / "c.py").write_text("z = 0\n")
    real = importlib.util.find_spec
    monkeypatch.setattr(nc.importlib.util, "find_spec",
                        lambda name: SimpleNamespace(submodule_search_locations=[str(pkg)])
                        if name.startswith("satrnn.") else real(name))
    d0 = nc._source_digest()
    (pkg / "c.py").write_text("z = 1\n")          # no numba in it: cannot hold kernel code
    assert nc._source_digest() == d0
    (pkg / "b.py").write_text("import numba\ny = 3\n")
    d1 = nc._source_digest()
    (pkg / "b.py").write_text("import numba\ny = 2\n")
    assert d0 != d1 and nc._source_digest() == d0


def test_prune_keeps_the_newest_generations(tmp_path):
    dirs = []
    for k in range(6):
        d = tmp_path / f"satrnn-{k:016x}"
        d.mkdir()

        os.utime(d, (1000 + k, 1000 + k))
        dirs.append(d)
    nc._prune(dirs[-1])
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == [d.name for d in dirs[-nc._CACHE_GENERATIONS:]]
