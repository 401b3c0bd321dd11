"""The floors depend one way only: rnn <- automaton <- analyses <- the application (the rest of the `satrnn`
package: API, CLI and commands, report, ledger, explorer, sweeps, warm-up). Every import of every module is
read with `ast` (also imports inside functions): a layer imports only itself and the layers below it, and no
module below the application imports a user-interface or infrastructure library (argparse, rich, textual,
dask, distributed, sqlite3, matplotlib). Kernels (numba-compiled functions) live below the application, where the
kernel cache's source hash (`rnn.numba_config.KERNEL_PACKAGES`) sees them."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
# repository folder -> (installed package, rank): a module may import only from packages of rank <= its own
FLOORS = {"rnn": ("satrnn.rnn", 0), "automaton": ("satrnn.automaton", 1), "analyses": ("satrnn.analyses", 2),
          "satrnn": ("satrnn", 3)}
APPLICATION_ONLY = ("argparse", "rich", "textual", "dask", "distributed", "sqlite3", "matplotlib")
KERNEL_DECORATORS = ("njit", "njit_parallel", "njit_leaf", "jit", "vectorize", "guvectorize", "cfunc",
                     "stencil")


def _rank(module: str) -> int | None:
    """The floor of an absolute module name, None outside the project."""
    for package, rank in sorted(FLOORS.values(), key=lambda pr: -len(pr[0])):
        if module == package or module.startswith(package + "."):
            return rank
    return None


def _files(repo: Path, folder: str):
    return sorted(p for p in (repo / folder).rglob("*.py") if ".venv" not in p.parts)


def _imports(tree: ast.AST):
    """(line, absolute module name) of every import; relative imports are reported as such."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                yield node.lineno, a.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                yield node.lineno, "." * node.level + (node.module or "")
            elif node.module == "satrnn":  # `from satrnn import x`: x may be a floor (rnn) or the API
                for a in node.names:
                    yield node.lineno, f"satrnn.{a.name}"
            else:
                yield node.lineno, node.module or ""


def violations(repo: Path = REPO) -> list[str]:
    out = []
    for folder, (_package, rank) in FLOORS.items():
        for path in _files(repo, folder):
            where = path.relative_to(repo)
            for line, name in _imports(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
                if name.startswith("."):
                    out.append(f"{where}:{line} relative import {name} (imports are absolute: satrnn.<floor>...)")
                    continue
                target = _rank(name)  # the package root `satrnn` itself is the application (its API)
                if target is not None and target > rank:
                    out.append(f"{where}:{line} imports {name}, a floor above {folder}/")
                if rank < 3 and name.split(".")[0] in APPLICATION_ONLY:
                    out.append(f"{where}:{line} imports {name}: only the application (satrnn/) may")
    return sorted(out)


def kernels_in_application(repo: Path = REPO) -> list[str]:
    """Functions of the application decorated as numba kernels (by name: `njit`, `numba.njit`, `njit(...)`)."""
    out = []
    for path in _files(repo, "satrnn"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for d in node.decorator_list:
                    d = d.func if isinstance(d, ast.Call) else d
                    name = d.attr if isinstance(d, ast.Attribute) else getattr(d, "id", "")
                    if name in KERNEL_DECORATORS:
                        out.append(f"{path.relative_to(repo)}:{node.lineno} {node.name}")
    return out


def test_layers_import_only_downwards():
    bad = violations()
    assert not bad, "layering violations:\n" + "\n".join(bad)


def test_the_application_holds_no_kernel():
    bad = kernels_in_application()
    assert not bad, "numba kernels in the application (move them to rnn/, automaton/ or analyses/):\n" + \
        "\n".join(bad)


def test_kernel_cache_hash_covers_the_kernel_floors():
    from satrnn.rnn import numba_config
    assert set(numba_config.KERNEL_PACKAGES) == {p for p, rank in FLOORS.values() if rank < 3}


@pytest.mark.parametrize("folder, source, expected", [
    ("rnn", "from satrnn.automaton.sign import SignAutomaton\n", "a floor above rnn/"),
    ("automaton", "def f():\n    from satrnn.analyses import coflip\n", "a floor above automaton/"),
    ("analyses", "import satrnn.cli\n", "a floor above analyses/"),
    ("analyses", "from satrnn import report\n", "a floor above analyses/"),
    ("analyses", "from satrnn import api\n", "a floor above analyses/"),
    ("analyses", "from rich.table import Table\n", "only the application"),
    ("automaton", "import sqlite3\n", "only the application"),
    ("rnn", "def f():\n    import argparse\n", "only the application"),
    ("analyses", "from dask import delayed\n", "only the application"),
    ("analyses", "from .coflip import coflip_report\n", "relative import"),
])
def test_the_checker_catches_an_upward_import(tmp_path, folder, source, expected):
    """The rule is live: a planted upward or forbidden import is reported, a downward one is not."""
    for f in FLOORS:
        (tmp_path / f).mkdir()
    (tmp_path / folder / "x.py").write_text(source)
    (tmp_path / "satrnn" / "ok.py").write_text("import argparse\nfrom satrnn.rnn.forward import forward\n"
                                               "from satrnn.analyses import coflip\nfrom rich.table import Table\n")
    (tmp_path / "analyses" / "ok.py").write_text("from satrnn.automaton import sign\nimport numpy\n")
    bad = violations(tmp_path)
    assert len(bad) == 1 and expected in bad[0] and f"{folder}/x.py" in bad[0], bad


def test_the_checker_catches_a_kernel_in_the_application(tmp_path):
    (tmp_path / "satrnn").mkdir()
    (tmp_path / "satrnn" / "k.py").write_text("from satrnn.rnn.numba_config import njit\n@njit\ndef _k(x):\n"
                                              "    return x\n@numba.njit(cache=True)\ndef _j(x):\n    return x\n"
                                              "def plain():\n    pass\n")
    assert [b.split()[-1] for b in kernels_in_application(tmp_path)] == ["_k", "_j"]
