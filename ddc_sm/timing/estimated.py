"""The grid `make` would estimate for an audio file (no options), cached on disk for training and evaluation:
the constant estimate, or the tempo map (:mod:`ddc_sm.timing.tempo_map`) where `make` writes one.

Training gives the beat-aware placement model (:mod:`ddc_sm.placement.beats`) this grid on some crops, and
evaluation scores placement with it, because at run time `make` places steps on its own estimate, not on a
human chart's grid.  Cached in ``$DDC_SM_CACHE/tempo`` (see :mod:`ddc_sm.audio.cache`), keyed like the features.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from ddc_sm.timing.grid import ConstantTiming, TempoMap

CACHE_VERSION = 2  # 2: the tempo map and the octave above 200 BPM


def estimated_timing(audio_path: str | os.PathLike, *, directory: Path | None = None) -> ConstantTiming | TempoMap:
    """The grid `make` estimates from the audio alone: ``ConstantTiming`` of the best tempo estimate, or the
    ``TempoMap`` that replaces it where the tempo changes."""
    from ddc_sm.audio.cache import cache_dir, cache_key

    audio_path = Path(audio_path)
    target = (directory or cache_dir()) / "tempo" / f"{cache_key(audio_path, 'tempo', CACHE_VERSION)}.json"
    try:
        return _timing(json.loads(target.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError):
        pass
    from ddc_sm.audio.decode import load_audio
    from ddc_sm.timing.tempo import estimate_tempo_from_onsets, onset_envelope
    from ddc_sm.timing.tempo_map import estimate_tempo_map

    audio = load_audio(audio_path)
    onset = onset_envelope(audio.samples, audio.sample_rate)
    best = estimate_tempo_from_onsets(onset).best
    tmap = estimate_tempo_map(onset, best.bpm, best.offset) if best.confidence > 0 else None
    if tmap is not None and tmap.changed:
        data = {"offset": float(tmap.timing.offset), "bpms": [[float(b), float(v)] for b, v in tmap.timing.bpms]}
    else:
        data = {"offset": float(best.offset), "bpms": [[0.0, float(best.bpm)]]}
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data), encoding="utf-8")
    os.replace(tmp, target)
    return _timing(data)


def _timing(data: dict) -> ConstantTiming | TempoMap:
    bpms = tuple((float(b), float(v)) for b, v in data["bpms"])
    if len(bpms) == 1:
        return ConstantTiming(bpms[0][1], float(data["offset"]))
    return TempoMap(float(data["offset"]), bpms)
