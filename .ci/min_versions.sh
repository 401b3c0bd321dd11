#!/usr/bin/env bash
# Smoke test of a fresh, non-editable install on the declared MINIMUM versions of the dependencies
# (numpy, numba, scipy, networkx, rich, matplotlib, safetensors: each pinned to the floor pyproject.toml
# declares), run from a folder outside the repository: the one import name works, the old top-level names do
# not, the README's Python API example runs on the published weights, and a few commands run end to end
# (export and import of the published weights, figures in every format, byte-identical when made twice).
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
: "${SATRNN_DATA:?set SATRNN_DATA to the folder holding sat_model.bin and enwik_1024.txt}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
pins="$(python3 - "$repo/pyproject.toml" <<'PY'
import re, sys, tomllib
deps = tomllib.load(open(sys.argv[1], "rb"))["project"]["dependencies"]
print(" ".join(re.sub(r"\s*>=\s*", "==", d) for d in deps))
PY
)"
echo "min-versions smoke: $pins"
python3 -m venv "$work/venv"
"$work/venv/bin/python" -m pip install --quiet $pins "$repo"
"$work/venv/bin/python" -m pip list 2>/dev/null | grep -i -E '^(numpy|numba|scipy|networkx|rich|matplotlib|safetensors|satrnn) '
cd "$work"
export SATRNN_HOME="$work/home" NUMBA_CACHE_DIR="$work/numba"
"$work/venv/bin/python" - "$repo/README.md" <<'PY'
import importlib, os, re, sys
for old in ("automaton", "rnn", "analyses"):
    try:
        importlib.import_module(old)
    except ImportError:
        pass
    else:
        sys.exit(f"`import {old}` works after pip install .: only `satrnn` may be installed")
import satrnn
assert "site-packages" in satrnn.__file__, satrnn.__file__   # the installed copy, not the source tree
readme = open(sys.argv[1], encoding="utf-8").read()
section = re.search(r"^## Python API\n(.*?)(?=^## |\Z)", readme, flags=re.S | re.M).group(1)
code = re.search(r"```python\n(.*?)```", section, flags=re.S).group(1)
os.chdir(os.environ["SATRNN_DATA"])
exec(compile(code, "README.md:Python API", "exec"), {"__name__": "__readme__"})
PY
M="$SATRNN_DATA/sat_model.bin" T="$SATRNN_DATA/enwik_1024.txt"
"$work/venv/bin/satrnn" info "$M"
"$work/venv/bin/satrnn" eval "$M" "$T"
"$work/venv/bin/satrnn" cycles "$M" --input 0x20 --starts 1 --budget 100000
"$work/venv/bin/satrnn" verify "$M" "$T" --only 004 > /dev/null
"$work/venv/bin/satrnn" export "$M" --out "$work/m.safetensors"
"$work/venv/bin/satrnn" import "$work/m.safetensors" --out "$work/m.npz"
"$work/venv/bin/satrnn" eval "$work/m.npz" "$T"
# figures on the minimum matplotlib: every format, and the same bytes twice
"$work/venv/bin/satrnn" figures "$M" "$T" --out "$work/f1" --only margins,cycles --format svg,png,pdf > /dev/null
"$work/venv/bin/satrnn" figures "$M" "$T" --out "$work/f2" --only margins,cycles --format svg,png,pdf > /dev/null
for f in "$work"/f1/*; do cmp "$f" "$work/f2/$(basename "$f")"; done
echo "min-versions smoke: passed"
