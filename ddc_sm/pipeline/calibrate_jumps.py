"""Calibrate how often the step selection model writes jumps, per difficulty.

``make`` samples whole charts from the selection model (stochastic beam search), so its charts have jumps as
often as the model predicts them at the steps that placement found, and for some difficulties that is more
often than in human charts of that difficulty (Medium: 14 % of steps against 8 % before this calibration),
which makes them play harder than their name.  At the *human* step times the model's jump share is close to the
human one; the excess comes from the placed steps, which are more regular than a human's.

For each difficulty this finds a bias (<= 0) on the logits of the jump rows such that the charts ``make``
would write for the *validation* songs (placement, density bounds, grid, selection, with the human chart's
timing) have no larger a share of jumps than the human charts of those songs, and writes it into the
selection bundle's ``config["decode"]["jump_logit_bias"]`` (read by
:meth:`ddc_sm.selection.inference.StepSelector.select`).  A difficulty whose charts already have no more jumps than the
human ones keeps a bias of 0: this only ever makes charts easier.

    ddc-sm train jumps ../shared/data/packs --out ddc_sm/weights
"""

from __future__ import annotations

import copy
import time
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

BIAS_FLOOR = -4.0  # logits: exp(-4) ~ 1/55 of the model's jump probability
ITERATIONS = 6  # bisection steps: resolution (0 - BIAS_FLOOR) / 2**6 = 0.06
MAX_CHARTS = 48  # validation charts per difficulty (spread over the songs) used for the calibration


def step_jump_share(rows_list: Sequence[Sequence[str]]) -> float:
    """Jumps over steps, pooled over the charts (see :mod:`ddc_sm.simfiles.stats`)."""
    from ddc_sm.simfiles.rows import step_columns

    steps = jumps = 0
    for rows in rows_list:
        for row in rows:
            k = len(step_columns(row))
            steps += k > 0
            jumps += k >= 2
    return jumps / steps if steps else 0.0


def generated_jump_share(selector, charts: list[tuple[np.ndarray, np.ndarray]], difficulty: str, bias: float,
                         beam_size: int = 20) -> float:
    """Jump share of the charts ``selector`` generates (seed 0, as ``make``) for (selection features, step
    times) pairs, with ``bias`` on the jump rows."""
    decode = selector.config.setdefault("decode", {})
    table = dict(decode.get("jump_logit_bias", {}))
    table[difficulty] = float(bias)
    decode["jump_logit_bias"] = table
    return step_jump_share([selector.select(feats, times, difficulty, beam_size) for feats, times in charts])


def calibrate(selector, charts_by_difficulty: dict[str, list[tuple[np.ndarray, np.ndarray, list[str]]]], *,
              iterations: int = ITERATIONS, floor: float = BIAS_FLOOR,
              log: Callable[[str], None] = lambda m: None) -> dict[str, dict]:
    """``{difficulty: {"bias", "human", "before", "after", "charts"}}``; sets the biases on ``selector``.

    ``charts_by_difficulty[d]``: (selection features, step times to generate at, the human chart's rows).
    """
    out = {}
    for difficulty, charts in charts_by_difficulty.items():
        if not charts:
            continue
        inputs = [(f, t) for f, t, _ in charts]
        human = step_jump_share([rows for _, _, rows in charts])
        before = generated_jump_share(selector, inputs, difficulty, 0.0)
        bias, after = 0.0, before
        if before > human:
            lo, hi = floor, 0.0  # share(lo) <= human < share(hi)
            after = generated_jump_share(selector, inputs, difficulty, lo)
            for _ in range(iterations):
                mid = (lo + hi) / 2
                share = generated_jump_share(selector, inputs, difficulty, mid)
                if share <= human:
                    lo, after = mid, share
                else:
                    hi = mid
            bias = round(lo, 3)
        generated_jump_share(selector, inputs, difficulty, bias)  # leave the chosen bias set
        out[difficulty] = {"bias": bias, "human": round(human, 4), "before": round(before, 4),
                           "after": round(after, 4), "charts": len(charts)}
        log(f"{difficulty:9s} {len(charts):3d} charts: human jumps {human:.1%}, generated {before:.1%} -> "
            f"{after:.1%} with jump bias {bias:+.3f}")
    return out


def _spread(items: list, k: int) -> list:
    if len(items) <= k:
        return items
    idx = np.unique(np.round(np.linspace(0, len(items) - 1, k)).astype(int))
    return [items[i] for i in idx]


def run_calibrate_jumps(pack_dirs, out_dir, *, weights_dir=None, max_charts: int = MAX_CHARTS,
                        log: Callable[[str], None] | None = None) -> int:
    """Calibrate the selection bundle in ``weights_dir`` (default: shipped) on its validation songs found under
    ``pack_dirs``; write the result to ``out_dir/selection.pt``.  Returns the process exit code."""
    from ddc_sm.difficulty import DIFFICULTIES
    from ddc_sm.simfiles.dataset import iter_songs
    from ddc_sm.errors import UserError
    from ddc_sm.audio.cache import cached_features
    from ddc_sm.pipeline.make import placed_steps
    from ddc_sm.placement.inference import load_placer
    from ddc_sm.timing.grid import simfile_timing
    from ddc_sm.selection.inference import StepSelector
    from ddc_sm.weights import BUNDLE_FILES, load_bundle, save_bundle

    log = log or (lambda m: print(m, flush=True))
    t0 = time.time()
    pack_dirs = [Path(p) for p in pack_dirs]
    for p in pack_dirs:
        if not p.is_dir():
            raise UserError(f"pack folder not found: {p}")
    bundle = load_bundle("selection", weights_dir)
    config = copy.deepcopy(bundle["config"])
    valid_songs = set(bundle.get("extra", {}).get("valid_songs", []))
    if not valid_songs:
        raise UserError("the selection bundle lists no validation songs to calibrate on")
    selector = StepSelector.from_bundle({**bundle, "config": config})
    config.setdefault("decode", {})["jump_logit_bias"] = {}
    placer = load_placer(str(weights_dir) if weights_dir else None)

    songs = [s for s in iter_songs(pack_dirs) if s.key in valid_songs and s.audio_path is not None and s.charts]
    if not songs:
        raise UserError("none of the selection model's validation songs is under " + ", ".join(map(str, pack_dirs)))
    chosen: dict[str, list] = {}  # song key -> the (difficulty, chart) pairs calibrated on
    for d in DIFFICULTIES:
        for song, chart in _spread([(s, c) for s in songs for c in s.charts if c.difficulty == d and len(c.times)],
                                   max_charts):
            chosen.setdefault(song.key, []).append((d, chart))
    by_diff: dict[str, list] = {d: [] for d in DIFFICULTIES}
    for song in songs:  # each song's features, timing and placement once
        if song.key not in chosen:
            continue
        pfeats = cached_features(song.audio_path, "placement")
        sfeats = cached_features(song.audio_path, "selection")
        timing = simfile_timing(song.simfile_path)
        duration = (pfeats.shape[-1] - 1) / 100.0
        # a beat-aware placement model gets the grid `make` estimates (what it has with no options), as in `eval`;
        # the steps are then snapped to the human chart's timing
        probabilities = placer.probabilities(pfeats, sorted({d for d, _ in chosen[song.key]}, key=DIFFICULTIES.index),
                                             placer.estimated_grid(song.audio_path))
        for d, chart in chosen[song.key]:
            _, times = placed_steps(placer, probabilities[d], d, duration, timing)
            if times:
                by_diff[d].append((sfeats, np.asarray(times), list(chart.rows)))
    log(f"{len(songs)} validation songs; up to {max_charts} charts per difficulty; steps placed as `make` does")
    result = calibrate(selector, by_diff, log=log)
    biases = {d: r["bias"] for d, r in result.items() if r["bias"]}
    config["decode"]["jump_logit_bias"] = biases
    command = " ".join(["ddc-sm", "train", "jumps"] + [str(p) for p in pack_dirs] + ["--out", str(out_dir)]
                       + (["--weights", str(weights_dir)] if weights_dir else [])
                       + (["--max-charts", str(max_charts)] if max_charts != MAX_CHARTS else []))
    extra = dict(bundle.get("extra", {}))
    extra["jump_calibration"] = {"command": command, "by_difficulty": result,
                                 "minutes": round((time.time() - t0) / 60, 1)}
    out_path = Path(out_dir) / BUNDLE_FILES["selection"]
    save_bundle(out_path, "selection", config, bundle["state_dict"], bundle.get("stats"), extra)
    log(f"wrote {out_path}: jump_logit_bias {biases or 'none needed'} ({(time.time() - t0) / 60:.1f} min)")
    return 0
