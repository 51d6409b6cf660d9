"""Beginner/Easy rest filling (`ddc_sm.pipeline.make.rest_filled_times`) on a hand-built probability curve."""

import numpy as np

from ddc_sm.pipeline.make import STEP_DENSITY_RANGE, rest_filled_times
from ddc_sm.placement.peaks import frames_to_times, pick_peaks
from ddc_sm.timing.grid import GRID_RULES, ConstantTiming

DURATION = 20.0  # at 120 BPM from time 0 a measure is 2 s: measures 0..9
TIMING = ConstantTiming(120.0, 0.0)


class CurvePlacer:
    """What rest_filled_times asks of a StepPlacer: its smoothing and peak picking at a threshold."""

    smooth = 3

    def times_from_probability(self, prob, difficulty, *, threshold=None):
        return frames_to_times(pick_peaks(prob, 0.5 if threshold is None else threshold, smooth=self.smooth))


def curve():
    """Loud steps on beats 0 and 2 of measures 0-2 and 5-9; measure 3 (6-8 s) quiet with one clear peak on
    its second beat (6.5 s); measure 4 (8-10 s) silent but for a 0.01 flicker."""
    prob = np.zeros(int(DURATION * 100) + 1)
    loud = [2.0 * m + b for m in (0, 1, 2, 5, 6, 7, 8, 9) for b in (0.0, 1.0)]
    for t in loud:
        prob[int(round(t * 100))] = 0.9
    prob[650] = 0.3
    prob[870] = 0.01
    return prob, np.array(loud)


def test_quiet_measure_gets_its_peak_and_silent_one_stays_empty():
    prob, loud = curve()
    filled = rest_filled_times(CurvePlacer(), prob, "Beginner", DURATION, TIMING, loud, GRID_RULES["Beginner"],
                               floor=0.1)
    added = sorted(set(np.round(filled, 2)) - set(np.round(loud, 2)))
    assert added == [6.5]
    assert not np.any((filled >= 8.0) & (filled < 10.0))
    assert len(filled) <= STEP_DENSITY_RANGE["Beginner"][1] * DURATION


def test_floor_keeps_weak_peaks_out_and_other_difficulties_unchanged():
    prob, loud = curve()
    placer = CurvePlacer()
    # the quiet peak's smoothed height is 0.15: under a 0.2 floor it stays out
    same = rest_filled_times(placer, prob, "Beginner", DURATION, TIMING, loud, GRID_RULES["Beginner"], floor=0.2)
    assert np.array_equal(same, loud)
    medium = rest_filled_times(placer, prob, "Medium", DURATION, TIMING, loud, GRID_RULES["Medium"])
    assert np.array_equal(medium, loud)


def test_filling_stays_within_the_density_bound():
    prob, _ = curve()
    dense = np.array([2.0 * m + b for m in (0, 1, 2, 5, 6, 7, 8, 9) for b in (0.0, 0.5, 1.0)])
    for t in dense:
        prob[int(round(t * 100))] = 0.9 if t % 1.0 == 0 else 0.6
    cap = int(STEP_DENSITY_RANGE["Beginner"][1] * DURATION)
    assert len(dense) == 24 > cap
    kept = dense[:cap]  # what the density bound would have left: at most the cap
    filled = rest_filled_times(CurvePlacer(), prob, "Beginner", DURATION, TIMING, kept, GRID_RULES["Beginner"],
                               floor=0.1)
    assert 6.5 in np.round(filled, 2) and len(filled) <= cap
    measures = {int(t // 2.0) for t in filled}
    assert {m for m in (int(t // 2.0) for t in kept)} <= measures  # no measure emptied to make room


def test_the_default_floor_is_each_difficultys_rest_fill_floor():
    from ddc_sm.pipeline.make import REST_FILL_FLOOR

    prob, loud = curve()
    prob[650] = 0.6  # the quiet measure's peak, smoothed, well above both Beginner's and Easy's floor
    assert REST_FILL_FLOOR["Easy"] < 0.25 and REST_FILL_FLOOR["Beginner"] < 0.25
    for difficulty in ("Beginner", "Easy"):
        filled = rest_filled_times(CurvePlacer(), prob, difficulty, DURATION, TIMING, loud, GRID_RULES[difficulty])
        assert 6.5 in set(np.round(filled, 2))
