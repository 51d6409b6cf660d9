from fractions import Fraction

import numpy as np

from ddc_sm.timing.grid import BEAT_SUBDIVISION, FULL_GRID, GRID_RULES, ConstantTiming, snap_beat, snap_times


def test_constant_timing_follows_stepmania_offset_convention():
    timing = ConstantTiming(bpm=120.0, offset=-0.25)  # beat 0 at 0.25 s
    assert timing.time_at(np.array([0.0, 1.0, 4.0])).tolist() == [0.25, 0.75, 2.25]
    assert np.allclose(timing.beat_at(np.array([0.25, 0.75])), [0.0, 1.0])


def test_snap_prefers_the_coarsest_note_value_within_tolerance():
    spb = 0.5  # 120 BPM
    assert snap_beat(1.02, spb) == Fraction(1)  # 10 ms off a quarter note
    assert snap_beat(1.49, spb) == Fraction(3, 2)  # 5 ms off an eighth
    assert snap_beat(1.25, spb) == Fraction(5, 4)
    assert snap_beat(1.13, spb) == Fraction(9, 8)  # 2.5 ms off a 32nd, 60 ms off any sixteenth
    # with a tighter tolerance, far from coarse values: nearest 1/16-beat slot
    assert snap_beat(1.0 + 3 / 16 + 0.01, spb, tolerance=0.004) == Fraction(19, 16)


def test_every_snapped_beat_is_on_the_16_slot_grid():
    rng = np.random.default_rng(0)
    timing = ConstantTiming(150.0, -0.1)
    times = np.sort(rng.uniform(0, 60, 500))
    for rule in list(GRID_RULES.values()) + [FULL_GRID]:
        beats = snap_times(times, timing, rule)
        assert all((b * BEAT_SUBDIVISION).denominator == 1 for b in beats)
        assert all(b >= 0 for b in beats)
        assert all(b2 - b1 >= rule.min_gap_beats for b1, b2 in zip(beats, beats[1:]))


def test_easy_difficulties_drop_steps_far_from_eighth_notes():
    timing = ConstantTiming(120.0, 0.0)
    times = [0.0, 0.125, 0.5]  # a quarter, a sixteenth, a quarter
    assert snap_times(times, timing, GRID_RULES["Beginner"]) == [Fraction(0), Fraction(1)]
    assert snap_times(times, timing, GRID_RULES["Hard"]) == [Fraction(0), Fraction(1, 4), Fraction(1)]


def test_steps_before_beat_zero_or_after_the_end_are_dropped():
    timing = ConstantTiming(120.0, -1.0)  # beat 0 at 1 s
    beats = snap_times([0.2, 1.0, 1.5, 9.0], timing, FULL_GRID, end_time=5.0)
    assert beats == [Fraction(0), Fraction(1)]


def test_collisions_keep_the_step_with_higher_priority():
    timing = ConstantTiming(120.0, 0.0)
    prob = {0: 0.2, 1: 0.9}
    beats = snap_times([0.50, 0.52], timing, GRID_RULES["Hard"], priority=prob.get)
    assert beats == [Fraction(1)]


def test_click_track_gets_its_bpm_and_its_clicks_land_on_the_grid():
    from ddc_sm.audio.synth import click_track
    from ddc_sm.timing.tempo import estimate_tempo

    bpm, first_beat = 137.0, 0.41
    track = click_track(bpm, first_beat, 30.0, sample_rate=22050, noise_db=-25.0)
    best = estimate_tempo(track.samples, track.sample_rate).best
    assert abs(best.bpm - bpm) <= 0.05
    timing = ConstantTiming(best.bpm, best.offset)
    clicks = track.beat_times()
    beats = snap_times(clicks, timing, FULL_GRID)
    assert len(beats) == len(clicks)  # every click kept (beat 0 is at or before the first click)
    assert all(b.denominator == 1 for b in beats)  # each click is on a whole beat
    assert np.max(np.abs(timing.time_at(np.array([float(b) for b in beats])) - clicks)) < 0.005
