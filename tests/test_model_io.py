"""Model I/O: both formats round-trip bit-identically; bad files are rejected with one clear line."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from satrnn.rnn.errors import SatrnnInputError
from satrnn.rnn.model import (ElmanRNN, hidden_size_for, load_model, n_floats_for, random_model, save_model,
                       to_flat)


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
