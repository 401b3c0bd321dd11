"""The command-line options that several `satrnn` commands share, each defined once (`satrnn.unit.Option`).

A command lists them in its `Command.options`, in the order `--help` shows them; where a command needs its own
default or help it says so with `.but(...)` (`PRECISION.but(default="f64")`), so the flag, its type and its
metavar stay the same everywhere. Options that only one command has are declared in that command's module
(or its analysis unit's `options`).
"""
from __future__ import annotations

from satrnn.automaton.sign import SEMANTICS
from satrnn.rnn.model import DEFAULT_TANH, TANH_SEMANTICS
from satrnn.unit import option

# ---- what every command reads -----------------------------------------------------------------------------

JSON = option("--json", action="store_true", help="print one JSON document on stdout instead of tables")
MODEL = option("model", nargs="?", default=None, metavar="MODEL", reads=True,
               help="model file (.bin raw float32 or .npz); omit for the bundled default model")
TANH = option("--tanh", choices=TANH_SEMANTICS, default=DEFAULT_TANH,
              help="float32 tanh of the forward: fdlibm (default: bit-identical to glibc <= 2.40's tanhf, the "
                   "papers' arithmetic) or cr (correctly rounded, as glibc >= 2.41); satrnn computes both itself, "
                   "so the bits are the same on every host")
TEXT = option("text", nargs="?", default=None, metavar="TEXT", reads=True,
              help="text file (bytes); omit together with MODEL for the default corpus")
MAX_BYTES = option("--max-bytes", type=int, default=None, metavar="N",
                   help="use only the first N bytes of TEXT (the papers' programs use 1024)")
MODEL_TEXT = (MODEL, TANH, TEXT, MAX_BYTES)

# ---- the sign automaton -------------------------------------------------------------------------------------

SEMANTICS_OPTION = option("--semantics", choices=SEMANTICS, default="exact",
                          help="sign automaton arithmetic: exact real sum of the float32 terms (default) or the "
                               "papers' sequential float32 sum")
TIER1 = option("--tier1", default=None, metavar="CHOICE",
               help="sign automaton tier-1 arithmetic: chunk8, chunk4, chunk2, chunk1 (int16 sums), wide8, wide4 "
                    "(int32 sums); default: chosen by H (results are identical, only speed differs)")
PIN = option("--pin", default=None, metavar="J=+1,K=-1",
             help="hold neurons at +1 or -1 in every step whatever their input, e.g. 8=+1,56=-1")


def seed(default: int = 0):
    """--seed N: an integer 0..2^63-1, checked while parsing, printed by the command."""
    from satrnn.clikit import seed_type
    return option("--seed", type=seed_type, default=default, help=f"random seed (printed; default {default})")


SEED = seed(0)

# ---- shared by analyses ------------------------------------------------------------------------------------

PRECISION = option("--precision", choices=("f32", "f64"), default="f32",
                   help="f32: the papers' bit-exact float32 arithmetic (default); f64: double cross-check")
POSITIONS = option("--positions", metavar="LIST",
                   help="test positions t (comma list; default the paper's)")
TOP = option("--top", type=int, default=30, help="rows listed (default 30)")
OUT = option("--out", default=None, metavar="FILE", writes=True, help="write the result to FILE")
UNCLAMPED = option("--unclamped", action="store_true",
                   help="cost -ln P / ln 2 without the 1e-30 floor (q1_sparsity's convention)")
