"""benchmarks/patterns.py: per-chart figures and the train+valid range it marks medians against."""

from __future__ import annotations

import sys
from fractions import Fraction
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # `benchmarks` is not an installed package
    sys.path.insert(0, str(REPO))

from benchmarks import patterns  # noqa: E402


def test_chart_figures_of_a_small_chart():
    # 8ths L R L R, then a jump with a mine beside it and a 16th: 6 steps at 120 BPM
    rows = ["1000", "0001", "1000", "0001", "1001", "0M00", "0100"]
    beats = [Fraction(k, 2) for k in range(5)] + [Fraction(5, 2), Fraction(11, 4)]
    times = [float(b) / 2 for b in beats]
    f = patterns.chart_figures(times, rows, beats, "Medium")
    assert {key for key, _, _ in patterns.FIGURES} == set(f)
    assert f["jump_share"] == 1 / 6 and f["mine_share"] == 1 / 6
    assert f["eighth_share"] == 2 / 6 and f["sixteenth_share"] == 1 / 6  # beats 0.5, 1.5; 2.75
    assert f["tech_doublesteps_per_100"] == 0 and f["rest_share"] == 0


def test_summary_marks_medians_outside_the_train_valid_range():
    def chart(part, value, difficulty="Hard"):
        figures = {key: 0.0 for key, _, _ in patterns.FIGURES}
        figures["tech_jacks_per_100"] = value
        return patterns.ChartFigures("p/s", part, difficulty, figures)

    human = [chart("train", v) for v in range(11)] + [chart("valid", 5.0)] + [chart("test", 50.0), chart("test", 4.0)]
    generated = [chart("generated", 20.0)]
    jacks = patterns.summarise(human, generated)["Hard"]["figures"]["tech_jacks_per_100"]
    assert jacks["range"][0] < jacks["range"][1] < 10  # P10-P90 of 0..10 and 5: test charts are not in it
    assert jacks["test"] == 27.0 and jacks["test_outside"]
    assert jacks["generated"] == 20.0 and jacks["generated_outside"]
    crossovers = patterns.summarise(human, generated)["Hard"]["figures"]["tech_crossovers_per_100"]
    assert crossovers["test_outside"] is False
