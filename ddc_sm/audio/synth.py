"""Synthesised drum/click tracks with exactly known tempo, for fixtures, tests and benchmarks."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SynthTrack:
    samples: np.ndarray  # float32 mono
    sample_rate: int
    bpm: float
    first_beat: float  # time in seconds of beat 0 (the first kick)
    beats: np.ndarray | None = None  # the beats' times when the tempo changes (None: constant ``bpm``)

    def beat_times(self) -> np.ndarray:
        if self.beats is not None:
            return self.beats
        period = 60.0 / self.bpm
        n = int(np.floor((len(self.samples) / self.sample_rate - self.first_beat) / period)) + 1
        return self.first_beat + period * np.arange(n)


def _kick(sr: int) -> np.ndarray:
    t = np.arange(int(0.25 * sr)) / sr
    freq = 45 + 110 * np.exp(-t * 30)
    phase = 2 * np.pi * np.cumsum(freq) / sr
    return (np.sin(phase) * np.exp(-t * 14)).astype(np.float32)


def _snare(sr: int, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(int(0.2 * sr)) / sr
    noise = rng.standard_normal(len(t)) * np.exp(-t * 25)
    tone = np.sin(2 * np.pi * 190 * t) * np.exp(-t * 30)
    return (0.5 * noise + 0.5 * tone).astype(np.float32)


def _hat(sr: int, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(int(0.05 * sr)) / sr
    noise = rng.standard_normal(len(t))
    noise = np.diff(noise, prepend=0.0)  # crude high-pass
    return (0.25 * noise * np.exp(-t * 90)).astype(np.float32)


def _tone(sr: int, freq: float, length_s: float) -> np.ndarray:
    t = np.arange(int(length_s * sr)) / sr
    env = np.minimum(1.0, t / 0.005) * np.exp(-t * 4)
    return (0.3 * (np.sin(2 * np.pi * freq * t) + 0.3 * np.sin(4 * np.pi * freq * t)) * env).astype(np.float32)


def _add(out: np.ndarray, sound: np.ndarray, start_s: float, sr: int, gain: float = 1.0) -> None:
    i = int(round(start_s * sr))
    if i >= len(out) or i + len(sound) <= 0:
        return
    j0 = max(0, -i)
    seg = sound[j0:len(out) - i] if i >= 0 else sound[j0:j0 + len(out)]
    out[max(i, 0):max(i, 0) + len(seg)] += gain * seg


def _finish(out: np.ndarray, rng: np.random.Generator, noise_db: float | None) -> np.ndarray:
    """Normalise to the peak, add white noise ``noise_db`` below it, scale to 0.8 full scale."""
    out /= max(1e-6, float(np.max(np.abs(out))))
    if noise_db is not None:
        out += (10 ** (noise_db / 20.0)) * rng.standard_normal(len(out)).astype(np.float32)
        out /= max(1.0, float(np.max(np.abs(out))))
    return (0.8 * out).astype(np.float32)


DRUM_PATTERNS = ("rock", "syncopated", "four_on_floor")


def drum_track(bpm: float, first_beat: float, duration: float, *, sample_rate: int = 44100, seed: int = 0,
               noise_db: float | None = None, bass: bool = True, lead_in_beats: int = 0,
               pattern: str = "rock") -> SynthTrack:
    """A 4/4 drum loop with exactly known tempo.

    ``pattern``: ``"rock"`` (the default): kick on every beat, snare on 2 and 4, hats on eighths, a bass
    line on beats; ``"syncopated"``: kicks on 1, the last sixteenth of 2 and the second sixteenth of 3
    (off the beat, but not on the eighth-note "and", which would make the tempo octave-ambiguous), snare on
    2 and 4, quiet sixteenth hats, bass on the kicks; ``"four_on_floor"``: kick on every beat, claps on 2 and 4,
    open hats and bass on the off-beats (quieter than the kicks).

    ``first_beat`` is the time of beat 0 (the first downbeat).  ``noise_db`` adds white noise at that
    level relative to the drum peak (e.g. -20).  ``lead_in_beats`` leaves that many beats silent at the
    start (the grid still starts at ``first_beat``).
    """
    if pattern not in DRUM_PATTERNS:
        raise ValueError(f"unknown drum pattern {pattern!r}; use one of {DRUM_PATTERNS}")
    rng = np.random.default_rng(seed)
    sr = sample_rate
    out = np.zeros(int(round(duration * sr)), dtype=np.float32)
    kick, snare, hat = _kick(sr), _snare(sr, rng), _hat(sr, rng)
    period = 60.0 / bpm
    bass_notes = [55.0, 55.0, 65.4, 49.0, 55.0, 73.4, 65.4, 49.0]
    n_beats = int(np.ceil((duration - first_beat) / period)) + 1
    for k in range(lead_in_beats, n_beats):
        t = first_beat + k * period
        note = bass_notes[(k // 2) % len(bass_notes)]
        if pattern == "rock":
            _add(out, kick, t, sr, 1.0)
            if k % 2 == 1:
                _add(out, snare, t, sr, 0.6)
            _add(out, hat, t, sr, 0.5)
            _add(out, hat, t + period / 2, sr, 0.35)
            if bass:
                _add(out, _tone(sr, note, period * 0.9), t, sr, 0.5)
        elif pattern == "syncopated":
            kicks = {0: (0.0,), 1: (0.75,), 2: (0.25,), 3: ()}[k % 4]
            for x in kicks:
                _add(out, kick, t + x * period, sr, 1.0)
                if bass:
                    _add(out, _tone(sr, note, period * 0.4), t + x * period, sr, 0.5)
            if k % 2 == 1:
                _add(out, snare, t, sr, 0.8)
            for q in range(4):
                _add(out, hat, t + q * period / 4, sr, 0.3 if q == 0 else 0.15)
        else:  # four_on_floor
            _add(out, kick, t, sr, 1.0)
            if k % 2 == 1:
                _add(out, snare, t, sr, 0.5)
            _add(out, _open_hat(sr, rng), t + period / 2, sr, 0.3)
            if bass:
                _add(out, _tone(sr, 2 * note, period * 0.4), t + period / 2, sr, 0.3)
    return SynthTrack(_finish(out, rng, noise_db), sr, float(bpm), float(first_beat))


def _open_hat(sr: int, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(int(0.15 * sr)) / sr
    noise = np.diff(rng.standard_normal(len(t)), prepend=0.0)
    return (0.4 * noise * np.exp(-t * 20)).astype(np.float32)


def _click(sr: int, freq: float) -> np.ndarray:
    t = np.arange(int(0.03 * sr)) / sr
    return (np.sin(2 * np.pi * freq * t) * np.exp(-t * 250)).astype(np.float32)


def click_track(bpm: float, first_beat: float, duration: float, *, sample_rate: int = 44100, seed: int = 0,
                noise_db: float | None = None, beats_per_measure: int = 4) -> SynthTrack:
    """A metronome: a short click on every beat, higher and louder on the first beat of each measure."""
    rng = np.random.default_rng(seed)
    sr = sample_rate
    out = np.zeros(int(round(duration * sr)), dtype=np.float32)
    period = 60.0 / bpm
    accent, plain = _click(sr, 1760.0), _click(sr, 880.0)
    n_beats = int(np.ceil((duration - first_beat) / period)) + 1
    for k in range(n_beats):
        first = k % beats_per_measure == 0
        _add(out, accent if first else plain, first_beat + k * period, sr, 1.0 if first else 0.6)
    return SynthTrack(_finish(out, rng, noise_db), sr, float(bpm), float(first_beat))


def _piano(sr: int, freq: float, length_s: float, attack_s: float) -> np.ndarray:
    t = np.arange(int(length_s * sr)) / sr
    env = np.minimum(1.0, t / max(attack_s, 1.0 / sr)) * np.exp(-t * 3.0)
    wave = sum(np.sin(2 * np.pi * h * freq * t) / h ** 1.5 for h in range(1, 6))
    return (0.3 * wave * env).astype(np.float32)


def tone_track(bpm: float, first_beat: float, duration: float, *, sample_rate: int = 44100, seed: int = 0,
               noise_db: float | None = None, attack_s: float = 0.004) -> SynthTrack:
    """Music without drums: a chord on every beat (the bass note louder on the downbeat) and a quieter
    melody on eighths, piano-like tones with a ``attack_s`` rise."""
    rng = np.random.default_rng(seed)
    sr = sample_rate
    out = np.zeros(int(round(duration * sr)), dtype=np.float32)
    period = 60.0 / bpm
    chords = [(130.8, 164.8, 196.0), (110.0, 130.8, 164.8), (87.3, 110.0, 130.8), (98.0, 123.5, 146.8)]
    scale = [261.6, 293.7, 329.6, 349.2, 392.0, 440.0, 493.9, 523.3]
    n_beats = int(np.ceil((duration - first_beat) / period)) + 1
    for k in range(n_beats):
        t = first_beat + k * period
        chord = chords[(k // 4) % len(chords)]
        for j, f in enumerate(chord):
            gain = (0.9 if k % 4 == 0 else 0.6) if j == 0 else 0.4
            _add(out, _piano(sr, f, period * 1.5, attack_s), t, sr, gain)
        for half in (0.0, 0.5):
            _add(out, _piano(sr, scale[int(rng.integers(len(scale)))], period * 0.6, attack_s), t + half * period, sr,
                 0.3 if half == 0.0 else 0.2)
    return SynthTrack(_finish(out, rng, noise_db), sr, float(bpm), float(first_beat))


def free_tempo_track(duration: float, *, sample_rate: int = 44100, seed: int = 0, mean_gap_s: float = 0.4,
                     noise_db: float | None = None) -> SynthTrack:
    """Drum hits and tones at random times (exponential gaps): sound with onsets but no steady beat.

    ``bpm`` and ``first_beat`` of the result are NaN (there is no tempo to know).
    """
    rng = np.random.default_rng(seed)
    sr = sample_rate
    out = np.zeros(int(round(duration * sr)), dtype=np.float32)
    sounds = [_kick(sr), _snare(sr, rng), _hat(sr, rng)]
    t = float(rng.exponential(mean_gap_s))
    while t < duration:
        kind = int(rng.integers(4))
        if kind < 3:
            _add(out, sounds[kind], t, sr, float(rng.uniform(0.4, 1.0)))
        else:
            _add(out, _piano(sr, float(rng.uniform(110, 660)), 0.5, 0.004), t, sr, float(rng.uniform(0.3, 0.8)))
        t += float(rng.exponential(mean_gap_s))
    return SynthTrack(_finish(out, rng, noise_db), sr, float("nan"), float("nan"))


def _rock_at(beats: np.ndarray, duration: float, sr: int, rng: np.random.Generator) -> np.ndarray:
    """The ``rock`` loop (kick on beats, snare on odd beats, hat on the half beats) on the given beat times."""
    out = np.zeros(int(round(duration * sr)), dtype=np.float32)
    kick, snare, hat = _kick(sr), _snare(sr, rng), _hat(sr, rng)
    for k, t in enumerate(beats):
        period = (beats[k + 1] - t) if k + 1 < len(beats) else (t - beats[k - 1] if k else 0.5)
        _add(out, kick, t, sr, 1.0)
        if k % 2 == 1:
            _add(out, snare, t, sr, 0.6)
        _add(out, hat, t + period / 2, sr, 0.35)
    return out


def tempo_ramp_track(bpm_start: float, bpm_end: float, duration: float, *, sample_rate: int = 44100,
                     seed: int = 0, noise_db: float | None = None) -> SynthTrack:
    """The ``rock`` drum loop with a tempo gliding linearly from ``bpm_start`` to ``bpm_end`` (no constant
    BPM fits it).  ``bpm`` of the result is the mean tempo, ``first_beat`` is 0; ``beats`` holds the beats."""
    rng = np.random.default_rng(seed)
    beats, t = [], 0.0
    while t < duration:
        beats.append(t)
        t += 60.0 / (bpm_start + (bpm_end - bpm_start) * t / duration)
    beats = np.array(beats)
    return SynthTrack(_finish(_rock_at(beats, duration, sample_rate, rng), rng, noise_db), sample_rate,
                      float((bpm_start + bpm_end) / 2), 0.0, beats)


def tempo_change_track(bpms: list[tuple[float, float]], first_beat: float, duration: float, *,
                       sample_rate: int = 44100, seed: int = 0, noise_db: float | None = None) -> SynthTrack:
    """The ``rock`` drum loop on a tempo that changes at beats: ``bpms`` = [(beat, bpm), ...] from beat 0 (as
    #BPMS), beat 0 at ``first_beat`` seconds.  ``bpm`` of the result is the first tempo; ``beats`` holds the
    beats' times (a tempo change falls on a whole beat here; ``ddc_sm.timing.grid.TempoMap(-first_beat, bpms)``
    is its exact grid)."""
    starts = [(float(b), float(v)) for b, v in bpms]
    beats, k, t = [], 0, float(first_beat)
    while t < duration:
        beats.append(t)
        bpm = [v for b, v in starts if b <= k][-1]
        t += 60.0 / bpm
        k += 1
    beats = np.array(beats)
    rng = np.random.default_rng(seed)
    return SynthTrack(_finish(_rock_at(beats, duration, sample_rate, rng), rng, noise_db), sample_rate,
                      float(bpms[0][1]), float(first_beat), beats)


def noise_track(duration: float, *, sample_rate: int = 44100, seed: int = 0, color: str = "white") -> SynthTrack:
    """Steady noise (``"white"`` or ``"pink"``): no onsets, no tempo (``bpm`` is NaN)."""
    rng = np.random.default_rng(seed)
    n = int(round(duration * sample_rate))
    x = rng.standard_normal(n)
    if color == "pink":
        spec = np.fft.rfft(x)
        spec /= np.sqrt(np.maximum(np.arange(len(spec)), 1.0))
        x = np.fft.irfft(spec, n)
    elif color != "white":
        raise ValueError(f"unknown noise colour {color!r}")
    x = x / max(1e-9, float(np.max(np.abs(x))))
    return SynthTrack((0.5 * x).astype(np.float32), sample_rate, float("nan"), float("nan"))
