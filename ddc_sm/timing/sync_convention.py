"""A pack's sync convention: how far its charted beats sit from the beats ``ddc_sm.timing.tempo`` estimates.

Charters do not agree on where a beat is: at the attack of the sound, at its loudest point, a few ms later
for ITG-style sync.  Within one pack the convention is usually the same.  ``measure_sync_bias`` compares
the pack's existing constant-tempo charts with the estimate for their audio and returns the median
difference, so that ``ddc-sm pack --match-sync`` can write new charts the way the pack's charts are synced.

Only songs whose estimated BPM agrees with the chart (within ``BPM_TOLERANCE``, or an octave of it on the
same grid) and whose beats agree within ``MAX_ERROR_S`` count: a larger difference is a different phase or a
chart error, not a convention.  At least ``MIN_SONGS`` such songs are needed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Optional, Sequence

# Chosen by hand as round values (not fitted to a score): a pack's chart counts toward its convention when its BPM agrees with the estimate
# within 0.05 and its beat within 30 ms; `python benchmarks/sync.py` scores the convention leave-one-out per pack.
BPM_TOLERANCE = 0.05
MAX_ERROR_S = 0.030
MIN_SONGS = 3


@dataclass
class SyncBias:
    seconds: float  # the charts' beats minus ours (positive: the pack's beats are later)
    songs: int  # songs it was measured on
    spread: float  # median absolute deviation of the songs' differences (s)

    def describe(self) -> str:
        direction = "later" if self.seconds >= 0 else "earlier"
        return (f"the pack's charts put beats {abs(self.seconds) * 1000:.1f} ms {direction} than the estimate "
                f"(median of {self.songs} charted songs, spread {self.spread * 1000:.1f} ms)")


def beat_difference(bpm: float, offset: float, chart_bpm: float, chart_offset: float) -> Optional[float]:
    """The chart's beat minus ours (s), wrapped into half a beat; None when the tempi differ or the beats are
    more than ``MAX_ERROR_S`` apart.  A chart at twice or half our BPM compares on the finer grid."""
    if bpm <= 0 or chart_bpm <= 0:
        return None
    octave = 2.0 ** round(math.log2(chart_bpm / bpm))
    if abs(bpm * octave - chart_bpm) > BPM_TOLERANCE:
        return None
    period = 60.0 / max(bpm, chart_bpm)
    d = ((-chart_offset) - (-offset)) % period
    d = d - period if d > period / 2 else d
    return d if abs(d) <= MAX_ERROR_S else None


def combine(differences: Iterable[Optional[float]]) -> Optional[SyncBias]:
    """The median of the usable differences, or None with fewer than ``MIN_SONGS``."""
    import numpy as np

    d = np.array([x for x in differences if x is not None], dtype=float)
    if len(d) < MIN_SONGS:
        return None
    med = float(np.median(d))
    return SyncBias(med, int(len(d)), float(np.median(np.abs(d - med))))


def shifted_offset(bpm: float, offset: float, shift: float) -> float:
    """``#OFFSET`` with every beat ``shift`` seconds later, beat 0 still the latest downbeat at or before time 0
    (``0 <= offset < 4 beats``)."""
    measure = 4 * 60.0 / bpm
    out = (offset - shift) % measure
    return 0.0 if out >= measure - 1e-9 else out


def measure_sync_bias(song_dirs: Sequence[Path], log: Callable[[str], None] | None = None) -> Optional[SyncBias]:
    """The sync bias of the charted, constant-tempo songs among ``song_dirs`` (None when too few agree)."""
    from ddc_sm.audio.decode import load_audio
    from ddc_sm.simfiles.dataset import iter_songs
    from ddc_sm.errors import AudioError
    from ddc_sm.timing.tempo import estimate_tempo

    say = log or (lambda _m: None)
    diffs = []
    for song in iter_songs(list(song_dirs), with_charts=False):
        if not song.constant_tempo or not song.bpms or song.audio_path is None:
            continue
        try:
            audio = load_audio(song.audio_path)
        except AudioError:
            continue
        est = estimate_tempo(audio.samples, audio.sample_rate)
        if not est.reliable:
            continue
        diffs.append(beat_difference(est.best.bpm, est.best.offset, float(song.bpms[0][1]), float(song.offset)))
        say(f"sync of {song.key}: {'-' if diffs[-1] is None else f'{diffs[-1] * 1000:+.1f} ms'}")
    return combine(diffs)
