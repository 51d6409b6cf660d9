"""Stage 1's beat-grid input (ddc_sm.placement.beats) and training's time stretch."""

import numpy as np
import torch

from ddc_sm import DIFFICULTIES
from ddc_sm.placement.beats import N_FEATURES, beat_phase_features, phase_features
from ddc_sm.placement.inference import StepPlacer
from ddc_sm.placement.model import PlacementModel
from ddc_sm.timing.grid import ConstantTiming
from ddc_sm.weights import load_bundle

from tests.test_placement import TINY, tiny_bundle, train_tiny


def test_phase_features_on_the_beat_the_eighth_and_the_sixteenth():
    f = phase_features(np.array([0.0, 3.0, 0.5, 0.25]))
    sin1, cos1, sin2, cos2, sin4, cos4 = f.T
    assert np.allclose(cos1[:2], 1) and np.allclose(cos2[:2], 1) and np.allclose(cos4[:2], 1)  # on a beat
    assert np.allclose([cos1[2], cos2[2], cos4[2]], [-1, 1, 1], atol=1e-6)  # the 8th between two beats
    assert np.allclose([cos1[3], cos2[3], cos4[3]], [0, -1, 1], atol=1e-6)  # a 16th
    assert np.allclose(sin1**2 + cos1**2, 1)


def test_a_120_bpm_grid_puts_a_beat_every_50_frames():
    f = beat_phase_features(ConstantTiming(120.0, 0.0), 201)
    assert f.shape == (201, N_FEATURES)
    assert np.allclose(f[[0, 50, 100, 150, 200], 1], 1.0)  # cos of the beat phase
    assert np.allclose(f[25, 1], -1.0)
    assert not beat_phase_features(None, 7).any()


def test_a_model_with_beat_input_uses_it_and_a_missing_grid_is_zeros():
    torch.manual_seed(0)
    model = PlacementModel({**TINY, "beat_features": N_FEATURES}).eval()
    x = torch.randn(1, 3, 120, 80)
    d = torch.tensor([2])
    zeros = torch.zeros(1, 120, N_FEATURES)
    grid = torch.from_numpy(beat_phase_features(ConstantTiming(150.0, 0.1), 120))[None]
    with torch.no_grad():
        assert torch.equal(model(x, d), model(x, d, beat=zeros))
        assert not torch.allclose(model(x, d), model(x, d, beat=grid))


def test_placer_passes_the_grid_only_to_a_model_that_takes_it(tmp_path):
    raw = np.random.default_rng(1).normal(-5, 2, size=(80, 3, 300)).astype(np.float32)
    grid = ConstantTiming(140.0, 0.05)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    plain = StepPlacer.from_bundle(tiny_bundle(tmp_path / "a")[0])
    assert not plain.uses_grid
    assert np.array_equal(plain.probabilities(raw, ["Hard"])["Hard"], plain.probabilities(raw, ["Hard"], grid)["Hard"])
    bundle = tiny_bundle(tmp_path / "b", model_over={"beat_features": N_FEATURES})[0]
    beat = StepPlacer.from_bundle(bundle)
    assert beat.uses_grid
    assert not np.array_equal(beat.probabilities(raw, ["Hard"])["Hard"], beat.probabilities(raw, ["Hard"], grid)["Hard"])


def test_stretched_crop_interpolates_and_is_zero_outside_the_song():
    from ddc_sm.placement.train import _stretched

    feats = np.arange(10, dtype=np.float32)[None, :, None].repeat(2, axis=2)  # (C=1, T=10, F=2): value = frame
    out = _stretched(feats, np.array([-1.0, 0.0, 2.5, 8.75, 9.0, 9.5]))
    assert np.allclose(out[0, :, 0], [0.0, 0.0, 2.5, 8.75, 9.0, 0.0])


def test_sampler_moves_targets_with_the_stretch():
    from ddc_sm.placement.train import BatchSampler, SongExample

    T = 2000
    feats = np.zeros((3, T, 80), dtype=np.float16)
    frames = np.arange(0, T, 40)
    song = SongExample("p/s", feats, [(2, frames, frames / 100.0)], human_beats=frames_beats(T),
                       estimated_beats=frames_beats(T))
    config = {"batch_songs": 1, "min_len": 400, "max_len": 400, "augment": {"stretch": 0.25, "stretch_prob": 1.0},
              "beat_grid": {"enabled": True, "no_grid_prob": 0.0, "estimate_prob": 1.0}}
    sampler = BatchSampler([song], config, 7, np.ones((3, 80), np.float32), seed=3)
    for _ in range(5):
        _x, _s, _d, y, beat = sampler.sample()
        gaps = np.diff(np.nonzero(y[0])[0])
        assert len(set(gaps.tolist())) <= 2 and 30 <= gaps.mean() <= 54  # 40 frames apart, stretched by 0.75..1.25
        assert beat.shape == (1, 400, N_FEATURES)
        # the beat input stays on the (stretched) steps: every target frame is on a beat of the grid
        assert np.all(beat[0, np.nonzero(y[0])[0], 1] > 0.9)


def frames_beats(T):
    return np.arange(T) / 40.0  # a beat every 40 frames (150 BPM), beat 0 at frame 0


def test_training_with_the_beat_grid_and_augmentation(tmp_path, monkeypatch):
    out = train_tiny(tmp_path, monkeypatch, beat_grid={"enabled": True},
                     augment={"stretch": 0.15, "stretch_prob": 1.0, "band_shift": 1, "band_shift_prob": 1.0},
                     peaks={"smooth_options": [1], "min_distance_options": [3], "window_options": [0]})
    placer = StepPlacer.from_bundle(load_bundle("placement", out))
    assert placer.uses_grid
    raw = np.random.default_rng(0).normal(-5, 2, size=(80, 3, 200)).astype(np.float32)
    assert set(placer.step_times(raw, list(DIFFICULTIES), timing=ConstantTiming(120.0, 0.0))) == set(DIFFICULTIES)


def test_the_inference_path_never_loads_the_ddc_checkpoint_code():
    import subprocess
    import sys

    code = ("import sys, numpy as np\n"
            "from ddc_sm.placement.inference import load_placer\n"
            "from ddc_sm.timing.grid import ConstantTiming\n"
            "raw = np.random.default_rng(0).normal(-5, 2, size=(80, 3, 300)).astype(np.float32)\n"
            "load_placer().step_times(raw, ['Easy'], timing=ConstantTiming(120.0, 0.0))\n"
            "bad = [m for m in sys.modules if 'ddc_checkpoint' in m or 'ddc_transfer' in m or 'benchmarks' in m]\n"
            "assert not bad, bad\n")
    subprocess.run([sys.executable, "-c", code], check=True)
