"""``ddc-sm sync SONG``: print the song's BPM/#OFFSET candidates (a table or JSON); warnings go to stderr."""

from __future__ import annotations

import json
import os
import sys
import time


def run_sync(audio_path: str | os.PathLike, top: int = 3, as_json: bool = False) -> int:
    """Estimate tempo and offset of ``audio_path`` and print the best ``top`` candidates.

    Returns the exit code (0).  An unreadable, missing, silent or too short file raises
    :class:`ddc_sm.errors.AudioError`, which the CLI prints as one line.
    """
    from ddc_sm.audio.decode import load_audio
    from ddc_sm.timing.tempo import estimate_tempo

    audio = load_audio(audio_path)
    start = time.perf_counter()
    est = estimate_tempo(audio.samples, audio.sample_rate, top=max(1, int(top)))
    seconds = time.perf_counter() - start
    for warning in est.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if as_json:
        doc = {
            "audio": str(audio.path),
            "duration_s": round(audio.duration, 3),
            "reliable": est.reliable,
            "warnings": list(est.warnings),
            "candidates": [{"bpm": c.bpm, "offset": c.offset, "confidence": c.confidence} for c in est.candidates],
            "seconds": round(seconds, 3),
        }
        print(json.dumps(doc, indent=2))
        return 0
    print(f"{audio.path.name}: {audio.duration:.1f} s" + ("" if est.reliable else "  (unreliable: see warnings)"))
    print(f"{'#':>2}  {'BPM':>9}  {'OFFSET (s)':>10}  {'confidence':>10}")
    for i, c in enumerate(est.candidates, 1):
        print(f"{i:>2}  {c.bpm:>9.3f}  {c.offset:>10.4f}  {c.confidence:>10.2f}")
    print(f"#OFFSET is -(time of beat 0); beat 0 is a downbeat at or before the start. "
          f"Use: ddc-sm make SONG --bpm {est.best.bpm:g} --offset {est.best.offset:.4f}")
    return 0
