"""Chart quality against human charts, with the shipped weights, side by side with the original DDC.

    python benchmarks/quality.py                       # ../shared/data, all songs, summary per split part
    python benchmarks/quality.py --part test           # held-out songs only
    python benchmarks/quality.py --no-peer --no-generate --json

Prints `ddc-sm eval`'s summary table (placement F-score at ±20 ms, precision, recall; selection accuracy and
perplexity given the human step times; steps per second, jump/hold share and crossover patterns of human vs
generated charts), and, where ../shared/peers/ddc is present, the original DDC placement model's F-score on the
same charts.  The 'part:test' rows are the songs held out from training; 'train' rows are optimistic.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_ROOT = REPO.parent / "shared" / "data"


def peer_scores(report, root: Path) -> dict | None:
    """The DDC peer's pooled placement scores on the charts of ``report`` (None when the peer is absent), with
    DDC's own (server) thresholds and with thresholds tuned on ddc_sm's ``valid`` songs, the songs ddc_sm's own
    thresholds were chosen on (the same treatment: ``benchmarks.ddc_peer.tune_thresholds``, pooled F per
    difficulty on a 0.01 grid).  Returns ``{"server": {group: scores}, "tuned": {...}, "tuned_thresholds": {...}}``.
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
    from ddc_sm.placement.metrics import FScore, match_f_score

    print("DDC peer: tuning its thresholds on the valid songs...", file=sys.stderr)
    tuned = DDCPeerPlacer.load(thresholds=tune_thresholds([root], split="valid", tolerance=TOLERANCE_S))
    wanted = {(c.song, c.difficulty): c.part for c in report.charts}
    groups: dict[str, dict[str, FScore]] = {"server": {}, "tuned": {}}
    for song in iter_songs([root]):
        charts = [(c, wanted[(song.key, c.difficulty)]) for c in song.charts if (song.key, c.difficulty) in wanted]
        if not charts:
            continue
        feats = peer.features(song.audio_path)
        for chart, part in charts:
            prob = peer.probabilities_from_features(feats, chart.difficulty)
            for name, placer in (("server", peer), ("tuned", tuned)):
                m = match_f_score(placer.step_times_from_probabilities(prob, chart.difficulty), chart.times,
                                  tol=TOLERANCE_S)
                for group in ("all", f"part:{part}", f"difficulty:{chart.difficulty}"):
                    groups[name][group] = groups[name].get(group, FScore(0, 0, 0)) + m
    out = {name: {group: {"precision": s.precision, "recall": s.recall, "f1": s.f} for group, s in g.items()}
           for name, g in groups.items()}
    out["tuned_thresholds"] = dict(tuned.thresholds)
    return out


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
    args = ap.parse_args()
    if not args.root.exists():
        print(f"skipped: {args.root} not found (the shared data is needed for this benchmark)")
        return 0
    from ddc_sm.pipeline.evaluate import evaluate, format_summary, format_table

    report = evaluate([args.root], weights_dir=args.weights, beam_size=args.beam, generate=not args.no_generate,
                      parts=args.part, log=lambda m: print(m, file=sys.stderr))
    peer = None if args.no_peer else peer_scores(report, args.root)
    if args.json:
        print(json.dumps({"summary": report.summary(), "ddc_peer_placement": peer, "warnings": report.warnings},
                         indent=1, default=float))
        return 0
    for w in report.warnings:
        print(f"warning: {w}")
    print(format_table(report) if args.per_chart else format_summary(report))
    if peer:
        ours = report.summary()
        print("\nplacement F-score at ±20 ms, ddc_sm vs the original DDC (peer) on the same charts: DDC with its own "
              "server thresholds, and with thresholds tuned on ddc_sm's valid songs ("
              + ", ".join(f"{d} {t:.2f}" for d, t in peer["tuned_thresholds"].items()) + ")")
        print(f"{'group':22} {'charts':>6} {'ddc_sm F1':>9} {'P':>5} {'R':>5} {'DDC F1':>7} {'P':>5} {'R':>5}"
              f" {'tuned F1':>8} {'P':>5} {'R':>5}")
        for group, s in ours.items():
            if group in peer["server"]:
                q, t = peer["server"][group], peer["tuned"][group]
                print(f"{group:22} {s['charts']:6d} {s['f1']:9.3f} {s['precision']:5.3f} {s['recall']:5.3f} "
                      f"{q['f1']:7.3f} {q['precision']:5.3f} {q['recall']:5.3f} "
                      f"{t['f1']:8.3f} {t['precision']:5.3f} {t['recall']:5.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
