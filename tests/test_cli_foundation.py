"""`satrnn info|eval|trace` end to end, and the one-line exit-2 contract for bad input."""
import json
import subprocess
import sys

import numpy as np
import pytest

from satrnn.cli import main
from satrnn.rnn.model import n_floats_for, random_model, save_model


def run_cli(*argv):
    """Run the CLI in a subprocess (real exit code, real stderr)."""
    p = subprocess.run([sys.executable, "-m", "satrnn", *map(str, argv)], capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


def assert_one_line_error(rc, out, err):
    assert rc == 2, (rc, out, err)
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("satrnn: error:"), err
    assert "Traceback" not in err


def test_eval_json(model_path, text_path, capsys):
    assert main(["eval", str(model_path), str(text_path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["predictions"] == 1023 and round(out["bpc"], 4) == 0.0792


def test_info_json(model_path, capsys):
    assert main(["info", str(model_path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    m = out["matrices"]
    assert [m[k]["params"] for k in ("Wx", "Wh", "bh", "Wy", "by")] == [32768, 16384, 128, 32768, 256]
    assert out["params"] == 82304
    assert out["spectral_radius_Wh"] > 0


def test_trace_writes_states(model_path, text_path, tmp_path, published_forward, capsys):
    out = tmp_path / "h.npy"
    assert main(["trace", str(model_path), str(text_path), "--out", str(out), "--json"]) == 0
    hs = np.load(out)
    assert hs.dtype == np.float32 and hs.shape == (1024, 128)
    assert np.array_equal(hs.view(np.uint32), published_forward.hs.view(np.uint32))


@pytest.fixture
def bad_files(tmp_path):
    good_text = tmp_path / "t.txt"
    good_text.write_bytes(b"hello world")
    m = random_model(4, 0)
    good_model = tmp_path / "m.bin"
    save_model(m, good_model)
    wrong = tmp_path / "wrong.bin"
    wrong.write_bytes(b"\0" * (4 * n_floats_for(4) + 4))
    nan = tmp_path / "nan.bin"
    flat = np.frombuffer(good_model.read_bytes(), "<f4").copy()
    flat[3] = np.nan
    nan.write_bytes(flat.tobytes())
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    return dict(text=good_text, model=good_model, wrong=wrong, nan=nan, empty=empty, dir=tmp_path)


@pytest.mark.parametrize("case", ["wrong_size", "nan", "empty_text", "missing_model", "unwritable",
                                  "bad_suffix", "bad_option", "text_without_model"])
def test_bad_input_exit_2(bad_files, case):
    f = bad_files
    argv = {
        "wrong_size": ["eval", f["wrong"], f["text"]],
        "nan": ["info", f["nan"]],
        "empty_text": ["eval", f["model"], f["empty"]],
        "missing_model": ["eval", f["dir"] / "absent.bin", f["text"]],
        "unwritable": ["trace", f["model"], f["text"], "--out", f["dir"] / "no" / "h.npy"],
        "bad_suffix": ["trace", f["model"], f["text"], "--out", f["dir"] / "h.txt"],
        "bad_option": ["eval", f["model"], f["text"], "--precision", "f16"],
        "text_without_model": ["eval", f["model"]],
    }[case]
    assert_one_line_error(*run_cli(*argv))
    assert not (f["dir"] / "h.txt").exists()


def test_help_of_every_command_renders(capsys):
    """`satrnn --help` and each subcommand's --help must format (a stray % in help text breaks argparse)."""
    from satrnn.cli import build_parser
    parser = build_parser()
    assert "COMMAND" in parser.format_help()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    assert {"info", "eval", "trace"} <= set(sub.choices)
    for name, p in sub.choices.items():
        assert name in p.format_help()
    with pytest.raises(SystemExit) as e:
        main(["--help"])
    assert e.value.code == 0


def test_a_run_of_one_command_imports_only_its_module():
    """build_parser(argv) naming a command imports that command's module alone; help and unknown names
    still see every command."""
    import subprocess
    import sys
    code = ("import sys; from satrnn.cli import build_parser; p = build_parser(sys.argv[1:]); "
            "print(sorted(m for m in sys.modules if m.startswith('satrnn.commands.')))")
    for argv, want in ((["margins", "m.bin", "t.txt"], ["satrnn.commands.margins"]),
                       (["factor-map", "m.bin", "t.txt"], ["satrnn.commands.factor_map"]),
                       (["import", "x.safetensors"], ["satrnn.commands.import_model"])):
        out = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, check=True)
        assert eval(out.stdout) == want, out.stdout
    for argv in (["--help"], ["nosuch"], ["sweep", "--help"], []):
        out = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, check=True)
        assert len(eval(out.stdout)) > 25, (argv, out.stdout)


def test_teardown_is_skipped_only_when_it_loses_nothing(tmp_path):
    """`satrnn` ends with os._exit after a successful command only when no non-daemon thread, no child
    process and no exit-time finalizer but numba's would be cut short (a temporary directory is one)."""
    import subprocess
    import sys
    code = r"""
import tempfile, threading, time
from satrnn.cli import _exit_now_loses_nothing as ok
from satrnn.rnn.forward import run_states
from satrnn.rnn.model import random_model
run_states(random_model(4, 0), [1, 2, 3])          # numba's own finalizers: no reason to run the teardown
print(ok())
d = tempfile.TemporaryDirectory()
print(ok())
d.cleanup()
print(ok())
stop = threading.Event()
t = threading.Thread(target=stop.wait)
t.start()
print(ok())
stop.set(); t.join()
print(ok())
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert out.stdout.split() == ["True", "False", "True", "False", "True"], out.stderr


def test_main_leaves_the_collector_on(capsys):
    import gc

    from satrnn.cli import main
    assert main(["no-such-command"]) == 2 and gc.isenabled()
