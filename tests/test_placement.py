"""Stage 1: the C-LSTM's shapes, the StepPlacer, peak picking, the F-score and a training smoke test."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from ddc_sm import DIFFICULTIES
from ddc_sm.audio.features import FeatureStats
from ddc_sm.placement.model import PlacementConfig, PlacementModel
from ddc_sm.placement.inference import StepPlacer
from ddc_sm.placement.metrics import FScore, match_f_score
from ddc_sm.placement.peaks import pick_peaks, smooth_probability
from ddc_sm.weights import load_bundle, save_bundle

TINY = dict(conv1_channels=2, conv2_channels=3, proj_size=8, lstm_hidden=6, lstm_layers=1, fc_size=0, dropout=0.0)
SHARED_PACKS = Path(__file__).resolve().parents[2] / "shared" / "data" / "packs"


def tiny_model(seed=0, **over):
    torch.manual_seed(seed)
    return PlacementModel({**TINY, **over}).eval()


# --- the model -------------------------------------------------------------------------------------------
def test_conv_stack_gives_1120_features_per_frame():
    config = PlacementConfig()
    assert config.window == 15
    assert (config.conv2_channels, config.conv_out_time, config.conv_out_freq) == (20, 7, 8)
    assert config.conv_features == 1120
    model = PlacementModel(config)
    x = torch.randn(2, 3, 40, 80)
    with torch.no_grad():
        feats = model.conv_features(model.pad(x))
    assert feats.shape == (2, 40, 1120)


def test_whole_song_conv_equals_per_window_conv():
    model = tiny_model()
    x = torch.randn(1, 3, 30, 80)
    xp = model.pad(x)
    with torch.no_grad():
        whole = model.conv_features(xp, chunk=7)  # chunked, to check the chunk seams too
        for t in (0, 3, 7, 13, 29):
            h = model.pool(torch.relu(model.conv1(xp[:, :, t:t + 15])))
            h = model.pool(torch.relu(model.conv2(h)))
            assert torch.allclose(h.reshape(-1), whole[0, t], atol=1e-5)


def test_forward_shape_tiny():
    model = tiny_model()
    x = torch.randn(3, 3, 50, 80)
    out = model(x, torch.tensor([0, 2, 4]))
    assert out.shape == (3, 50)


def test_difficulty_changes_output():
    model = tiny_model()
    x = torch.randn(1, 3, 40, 80).expand(2, -1, -1, -1)
    with torch.no_grad():
        out = model(x, torch.tensor([0, 4]))
    assert not torch.allclose(out[0], out[1])


def test_tiny_config_roundtrip():
    c = PlacementConfig.from_dict({**TINY, "unknown_key": 1})
    assert PlacementConfig.from_dict(c.to_dict()) == c


# --- the placer ------------------------------------------------------------------------------------------
def tiny_bundle(tmp_path, model_over=None, **peaks):
    model = tiny_model(**(model_over or {}))
    rng = np.random.default_rng(0)
    stats = FeatureStats.fit([rng.normal(-5, 2, size=(80, 3, 300)).astype(np.float32)])
    thresholds = {d: 0.0 for d in DIFFICULTIES}
    config = {"model": model.config.to_dict(),
              "peaks": {"thresholds": thresholds, "smooth": 3, "min_distance": 3, **peaks}}
    path = save_bundle(tmp_path / "placement.pt", "placement", config, model.state_dict(), stats=stats.to_dict())
    return load_bundle("placement", tmp_path), path


def test_step_placer_from_tiny_bundle(tmp_path):
    bundle, path = tiny_bundle(tmp_path)
    placer = StepPlacer.from_bundle(bundle)
    assert set(placer.thresholds) == set(DIFFICULTIES)
    raw = np.random.default_rng(1).normal(-5, 2, size=(80, 3, 500)).astype(np.float32)
    probs = placer.probabilities(raw, ["Easy", "hard"])
    assert set(probs) == {"Easy", "Hard"}
    assert all(p.shape == (500,) and np.all((p >= 0) & (p <= 1)) for p in probs.values())
    times = placer.step_times(raw, list(DIFFICULTIES))
    assert set(times) == set(DIFFICULTIES)
    for t in times.values():
        assert np.all(np.diff(t) > 0)
        assert np.all((t >= 0) & (t < 5.0))
    assert sum(len(t) for t in times.values()) > 0  # threshold 0: every peak counts
    # deterministic, and the same as loading from the folder
    again = StepPlacer.load(tmp_path).step_times(raw, list(DIFFICULTIES))
    assert all(np.array_equal(times[d], again[d]) for d in DIFFICULTIES)


def test_step_placer_windowed_inference_matches_shape(tmp_path):
    bundle, _ = tiny_bundle(tmp_path, window=64)
    placer = StepPlacer.from_bundle(bundle)
    raw = np.random.default_rng(2).normal(-5, 2, size=(80, 3, 333)).astype(np.float32)
    p = placer.probabilities(raw, "Medium")["Medium"]
    assert p.shape == (333,) and np.all(np.isfinite(p))


def test_step_placer_rejects_wrong_shape(tmp_path):
    bundle, _ = tiny_bundle(tmp_path)
    placer = StepPlacer.from_bundle(bundle)
    with pytest.raises(ValueError):
        placer.probabilities(np.zeros((100, 200), dtype=np.float32), ["Easy"])


# --- peak picking and F-score ----------------------------------------------------------------------------
def test_pick_peaks_finds_known_peaks():
    frames = np.arange(1000)
    true = np.array([50, 120, 300, 310, 700, 990])
    prob = np.full(1000, 0.02)
    for f in true:
        prob = np.maximum(prob, 0.9 * np.exp(-0.5 * ((frames - f) / 1.5) ** 2))
    prob[500] = 0.15  # a blip below the threshold
    found = pick_peaks(prob, 0.3, smooth=3, min_distance=3)
    assert list(found) == list(true)
    assert list(pick_peaks(prob, 0.1, smooth=1, min_distance=3)) == sorted(list(true) + [500])
    # a minimum distance larger than a gap merges the close pair
    assert len(pick_peaks(prob, 0.3, smooth=3, min_distance=20)) == len(true) - 1


def test_smoothing_keeps_mass_and_length():
    p = np.zeros(50)
    p[25] = 1.0
    s = smooth_probability(p, 5)
    assert s.shape == p.shape and np.isclose(s.sum(), 1.0) and s.argmax() == 25
    assert np.array_equal(smooth_probability(p, 1), p)


def test_match_f_score_known_inputs():
    true = [1.00, 2.00, 3.00, 4.00]
    pred = [1.015, 2.03, 2.99, 3.005, 5.0]  # 1.015 hit; 2.03 miss (30 ms); 2.99/3.005: one hit only
    s = match_f_score(pred, true, tol=0.02)
    assert (s.tp, s.fp, s.fn) == (2, 3, 2)
    assert s.precision == pytest.approx(2 / 5)
    assert s.recall == pytest.approx(2 / 4)
    assert s.f == pytest.approx(2 * 2 / (2 * 2 + 3 + 2))
    assert match_f_score(true, true).f == 1.0
    assert match_f_score([], true).f == 0.0 and match_f_score([], []).f == 0.0
    pooled = match_f_score(pred, true) + match_f_score(true, true)
    assert isinstance(pooled, FScore) and (pooled.tp, pooled.fp, pooled.fn) == (6, 3, 2)
    assert (s["tp"], s["fp"], s["fn"], s["f"]) == (2, 3, 2, s.f)
    # boundary: exactly 20 ms counts
    assert match_f_score([1.02], [1.0]).tp == 1


def test_match_is_one_to_one_and_optimal():
    # greedy left-to-right must not steal the only partner of a later step
    s = match_f_score([1.00, 1.03], [1.015, 1.045], tol=0.02)
    assert s.tp == 2


# --- training smoke test ---------------------------------------------------------------------------------
def _write_song(song_dir: Path, bpm: float, seed: int):
    import soundfile

    from ddc_sm.audio.synth import drum_track

    song_dir.mkdir(parents=True)
    track = drum_track(bpm, 0.5, 12.0, seed=seed)
    soundfile.write(song_dir / "song.wav", track.samples, track.sample_rate)
    n_measures = int((12.0 - 0.5) * bpm / 60.0 / 4)

    def chart(difficulty, meter, per_measure):
        rows = []
        for m in range(n_measures):
            measure = []
            for r in range(per_measure):
                measure.append("1000" if r % 2 == 0 else "0100")
            rows.append("\n".join(measure))
        return (f"#NOTES:\n     dance-single:\n     :\n     {difficulty}:\n     {meter}:\n     0,0,0,0,0:\n"
                + "\n,\n".join(rows) + "\n;\n")

    text = (f"#TITLE:Synth {bpm};\n#ARTIST:test;\n#MUSIC:song.wav;\n#OFFSET:-0.500;\n#BPMS:0.000={bpm:.3f};\n"
            f"#STOPS:;\n" + chart("Easy", 2, 4) + chart("Hard", 6, 8))
    (song_dir / "song.sm").write_text(text, encoding="utf-8")


def train_tiny(tmp_path, monkeypatch, **over) -> Path:
    """`train placement` of a tiny model for 3 steps on two synthesised songs (config keys ``over`` replaced);
    returns the folder it wrote."""
    from ddc_sm.placement.train import run_train_placement

    monkeypatch.setenv("DDC_SM_CACHE", str(tmp_path / "cache"))
    pack = tmp_path / "pack"
    _write_song(pack / "Songs" / "a", 120.0, 0)
    _write_song(pack / "Songs" / "b", 150.0, 1)
    config = {"model": {**TINY, "n_bands": 80}, "steps": 3, "batch_songs": 2, "min_len": 40, "max_len": 60,
              "eval_every": 2, "valid_share": 0.5,
              "peaks": {"smooth_options": [1, 3], "min_distance_options": [3], "window_options": [0]}, **over}
    config_path = tmp_path / "config.json"
    config_path.write_text(json.dumps(config))
    out = tmp_path / "out"
    assert run_train_placement([pack], out, config_path=config_path) == 0
    return out


def test_training_smoke(tmp_path, monkeypatch):
    bundle = load_bundle("placement", train_tiny(tmp_path, monkeypatch))
    assert set(bundle["config"]["peaks"]["thresholds"]) == set(DIFFICULTIES)
    assert bundle["extra"]["train_songs"]
    placer = StepPlacer.from_bundle(bundle)
    raw = np.random.default_rng(0).normal(-5, 2, size=(80, 3, 200)).astype(np.float32)
    assert set(placer.step_times(raw, ["Easy"])) == {"Easy"}


# --- shipped weights and real data -----------------------------------------------------------------------
def test_shipped_weights_load():
    from ddc_sm.weights import SHIPPED_DIR

    if not (SHIPPED_DIR / "placement.pt").exists():
        pytest.skip("no shipped placement weights (ddc_sm/weights/placement.pt) yet")
    placer = StepPlacer.load()
    assert placer.model.config.conv_features == 1120
    assert all(0.0 < t < 1.0 for t in placer.thresholds.values())
    raw = np.random.default_rng(0).normal(-5, 2, size=(80, 3, 300)).astype(np.float32)
    assert set(placer.step_times(raw, list(DIFFICULTIES))) == set(DIFFICULTIES)


def test_shipped_placer_on_a_real_validation_song():
    from ddc_sm.weights import SHIPPED_DIR

    if not SHIPPED_PACKS_OK():
        pytest.skip(f"real data not found at {SHARED_PACKS} (../shared/data/packs); skipping the real-song check")
    if not (SHIPPED_DIR / "placement.pt").exists():
        pytest.skip("no shipped placement weights yet")
    from ddc_sm.simfiles.dataset import load_song
    from ddc_sm.audio.cache import cached_features

    song = load_song(SHARED_PACKS / "Formula" / "CANDY STAR")  # in the split's 'valid' part
    placer = StepPlacer.load()
    raw = cached_features(song.audio_path, "placement")
    diffs = [c.difficulty for c in song.charts]
    times = placer.step_times(raw, diffs)
    pooled = FScore(0, 0, 0)
    for chart in song.charts:
        pooled = pooled + match_f_score(times[chart.difficulty], chart.times)
    assert pooled.f > 0.3, pooled.to_dict()


def SHIPPED_PACKS_OK():
    return (SHARED_PACKS / "Formula" / "CANDY STAR").is_dir()


def test_onset_lag_finds_a_chart_offset():
    from ddc_sm.audio.features import placement_features
    from ddc_sm.audio.synth import drum_track
    from ddc_sm.placement.train import onset_lag

    track = drum_track(120.0, 0.5, 12.0, seed=3)
    raw = placement_features(track.samples)
    beats = track.beat_times()
    lag, conf = onset_lag(raw, beats + 0.04)  # a chart 40 ms late: the onsets sit 40 ms before its steps
    assert lag == pytest.approx(-0.04, abs=0.008) and conf > 2
    lag0, _ = onset_lag(raw, beats)
    assert abs(lag0) < 0.008
