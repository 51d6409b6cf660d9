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

    def beat_times(self) -> np.ndarray:
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


def drum_track(bpm: float, first_beat: float, duration: float, *, sample_rate: int = 44100, seed: int = 0,
               noise_db: float | None = None, bass: bool = True, lead_in_beats: int = 0) -> SynthTrack:
    """A 4/4 drum loop: kick on every beat, snare on 2 and 4, hats on eighths, a bass line on beats.

    ``first_beat`` is the time of the first kick (beat 0).  ``noise_db`` adds white noise at that level
    relative to the drum peak (e.g. -20).  ``lead_in_beats`` leaves that many beats silent at the start
    (the grid still starts at ``first_beat``).
    """
    rng = np.random.default_rng(seed)
    sr = sample_rate
    out = np.zeros(int(round(duration * sr)), dtype=np.float32)
    kick, snare, hat = _kick(sr), _snare(sr, rng), _hat(sr, rng)
    period = 60.0 / bpm
    bass_notes = [55.0, 55.0, 65.4, 49.0, 55.0, 73.4, 65.4, 49.0]
    n_beats = int(np.ceil((duration - first_beat) / period)) + 1
    for k in range(lead_in_beats, n_beats):
        t = first_beat + k * period
        _add(out, kick, t, sr, 1.0)
        if k % 2 == 1:
            _add(out, snare, t, sr, 0.6)
        _add(out, hat, t, sr, 0.5)
        _add(out, hat, t + period / 2, sr, 0.35)
        if bass:
            _add(out, _tone(sr, bass_notes[(k // 2) % len(bass_notes)], period * 0.9), t, sr, 0.5)
    out /= max(1e-6, float(np.max(np.abs(out))))
    if noise_db is not None:
        out += (10 ** (noise_db / 20.0)) * rng.standard_normal(len(out)).astype(np.float32)
        out /= max(1.0, float(np.max(np.abs(out))))
    return SynthTrack((0.8 * out).astype(np.float32), sr, float(bpm), float(first_beat))
