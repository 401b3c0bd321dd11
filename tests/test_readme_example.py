"""The README's "## Python API" example runs as printed, from the folder holding the published weights."""
from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def readme_example() -> str:
    """The first ```python block of the README's "## Python API" section."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    m = re.search(r"^## Python API\n(.*?)(?=^## |\Z)", text, flags=re.S | re.M)
    assert m, "README.md has no '## Python API' section"
    code = re.search(r"```python\n(.*?)```", m.group(1), flags=re.S)
    assert code, "the '## Python API' section has no python block"
    return code.group(1)


def test_readme_example_runs_on_the_published_weights(data_dir, monkeypatch, capsys):
    monkeypatch.chdir(data_dir)
    exec(compile(readme_example(), "README.md:Python API", "exec"), {"__name__": "__readme__"})
    out = capsys.readouterr().out
    assert "bpc 0.079201" in out
    assert "UM isomorphic to the RNN: True" in out
    assert "input 0x20: period 19,168" in out
    assert "satrnn cycles sat_model.bin --input 0x20 --input 0x65" in out
    assert re.search(r"\d+ of \d+ claims of seed 004 reproduced", out)
