"""benchmarks/meters.py: the fit and the folds on made-up charts, the old rule it is compared with, and (where
../shared/data is present) that the constants in ddc_sm/simfiles/meter.py are what the fit gives on train+valid."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # `benchmarks` is not an installed package
    sys.path.insert(0, str(REPO))

from benchmarks import meters as bm  # noqa: E402

SHARED = REPO.parent / "shared" / "data"
DIFFS = ("Beginner", "Easy", "Medium", "Hard", "Challenge")


def chart(song, difficulty, meter, **features):
    return bm.Chart(song, "train", difficulty, meter, features)


def test_fit_recovers_offsets_and_a_slope():
    # meter = offset of the difficulty + 2 x, exactly: least absolute deviations gives it back
    offsets = dict(zip(DIFFS, (0.0, 1.0, 2.0, 3.0, 4.0)))
    charts = [chart(f"s{k}", d, offsets[d] + 2 * x, x=x) for k, x in enumerate((0.5, 1.0, 1.5, 2.0, 3.0))
              for d in DIFFS]
    model = bm.fit(charts, ["x"], ridge=0.0)
    assert model.coefficients["x"] == pytest.approx(2.0, abs=1e-6)
    for d in DIFFS:
        assert model.offsets[d] == pytest.approx(offsets[d], abs=1e-6)
    # an outlier (a joke meter) barely moves a least-absolute-deviations fit
    model = bm.fit(charts + [chart("joke", "Hard", 40, x=1.0)], ["x"], ridge=0.0)
    assert model.coefficients["x"] == pytest.approx(2.0, abs=0.05)
    assert bm.rounded(model, 1).coefficients["x"] == 2.0


def test_folds_are_by_song():
    songs = [f"pack/song {k}" for k in range(23)]
    folds = bm.song_folds(songs * 3)  # several charts a song: one fold per song
    assert set(folds) == set(songs)
    sizes = [sum(1 for s in songs if folds[s] == k) for k in range(bm.FOLDS)]
    assert max(sizes) - min(sizes) <= 1
    assert bm.song_folds(list(reversed(songs))) == folds  # the order given does not matter


def test_old_rule_rounds_bounds_and_never_lowers():
    # the old line 1.2 + 1.78 x on (rows - 1) / span: Easy at 2.2 -> 5.116 -> 5; Medium at 2.0 -> 4.76 -> 5 (a
    # tie: the old rule only raised meters), Beginner at 3.0 -> 6.54 -> 3 (the top of its range)
    charts = [chart("s", "Beginner", 1, old_line_rate=3.0), chart("s", "Easy", 2, old_line_rate=2.2),
              chart("s", "Medium", 3, old_line_rate=2.0)]
    assert bm.old_written(charts) == {"Beginner": 3, "Easy": 5, "Medium": 5}
    assert bm.old_line_rate([0.0, 0.5, 1.0]) == 2.0


@pytest.mark.skipif(not (SHARED / "packs").is_dir(),
                    reason=f"real charts not found at {SHARED}; skipping the meter refit check")
def test_constants_in_the_code_are_the_train_valid_fit():
    from ddc_sm.simfiles import meter

    charts, _test = bm.load_charts(SHARED, names=meter.FEATURES)
    fit_on = [c for c in charts if c.part in ("train", "valid")]
    assert fit_on and not any(c.part == "test" for c in fit_on)
    model = bm.rounded(bm.fit(fit_on, meter.FEATURES))
    assert bm.constants_text(model) == bm.constants_text(
        bm.Model(tuple(meter.FEATURES), dict(meter.OFFSETS), dict(meter.COEFFICIENTS)))
