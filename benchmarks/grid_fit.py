"""Grid-fit benchmark: how ``ddc_sm.timing.alignment``'s verdict fares on grids that fit and on grids that do not.

    python benchmarks/grid_fit.py                   # synthesised tracks, then the train+valid human songs
    python benchmarks/grid_fit.py --synthetic-only  # no data needed
    python benchmarks/grid_fit.py --sweep           # and the counts at other LAG_LIMIT_S / MIN_HELD values
    python benchmarks/grid_fit.py --snapping        # and make's snapping on those grids (placement model)
    python benchmarks/grid_fit.py --json            # one JSON document

Synthesised tracks (``benchmarks/sync.py``'s 30 seeded tracks: five kinds of material, 80-200 BPM, some with
noise): the true grid must fit with ``|lag| <= 5 ms``; the same grid moved by +-30 and +-54 ms and by a 16th
note must not fit and its lag must change by the move (within 5 ms; modulo a 16th for the 54 ms and 16th moves:
at 200 BPM a 16th is 75 ms, so +54 ms and -21 ms are the same move of a 16th grid, told apart only by which
16ths the beats fall on); a BPM 0.3 % off must not fit.

Human songs (the parts of ``ddc_sm.simfiles.splits`` given by ``--part``, default ``train,valid``: the only ones
thresholds may be fitted on): every song with audio, its own grid (a constant tempo as ``ConstantTiming``, any
other through ``simfile``'s TimingEngine, which rounds beats to 1/48: a few ms of scatter), as it is and moved later by 10, 20, 30 and 54 ms and by a 16th (and earlier by the same); our
estimate (``estimate_tempo``'s best candidate); and, for constant-tempo songs, the human BPM 0.1 % and 0.3 % too
fast and 1 % too slow.  A human grid need not fit: some charts are tens of ms off their audio (see
``benchmarks/sync.py``), so for the moved grids the figure is the lag *change*: the measured lag minus the lag of
the unmoved grid must equal the move (within 5 ms).

``--snapping`` (needs the shipped weights; placement features are cached in ``$DDC_SM_CACHE``): per difficulty,
the share of the placed steps that the difficulty's note values keep (``ddc_sm.timing.grid.snap_steps``) of what
nearest-slot snapping keeps, with the estimated grid (what ``make`` uses by default), the estimated grids that
fit (there it must not fall below ``MIN_KEPT_SHARE``, or make's output would change on a fitting grid), the human
grid, and the human grid moved by +-30 and +-54 ms; and how many charts ``make`` would loosen.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
DEFAULT_ROOT = REPO.parent / "shared" / "data"
MOVES_MS = (10, 20, 30, 54)
WRONG_BPM = (1.001, 1.003, 0.99)
LAG_OK_MS = 5.0  # a measured lag (or lag change) within this of the truth is right


class MovedTiming:
    """``timing`` (anything with ``beat_at``/``seconds_per_beat``/``time_at``) with every beat ``seconds`` later."""

    def __init__(self, timing, seconds: float):
        self.timing, self.seconds = timing, float(seconds)

    def beat_at(self, t):
        return self.timing.beat_at(np.asarray(t, dtype=np.float64) - self.seconds)

    def seconds_per_beat(self, beats):
        return self.timing.seconds_per_beat(beats)

    def time_at(self, beats):
        return np.asarray(self.timing.time_at(beats)) + self.seconds


def wrapped_ms(x_ms: float, period_ms: float) -> float:
    """``x_ms`` modulo ``period_ms``, into [-period/2, period/2)."""
    return (x_ms + period_ms / 2) % period_ms - period_ms / 2


# ----------------------------------------------------------------------------------------------------
# synthesised tracks


def evaluate_synthetic(n: int, seed: int, log) -> dict:
    from benchmarks.sync import synthetic_tracks
    from ddc_sm.timing.alignment import grid_alignment
    from ddc_sm.timing.grid import ConstantTiming
    from ddc_sm.timing.tempo import onset_envelope

    rows = []
    for kind, bpm, first_beat, duration, noise, track in synthetic_tracks(n, seed):
        onset = onset_envelope(track.samples, track.sample_rate)
        sixteenth_ms = 15000.0 / bpm
        right = grid_alignment(onset, ConstantTiming(bpm, -first_beat))
        row = {"kind": kind, "bpm": bpm, "noise_db": noise, "lag_ms": right.lag_s * 1000, "fits": right.fits,
               "held": right.held, "off_grid": right.off_grid, "ok": right.fits and abs(right.lag_s) * 1000 <= LAG_OK_MS}
        moved = {}
        for move in (30.0, -30.0, 54.0, -54.0, sixteenth_ms):
            a = grid_alignment(onset, ConstantTiming(bpm, -first_beat - move / 1000))
            err = (a.lag_s - right.lag_s) * 1000 - move  # the lag change must be the move
            if abs(move) == 54.0 or move == sixteenth_ms:
                err = wrapped_ms(err, sixteenth_ms)
            moved[f"{move:+.0f}"] = {"lag_ms": a.lag_s * 1000, "fits": a.fits, "off_grid": a.off_grid,
                                     "ok": (not a.fits) and abs(err) <= LAG_OK_MS}
        wrong = grid_alignment(onset, ConstantTiming(bpm * 1.003, -first_beat))
        row["moved"] = moved
        row["wrong_bpm_flagged"] = not wrong.fits
        rows.append(row)
        log(f"{kind:13s} {bpm:8.3f} BPM noise {str(noise):>5s}: lag {row['lag_ms']:+5.1f} ms "
            f"{'fits' if right.fits else 'DOES NOT FIT'} (held {right.held:.2f}, off {right.off_grid:.2f}); moved "
            + " ".join(f"{k}:{v['lag_ms']:+.0f}{'' if v['ok'] else '!'}" for k, v in moved.items())
            + f"; BPM x1.003 {'flagged' if not wrong.fits else 'NOT FLAGGED'}")
    moved_ok = sum(v["ok"] for r in rows for v in r["moved"].values())
    moved_n = sum(len(r["moved"]) for r in rows)
    summary = {"tracks": len(rows), "right_grid_ok": sum(r["ok"] for r in rows),
               "max_abs_lag_ms": max(abs(r["lag_ms"]) for r in rows) if rows else 0.0,
               "moved_ok": moved_ok, "moved": moved_n, "wrong_bpm_flagged": sum(r["wrong_bpm_flagged"] for r in rows)}
    log(f"SYNTHETIC: right grid fits within {LAG_OK_MS:g} ms on {summary['right_grid_ok']}/{len(rows)} (max |lag| "
        f"{summary['max_abs_lag_ms']:.1f} ms); moved grids flagged with the right lag {moved_ok}/{moved_n}; "
        f"BPM 0.3 % off flagged {summary['wrong_bpm_flagged']}/{len(rows)}")
    return {"tracks": rows, "summary": summary}


# ----------------------------------------------------------------------------------------------------
# human songs


def human_songs(root: Path, parts: tuple[str, ...]):
    """(song, audio, timing) of every song with audio in the split ``parts``."""
    from ddc_sm.audio.decode import load_audio
    from ddc_sm.errors import DdcSmError
    from ddc_sm.simfiles.dataset import iter_songs
    from ddc_sm.simfiles.splits import load_split, part_of
    from ddc_sm.timing.grid import ConstantTiming, simfile_timing

    split = load_split()
    for song in iter_songs(root):
        if part_of(song.key, split) not in parts or song.audio_path is None:
            continue
        try:
            audio = load_audio(song.audio_path)
            # a constant tempo exactly (simfile's TimingEngine rounds beats to 1/48), any other through the engine
            timing = ConstantTiming(float(song.bpms[0][1]), float(song.offset)) if song.constant_tempo and song.bpms \
                else simfile_timing(song.simfile_path)
        except DdcSmError:
            continue
        yield song, audio, timing


def measure_human(root: Path, parts: tuple[str, ...], log) -> list[dict]:
    """The alignment of each song's grids (see the module docstring), as plain numbers."""
    from ddc_sm.timing.alignment import grid_alignment
    from ddc_sm.timing.grid import ConstantTiming
    from ddc_sm.timing.tempo import estimate_tempo_from_onsets, onset_envelope

    rows = []
    for song, audio, timing in human_songs(root, parts):
        onset = onset_envelope(audio.samples, audio.sample_rate)
        best = estimate_tempo_from_onsets(onset).best
        bpm0 = float(song.bpms[0][1]) if song.bpms else 120.0

        def fit(t) -> dict:
            a = grid_alignment(onset, t)
            return {"lag_ms": a.lag_s * 1000, "held": a.held, "off_grid": a.off_grid, "measured": a.measured}

        row = {"song": song.key, "constant": bool(song.constant_tempo), "bpm": bpm0,
               "own": fit(timing), "estimate": fit(ConstantTiming(best.bpm, best.offset)), "moved": {}, "wrong": {}}
        sixteenth = 15.0 / bpm0
        for move in [m / 1000 for m in MOVES_MS] + [sixteenth]:
            for sign in (1, -1):
                key = f"{sign * move * 1000:+.0f}" if move != sixteenth else ("+16th" if sign > 0 else "-16th")
                row["moved"][key] = fit(MovedTiming(timing, sign * move))
        if song.constant_tempo:
            for factor in WRONG_BPM:
                row["wrong"][f"x{factor:g}"] = fit(ConstantTiming(bpm0 * factor, song.offset))
        rows.append(row)
        o, e = row["own"], row["estimate"]
        log(f"{song.key[:48]:48s} {'const' if song.constant_tempo else 'multi'} {bpm0:6.1f}: own lag "
            f"{o['lag_ms']:+6.1f} ms held {o['held']:.2f} off {o['off_grid']:.2f}; estimate lag {e['lag_ms']:+6.1f} "
            f"held {e['held']:.2f}; moved " + " ".join(f"{k}:{v['lag_ms']:+.0f}" for k, v in row["moved"].items()))
    return rows


def verdicts(rows: list[dict], lag_limit_ms: float, min_held: float) -> dict:
    """What the verdict says of the human grids at these thresholds (the counts the constants were chosen on)."""
    def fits(f: dict) -> bool:
        return (not f["measured"]) or (abs(f["lag_ms"]) <= lag_limit_ms and f["held"] >= min_held)

    out = {"songs": len(rows), "own_fits": sum(fits(r["own"]) for r in rows),
           "estimate_fits": sum(fits(r["estimate"]) for r in rows)}
    for key in [f"{s}{m}" for m in MOVES_MS for s in "+-"] + ["+16th", "-16th"]:
        # a moved grid should not fit; counted over the songs whose own grid fits (moving a grid that is
        # already off can bring it onto the audio)
        fitting = [r for r in rows if fits(r["own"])]
        out[f"moved{key}_flagged"] = (sum(not fits(r["moved"][key]) for r in fitting), len(fitting))
    wrong = [f for r in rows for f in r["wrong"].values()]
    out["wrong_bpm_flagged"] = (sum(not fits(f) for f in wrong), len(wrong))
    return out


def lag_tracking(rows: list[dict]) -> dict:
    """How well the lag follows a known move: measured lag minus the unmoved grid's lag minus the move."""
    out = {}
    for m in MOVES_MS:
        errs = []
        for r in rows:
            for sign in (1, -1):
                move = sign * m
                sixteenth_ms = 15000.0 / r["bpm"]
                err = r["moved"][f"{move:+d}"]["lag_ms"] - r["own"]["lag_ms"] - move
                errs.append(abs(wrapped_ms(err, sixteenth_ms)) if m == 54 else abs(err))
        errs = np.array(errs)
        out[f"{m}ms"] = {"within_5ms": int(np.sum(errs <= LAG_OK_MS)), "grids": int(len(errs)),
                         "median_ms": float(np.median(errs)) if len(errs) else 0.0}
    return out


def print_human(rows: list[dict], log, sweep: bool) -> dict:
    from ddc_sm.timing.alignment import LAG_LIMIT_S, MIN_HELD

    n = len(rows)
    lags = np.array([abs(r["own"]["lag_ms"]) for r in rows])
    est = np.array([abs(r["estimate"]["lag_ms"]) for r in rows])
    held = np.array([r["own"]["held"] for r in rows])
    # the share off a grid that fits: what music has off any 16th grid (why the share is reported, not judged)
    off = np.array([r["own"]["off_grid"] for r in rows
                    if abs(r["own"]["lag_ms"]) <= LAG_LIMIT_S * 1000 and r["own"]["held"] >= MIN_HELD])
    wrong_off = np.array([f["off_grid"] for r in rows for f in r["wrong"].values()])
    summary = {"songs": n,
               "own_lag_within_ms": {str(x): int(np.sum(lags <= x)) for x in (10, 15, 20, 25, 30)},
               "estimate_lag_within_ms": {str(x): int(np.sum(est <= x)) for x in (10, 15, 20, 25, 30)},
               "own_held_below": {str(x): int(np.sum(held < x)) for x in (0.4, 0.5, 0.6)},
               "own_fitting_off_grid": [float(np.percentile(off, q)) for q in (50, 90, 100)] if len(off) else [],
               "wrong_bpm_off_grid": [float(np.percentile(wrong_off, q)) for q in (0, 10, 50)] if len(wrong_off) else [],
               "wrong_held_max": max([f["held"] for r in rows for f in r["wrong"].values()], default=0.0),
               "tracking": lag_tracking(rows),
               "verdicts": verdicts(rows, LAG_LIMIT_S * 1000, MIN_HELD)}
    log(f"\nHUMAN ({n} songs): own grid |lag| within 10/15/20/25/30 ms: "
        + "/".join(str(v) for v in summary["own_lag_within_ms"].values())
        + "; estimate: " + "/".join(str(v) for v in summary["estimate_lag_within_ms"].values())
        + "; own grid held < 0.4/0.5/0.6: " + "/".join(str(v) for v in summary["own_held_below"].values())
        + "; share of strong onsets off the own grids that fit: median/p90/max "
        + "/".join(f"{x:.2f}" for x in summary["own_fitting_off_grid"])
        + ", off the wrong-BPM grids: min/p10/median " + "/".join(f"{x:.2f}" for x in summary["wrong_bpm_off_grid"]))
    log("lag change = move (within 5 ms): " + ", ".join(
        f"{k}: {v['within_5ms']}/{v['grids']} (median error {v['median_ms']:.1f} ms)"
        for k, v in summary["tracking"].items()))
    v = summary["verdicts"]
    log(f"VERDICT at LAG_LIMIT_S={LAG_LIMIT_S * 1000:g} ms, MIN_HELD={MIN_HELD:g}: own grids fit {v['own_fits']}/{n}, "
        f"estimates fit {v['estimate_fits']}/{n}; of the fitting own grids, moved grids flagged: "
        + ", ".join(f"{k[5:-8]} {x[0]}/{x[1]}" for k, x in v.items() if k.startswith("moved"))
        + f"; BPM 0.1/0.3 % fast or 1 % slow flagged {v['wrong_bpm_flagged'][0]}/{v['wrong_bpm_flagged'][1]}")
    if sweep:
        summary["sweep"] = []
        log("sweep (own fit, estimate fit, +-30 ms flagged, +-20 ms flagged, wrong BPM flagged):")
        for lag in (15.0, 20.0, 25.0, 30.0):
            for h in (0.4, 0.5, 0.6):
                s = verdicts(rows, lag, h)
                summary["sweep"].append({"lag_limit_ms": lag, "min_held": h, **s})
                f30 = s["moved+30_flagged"][0] + s["moved-30_flagged"][0], s["moved+30_flagged"][1] * 2
                f20 = s["moved+20_flagged"][0] + s["moved-20_flagged"][0], s["moved+20_flagged"][1] * 2
                log(f"  lag {lag:4.0f} ms, held {h:.1f}: own {s['own_fits']}/{n}, estimate {s['estimate_fits']}/{n}, "
                    f"+-30 ms {f30[0]}/{f30[1]}, +-20 ms {f20[0]}/{f20[1]}, wrong BPM "
                    f"{s['wrong_bpm_flagged'][0]}/{s['wrong_bpm_flagged'][1]}")
    return summary


# ----------------------------------------------------------------------------------------------------
# make's snapping on these grids


def evaluate_snapping(root: Path, parts: tuple[str, ...], log) -> dict:
    from ddc_sm.audio.cache import cached_features
    from ddc_sm.difficulty import DIFFICULTIES
    from ddc_sm.pipeline.make import snapped_steps
    from ddc_sm.placement.inference import load_placer
    from ddc_sm.timing.grid import MIN_KEPT_SHARE, ConstantTiming
    from ddc_sm.timing.tempo import estimate_tempo_from_onsets, onset_envelope

    from ddc_sm.timing.alignment import grid_alignment

    placer = load_placer(None)
    grids = ("estimate", "estimate that fits", "own", "own+30", "own-30", "own+54", "own-54")
    shares: dict[str, dict[str, list[float]]] = {g: {d: [] for d in DIFFICULTIES} for g in grids}
    for song, audio, timing in human_songs(root, parts):
        feats = cached_features(song.audio_path, "placement")
        duration = (feats.shape[-1] - 1) / 100.0
        onset = onset_envelope(audio.samples, audio.sample_rate)
        best = estimate_tempo_from_onsets(onset).best
        estimate = ConstantTiming(best.bpm, best.offset)
        # placement as `make` places it with no options (a beat-aware model on the estimated grid); each grid
        # below then snaps those steps
        probs = placer.probabilities(feats, list(DIFFICULTIES), estimate)
        estimate_fits = grid_alignment(onset, estimate).fits
        timings = {"estimate": estimate, "own": timing,
                   "own+30": MovedTiming(timing, 0.030), "own-30": MovedTiming(timing, -0.030),
                   "own+54": MovedTiming(timing, 0.054), "own-54": MovedTiming(timing, -0.054)}
        line = []
        for g, t in timings.items():
            per = []
            for d in DIFFICULTIES:
                s = snapped_steps(placer, probs[d], d, duration, t)
                shares[g][d].append(s.kept_share)
                if g == "estimate" and estimate_fits:
                    shares["estimate that fits"][d].append(s.kept_share)
                per.append(f"{s.kept_share:.2f}")
            line.append(f"{g} " + "/".join(per))
        log(f"{song.key[:40]:40s} " + "  ".join(line))
    summary = {}
    log(f"\nSNAPPING: share of the placed steps a difficulty's note values keep, of what nearest-slot snapping keeps "
        f"(make loosens below MIN_KEPT_SHARE={MIN_KEPT_SHARE:g})")
    for g in grids:
        summary[g] = {}
        for d in DIFFICULTIES:
            x = np.array(shares[g][d])
            if not len(x):
                continue
            summary[g][d] = {"min": float(x.min()), "p10": float(np.percentile(x, 10)),
                             "median": float(np.median(x)), "loosened": int(np.sum(x < MIN_KEPT_SHARE)),
                             "charts": int(len(x))}
        log(f"  {g:18s} " + ", ".join(f"{d} min {v['min']:.2f} p10 {v['p10']:.2f} med {v['median']:.2f} loosened "
                                     f"{v['loosened']}/{v['charts']}" for d, v in summary[g].items()))
    return summary


def main(argv: list[str] | None = None) -> int:
    from ddc_sm import threads as thread_policy

    thread_policy.configure()  # one thread, or $DDC_SM_THREADS (ddc_sm/threads.py): a busy machine does not thrash
    from benchmarks.sync import parse_parts

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("root", nargs="?", type=Path, default=DEFAULT_ROOT, help=f"pack root (default {DEFAULT_ROOT})")
    ap.add_argument("--part", type=parse_parts, default=("train", "valid"), metavar="PARTS",
                    help="split parts of the human songs (default train,valid; tune there, never on test)")
    ap.add_argument("--synthetic-only", action="store_true", help="skip the human songs")
    ap.add_argument("--human-only", action="store_true", help="skip the synthesised tracks")
    ap.add_argument("--n-synthetic", type=int, default=30, help="synthesised tracks (default 30)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the synthesised tracks (default 0)")
    ap.add_argument("--sweep", action="store_true", help="also the verdict counts at other thresholds")
    ap.add_argument("--snapping", action="store_true", help="also make's snapping on the human songs' grids")
    ap.add_argument("--json", action="store_true", help="print one JSON document")
    args = ap.parse_args(argv)

    def log(line: str) -> None:
        if not args.json:
            print(line, flush=True)

    out: dict = {}
    if not args.human_only:
        log(f"== synthesised tracks ({args.n_synthetic}, seed {args.seed}) ==")
        out["synthetic"] = evaluate_synthetic(args.n_synthetic, args.seed, log)
    if not args.synthetic_only:
        root = args.root.resolve()
        if not root.exists():
            msg = f"human songs skipped: {root} does not exist (pass a pack root, or --synthetic-only)"
            out["human"] = {"skipped": msg}
            print(msg, file=sys.stderr)
        else:
            log(f"\n== human songs under {root} (split parts {', '.join(args.part)}) ==")
            rows = measure_human(root, args.part, log)
            out["human"] = {"songs": rows, "summary": print_human(rows, log, args.sweep)}
            if args.snapping:
                log(f"\n== make's snapping (split parts {', '.join(args.part)}) ==")
                out["snapping"] = evaluate_snapping(root, args.part, log)
    if args.json:
        print(json.dumps(out, indent=1, default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
