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
    """The DDC peer's pooled placement scores on the charts of ``report`` (None when the peer is absent)."""
    sys.path.insert(0, str(REPO))
    try:
        from benchmarks.ddc_peer import DDCPeerPlacer
        peer = DDCPeerPlacer.load()
    except Exception as exc:  # peer material absent or unreadable
        print(f"DDC peer skipped: {exc}", file=sys.stderr)
        return None
    from ddc_sm.simfiles.dataset import iter_songs
    from ddc_sm.pipeline.evaluate import TOLERANCE_S
    from ddc_sm.placement.metrics import match_f_score

    from ddc_sm.placement.metrics import FScore

    wanted = {(c.song, c.difficulty): c.part for c in report.charts}
    groups: dict[str, FScore] = {}
    for song in iter_songs([root]):
        charts = [(c, wanted[(song.key, c.difficulty)]) for c in song.charts if (song.key, c.difficulty) in wanted]
        if not charts:
            continue
        feats = peer.features(song.audio_path)
        for chart, part in charts:
            prob = peer.probabilities_from_features(feats, chart.difficulty)
            m = match_f_score(peer.step_times_from_probabilities(prob, chart.difficulty), chart.times, tol=TOLERANCE_S)
            for group in ("all", f"part:{part}", f"difficulty:{chart.difficulty}"):
                groups[group] = groups.get(group, FScore(0, 0, 0)) + m
    return {group: {"precision": s.precision, "recall": s.recall, "f1": s.f} for group, s in groups.items()}


def main() -> int:
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
        print("\nplacement F-score at ±20 ms, ddc_sm vs original DDC (peer) on the same charts")
        print(f"{'group':22} {'charts':>6} {'ddc_sm F1':>9} {'P':>5} {'R':>5} {'DDC F1':>7} {'P':>5} {'R':>5}")
        for group, s in ours.items():
            if group in peer:
                q = peer[group]
                print(f"{group:22} {s['charts']:6d} {s['f1']:9.3f} {s['precision']:5.3f} {s['recall']:5.3f} "
                      f"{q['f1']:7.3f} {q['precision']:5.3f} {q['recall']:5.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
