"""Chart quality against human charts, with the shipped weights, side by side with the original DDC.

    python benchmarks/quality.py                       # ../shared/data, all songs, summary per split part
    python benchmarks/quality.py --part test           # held-out songs only
    python benchmarks/quality.py --no-peer --no-generate --json
    python benchmarks/quality.py --part test --ablation "beat grid=DIR" ...   # other placement weights as rows

Prints `ddc-sm eval`'s summary table (placement F-score at ±20 ms, precision, recall; selection accuracy and
perplexity given the human step times; steps per second, jump/hold share and crossover patterns of human vs
generated charts), then one placement table on the same charts: pooled F, mean F per chart and F per difficulty for
ddc_sm (rest filling and Beginner's beat slots on the human chart's grid, as ``make --add`` or a given
``--bpm/--offset`` places steps), ddc_sm on the grid ``make`` estimates from the audio (as a plain ``make`` places
them), each ``--ablation`` weights folder, and, where ../shared/peers/ddc is present, the original DDC placement
model with its own thresholds and with thresholds tuned on ddc_sm's valid songs.  Human charts that are measurably
off their audio (a constant shift of 30 ms or more maximises ddc_sm's F) are listed, and the table is printed
again with them moved by that shift: scored both ways, never dropped.  The 'part:test' rows are the songs held
out from training; 'train' rows are optimistic.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from ddc_sm.difficulty import DIFFICULTIES

REPO = Path(__file__).resolve().parents[1]
DEFAULT_ROOT = REPO.parent / "shared" / "data"


def peer_times(report, root: Path) -> dict | None:
    """The DDC peer's step times on the charts of ``report`` (None when the peer is absent), with DDC's own
    (server) thresholds and with thresholds tuned on ddc_sm's ``valid`` songs, the songs ddc_sm's own thresholds
    were chosen on (the same treatment: ``benchmarks.ddc_peer.tune_thresholds``, pooled F per difficulty on a
    0.01 grid).  Returns ``{"DDC, server thresholds": {(song, difficulty): times}, "DDC, tuned on valid": {...},
    "tuned_thresholds": {...}}``.
    """
    sys.path.insert(0, str(REPO))
    try:
        from benchmarks.ddc_peer import DDCPeerPlacer
        from benchmarks.ddc_peer.placement import tune_thresholds
        peer = DDCPeerPlacer.load()
    except Exception as exc:  # peer material absent or unreadable
        print(f"DDC peer skipped: {exc}", file=sys.stderr)
        return None
    from ddc_sm.simfiles.dataset import iter_songs
    from ddc_sm.pipeline.evaluate import TOLERANCE_S

    print("DDC peer: tuning its thresholds on the valid songs...", file=sys.stderr)
    tuned = DDCPeerPlacer.load(thresholds=tune_thresholds([root], split="valid", tolerance=TOLERANCE_S))
    wanted = {(c.song, c.difficulty) for c in report.charts}
    out: dict = {SERVER: {}, TUNED: {}}
    for song in iter_songs([root]):
        charts = [c for c in song.charts if (song.key, c.difficulty) in wanted]
        if not charts:
            continue
        feats = peer.features(song.audio_path)
        for chart in charts:
            prob = peer.probabilities_from_features(feats, chart.difficulty)
            for name, placer in ((SERVER, peer), (TUNED, tuned)):
                out[name][(song.key, chart.difficulty)] = placer.step_times_from_probabilities(prob, chart.difficulty)
    out["tuned_thresholds"] = dict(tuned.thresholds)
    return out


SERVER, TUNED = "DDC, server thresholds", "DDC, tuned on valid"
ESTIMATED = "ddc_sm, make's estimated grid"
OFF_SYNC_S = 0.030  # a chart whose F is best with its steps moved by this much or more is off its audio
SHIFTS_S = np.round(np.arange(-0.100, 0.1001, 0.005), 3)


def chart_counts(predicted: dict, human: dict, shifts: dict | None = None) -> dict:
    """(song, difficulty) -> FScore of the predicted times against the human ones (moved by ``shifts``)."""
    from ddc_sm.pipeline.evaluate import TOLERANCE_S
    from ddc_sm.placement.metrics import FScore, match_f_score

    out = {}
    for key, times in human.items():
        if key not in predicted:
            continue
        m = match_f_score(predicted[key], times + (shifts or {}).get(key, 0.0), tol=TOLERANCE_S)
        out[key] = FScore(int(m["tp"]), int(m["fp"]), int(m["fn"]))
    return out


def off_sync_charts(predicted: dict, human: dict) -> dict:
    """(song, difficulty) -> the constant shift of the human steps (seconds) that maximises the F of
    ``predicted``, for the charts where it is ``OFF_SYNC_S`` or more (the chart is measurably off its audio)."""
    from ddc_sm.pipeline.evaluate import TOLERANCE_S
    from ddc_sm.placement.metrics import match_f_score

    out = {}
    for key, times in human.items():
        if key not in predicted or len(times) == 0:
            continue
        f = [match_f_score(predicted[key], times + d, tol=TOLERANCE_S)["f"] for d in SHIFTS_S]
        best = float(SHIFTS_S[int(np.argmax(f))])
        if abs(best) >= OFF_SYNC_S - 1e-9 and max(f) > f[len(f) // 2] + 1e-9:
            out[key] = best
    return out


def score_row(counts: dict) -> dict:
    from ddc_sm.placement.metrics import FScore

    row = {"pooled": sum(counts.values(), FScore(0, 0, 0)).f,
           "per_chart": float(np.mean([c.f for c in counts.values()])) if counts else float("nan")}
    for d in DIFFICULTIES:
        sel = [c for (_, diff), c in counts.items() if diff == d]
        row[d] = sum(sel, FScore(0, 0, 0)).f if sel else float("nan")
    return row


def format_rows(rows: dict) -> str:
    lines = [f"{'system':52} {'pooled F':>8} {'F/chart':>7} " + " ".join(f"{d:>9}" for d in DIFFICULTIES)]
    for name, r in rows.items():
        lines.append(f"{name:52.52} {r['pooled']:8.3f} {r['per_chart']:7.3f} "
                     + " ".join(f"{r[d]:9.3f}" for d in DIFFICULTIES))
    return "\n".join(lines)


def main() -> int:
    from ddc_sm import threads as thread_policy

    thread_policy.configure()  # one thread, or $DDC_SM_THREADS (ddc_sm/threads.py): a busy machine does not thrash
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("root", nargs="?", type=Path, default=DEFAULT_ROOT, help="folder of packs (default ../shared/data)")
    ap.add_argument("--weights", type=Path, default=None, help="weights folder (default: shipped)")
    ap.add_argument("--part", action="append", help="only songs of this split part (train/valid/test/unseen)")
    ap.add_argument("--beam", type=int, default=20)
    ap.add_argument("--no-generate", action="store_true", help="skip generated-chart statistics (faster)")
    ap.add_argument("--no-peer", action="store_true", help="skip the original DDC peer")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--per-chart", action="store_true", help="print the per-chart table too")
    ap.add_argument("--ablation", action="append", metavar="NAME=DIR",
                    help="also score the placement of the weights in DIR (a row NAME; repeatable)")
    args = ap.parse_args()
    if not args.root.exists():
        print(f"skipped: {args.root} not found (the shared data is needed for this benchmark)")
        return 0
    from ddc_sm.pipeline.evaluate import evaluate, format_summary, format_table

    report = evaluate([args.root], weights_dir=args.weights, beam_size=args.beam, generate=not args.no_generate,
                      parts=args.part, log=lambda m: print(m, file=sys.stderr), keep_times=True)
    human = {k: h for k, (_p, h) in report.times.items()}
    systems = {"ddc_sm" + (f" ({args.weights})" if args.weights else " (shipped weights)"):
               {k: p for k, (p, _h) in report.times.items()}}
    print("ddc_sm with make's estimated grid", file=sys.stderr)
    plain = evaluate([args.root], weights_dir=args.weights, generate=False, parts=args.part,
                     log=lambda m: print(m, file=sys.stderr), keep_times=True, grid="estimated")
    systems[ESTIMATED] = {k: p for k, (p, _h) in plain.times.items() if k in human}
    for spec in args.ablation or []:
        name, _, folder = spec.partition("=")
        print(f"ablation {name}: {folder}", file=sys.stderr)
        other = evaluate([args.root], weights_dir=Path(folder), generate=False, parts=args.part,
                         log=lambda m: print(m, file=sys.stderr), keep_times=True)
        systems[name] = {k: p for k, (p, _h) in other.times.items() if k in human}
    peer = None if args.no_peer else peer_times(report, args.root)
    if peer:
        systems[SERVER], systems[TUNED] = peer[SERVER], peer[TUNED]
    main_name = next(iter(systems))
    off = off_sync_charts(systems[main_name], human)
    rows = {name: score_row(chart_counts(pred, human)) for name, pred in systems.items()}
    moved = {name: score_row(chart_counts(pred, human, off)) for name, pred in systems.items()}
    if args.json:
        print(json.dumps({"summary": report.summary(), "placement": rows, "placement_off_sync_moved": moved,
                          "off_sync_charts_s": {f"{k[0]} [{k[1]}]": v for k, v in off.items()},
                          "ddc_tuned_thresholds": (peer or {}).get("tuned_thresholds"),
                          "warnings": report.warnings}, indent=1, default=float))
        return 0
    for w in report.warnings:
        print(f"warning: {w}")
    print(format_table(report) if args.per_chart else format_summary(report))
    print(f"\nplacement F-score at ±20 ms on the same {len(human)} charts ({', '.join(args.part or ['all parts'])}), "
          "as charted:")
    print(format_rows(rows))
    if peer:
        print("(DDC tuned on valid: thresholds " + ", ".join(f"{d} {t:.2f}" for d, t in peer["tuned_thresholds"].items())
              + ", chosen on ddc_sm's valid songs as ddc_sm's were)")
    print(f"\n{len(off)} human charts are measurably off their audio (a constant shift of "
          f"{OFF_SYNC_S * 1000:.0f} ms or more maximises {main_name}'s F; the shift is chosen by that system, which "
          "favours it in the moved table):")
    for (song, d), shift in sorted(off.items()):
        print(f"  {song} [{d}]: {shift * 1000:+.0f} ms")
    if off:
        print("the same table with those charts' steps moved by their shift:")
        print(format_rows(moved))
    return 0


if __name__ == "__main__":
    sys.exit(main())
