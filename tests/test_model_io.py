"""Model I/O: both formats round-trip bit-identically; bad files are rejected with one clear line."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from satrnn.rnn.errors import SatrnnInputError
from satrnn.rnn.model import ElmanRNN, hidden_size_for, load_model, n_floats_for, random_model, save_model, to_flat


def test_published_shapes(published):
    model, _ = published
    assert model.H == 128 and model.n_params == 82304
    assert model.Wx.shape == (128, 256) and model.Wy.shape == (256, 128)
    assert not model.Wh.flags.writeable


@given(H=st.integers(1, 300))
def test_hidden_size_inverse(H):
    assert hidden_size_for(n_floats_for(H)) == H
    assert hidden_size_for(n_floats_for(H) + 1) is None


@settings(max_examples=10, deadline=None)
@given(H=st.sampled_from([1, 3, 7, 128, 200]), seed=st.integers(0, 2**31))
def test_roundtrip_both_formats(tmp_path_factory, H, seed):
    d = tmp_path_factory.mktemp("rt")
    m = random_model(H, seed)
    Wh = np.array(m.Wh)
    Wh[0, 0] = -0.0  # signed zero must survive
    m = m.replace(Wh=Wh)
    for name in ("m.bin", "m.npz"):
        save_model(m, d / name)
        back = load_model(d / name)
        assert back.equal_bits(m)
    assert (d / "m.bin").stat().st_size == 4 * n_floats_for(H)
    assert np.array_equal(to_flat(load_model(d / "m.bin")).view(np.uint32), to_flat(m).view(np.uint32))


def test_published_roundtrip(published, tmp_path, model_path):
    model, _ = published
    save_model(model, tmp_path / "a.bin")
    assert (tmp_path / "a.bin").read_bytes() == model_path.read_bytes()
    save_model(model, tmp_path / "a.npz")
    assert load_model(tmp_path / "a.npz").equal_bits(model)


def test_npz_meta_roundtrip(tmp_path):
    m = random_model(4, 1).replace(meta={"index_map": [3, 5, 7, 9]})
    save_model(m, tmp_path / "m.npz")
    assert load_model(tmp_path / "m.npz").meta["index_map"] == [3, 5, 7, 9]


@pytest.mark.parametrize("size,needle", [(0, "empty"), (10, "whole number"), (4 * 1000, "fits no hidden size"),
                                         (4 * n_floats_for(128) - 4, "H=128")])
def test_bad_bin_sizes(tmp_path, size, needle):
    p = tmp_path / "bad.bin"
    p.write_bytes(b"\0" * size)
    with pytest.raises(SatrnnInputError, match=needle):
        load_model(p)


def test_nan_and_inf_rejected(tmp_path):
    flat = to_flat(random_model(5, 0)).copy()
    for bad in (np.nan, np.inf):
        flat[7] = bad
        p = tmp_path / "nan.bin"
        p.write_bytes(flat.tobytes())
        with pytest.raises(SatrnnInputError, match="NaN/Inf"):
            load_model(p)


def test_wrong_dtype_and_shape_rejected(tmp_path):
    m = random_model(5, 0)
    with pytest.raises(SatrnnInputError, match="dtype"):
        ElmanRNN(**{**m.arrays(), "Wh": m.Wh.astype(np.float64)})
    with pytest.raises(SatrnnInputError, match="shape"):
        ElmanRNN(**{**m.arrays(), "Wh": np.zeros((5, 6), np.float32)})
    np.savez(tmp_path / "x.npz", Wx=m.Wx, Wh=m.Wh)
    with pytest.raises(SatrnnInputError, match="lacks"):
        load_model(tmp_path / "x.npz")
    (tmp_path / "t.npz").write_bytes(b"PK\x03\x04garbage")
    with pytest.raises(SatrnnInputError):
        load_model(tmp_path / "t.npz")


def test_unwritable_output_leaves_nothing(tmp_path):
    m = random_model(3, 0)
    with pytest.raises(SatrnnInputError, match="does not exist"):
        save_model(m, tmp_path / "nope" / "m.npz")
    with pytest.raises(SatrnnInputError, match=r"\.bin or \.npz"):
        save_model(m, tmp_path / "m.txt")
    assert list(tmp_path.iterdir()) == []


def test_saved_files_get_normal_permissions(tmp_path):
    import os
    mask = os.umask(0o022)
    try:
        save_model(random_model(3, 0), tmp_path / "m.npz")
    finally:
        os.umask(mask)
    assert (tmp_path / "m.npz").stat().st_mode & 0o777 == 0o644


# ---- bounded, non-blocking reads (issue 19) ------------------------------------------------------

def test_fifo_and_devices_are_refused_without_blocking(tmp_path):
    import os

    from satrnn.rnn.files import open_regular
    from satrnn.rnn.text import load_text
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)  # no writer: a blocking open would hang forever
    for path in (fifo, "/dev/zero", "/dev/urandom"):
        with pytest.raises(SatrnnInputError, match="not a regular file"):
            open_regular(path, "model file")
        with pytest.raises(SatrnnInputError, match="not a regular file"):
            load_text(path)
        with pytest.raises(SatrnnInputError, match="not a regular file"):
            load_model(path)


def test_model_reads_are_capped(tmp_path):
    from satrnn.rnn.model import MAX_H, MAX_MODEL_BYTES
    assert MAX_MODEL_BYTES == 4 * n_floats_for(MAX_H)
    p = tmp_path / "huge.bin"
    with open(p, "wb") as f:
        f.truncate(MAX_MODEL_BYTES + 4)  # sparse: refused from its size, never read
    with pytest.raises(SatrnnInputError, match="largest valid model"):
        load_model(p)


def test_npz_pickled_or_oversized_members_are_refused(tmp_path):
    m = random_model(3, 1)
    arrays = {k: getattr(m, k) for k in ("Wx", "Wh", "bh", "Wy", "by")}
    np.savez(tmp_path / "obj.npz", **arrays, meta=np.array([{"a": 1}], dtype=object))
    with pytest.raises(SatrnnInputError, match="plain numeric"):
        load_model(tmp_path / "obj.npz")
    np.savez(tmp_path / "wrong.npz", **{**arrays, "Wh": np.zeros((3, 4), np.float32)})
    with pytest.raises(SatrnnInputError, match="shape"):
        load_model(tmp_path / "wrong.npz")
    np.savez(tmp_path / "scalar_meta.npz", **arrays, meta=np.array("3"))
    with pytest.raises(SatrnnInputError, match="JSON object"):
        load_model(tmp_path / "scalar_meta.npz")


def test_text_limits_and_streaming(tmp_path):
    from satrnn.rnn.text import MAX_BYTES_LIMIT, iter_text, load_text, text_size
    p = tmp_path / "t.txt"
    data = np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8)
    p.write_bytes(data.tobytes())
    assert np.array_equal(load_text(p, max_bytes=100), data[:100])
    assert np.array_equal(np.concatenate(list(iter_text(p, max_bytes=4321, chunk=1000))), data[:4321])
    assert text_size(p) == 5000 and text_size(p, 10) == 10
    for bad in (0, -1, MAX_BYTES_LIMIT + 1, 10**20):
        with pytest.raises(SatrnnInputError, match="--max-bytes"):
            load_text(p, max_bytes=bad)
