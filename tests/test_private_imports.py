"""No library module imports a `_private` name from another package: satrnn.rnn, satrnn.automaton,
satrnn.analyses and the application (the rest of the satrnn package) keep their private names (numba kernels,
helpers) to themselves; a kernel another layer needs has a public name (e.g.
`rnn.forward.softmax_cost_kernel`). Also catches `mod._name` on a module imported from another package.
Dunder names are not private. tests/ and benchmarks/ are white-box (they check and time the private kernels
directly) and are not held to the rule."""
from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# repository folder -> installed package
PACKAGES = {"rnn": "satrnn.rnn", "automaton": "satrnn.automaton", "analyses": "satrnn.analyses", "satrnn": "satrnn"}
LAYERS = ("satrnn.rnn", "satrnn.automaton", "satrnn.analyses")


def _package_of(module: str) -> str:
    for layer in LAYERS:
        if module == layer or module.startswith(layer + "."):
            return layer
    return "satrnn" if module.split(".")[0] == "satrnn" else module.split(".")[0]


def _module_name(path: Path, repo: Path) -> str:
    rel = path.relative_to(repo).with_suffix("")
    parts = list(rel.parts)
    if parts[0] in PACKAGES:
        parts = PACKAGES[parts[0]].split(".") + parts[1:]
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _resolve(node: ast.ImportFrom, module: str, is_pkg: bool) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".") if is_pkg else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def violations(repo: Path = REPO) -> list[str]:
    out = []
    files = [p for d in PACKAGES for p in (repo / d).rglob("*.py") if ".venv" not in p.parts]
    for path in files:
        mod = _module_name(path, repo)
        mine = _package_of(mod)
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        foreign_modules = {}  # local name -> imported module of another package
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                src = _resolve(node, mod, path.name == "__init__.py")
                if _package_of(src) == mine or not src.startswith("satrnn"):
                    continue
                for a in node.names:
                    if _private(a.name):
                        out.append(f"{path.relative_to(repo)}:{node.lineno} imports {a.name} from {src}")
                    else:
                        foreign_modules[a.asname or a.name] = f"{src}.{a.name}"
                    if any(_private(p) for p in src.split(".")):
                        out.append(f"{path.relative_to(repo)}:{node.lineno} imports from private module {src}")
            elif isinstance(node, ast.Import):
                for a in node.names:
                    if a.name.startswith("satrnn") and _package_of(a.name) != mine:
                        if any(_private(p) for p in a.name.split(".")):
                            out.append(f"{path.relative_to(repo)}:{node.lineno} imports private module {a.name}")
                        if a.asname:
                            foreign_modules[a.asname] = a.name
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                    and node.value.id in foreign_modules and _private(node.attr)):
                out.append(f"{path.relative_to(repo)}:{node.lineno} uses {node.value.id}.{node.attr} "
                           f"({foreign_modules[node.value.id]})")
    return sorted(set(out))


def test_no_private_name_crosses_a_package_boundary():
    bad = violations()
    assert not bad, "private names used across packages:\n" + "\n".join(bad)


def test_the_checker_catches_a_private_import(tmp_path):
    """The rule is live: a planted private import from another package is reported."""
    fake = tmp_path / "repo"
    (fake / "analyses").mkdir(parents=True)
    (fake / "analyses" / "x.py").write_text("from satrnn.automaton.sign import _step_packed\n"
                                            "from satrnn.automaton import cycles as cyc\ncyc._brent_one\n"
                                            "from .report import _private_ok\n")
    bad = violations(fake)
    assert any("_step_packed" in b for b in bad) and any("cyc._brent_one" in b for b in bad)
    assert not any("_private_ok" in b for b in bad)
