"""The musicality critic: corruptions keep a chart well-formed, the critic loads and ranks, make --candidates."""

from pathlib import Path

import numpy as np
import pytest

from ddc_sm.selection.critic import (CORRUPTIONS, N_FEATURES, chart_features, corrupt, flipped, load_critic)
from ddc_sm.simfiles.rows import column_transition

SHARED_PACKS = Path(__file__).resolve().parents[2] / "shared" / "data" / "packs"
# a hand-built chart: a hold on Left under taps on the other panels, a jump, a mine, a stream of taps
ROWS = (["2000", "0100", "0010", "0001", "3000", "1001", "0M00"] + ["1000", "0100", "0010", "0001"] * 8)
TIMES = np.arange(len(ROWS)) * 0.25


def well_formed(rows) -> bool:
    held = [False] * 4
    for row in rows:
        for c, ch in enumerate(row):
            held[c], broken = column_transition(held[c], ch)
            if broken:
                return False
    return not any(held)


@pytest.mark.parametrize("kind", CORRUPTIONS)
def test_a_corrupted_copy_keeps_rows_holds_and_mines(kind):
    rng = np.random.default_rng(0)
    for _ in range(20):
        bad = corrupt(ROWS, kind, rng, share=0.5)
        assert len(bad) == len(ROWS) and well_formed(bad)
        for a, b in zip(ROWS, bad):
            if set(a) - {"0", "1"}:  # rows with holds, tails or mines are left as they are
                assert a == b
            else:
                assert set(b) <= {"0", "1"} and "1" in b
    assert any(corrupt(ROWS, kind, np.random.default_rng(s), 0.5) != ROWS for s in range(5))


def test_random_panels_put_no_tap_in_a_held_column():
    rows = ["2000"] + ["0100"] * 30 + ["3000"]
    for s in range(10):
        bad = corrupt(rows, "random", np.random.default_rng(s))
        assert all(r[0] == "0" for r in bad[1:-1]) and well_formed(bad)


def test_flips_are_charts_too():
    rng = np.random.default_rng(3)
    for _ in range(8):
        f = flipped(ROWS, rng)
        assert well_formed(f) and sorted(map(sorted, f)) == sorted(map(sorted, ROWS))


def test_features_encode_the_rows_the_gaps_and_the_difficulty():
    f = chart_features(["1000", "0M02"], [1.0, 1.5], "Hard")
    assert f.shape == (2, N_FEATURES)
    assert f[0, 0] == 1 and f[1, 1 * 5 + 4] == 1 and f[1, 3 * 5 + 1] == 1  # tap on Left; mine on Down; head on Right
    assert np.isclose(f[0, 21], np.log(0.5)) and np.isclose(f[1, 20], np.log(0.5))
    assert f[:, 22 + 3].tolist() == [1, 1]


def test_a_weights_folder_without_a_critic_falls_back_to_the_shipped_one(tmp_path):
    assert load_critic(str(tmp_path)) is load_critic(None)


@pytest.mark.skipif(not SHARED_PACKS.exists(), reason="needs ../shared/data (the human test charts)")
def test_the_shipped_critic_tells_test_charts_from_random_arrows():
    from ddc_sm.simfiles.dataset import iter_songs
    from ddc_sm.simfiles.splits import load_split

    test = set(load_split()["test"])
    critic = load_critic(None)
    rng = np.random.default_rng(0)
    wins = total = 0
    for song in iter_songs([SHARED_PACKS]):
        if song.key not in test:
            continue
        for c in song.charts:
            human = critic.score(c.rows, c.times, c.difficulty)
            bad = critic.score(corrupt(c.rows, "random", rng), c.times, c.difficulty)
            wins += human > bad
            total += 1
    assert total >= 20 and wins >= 0.8 * total  # a critic no better than chance wins half


def test_make_with_candidates_is_deterministic_and_one_candidate_is_plain_make(tmp_path):
    import shutil

    from ddc_sm.pipeline.make import make_charts

    fixture = Path(__file__).resolve().parents[1] / "fixtures" / "synth_128bpm.ogg"
    texts = []
    for name, n in (("a", 1), ("b", 1), ("c", 2), ("d", 2)):
        folder = tmp_path / name
        folder.mkdir()
        shutil.copy(fixture, folder / "song.ogg")
        kwargs = {"candidates": n} if name != "a" else {}
        make_charts(folder / "song.ogg", ["Easy"], formats=("sm",), **kwargs)
        texts.append((folder / "song.sm").read_text(encoding="utf-8"))
    assert texts[0] == texts[1]
    assert texts[2] == texts[3]


def test_training_a_tiny_critic(tmp_path):
    import json

    from ddc_sm.selection.critic import Critic
    from ddc_sm.selection.train_critic import auc, run_train_critic
    from ddc_sm.weights import load_bundle
    from tests.test_placement import _write_song

    pack = tmp_path / "pack"
    for i, bpm in enumerate((120.0, 140.0, 150.0)):
        _write_song(pack / "Songs" / f"s{i}", bpm, i)
    config = tmp_path / "critic.json"
    config.write_text(json.dumps({"steps": 4, "eval_every": 2, "batch": 4, "window": 32,
                                  "model": {"channels": 8, "layers": 2}}))
    assert run_train_critic([pack], tmp_path / "out", config) == 0
    bundle = load_bundle("critic", tmp_path / "out")
    assert set(bundle["extra"]["valid_auc"]) == set(CORRUPTIONS)
    assert 0.0 <= Critic.from_bundle(bundle).score(ROWS, TIMES, "Easy") <= 1.0
    assert auc([2.0, 3.0], [1.0, 0.0]) == 1.0 and auc([1.0], [1.0]) == 0.5


def test_time_warp_keeps_the_rows_times_in_order_and_is_off_by_default():
    from ddc_sm.selection.train_critic import DEFAULT_CONFIG, warped_times

    assert DEFAULT_CONFIG["time_warp"] == 0.0
    times = np.array([0.0, 0.5, 0.75, 1.5, 2.0])
    rng = np.random.default_rng(0)
    assert np.array_equal(warped_times(times, rng, 0.0), times)
    for _ in range(20):
        t = warped_times(times, rng, 1.0)
        assert len(t) == len(times) and t[0] == 0.0 and np.all(np.diff(t) > 0)
