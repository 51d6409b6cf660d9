"""Tempo and offset estimation on short synthesised audio with exactly known tempo."""

import numpy as np
import pytest

from ddc_sm.audio import synth
from ddc_sm.timing.tempo import TempoCandidate, TempoEstimate, estimate_tempo, estimate_tempo_from_onsets, onset_envelope

SR = 22050  # the analysis rate: no resampling, keeps the tests fast


def phase_error(cand: TempoCandidate, bpm: float, first_beat: float) -> float:
    """Seconds from the true beat nearest to our beat 0, wrapped into +-half a beat."""
    period = 60.0 / bpm
    d = (cand.beat_time(0) - first_beat) % period
    return d - period if d > period / 2 else d


def beat_index_of_truth(cand: TempoCandidate, first_beat: float) -> float:
    """Which of our beats the true beat 0 falls on."""
    return (first_beat - cand.beat_time(0)) / (60.0 / cand.bpm)


@pytest.mark.parametrize("bpm, first_beat, pattern, noise", [
    (128.0, 0.25, "rock", -20.0),
    (93.7, 0.61, "syncopated", -30.0),
    (174.23, 1.1, "four_on_floor", -12.0),
    (151.37, 0.05, "rock", None),
])
def test_drum_tracks_get_bpm_and_offset(bpm, first_beat, pattern, noise):
    track = synth.drum_track(bpm, first_beat, 30.0, sample_rate=SR, seed=3, noise_db=noise, pattern=pattern)
    est = estimate_tempo(track.samples, track.sample_rate)
    assert isinstance(est, TempoEstimate)
    assert est.reliable and est.warnings == []
    assert abs(est.best.bpm - bpm) <= 0.01
    assert abs(phase_error(est.best, bpm, first_beat)) <= 0.005


def test_click_track_and_downbeat():
    bpm, first_beat = 143.0, 0.83
    track = synth.click_track(bpm, first_beat, 25.0, sample_rate=SR, noise_db=-20.0)
    est = estimate_tempo(track.samples, track.sample_rate)
    assert est.best.bpm == pytest.approx(bpm, abs=0.01)
    assert abs(phase_error(est.best, bpm, first_beat)) <= 0.005
    # the accented click (first beat of each measure) is a downbeat: a multiple of 4 in our beats
    k = beat_index_of_truth(est.best, first_beat)
    assert abs(k - 4 * round(k / 4)) < 0.05


def test_music_like_tones_without_drums():
    bpm, first_beat = 112.5, 0.4
    track = synth.tone_track(bpm, first_beat, 30.0, sample_rate=SR, seed=1)
    est = estimate_tempo(track.samples, track.sample_rate)
    assert est.reliable
    assert est.best.bpm == pytest.approx(bpm, abs=0.05)
    assert abs(phase_error(est.best, bpm, first_beat)) <= 0.008


def test_whole_bpm_is_rounded_and_other_bpm_is_not():
    exact = synth.drum_track(150.0, 0.3, 30.0, sample_rate=SR, noise_db=-20.0)
    assert estimate_tempo(exact.samples, SR).best.bpm == 150.0
    off = synth.drum_track(150.3, 0.3, 30.0, sample_rate=SR, noise_db=-20.0)
    bpm = estimate_tempo(off.samples, SR).best.bpm
    assert bpm != 150.0 and bpm != 150.5 and bpm == pytest.approx(150.3, abs=0.01)


def test_octaves_resolved_into_80_to_200():
    # a slow rock beat stays slow: its half beats hold only quiet hi-hats
    slow = synth.drum_track(88.0, 0.2, 30.0, sample_rate=SR, noise_db=-20.0)
    assert estimate_tempo(slow.samples, SR).best.bpm == pytest.approx(88.0, abs=0.01)
    # a fast beat stays fast (kick on every beat, snare on 2 and 4)
    fast = synth.drum_track(186.0, 0.2, 30.0, sample_rate=SR, noise_db=-20.0)
    assert estimate_tempo(fast.samples, SR).best.bpm == pytest.approx(186.0, abs=0.01)
    # clicks at 240 BPM come out at 120, with 240 offered as an alternative
    clicks = synth.click_track(240.0, 0.1, 20.0, sample_rate=SR)
    est = estimate_tempo(clicks.samples, SR)
    assert est.best.bpm == pytest.approx(120.0, abs=0.01)
    assert any(abs(c.bpm - 240.0) < 0.02 for c in est.candidates[1:])
    assert abs(phase_error(est.best, 240.0, 0.1)) <= 0.005


def test_even_sixteenths_are_written_at_the_octave_above_200():
    # even clicks 420 times a minute: 16th notes of 105 BPM, which charters write as 8ths of 210 (Goin' Under);
    # an accented metronome at 240 (the test above) has no such even pulse and stays at 120
    clicks = synth.click_track(420.0, 0.1, 30.0, sample_rate=SR, beats_per_measure=1)
    est = estimate_tempo(clicks.samples, SR)
    assert est.best.bpm == pytest.approx(210.0, abs=0.01)
    assert any(abs(c.bpm - 105.0) < 0.02 for c in est.candidates[1:])
    assert abs(phase_error(est.best, 420.0, 0.1)) <= 0.005


def test_top_candidates_sorted_with_confidences():
    track = synth.drum_track(133.0, 0.5, 25.0, sample_rate=SR, noise_db=-20.0)
    est = estimate_tempo(track.samples, SR, top=3)
    assert len(est.candidates) == 3
    confs = [c.confidence for c in est.candidates]
    assert all(0.0 <= c <= 1.0 for c in confs)
    assert confs == sorted(confs, reverse=True)
    assert confs[0] > 0.5
    assert len({(c.bpm, c.offset) for c in est.candidates}) == 3
    assert len(estimate_tempo(track.samples, SR, top=1).candidates) == 1


def test_offset_convention():
    bpm = 128.0
    track = synth.drum_track(bpm, 1.37, 25.0, sample_rate=SR)
    best = estimate_tempo(track.samples, SR).best
    period = 60.0 / bpm
    # beat 0 is the latest downbeat at or before the start: 0 <= offset < one 4/4 measure
    assert 0.0 <= best.offset < 4 * period
    assert best.beat_time(0) == pytest.approx(-best.offset)
    assert best.beat_time(8) == pytest.approx(-best.offset + 8 * period)
    # the first kick (a downbeat of the rock pattern) falls on a beat >= 0 that is a multiple of 4
    k = beat_index_of_truth(best, 1.37)
    assert k > -0.01 and abs(k - 4 * round(k / 4)) < 0.05


def test_deterministic():
    track = synth.drum_track(141.0, 0.33, 20.0, sample_rate=SR, noise_db=-12.0, seed=5)
    a = estimate_tempo(track.samples, SR)
    b = estimate_tempo(track.samples.copy(), SR)
    assert a.candidates == b.candidates and a.warnings == b.warnings and a.reliable == b.reliable


def test_estimate_from_precomputed_onsets_is_the_same():
    track = synth.drum_track(133.0, 0.4, 20.0, seed=5)
    onset = onset_envelope(track.samples, track.sample_rate)
    assert estimate_tempo_from_onsets(onset) == estimate_tempo(track.samples, track.sample_rate)


def test_other_sample_rates_and_stereo():
    track = synth.drum_track(120.5, 0.2, 20.0, sample_rate=48000, noise_db=-20.0)
    stereo = np.stack([track.samples, track.samples], axis=1)
    est = estimate_tempo(stereo, 48000)
    assert est.best.bpm == pytest.approx(120.5, abs=0.01)
    assert abs(phase_error(est.best, 120.5, 0.2)) <= 0.005


def test_silence_is_reported_with_a_visible_fallback():
    est = estimate_tempo(np.zeros(SR * 10, dtype=np.float32), SR)
    assert not est.reliable
    assert est.best.bpm == 120.0 and est.best.confidence == 0.0
    assert any("silent" in w and "120" in w for w in est.warnings)


def test_silent_means_what_load_audio_refuses():
    # one threshold for both (ddc_sm.audio.decode.SILENCE_PEAK): a beat at -86 dBFS is silent, at -74 dBFS not
    track = synth.drum_track(128.0, 0.25, 10.0, sample_rate=SR, seed=0)
    y = track.samples / np.max(np.abs(track.samples))
    assert any("silent" in w for w in estimate_tempo(5e-5 * y, SR).warnings)
    loud = estimate_tempo(2e-4 * y, SR)
    assert not any("silent" in w for w in loud.warnings) and loud.best.bpm == pytest.approx(128.0, abs=0.01)


@pytest.mark.parametrize("make", [
    lambda: synth.noise_track(15.0, sample_rate=SR, seed=1),
    lambda: synth.noise_track(15.0, sample_rate=SR, seed=2, color="pink"),
    lambda: synth.free_tempo_track(20.0, sample_rate=SR, seed=3),
], ids=["white-noise", "pink-noise", "random-onsets"])
def test_no_beat_gives_warning_and_fallback(make):
    track = make()
    est = estimate_tempo(track.samples, SR)
    assert not est.reliable
    assert est.warnings and "no steady beat" in est.warnings[0]
    assert est.best.bpm == 120.0 and est.best.confidence == 0.0  # the fallback, named in the warning
    assert "fallback 120 BPM" in est.warnings[0]


def test_changing_tempo_is_flagged():
    track = synth.tempo_ramp_track(120.0, 126.0, 40.0, sample_rate=SR)
    est = estimate_tempo(track.samples, SR)
    assert not est.reliable and est.warnings


def test_very_short_audio_does_not_crash():
    est = estimate_tempo(np.zeros(100, dtype=np.float32) + 0.1, SR)
    assert not est.reliable and est.warnings and est.best.bpm == 120.0
    short = synth.drum_track(130.0, 0.1, 5.0, sample_rate=SR)
    assert estimate_tempo(short.samples, SR).best.bpm == pytest.approx(130.0, abs=0.05)


def test_second_half_at_another_tempo_is_warned():
    first = synth.drum_track(120.0, 0.25, 25.0, sample_rate=SR).samples
    second = synth.drum_track(150.0, 0.25, 25.0, sample_rate=SR).samples
    est = estimate_tempo(np.concatenate([first, second]), SR)
    assert est.warnings and "grid" in est.warnings[0]
