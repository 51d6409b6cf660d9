"""``ddc-sm eval``: score the models against human charts.

For every song with human dance-single charts:
- stage 1 at the chart's difficulty: placement precision, recall and F-score at ±20 ms against the times of the
  chart's non-empty rows (per chart, and pooled over charts by summing matches);
- stage 2 given the human step times: per-step accuracy and perplexity of the human states (teacher forced);
- the generated chart (both stages, on the human chart's own timing grid) against the human chart: steps per
  second, jump and hold shares, crossover patterns (see :mod:`ddc_sm.simfiles.stats`).
Songs the weights were trained on are flagged, and a warning says their scores are optimistic.
"""

from __future__ import annotations

import json
import math
import os
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Optional

from ddc_sm.difficulty import DIFFICULTIES
from ddc_sm.simfiles.stats import chart_stats

TOLERANCE_S = 0.020
# how a chart plays (ddc_sm.simfiles.footing.pattern_stats): tech per 100 steps, the longest stream, rest measures
PLAY_KEYS = ("tech_crossovers_per_100", "tech_footswitches_per_100", "tech_sideswitches_per_100",
             "tech_jacks_per_100", "tech_brackets_per_100", "tech_doublesteps_per_100", "longest_stream", "rest_share")


def play_stats(times, rows, beats) -> dict:
    """:func:`~ddc_sm.simfiles.stats.chart_stats` and, under ``PLAY_KEYS``, the chart's footing tech and streams;
    also the shares of its steps on 8th and on 16th notes (``eighth_share``, ``sixteenth_share``, from the beats)."""
    from ddc_sm.simfiles.footing import pattern_stats

    out = chart_stats(times, rows)
    p = pattern_stats(rows, times, beats)
    out.update({f"tech_{k}_per_100": v for k, v in p["tech_per_100"].items()})
    out["longest_stream"] = p["stream"]["longest_stream"]
    out["rest_share"] = p["stream"]["rest_share"]
    out["eighth_share"] = p["stream"]["note_values"].get(8, 0.0)
    out["sixteenth_share"] = p["stream"]["note_values"].get(16, 0.0)
    return out


@dataclass
class ChartScore:
    song: str
    difficulty: str
    meter: int
    part: str  # 'train', 'valid', 'test' or 'unseen'
    tp: int
    fp: int
    fn: int
    sel_steps: int
    sel_correct: int
    sel_nll: float
    human: dict
    generated: dict | None = None

    @property
    def placement(self):
        from ddc_sm.placement.metrics import FScore

        return FScore(self.tp, self.fp, self.fn)

    @property
    def precision(self) -> float:
        return self.placement.precision

    @property
    def recall(self) -> float:
        return self.placement.recall

    @property
    def f1(self) -> float:
        return self.placement.f

    @property
    def accuracy(self) -> float:
        return self.sel_correct / self.sel_steps if self.sel_steps else 0.0

    @property
    def perplexity(self) -> float:
        return math.exp(self.sel_nll / self.sel_steps) if self.sel_steps else float("nan")


@dataclass
class EvalReport:
    charts: list[ChartScore] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    previews: list[Path] = field(default_factory=list)  # side-by-side index pages (``preview_dir``)
    # (song key, difficulty) -> (placed step times, human step times), kept when evaluate(keep_times=True)
    times: dict = field(default_factory=dict)

    def pooled(self, charts: list[ChartScore] | None = None) -> dict:
        from ddc_sm.placement.metrics import FScore

        charts = self.charts if charts is None else charts
        placement = sum((c.placement for c in charts), FScore(0, 0, 0))
        n, correct, nll = (sum(getattr(c, k) for c in charts) for k in ("sel_steps", "sel_correct", "sel_nll"))
        out = {
            "charts": len(charts),
            "precision": placement.precision, "recall": placement.recall, "f1": placement.f,
            "f1_mean_per_chart": sum(c.f1 for c in charts) / len(charts) if charts else 0.0,
            "accuracy": correct / n if n else 0.0,
            "perplexity": math.exp(nll / n) if n else float("nan"),
        }
        for who in ("human", "generated"):
            stats = [getattr(c, who) for c in charts if getattr(c, who)]
            for key in ("steps_per_second", "jump_share", "hold_share", "crossovers_per_100") + PLAY_KEYS:
                values = [s[key] for s in stats if key in s]
                out[f"{who}_{key}"] = sum(values) / len(values) if values else float("nan")
        return out

    def summary(self) -> dict:
        """Pooled scores overall, per split part and per difficulty."""
        out = {"all": self.pooled()}
        for part in ("test", "valid", "train", "unseen"):
            sel = [c for c in self.charts if c.part == part]
            if sel:
                out[f"part:{part}"] = self.pooled(sel)
        for d in DIFFICULTIES:
            sel = [c for c in self.charts if c.difficulty == d]
            if sel:
                out[f"difficulty:{d}"] = self.pooled(sel)
        return out

    def to_json(self) -> dict:
        charts = []
        for c in self.charts:
            d = asdict(c)
            d.update(precision=c.precision, recall=c.recall, f1=c.f1, accuracy=c.accuracy, perplexity=c.perplexity)
            charts.append(d)
        return {"tolerance_s": TOLERANCE_S, "summary": self.summary(), "charts": charts,
                "skipped": self.skipped, "warnings": self.warnings}


def trained_songs(weights_dir=None) -> tuple[dict[str, str], str]:
    """Song key → split part ('train', 'valid', 'test') for the weights, and where that came from.

    The split file describes the songs of ``../shared/data`` (the shipped weights trained on its ``train`` part);
    any weights also carry their own record of the songs they trained and validated on, which takes precedence.
    """
    from ddc_sm.simfiles.splits import SPLIT_FILE, load_split
    from ddc_sm.weights import load_bundle

    split = load_split()
    parts: dict[str, str] = {k: p for p in ("train", "valid", "test") for k in split[p]}
    sources = [SPLIT_FILE.name]
    for kind in ("placement", "selection"):
        try:
            extra = load_bundle(kind, weights_dir).get("extra", {})
        except Exception:
            continue
        recorded = {k: part for part in ("valid", "train") for k in extra.get(f"{part}_songs", []) or []}
        if recorded:
            parts.update(recorded)
            sources.append(f"the {kind} model's training record")
    return parts, " and ".join(sources)


def evaluate(pack_dirs, *, weights_dir=None, beam_size: int = 20, generate: bool = True,
             parts: Optional[list[str]] = None, log: Optional[Callable[[str], None]] = None,
             preview_dir: Optional[Path] = None, keep_times: bool = False, grid: str = "human") -> EvalReport:
    """Score every human dance-single chart under ``pack_dirs`` (optionally only songs of the given split parts).

    ``grid``: the grid placement's rest filling and beat slots use: ``"human"`` (the chart's own, as
    ``make --add`` or a given ``--bpm/--offset`` has it) or ``"estimated"`` (the one ``make`` estimates from the
    audio, as a plain ``make`` has it; ``benchmarks/quality.py`` prints both).

    ``preview_dir``: also write each scored song's generated and human charts there as preview pages side by
    side (:func:`write_side_by_side`)."""
    import numpy as np

    from ddc_sm.simfiles.dataset import iter_songs
    from ddc_sm.audio.cache import cached_features
    from ddc_sm.pipeline.make import charts_from_features, density_bounded_times, placement_times
    from ddc_sm.placement.inference import load_placer
    from ddc_sm.selection.inference import load_selector
    from ddc_sm.timing.grid import GRID_RULES, simfile_timing
    from ddc_sm.placement.metrics import match_f_score
    from ddc_sm.timing.estimated import estimated_timing

    if grid not in ("human", "estimated"):
        raise ValueError(f"grid must be 'human' or 'estimated', not {grid!r}")

    say = log or (lambda _m: None)
    report = EvalReport()
    wkey = str(weights_dir) if weights_dir else None
    # a folder with placement weights only (what `train placement --out DIR` writes): selection is scored with the
    # shipped model, and no chart is generated (that needs both models of one folder)
    from ddc_sm.weights import BUNDLE_FILES

    skey = wkey if wkey is None or (Path(wkey) / BUNDLE_FILES["selection"]).exists() else None
    placer, selector = load_placer(wkey), load_selector(skey)
    known, source = trained_songs(weights_dir)
    songs = [s for s in iter_songs(pack_dirs) if s.charts]
    for i, song in enumerate(songs, 1):
        part = known.get(song.key, "unseen") if known else "unseen"
        if parts and part not in parts:
            continue
        if song.audio_path is None or not song.audio_path.exists():
            report.skipped.append(f"{song.key}: no audio")
            continue
        say(f"[{i}/{len(songs)}] {song.key}")
        try:
            pfeats = cached_features(song.audio_path, "placement")
            sfeats = cached_features(song.audio_path, "selection")
        except Exception as exc:
            report.skipped.append(f"{song.key}: {exc}")
            continue
        diffs = sorted({c.difficulty for c in song.charts}, key=DIFFICULTIES.index)
        duration = (pfeats.shape[-1] - 1) / 100.0
        try:
            timing = simfile_timing(song.simfile_path)
        except Exception as exc:  # a song whose timing the engine cannot use
            timing = None
            report.skipped.append(f"{song.key} (timing): {exc}")
        # placement exactly as `make` does it on the human grid: the difficulty's threshold, kept within its
        # density range, empty measures filled (Beginner, Easy); without a usable grid, no filling.  A model that
        # takes the beat grid as input gets the grid `make` would estimate from the audio, never the human one.
        estimated = placer.estimated_grid(song.audio_path)  # None for a model without the grid input
        probabilities = placer.probabilities(pfeats, diffs, estimated)
        placing = timing if grid == "human" else estimated or estimated_timing(song.audio_path)
        predicted = {d: placement_times(placer, prob, d, duration, placing, GRID_RULES[d]) if placing is not None
                     else density_bounded_times(placer, prob, d, duration) for d, prob in probabilities.items()}
        generated = {}
        if generate and timing is not None and skey == wkey:
            try:
                charts, _ = charts_from_features(pfeats, sfeats, duration, diffs, timing, weights_dir=weights_dir,
                                                 beam_size=beam_size, probabilities=probabilities)
                generated = {gen.difficulty: play_stats(gen.times, gen.rows, gen.beats) for gen in charts}
                if preview_dir is not None:
                    report.previews.append(write_side_by_side(Path(preview_dir), song, charts))
            except Exception as exc:  # a song whose timing the engine cannot use
                report.skipped.append(f"{song.key} (generation): {exc}")
        for chart in song.charts:
            m = match_f_score(predicted[chart.difficulty], chart.times, tol=TOLERANCE_S)
            if keep_times:
                report.times[(song.key, chart.difficulty)] = (np.asarray(predicted[chart.difficulty]),
                                                              np.asarray(chart.times))
            known_rows = [(t, r) for t, r in zip(chart.times, chart.rows)]
            sel = selector.score(sfeats, np.array([t for t, _ in known_rows]), [r for _, r in known_rows],
                                 chart.difficulty)
            report.charts.append(ChartScore(
                song.key, chart.difficulty, chart.meter, part, int(m["tp"]), int(m["fp"]), int(m["fn"]),
                int(sel["count"]), int(sel["correct"]), float(sel["nll"]),
                play_stats(chart.times, chart.rows, chart.beats), generated.get(chart.difficulty)))
    seen = sorted({c.song for c in report.charts if c.part in ("train", "valid")})
    if seen:
        report.warnings.append(
            f"{len(seen)} of the scored songs were used in training (train/valid, per {source}); "
            "their scores are optimistic: see the 'test' rows for held-out songs")
    return report


def format_table(report: EvalReport) -> str:
    lines = []
    head = f"{'song':40.40} {'diff':9} {'part':6} {'F1':>5} {'P':>5} {'R':>5} {'acc':>5} {'ppl':>6} {'sps h/g':>9} {'jump% h/g':>9} {'hold% h/g':>9} {'xo/100 h/g':>11}"
    lines.append(head)
    lines.append("-" * len(head))
    for c in report.charts:
        g = c.generated or {}

        def pair(key, scale=1.0, fmt="{:.1f}"):
            gv = fmt.format(g[key] * scale) if key in g else "-"
            return f"{fmt.format(c.human[key] * scale)}/{gv}"

        lines.append(f"{c.song:40.40} {c.difficulty:9} {c.part:6} {c.f1:5.3f} {c.precision:5.3f} {c.recall:5.3f} "
                     f"{c.accuracy:5.3f} {c.perplexity:6.2f} {pair('steps_per_second'):>9} "
                     f"{pair('jump_share', 100, '{:.0f}'):>9} {pair('hold_share', 100, '{:.0f}'):>9} "
                     f"{pair('crossovers_per_100'):>11}")
    lines.append("")
    lines.append(format_summary(report))
    return "\n".join(lines)


def format_summary(report: EvalReport) -> str:
    lines = [f"{'group':22} {'charts':>6} {'F1':>5} {'P':>5} {'R':>5} {'F1/chart':>8} {'acc':>5} {'ppl':>6} "
             f"{'sps h/g':>9} {'jump% h/g':>9} {'hold% h/g':>9} {'xo/100 h/g':>11}"]
    for name, s in report.summary().items():
        lines.append(
            f"{name:22} {s['charts']:6d} {s['f1']:5.3f} {s['precision']:5.3f} {s['recall']:5.3f} "
            f"{s['f1_mean_per_chart']:8.3f} {s['accuracy']:5.3f} {s['perplexity']:6.2f} "
            f"{s['human_steps_per_second']:4.2f}/{s['generated_steps_per_second']:4.2f} "
            f"{100 * s['human_jump_share']:4.0f}/{100 * s['generated_jump_share']:<4.0f} "
            f"{100 * s['human_hold_share']:4.0f}/{100 * s['generated_hold_share']:<4.0f} "
            f"{s['human_crossovers_per_100']:5.1f}/{s['generated_crossovers_per_100']:<5.1f}")
    lines.append("")
    lines.append("how the charts play, human/generated (means over charts; footing tech per 100 steps, longest "
                 "stream in steps, rest measures in %):")
    short = {"tech_crossovers_per_100": "xover", "tech_footswitches_per_100": "fswitch",
             "tech_sideswitches_per_100": "sswitch", "tech_jacks_per_100": "jacks", "tech_brackets_per_100": "bracket",
             "tech_doublesteps_per_100": "dstep", "longest_stream": "stream", "rest_share": "rest%"}
    lines.append(f"{'group':22} " + " ".join(f"{short[k]:>11}" for k in PLAY_KEYS))
    for name, s in report.summary().items():
        cells = []
        for k in PLAY_KEYS:
            scale = 100.0 if k == "rest_share" else 1.0
            h, g = s[f"human_{k}"] * scale, s[f"generated_{k}"] * scale
            cells.append(f"{h:5.1f}/{g:<5.1f}")
        lines.append(f"{name:22} " + " ".join(f"{c:>11}" for c in cells))
    return "\n".join(lines)


def write_side_by_side(preview_dir: Path, song, charts) -> Path:
    """``preview_dir/<pack> - <song>/index.html``: the human chart's preview page and the generated one's (the
    same timing and music) side by side; returns the index page."""
    import html as html_escape

    from ddc_sm.preview import write_preview
    from ddc_sm.simfiles.writer import with_charts

    folder = preview_dir / f"{song.song_dir.parent.name} - {song.song_dir.name}"
    folder.mkdir(parents=True, exist_ok=True)
    kind = song.simfile_path.suffix.lower()
    music = os.path.relpath(song.audio_path, folder) if song.audio_path else None
    generated = folder / f"generated{kind}"
    generated.write_text(with_charts(song.simfile_path, charts, music=music), encoding="utf-8")
    human = folder / f"human{kind}"
    human.write_text(with_charts(song.simfile_path, None, music=music), encoding="utf-8")
    write_preview(human, folder / "human.preview.html")
    write_preview(generated, folder / "generated.preview.html")
    title = html_escape.escape(song.key)
    index = folder / "index.html"
    index.write_text(
        "<!doctype html><meta charset=utf-8><title>" + title + " — ddc-sm eval</title>"
        "<style>body{margin:0;font-family:sans-serif}h1{font-size:16px;margin:6px}"
        "div{display:flex;height:calc(100vh - 40px)}iframe{flex:1;border:0;border-left:1px solid #888}</style>"
        f"<h1>{title}: human (left), generated by ddc_sm (right)</h1>"
        "<div><iframe src=human.preview.html></iframe><iframe src=generated.preview.html></iframe></div>\n",
        encoding="utf-8")
    return index


def run_eval(pack_dirs, *, weights_dir=None, as_json: bool = False, beam_size: int = 20, generate: bool = True,
             parts: Optional[list[str]] = None, preview_dir: Optional[Path] = None) -> int:
    from ddc_sm.errors import UserError

    missing = [str(p) for p in pack_dirs if not Path(p).exists()]
    if missing:
        raise UserError(f"not found: {', '.join(missing)}")
    report = evaluate(pack_dirs, weights_dir=weights_dir, beam_size=beam_size, generate=generate, parts=parts,
                      log=lambda m: print(m, file=sys.stderr), preview_dir=preview_dir)
    if preview_dir is not None:
        print(f"preview pages: {len(report.previews)} songs in {preview_dir} (open each song's index.html)",
              file=sys.stderr)
    if not report.charts:
        raise UserError("no human dance-single charts with audio found in " + ", ".join(map(str, pack_dirs)))
    for w in report.warnings:
        print(f"warning: {w}", file=sys.stderr)
    for s in report.skipped:
        print(f"skipped: {s}", file=sys.stderr)
    if as_json:
        print(json.dumps(report.to_json(), indent=1, default=float))
    else:
        print(format_table(report))
    return 0
