"""Patterns a player would keep (issue #13): the tech, streams and note kinds of charts, per difficulty, against the
range of the human charts.

    python benchmarks/patterns.py                          # human test charts under ../shared/data
    nice -n 19 python benchmarks/patterns.py --generated   # and the charts `ddc-sm make -d all` writes for them
    python benchmarks/patterns.py --generated --generated-dir DIR   # keep (and reuse) the generated songs in DIR

For every chart (:func:`ddc_sm.simfiles.footing.pattern_stats`, :func:`ddc_sm.simfiles.stats.chart_stats`): each
tech count of its footing per 100 steps (crossovers, footswitches, sideswitches, jacks, brackets, doublesteps), the
longest stream (steps in a run of 16ths), the share of rest measures, the shares of steps that are jumps, that
start a hold or roll, that start a roll, the share of hold/roll tails in a row with a step, mines per step, and
the shares of steps on 8th and on 16th notes (from the beats).  Beside each median, how many of the charts lie
outside the human range.

The human range is the 10th-90th percentile of the train+valid charts of that difficulty (the songs the shipped
weights were trained and tuned on; a song the split file does not list goes where training puts it, never to
test); it is fitted on train+valid only.  The human test charts (``test`` part of
``ddc_sm/simfiles/split_shared_data.json``) and, with ``--generated``, the charts ``ddc-sm make -d all`` writes
for each test song's audio (a copy in a temporary folder; a few minutes for the 11 songs) are shown as their
median over the charts of that difficulty; a ``*`` marks a median outside the human range.

The last figure is the musicality critic's score (:mod:`ddc_sm.selection.critic`, the shipped ``critic.pt``,
trained on the train part's human charts against corrupted copies): near 1 for arrows it takes for a human
charter's.  The ``random arrows`` column is the test charts with every single tap moved to a random panel (the
same times, holds and mines), to show how far apart the critic puts them.  With ``--generated`` the ``DDC peer``
column is the original DDC's step selection (``../shared/peers/ddc``, MIT; :meth:`benchmarks.ddc_peer.selection.
DDCPeerSelector.generate`, rows sampled from it, seeded, with the same hold rule as ours) on the step times of our
generated charts, so the two columns differ in the arrows only (DDC writes no mines or rolls); it is absent
when the peer's files are (or with ``--no-peer``).  The ``human arrows`` column is the critic's timing control:
the human test chart's rows, in order, on our generated chart's row times (as many as both have), so that its
critic score beside ``generated`` compares arrows on the same times; only its critic score means anything.

Below each difficulty's figures, ``same opening``: how many charts of a column open (their first ``OPENING_ROWS``
rows with a step) exactly as another song's chart of that difficulty in the same column does.  Human charts of
different songs almost never do; a generator whose arrows ignore the song does.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DEFAULT_ROOT = REPO.parent / "shared" / "data"
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from ddc_sm.simfiles.footing import TECH  # noqa: E402  (after the repository is on the path)
from ddc_sm.selection.inference import chart_seed, difficulty_id  # noqa: E402
from ddc_sm.simfiles.rows import step_columns  # noqa: E402

# (key, label, format): the per-chart figures, in the order printed
FIGURES = tuple((f"tech_{t}_per_100", f"{t} /100", "{:.2f}") for t in TECH) + (
    ("longest_stream", "longest stream", "{:.0f}"),
    ("rest_share", "rest measures %", "pct"),
    ("jump_share", "jumps %", "pct"),
    ("hold_share", "hold/roll heads %", "pct"),
    ("roll_share", "rolls %", "pct"),
    ("tail_step_share", "tails with a step %", "pct"),
    ("mine_share", "mines /100 steps", "pct"),
    ("eighth_share", "8th notes %", "pct"),
    ("sixteenth_share", "16th notes %", "pct"),
    ("critic", "critic score", "{:.2f}"),
)
RANGE = (10, 90)  # percentiles of the train+valid charts
OPENING_ROWS = 16  # a chart's opening: its first this many rows with a step, for the "same opening" line


@dataclass
class ChartFigures:
    song: str
    part: str  # train, valid, test or generated
    difficulty: str
    figures: dict = field(default_factory=dict)
    opening: tuple = ()  # the first OPENING_ROWS rows with a step


def opening(rows) -> tuple:
    """A chart's first ``OPENING_ROWS`` rows that have a step (mines and tails alone do not count)."""
    return tuple(r for r in rows if step_columns(r))[:OPENING_ROWS]


def shared_openings(charts: Sequence[ChartFigures]) -> int:
    """How many of ``charts`` open (:func:`opening`) exactly as a chart of another song among them does."""
    songs: dict[tuple, set] = {}
    for c in charts:
        if len(c.opening) == OPENING_ROWS:
            songs.setdefault(c.opening, set()).add(c.song)
    return sum(1 for c in charts if len(songs.get(c.opening, ())) > 1)


def chart_figures(times, rows, beats, difficulty: str) -> dict:
    """The per-chart figures of FIGURES: ``ddc-sm eval``'s (:func:`ddc_sm.pipeline.evaluate.play_stats`) and the
    critic's score (the shipped one, :mod:`ddc_sm.selection.critic`)."""
    from ddc_sm.pipeline.evaluate import play_stats
    from ddc_sm.selection.critic import load_critic

    stats = play_stats(times, rows, beats)
    out = {key: stats[key] for key, _, _ in FIGURES if key != "critic"}
    out["critic"] = load_critic(None).score(rows, times, difficulty)
    return out


def human_charts(root: Path) -> tuple[list[ChartFigures], dict]:
    """Figures of every human chart under ``root`` with its split part (and of each test chart with random
    arrows, part ``corrupted``: :func:`ddc_sm.selection.critic.corrupt`, seeded); and the test songs."""
    from ddc_sm.selection.critic import corrupt
    from ddc_sm.simfiles.dataset import iter_songs
    from ddc_sm.simfiles.splits import load_split, training_part

    split = load_split()
    rng = np.random.default_rng(0)
    charts, test_songs = [], {}
    for song in iter_songs([root]):
        part = training_part(song.key, split)
        if part == "test":
            test_songs[song.key] = song
        for c in song.charts:
            charts.append(ChartFigures(song.key, part, c.difficulty,
                                       chart_figures(c.times, c.rows, c.beats, c.difficulty), opening(c.rows)))
            if part == "test":
                bad = corrupt(c.rows, "random", rng)
                charts.append(ChartFigures(song.key, "corrupted", c.difficulty,
                                           chart_figures(c.times, bad, c.beats, c.difficulty)))
    return charts, test_songs


def make_songs(songs: dict, out_dir: Path, log=print, extra_args: Sequence[str] = ()) -> list[tuple[str, object, bool]]:
    """``ddc-sm make -d all`` (``.sm`` only) on a copy of each song's audio in ``out_dir``, one folder per song
    (songs already generated there are reused): ``(key, SongData of the generated folder, reused)`` per song
    charted, in key order."""
    from ddc_sm.simfiles.dataset import load_song

    out = []
    for key, song in sorted(songs.items()):
        if song.audio_path is None:
            log(f"  {key}: no audio, skipped")
            continue
        folder = out_dir / (key.replace("/", " - ") + (f" [{' '.join(extra_args)}]" if extra_args else ""))
        audio = folder / song.audio_path.name
        reused = any(folder.glob("*.sm"))
        if not reused:
            folder.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(song.audio_path, audio)
            cmd = [sys.executable, "-m", "ddc_sm", "make", str(audio), "-d", "all", "--formats", "sm", "--quiet",
                   *extra_args]
            env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
            proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
            if proc.returncode != 0:
                log(f"  {key}: make failed (exit {proc.returncode}): {proc.stderr.strip()[-300:]}")
                continue
        out.append((key, load_song(folder), reused))
    return out


def ddc_peer_selector(log=print):
    """The original DDC's step selection (benchmarks/ddc_peer), or None when its files are absent."""
    from benchmarks.ddc_peer.placement import PeerUnavailable
    from benchmarks.ddc_peer.selection import DDCPeerSelector

    try:
        return DDCPeerSelector.load()
    except PeerUnavailable as exc:
        log(f"  no DDC peer column: {exc}")
        return None


def generate(test_songs: dict, out_dir: Path, log=print, extra_args: Sequence[str] = (),
             peer=None) -> list[ChartFigures]:
    """Figures of the charts ``ddc-sm make -d all`` writes for a copy of each test song's audio in ``out_dir``
    (:func:`make_songs`; songs already generated there are reused); with ``peer`` (a ``DDCPeerSelector``) also
    of its arrows on the same step times (part ``ddc peer``, seeded per chart by ``chart_seed`` as ours)."""
    charts = []
    for key, generated, reused in make_songs(test_songs, out_dir, log=log, extra_args=extra_args):
        human = {c.difficulty: c for c in test_songs[key].charts}
        for c in generated.charts:
            charts.append(ChartFigures(key, "generated", c.difficulty,
                                       chart_figures(c.times, c.rows, c.beats, c.difficulty), opening(c.rows)))
            h = human.get(c.difficulty)
            if h is not None:  # the human chart's rows, in order, on our rows' times: the critic's timing control
                n = min(len(h.rows), len(c.rows))
                charts.append(ChartFigures(key, "human arrows", c.difficulty,
                                           chart_figures(c.times[:n], h.rows[:n], c.beats[:n], c.difficulty)))
            if peer is not None:  # on our step rows' times (not on our tail-only or mine-only rows)
                steps = [(t, b) for t, b, r in zip(c.times, c.beats, c.rows) if step_columns(r)]
                times, beats = [t for t, _ in steps], [b for _, b in steps]
                # seeded per chart as our own search is (chart_seed), so its songs do not all draw the same noise
                rows = peer.generate(times, seed=chart_seed(0, difficulty_id(c.difficulty), times))
                charts.append(ChartFigures(key, "ddc peer", c.difficulty,
                                           chart_figures(times, rows, beats, c.difficulty), opening(rows)))
        log(f"  {key}: {len(generated.charts)} charts" + (" (generated before, reused)" if reused else ""))
    return charts


def summarise(charts: Sequence[ChartFigures], generated: Sequence[ChartFigures] = ()) -> dict:
    """Per difficulty and figure: the train+valid range, and the medians of the test and generated charts."""
    from ddc_sm.difficulty import DIFFICULTIES

    out = {}
    for d in DIFFICULTIES:
        fit = [c.figures for c in charts if c.difficulty == d and c.part in ("train", "valid")]
        test = [c.figures for c in charts if c.difficulty == d and c.part == "test"]
        bad = [c.figures for c in charts if c.difficulty == d and c.part == "corrupted"]
        gen = [c.figures for c in generated if c.difficulty == d and c.part == "generated"]
        peer = [c.figures for c in generated if c.difficulty == d and c.part == "ddc peer"]
        control = [c.figures for c in generated if c.difficulty == d and c.part == "human arrows"]
        rows = {}
        for key, _, _ in FIGURES:
            lo, hi = (float(np.percentile([f[key] for f in fit], q)) for q in RANGE) if fit else (np.nan, np.nan)
            entry = {"range": [lo, hi]}
            def outside(v: float) -> bool:
                return bool(fit) and not (lo - 1e-9 <= v <= hi + 1e-9)

            for name, group in (("test", test), ("generated", gen), ("ddc peer", peer), ("random arrows", bad),
                                ("human arrows", control)):
                if group:
                    values = [f[key] for f in group]
                    median = float(np.median(values))
                    entry[name] = median
                    entry[name + "_outside"] = outside(median)
                    entry[name + "_charts_outside"] = sum(outside(v) for v in values)
            rows[key] = entry
        groups = {"test": [c for c in charts if c.difficulty == d and c.part == "test"],
                  **{name: [c for c in generated if c.difficulty == d and c.part == name]
                     for name in ("generated", "ddc peer")}}
        same = {name: shared_openings(group) for name, group in groups.items() if group}
        out[d] = {"same_opening": same, "charts": {"train+valid": len(fit), "test": len(test), "generated": len(gen),
                             "ddc peer": len(peer), "random arrows": len(bad), "human arrows": len(control)},
                  "figures": rows}
    return out


def _fmt(value: float, how: str) -> str:
    if value != value:
        return "n/a"
    return f"{100 * value:.1f}" if how == "pct" else how.format(value)


def print_table(summary: dict, with_generated: bool) -> None:
    for d, block in summary.items():
        n = block["charts"]
        head = f"{d}: {n['train+valid']} train+valid charts, {n['test']} test"
        print("\n" + head + (f", {n['generated']} generated" if with_generated else ""))
        names = ("test",) + (("generated",) if with_generated else ()) + \
            (("ddc peer",) if n.get("ddc peer") else ()) + ("random arrows",) + \
            (("human arrows",) if n.get("human arrows") else ())
        print(f"  {'figure':20} {'human P10-P90':>14}" + "".join(f" {n + ' median':>17} {'out':>5}" for n in names))
        for key, label, how in FIGURES:
            e = block["figures"][key]
            lo, hi = e["range"]
            line = f"  {label:20} {_fmt(lo, how) + '-' + _fmt(hi, how):>14}"
            for name in names:
                if name in e:
                    line += f" {_fmt(e[name], how) + ('*' if e[name + '_outside'] else ' '):>17}"
                    line += f" {e[name + '_charts_outside']:>2}/{n[name]:<2}"
                else:
                    line += f" {'-':>17} {'':5}"
            print(line)
        print(f"  {'same opening':20} {'':14}" + "".join(
            f" {block['same_opening'][name]:>17} {'':>2}/{n[name]:<2}" if name in block["same_opening"]
            else f" {'-':>17} {'':5}" for name in names))
    print("\n(median: over the charts of that difficulty; * = median outside the train+valid human 10th-90th "
          "percentile; out: charts outside it; % figures in percent; same opening: charts whose first "
          f"{OPENING_ROWS} rows with a step are those of another song's chart of that difficulty)")


def main(argv=None) -> int:
    from ddc_sm import threads as thread_policy

    thread_policy.configure()  # one thread, or $DDC_SM_THREADS (ddc_sm/threads.py): a busy machine does not thrash
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("root", nargs="?", type=Path, default=DEFAULT_ROOT, help="folder of packs (default ../shared/data)")
    ap.add_argument("--generated", action="store_true", help="also chart each test song with `ddc-sm make -d all`")
    ap.add_argument("--generated-dir", type=Path, default=None,
                    help="where the generated songs go (kept, and reused when present); default: a temporary folder")
    ap.add_argument("--candidates", type=int, default=1,
                    help="make's --candidates for the generated charts (the critic then both picks and scores them)")
    ap.add_argument("--no-peer", action="store_true", help="without the DDC peer's arrows (--generated)")
    ap.add_argument("--json", action="store_true", help="print JSON instead of the table")
    args = ap.parse_args(argv)
    if not args.root.exists():
        print(f"skipped: {args.root} not found (the human charts of ../shared/data are needed)")
        return 0
    charts, test_songs = human_charts(args.root)
    generated: list[ChartFigures] = []
    if args.generated:
        log = (lambda m: print(m, file=sys.stderr)) if args.json else print
        log(f"charting the {len(test_songs)} test songs' audio with `ddc-sm make -d all` ...")
        extra = ["--candidates", str(args.candidates)] if args.candidates > 1 else []
        peer = None if args.no_peer else ddc_peer_selector(log)
        if args.generated_dir is not None:
            generated = generate(test_songs, args.generated_dir, log=log, extra_args=extra, peer=peer)
        else:
            with tempfile.TemporaryDirectory(prefix="ddc-sm-patterns-") as tmp:
                generated = generate(test_songs, Path(tmp), log=log, extra_args=extra, peer=peer)
    summary = summarise(charts, generated)
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    songs = {p: len({c.song for c in charts if c.part in ((p,) if p == "test" else ("train", "valid"))})
             for p in ("fit", "test")}
    print(f"{args.root}: human range from train+valid ({songs['fit']} songs), test medians from {songs['test']} "
          f"held-out songs" + (", generated from the same test songs' audio" if args.generated else ""))
    print_table(summary, args.generated)
    return 0


if __name__ == "__main__":
    sys.exit(main())
