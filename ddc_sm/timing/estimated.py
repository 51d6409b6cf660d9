"""The grid `make` would estimate for an audio file (no options), cached on disk for training and evaluation.

Training gives the beat-aware placement model (:mod:`ddc_sm.placement.beats`) this grid on some crops, and
evaluation scores placement with it, because at run time `make` places steps on its own estimate, not on a
human chart's grid.  Cached in ``$DDC_SM_CACHE/tempo`` (see :mod:`ddc_sm.audio.cache`), keyed like the features.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from ddc_sm.timing.grid import ConstantTiming

CACHE_VERSION = 1


def estimated_timing(audio_path: str | os.PathLike, *, directory: Path | None = None) -> ConstantTiming:
    """``ConstantTiming`` of the best tempo estimate, as `make` estimates it from the audio alone."""
    from ddc_sm.audio.cache import cache_dir, cache_key

    audio_path = Path(audio_path)
    target = (directory or cache_dir()) / "tempo" / f"{cache_key(audio_path, 'tempo', CACHE_VERSION)}.json"
    try:
        data = json.loads(target.read_text(encoding="utf-8"))
        return ConstantTiming(float(data["bpm"]), float(data["offset"]))
    except (OSError, ValueError, KeyError):
        pass
    from ddc_sm.audio.decode import load_audio
    from ddc_sm.timing.tempo import estimate_tempo_from_onsets, onset_envelope

    audio = load_audio(audio_path)
    best = estimate_tempo_from_onsets(onset_envelope(audio.samples, audio.sample_rate)).best
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"bpm": float(best.bpm), "offset": float(best.offset)}), encoding="utf-8")
    os.replace(tmp, target)
    return ConstantTiming(float(best.bpm), float(best.offset))
