"""``ddc-sm sync SONG``: print the song's BPM/#OFFSET candidates and how the best one fits the audio (a table or
JSON), or, with ``--bpm/--offset``, how that grid fits; warnings go to stderr."""

from __future__ import annotations

import json
import os
import sys
import time


def run_sync(audio_path: str | os.PathLike, top: int = 3, as_json: bool = False, bpm: float | None = None,
             offset: float | None = None) -> int:
    """Estimate tempo and offset of ``audio_path``, print the best ``top`` candidates and the fit of the best one
    (:mod:`ddc_sm.timing.alignment`); with ``bpm`` and ``offset`` also the fit of that grid.

    Returns the exit code (0, whether or not a grid fits: this is a measurement).  An unreadable, missing,
    silent or too short file raises :class:`ddc_sm.errors.AudioError`, a ``bpm``/``offset`` given alone or out
    of range :class:`ddc_sm.errors.UserError`; the CLI prints either as one line.
    """
    from ddc_sm.errors import UserError
    from ddc_sm.pipeline.make import check_timing_options

    if (bpm is None) != (offset is None):
        raise UserError("sync checks a grid given with both --bpm and --offset; give both (or neither, for the "
                        "estimate alone)")
    check_timing_options(bpm, offset)
    from ddc_sm.audio.decode import load_audio
    from ddc_sm.timing.alignment import grid_alignment, misfit_warning
    from ddc_sm.timing.grid import ConstantTiming
    from ddc_sm.timing.tempo import CONSTANT_GRID_WARNINGS, estimate_tempo_from_onsets, onset_envelope
    from ddc_sm.timing.tempo_map import estimate_tempo_map

    audio = load_audio(audio_path)
    start = time.perf_counter()
    onset = onset_envelope(audio.samples, audio.sample_rate)
    est = estimate_tempo_from_onsets(onset, top=max(1, int(top)))
    best = est.best
    tmap = estimate_tempo_map(onset, best.bpm, best.offset) if best.confidence > 0 else None
    fit = grid_alignment(onset, ConstantTiming(best.bpm, best.offset))
    map_fit = grid_alignment(onset, tmap.timing) if tmap is not None and tmap.changed else None
    given = grid_alignment(onset, ConstantTiming(float(bpm), float(offset))) if bpm is not None else None
    seconds = time.perf_counter() - start
    warnings = list(est.warnings)
    if map_fit is not None:  # the tempo map holds what the constant grid could not
        warnings = [w for w in warnings if not any(k in w for k in CONSTANT_GRID_WARNINGS)]
    elif not fit.fits:
        warnings.append(misfit_warning(fit, f"the best estimate ({best.bpm:g} BPM, offset {best.offset:.3f})",
                                       best.offset))
    if given is not None and not given.fits:
        warnings.append(misfit_warning(given, f"the grid of --bpm {bpm:g} --offset {offset:g}", float(offset)))
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if as_json:
        doc = {
            "audio": str(audio.path),
            "duration_s": round(audio.duration, 3),
            "reliable": est.reliable,
            "warnings": warnings,
            "candidates": [{"bpm": c.bpm, "offset": c.offset, "confidence": c.confidence} for c in est.candidates],
            "octaves": [{"bpm": b, "offset": o} for b, o in other_octaves(best.bpm, best.offset)],
            "fit": {**fit.as_dict(), "offset_that_fits": round(fit.corrected_offset(best.offset), 4)},
            "tempo_map": {"changes": map_fit is not None,
                          "segments": tmap.segments() if map_fit is not None else [],
                          **({"fit": map_fit.as_dict()} if map_fit is not None else {})},
            "seconds": round(seconds, 3),
        }
        if given is not None:
            doc["given"] = {"bpm": float(bpm), "offset": float(offset),
                            "fit": {**given.as_dict(), "offset_that_fits": round(given.corrected_offset(offset), 4)}}
        print(json.dumps(doc, indent=2))
        return 0
    print(f"{audio.path.name}: {audio.duration:.1f} s" + ("" if est.reliable else "  (unreliable: see warnings)"))
    print(f"{'#':>2}  {'BPM':>9}  {'OFFSET (s)':>10}  {'confidence':>10}")
    for i, c in enumerate(est.candidates, 1):
        print(f"{i:>2}  {c.bpm:>9.3f}  {c.offset:>10.4f}  {c.confidence:>10.2f}")
    print("   the same grid at " + ", ".join(f"{b:.3f} BPM (#OFFSET {o:.4f})"
                                         for b, o in other_octaves(best.bpm, best.offset)))
    print(f"fit of #1: {_fit_words(fit)}")
    if map_fit is not None:
        print(f"the tempo changes (make writes these #BPMS): {tmap.describe()}")
        print(f"fit of the tempo map: {_fit_words(map_fit)}")
    if given is not None:
        print(f"fit of --bpm {bpm:g} --offset {offset:g}: {_fit_words(given)}"
              + ("" if given.fits or not given.holds else f"; try --offset {given.corrected_offset(offset):.4f}"))
    print(f"#OFFSET is -(time of beat 0); beat 0 is a downbeat at or before the start. "
          f"Use: ddc-sm make SONG --bpm {best.bpm:g} --offset {best.offset:.4f}"
          + (" (a constant grid instead of the tempo map)" if map_fit is not None else ""))
    return 0


def other_octaves(bpm: float, offset: float) -> list[tuple[float, float]]:
    """The grid of ``bpm``/``offset`` written at twice and at half the BPM: every beat of it stays a beat (twice)
    or every other beat does, from beat 0 (half).  Each #OFFSET keeps beat 0 the latest downbeat (4 beats) at or
    before the start: 0 <= #OFFSET < one measure at that BPM."""
    from ddc_sm.timing.sync_convention import shifted_offset

    return [(round(bpm * factor, 4), round(shifted_offset(bpm * factor, offset, 0.0), 5)) for factor in (2.0, 0.5)]


def _fit_words(fit) -> str:
    """'lag 0 ms, 3% of 50 strong onsets more than 20 ms off its 16th notes, one lag holds over 100% of the song: fits'."""
    if not fit.measured:
        return fit.summary()
    return f"{fit.summary()}, one lag holds over {fit.held:.0%} of the song: {'fits' if fit.fits else 'does not fit'}"
