"""The DDC peer (benchmarks/ddc_peer): TF V1 checkpoint reader, DDC features, the placement CNN.

Tests that need the released DDC files skip when ../shared/peers/ddc is absent; the checkpoint reader and
the feature code are also tested on synthetic inputs so they run everywhere.
"""

from __future__ import annotations

import struct
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # `benchmarks` is not an installed package
    sys.path.insert(0, str(REPO))

from ddc_sm.placement import ddc_checkpoint as ck  # noqa: E402
from benchmarks.ddc_peer import placement as pl  # noqa: E402

PEER_DIR = pl.DEFAULT_PEER_DIR
needs_peer = pytest.mark.skipif(
    not (PEER_DIR / "model_sp-56000").is_file() or not (PEER_DIR / "norm.pkl").is_file(),
    reason=f"DDC peer files not found in {PEER_DIR} (benchmark-only material, never shipped)",
)


# ------------------------------------------------------------------------------------------------
# a tiny V1 checkpoint written by hand, to test the reader without TensorFlow or peer files
# ------------------------------------------------------------------------------------------------
def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _field(num: int, payload: bytes) -> bytes:
    return _varint(num << 3 | 2) + _varint(len(payload)) + payload


def _vfield(num: int, value: int) -> bytes:
    return _varint(num << 3) + _varint(value)


def _shape(dims) -> bytes:
    return b"".join(_field(2, _vfield(1, d)) for d in dims)


def _slice(extents) -> bytes:  # [(start, length)] ; [] = full
    return b"".join(_field(1, _vfield(1, s) + _vfield(2, n)) for s, n in extents)


def _snappy(raw: bytes) -> bytes:
    """A valid Snappy encoding of ``raw``: a literal, then its last 8 bytes as a back-reference to where
    they first occur (so both element kinds are exercised) or as a second literal."""

    def literal(b: bytes) -> bytes:
        n = len(b) - 1
        return (bytes([n << 2]) if n < 60 else bytes([61 << 2]) + n.to_bytes(2, "little")) + b

    head, tail = raw[:-8], raw[-8:]
    pos = head.find(tail)
    rest = literal(tail) if pos < 0 else bytes([(8 - 1) << 2 | 2]) + (len(head) - pos).to_bytes(2, "little")
    return _varint(len(raw)) + literal(head) + rest


def _block(entries) -> bytes:
    out = bytearray()
    for key, value in entries:
        out += _varint(0) + _varint(len(key)) + _varint(len(value)) + key + value
    out += struct.pack("<I", 0) + struct.pack("<I", 1)  # one restart point at 0
    return bytes(out)


def _masked_crc(data: bytes) -> int:
    crc = ck.crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def _write_table(blocks_entries, compress_first=False) -> bytes:
    data = bytearray()
    index_entries = []
    for bi, entries in enumerate(blocks_entries):
        raw = _block(entries)
        if compress_first and bi == 0:
            payload, ctype = _snappy(raw), 1
            assert ck.snappy_decompress(payload) == raw
        else:
            payload, ctype = raw, 0
        off = len(data)
        data += payload + bytes([ctype]) + struct.pack("<I", _masked_crc(payload + bytes([ctype])))
        index_entries.append((entries[-1][0], _varint(off) + _varint(len(payload))))
    meta_off = len(data)
    meta = _block([])
    data += meta + b"\0" + struct.pack("<I", _masked_crc(meta + b"\0"))
    index_off = len(data)
    index = _block(index_entries)
    data += index + b"\0" + struct.pack("<I", _masked_crc(index + b"\0"))
    handles = _varint(meta_off) + _varint(len(meta)) + _varint(index_off) + _varint(len(index))
    data += handles + b"\0" * (40 - len(handles)) + struct.pack("<Q", ck.TABLE_MAGIC)
    return bytes(data)


def _fake_checkpoint(tmp_path, compress_first=False) -> tuple[Path, dict]:
    w = np.arange(6, dtype=np.float32).reshape(2, 3) / 4 - 0.5
    b = np.array([1.5, -2.0, 3.25], dtype=np.float32)
    step = 1234
    meta = b"".join([
        _field(1, _field(1, b"scope/W") + _field(2, _shape([2, 3])) + _vfield(3, 1) + _field(4, b"")),
        _field(1, _field(1, b"scope/b") + _field(2, _shape([3])) + _vfield(3, 1) + _field(4, b"")),
        _field(1, _field(1, b"scope/step") + _field(2, b"") + _vfield(3, 9) + _field(4, b"")),
    ])
    # W is stored as two row slices, values packed in float_val (field 5); the step in int64_val
    w_rows = [
        _field(2, _field(1, b"scope/W") + _field(2, _slice([(r, 1), (0, 3)]))
               + _field(3, _vfield(1, 1) + _field(5, w[r].tobytes())))
        for r in range(2)
    ]
    b_val = _field(2, _field(1, b"scope/b") + _field(2, b"") + _field(3, _vfield(1, 1) + _field(5, b.tobytes())))
    s_val = _field(2, _field(1, b"scope/step") + _field(2, b"") + _field(3, _vfield(1, 9) + _field(10, _varint(step))))
    blocks = [
        [(b"", _field(1, meta)), (b"\x00W0", w_rows[0]), (b"\x00W1", w_rows[1])],
        [(b"\x00b", b_val), (b"\x00s", s_val)],
    ]
    path = tmp_path / "model-1"
    path.write_bytes(_write_table(blocks, compress_first))
    return path, {"scope/W": w, "scope/b": b, "scope/step": np.int64(step)}


@pytest.mark.parametrize("compress_first", [False, True])
def test_reader_on_a_hand_written_checkpoint(tmp_path, compress_first):
    path, expected = _fake_checkpoint(tmp_path, compress_first)
    got = ck.read_checkpoint(path)
    assert set(got) == set(expected)
    for name, value in expected.items():
        assert got[name].dtype == np.asarray(value).dtype
        np.testing.assert_array_equal(got[name], value)
    meta = ck.read_checkpoint_meta(path)
    assert meta["scope/W"].shape == (2, 3) and meta["scope/step"].shape == ()


def test_reader_rejects_corruption_and_other_files(tmp_path):
    path, _ = _fake_checkpoint(tmp_path)
    data = bytearray(path.read_bytes())
    data[20] ^= 0xFF
    bad = tmp_path / "bad"
    bad.write_bytes(bytes(data))
    with pytest.raises(ck.CheckpointError, match="CRC"):
        ck.read_checkpoint(bad)
    other = tmp_path / "other"
    other.write_bytes(b"not a checkpoint" * 10)
    with pytest.raises(ck.CheckpointError, match="magic"):
        ck.read_checkpoint(other)
    with pytest.raises(FileNotFoundError):
        ck.read_checkpoint(tmp_path / "missing")


def test_snappy_decompress_literals_and_overlapping_copies():
    # literal "abcd", then copy 8 bytes at offset 4 (overlapping its own output), 1-byte-offset form
    block = bytes([12, 3 << 2]) + b"abcd" + bytes([((8 - 4) << 2) | 1, 4])
    assert ck.snappy_decompress(block) == b"abcdabcdabcd"
    with pytest.raises(ck.CheckpointError):
        ck.snappy_decompress(bytes([12, 3 << 2]) + b"abcd" + bytes([((8 - 4) << 2) | 1, 9]))


# ------------------------------------------------------------------------------------------------
# features
# ------------------------------------------------------------------------------------------------
def test_mel_filterbank_matches_the_essentia_version_ddc_used():
    fb = pl.mel_filterbank(1024)
    assert fb.shape == (513, 80)
    np.testing.assert_allclose(fb.sum(axis=0), 1.0, atol=1e-5)  # unit-sum triangles
    # the narrow low bands get single bins (bands 1 and 2 both = bin 2 at n_fft 1024, as in DDC's norm.pkl)
    assert [int(np.argmax(fb[:, i])) for i in range(7)] == [1, 2, 2, 3, 4, 5, 6]
    np.testing.assert_allclose(fb[6:8, 7], [0.145109, 0.854891], atol=1e-5)
    for n in (2048, 4096):
        assert np.all(pl.mel_filterbank(n).sum(axis=0) > 0.99)
    w = pl.blackmanharris62(1024)
    assert abs(w.sum() - 2.0) < 1e-9 and np.allclose(w, w[::-1])


def test_features_are_centred_frames_every_10ms():
    y = np.zeros(44100, dtype=np.float32)
    y[441 * 50] = 1.0  # a click at 0.5 s
    feats = pl.log_mel_features(y)
    assert feats.shape == (101, 80, 3) and feats.dtype == np.float32
    energy = feats.mean(axis=(1, 2))
    assert int(np.argmax(energy)) == 50
    assert pl.log_mel_features(np.zeros(441 * 7, np.float32)).shape[0] == 8


def test_peak_picking_and_matching():
    probs = np.zeros(100)
    probs[[10, 40, 70]] = [0.9, 0.2, 0.5]
    assert pl.pick_peaks(probs, 0.3).tolist() == [10, 70]
    assert pl.match_count([0.10, 0.50, 0.505], [0.115, 0.51, 0.9], 0.02) == 2
    assert pl.match_count([], [1.0], 0.02) == 0
    assert pl.prf(2, 4, 2) == (0.5, 1.0, pytest.approx(2 / 3))


def test_load_without_peer_files_says_what_is_missing(tmp_path):
    with pytest.raises(pl.PeerUnavailable, match="model_sp-56000"):
        pl.DDCPeerPlacer.load(tmp_path)


# ------------------------------------------------------------------------------------------------
# the released DDC model
# ------------------------------------------------------------------------------------------------
@needs_peer
def test_released_checkpoints_have_the_expected_variables():
    sp = ck.read_checkpoint(PEER_DIR / "model_sp-56000")
    shapes = {k: v.shape for k, v in sp.items()}
    for key, shape in pl.EXPECTED_SHAPES.items():
        assert shapes["model_sp/" + key] == shape
    assert int(sp["model_sp/global_step"]) == 56000
    assert all(np.all(np.isfinite(v)) for v in sp.values())
    ss = ck.read_checkpoint(PEER_DIR / "model_ss-23628")
    assert int(ss["model_ss/global_step"]) == 23628
    assert ss["model_ss/sym_rnn_output/softmax_w"].shape == (128, 257)
    assert ss["model_ss/rnn_unroll/MultiRNNCell/Cell0/BasicLSTMCell/Linear/Matrix"].shape == (256, 512)
    mean, std = pl.load_norm(PEER_DIR / "norm.pkl")
    assert mean.shape == std.shape == (80, 3) and np.all(std > 0)


def _reference_probability(placer, feats, frame, difficulty):
    """The TF graph written out literally for one frame: NHWC context, VALID convs, SAME 1x3 pools."""
    w = placer.weights
    ctx = np.zeros((15, 80, 3), np.float32)
    for k in range(15):
        t = frame - 7 + k
        if 0 <= t < len(feats):
            ctx[k] = feats[t]

    def conv_relu_pool(x, f, b):
        kh, kw, _, n_out = f.shape
        h, wd = x.shape[0] - kh + 1, x.shape[1] - kw + 1
        y = np.zeros((h, wd, n_out), np.float64)
        for i in range(h):
            for j in range(wd):
                y[i, j] = np.tensordot(x[i:i + kh, j:j + kw], f, axes=3) + b
        y = np.maximum(y, 0)
        return y.reshape(h, wd // 3, 3, n_out).max(axis=2)

    x = conv_relu_pool(ctx, w["cnn_0/filters"], w["cnn_0/biases"])
    x = conv_relu_pool(x, w["cnn_1/filters"], w["cnn_1/biases"])
    z = np.concatenate([x.reshape(-1), np.eye(5)[pl.DIFFICULTIES.index(difficulty)]])
    z = np.maximum(z @ w["dnn_0/W"] + w["dnn_0/b"], 0)
    z = np.maximum(z @ w["dnn_1/W"] + w["dnn_1/b"], 0)
    return 1 / (1 + np.exp(-(z @ w["logit/W"] + w["logit/b"])[0]))


@needs_peer
def test_forward_pass_on_a_short_synthetic_clip():
    from ddc_sm.audio.synth import drum_track

    placer = pl.DDCPeerPlacer.load()
    track = drum_track(120.0, 0.5, 4.0, sample_rate=44100)
    y = track.samples
    probs = placer.probabilities(y, "Hard")
    assert probs.shape == (len(y) // 441 + 1,)
    assert np.all((probs >= 0) & (probs <= 1))
    feats = placer.features(y)
    for frame in (0, 3, 50, len(feats) - 1):
        ref = _reference_probability(placer, feats, frame, "Hard")
        assert probs[frame] == pytest.approx(ref, abs=1e-5)
    # difficulty changes the output; easier charts get lower probabilities overall
    easy = placer.probabilities_from_features(feats, "Beginner")
    assert easy.mean() < probs.mean()
    times = placer.step_times(y, "Hard")
    assert np.all(np.diff(times) > 0) and (len(times) == 0 or times[-1] <= len(y) / 44100 + 0.01)


# ------------------------------------------------------------------------------------------------
# the released DDC selection model (optional peer)
# ------------------------------------------------------------------------------------------------
def test_selection_row_mapping_follows_ddc():
    from benchmarks.ddc_peer import selection as sel

    assert sel.ddc_row("M040") == "0020"
    assert sel.row_index("0000") == 1 and sel.row_index("0001") == 2 and sel.row_index("3333") == 256
    x = sel.DDCPeerSelector.encode_input("1002")
    assert x.shape == (17,) and np.flatnonzero(x).tolist() == [2, 5, 9, 15]  # every arrow one-hot, empty included
    assert np.flatnonzero(sel.DDCPeerSelector.encode_input(sel.START)).tolist() == [0]


@needs_peer
def test_selection_model_scores_human_like_rows():
    from benchmarks.ddc_peer import selection as sel

    selector = sel.DDCPeerSelector.load()
    times = np.arange(32) * 0.25
    alternating = ["1000", "0001"] * 16
    lp = selector.log_probs(alternating, times)
    assert lp.shape == (32, 257)
    np.testing.assert_allclose(np.exp(lp).sum(axis=1), 1.0, atol=1e-9)
    plain = selector.score(alternating, times)
    # all-arrows-at-once jumps every step are far less likely than single taps
    jumps = selector.score(["1111"] * 32, times)
    assert 1.0 < plain["perplexity"] < jumps["perplexity"]
    with pytest.raises(pl.PeerUnavailable):
        sel.DDCPeerSelector.load(Path("/nonexistent-peer-dir"))


@needs_peer
def test_selection_model_generates_playable_seeded_charts():
    from benchmarks.ddc_peer import selection as sel
    from ddc_sm.selection.vocab import is_valid_sequence

    selector = sel.DDCPeerSelector.load()
    times = np.arange(200) * 0.25
    rows = selector.generate(times, seed=3)
    assert len(rows) == 200 and all(len(r) == 4 and set(r) <= set("0123") for r in rows)
    assert all(r != "0000" for r in rows)
    assert is_valid_sequence(rows)  # every hold closed, no stray tail
    assert rows == selector.generate(times, seed=3)
    assert rows != selector.generate(times, seed=4)
