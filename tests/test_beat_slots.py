"""Beginner steps on the strongest beats (`ddc_sm.pipeline.make.beat_slot_times`) on hand-built probabilities."""

import numpy as np

from ddc_sm.pipeline.make import BEAT_SLOT_BONUS, BEAT_SLOT_FLOOR, beat_slot_times
from ddc_sm.timing.grid import ConstantTiming

TIMING = ConstantTiming(120.0, 0.0)  # a beat every 0.5 s from time 0, a measure every 2 s
DURATION = 20.0


class Placer:
    smooth = 1  # no smoothing: the curve is what the rule sees


def test_steps_go_to_the_beats_the_model_hears_best_with_the_strong_beats_first():
    prob = np.zeros(int(DURATION * 100) + 1)
    prob[1002] = 0.6  # a strong onset 20 ms after beat 20 (the downbeat of measure 5): within 20 ms of it
    prob[1260] = 0.6  # one between beats 25 and 26 (100 ms after 25): near no beat
    times = np.array([1.0, 12.6, 19.0])  # three steps placed from beat 2 to beat 38
    out = beat_slot_times(Placer(), prob, "Beginner", DURATION, TIMING, times)
    beats = TIMING.beat_at(out)
    assert len(out) == 3 and np.allclose(beats, np.round(beats))  # as many steps, all on beats
    assert 20 in np.round(beats)  # the beat with the onset
    # the others: with nothing heard, the downbeats win (the downbeat bonus on top of the strong-beat one)
    assert all(b % 4 == 0 for b in np.round(beats))
    assert np.all((beats >= 2) & (beats <= 38))


def test_strong_beats_beat_weak_ones_unless_the_music_says_otherwise():
    prob = np.full(int(DURATION * 100) + 1, 0.06)  # every beat heard a little (above BEAT_SLOT_FLOOR)
    prob[250] = 0.11  # a faint onset on beat 5 (weak): less above the rest than the strong-beat bonus
    prob[350] = 0.9  # a loud one on beat 7 (weak): more than it
    out = beat_slot_times(Placer(), prob, "Beginner", DURATION, TIMING, np.array([2.0, 4.0]), bonus=(0.15, 0.1))
    beats = sorted(np.round(TIMING.beat_at(out)).astype(int).tolist())
    assert 7 in beats and 5 not in beats
    assert all(b == 7 or b % 2 == 0 for b in beats)


def test_only_the_difficulties_it_was_fitted_for_and_no_steps_stay_as_they_are():
    prob = np.zeros(int(DURATION * 100) + 1)
    times = np.array([1.03, 2.27, 3.9])
    assert set(BEAT_SLOT_BONUS) == {"Beginner"}
    assert np.array_equal(beat_slot_times(Placer(), prob, "Hard", DURATION, TIMING, times), times)
    assert beat_slot_times(Placer(), prob, "Beginner", DURATION, TIMING, np.zeros(0)).size == 0


def test_no_step_after_the_end_of_the_audio():
    prob = np.zeros(int(DURATION * 100) + 1)
    times = np.array([18.0, DURATION - 0.01])  # the last beat (40, at 20.0 s) is past the end
    out = beat_slot_times(Placer(), prob, "Beginner", DURATION, TIMING, times)
    assert len(out) == 2 and out.max() <= DURATION - 0.05


def test_a_beat_heard_comes_before_a_silent_strong_one():
    prob = np.zeros(int(DURATION * 100) + 1)
    prob[250] = BEAT_SLOT_FLOOR["Beginner"] + 0.01  # a weak beat (5) the model hears a little; all else silent
    out = beat_slot_times(Placer(), prob, "Beginner", DURATION, TIMING, np.array([2.0, 4.0]))
    beats = sorted(np.round(TIMING.beat_at(out)).astype(int).tolist())
    assert 5 in beats and len(beats) == 2
    # without the floor the silent downbeat (its bonus) would win
    no_floor = beat_slot_times(Placer(), prob, "Beginner", DURATION, TIMING, np.array([2.0, 4.0]), floor=0.0)
    assert 5 not in np.round(TIMING.beat_at(no_floor)).astype(int).tolist()
