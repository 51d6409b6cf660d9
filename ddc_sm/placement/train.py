"""Training the stage-1 step placement model: ``ddc-sm train placement PACK_DIRS... --out DIR [--config FILE]``.

Data: every song under the pack folders (:func:`ddc_sm.simfiles.dataset.iter_songs`); each dance-single chart is one
example (song audio + difficulty → frames of its non-empty rows).  Songs are split by song: those listed in
``ddc_sm/simfiles/split_shared_data.json`` go to their part (train → training, valid → early stopping and threshold
choice, test → never read); other songs go to validation when a seeded hash of their key falls under
``valid_share`` (about 10 %), else to training.

Training: random sub-sequences of ``min_len``..``max_len`` frames from songs sampled in proportion to their
length; all charts of a sampled song share one conv pass (the conv stack does not depend on difficulty).
Adam with a cosine learning-rate decay, BCE on per-frame logits, seeded.  Augmentation (the data are small):

* gain jitter: a constant shift of the log-mel (uniform ±``gain_db`` dB), as songs are mastered at very
  different loudness;
* time jitter: with probability ``time_jitter_prob`` a chart's targets in a sub-sequence move by a constant
  ±``time_jitter_frames`` frame, as the packs' sync is off by a few ms on some songs and the evaluation
  tolerance is ±20 ms anyway;
* optional target smoothing (``target_smooth``: the value given to the neighbours of a step frame).

Sync correction (``sync_correction``): some charts of the packs are 30–70 ms off their audio (measured: 13
of the 93 training songs of ``../shared/data`` by more than 25 ms), which teaches the model blurred, late or
early targets.  For each training song the lag that best lines its steps up with the audio's spectral-flux
onsets is estimated (:func:`onset_lag`, ±100 ms, sub-frame) and its targets are moved by that lag minus the
median lag of all training songs; unsure estimates are left alone.  Validation charts are never moved, so
the validation F-scores are against the human charts as they are.

The checkpoint with the best validation F-score is kept; then the Hamming smoothing width, the minimum peak
distance, the inference window and a threshold per difficulty are chosen to maximise the validation F-score
(±20 ms, one-to-one matching), and everything is written to ``OUT/placement.pt`` (float16).
"""

from __future__ import annotations

import copy
import math
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ddc_sm.difficulty import DIFFICULTIES

DEFAULT_CONFIG = Path(__file__).resolve().parent / "train.json"
THRESHOLD_GRID = np.round(np.arange(0.02, 0.91, 0.01), 2)


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def load_config(config_path: str | os.PathLike | None = None) -> dict:
    """The shipped config, overlaid (recursively) with the user's JSON file when given."""
    from ddc_sm.config import overlay_json

    return overlay_json(overlay_json({}, DEFAULT_CONFIG), config_path)


@dataclass
class SongExample:
    key: str
    feats: np.ndarray  # z-scored, float16, (C, T, F)
    charts: list[tuple[int, np.ndarray, np.ndarray]]  # (difficulty index, step frames (int64, sorted), step times)
    human_beats: np.ndarray | None = None  # (T,) beat position of each frame on the human chart's grid
    estimated_beats: np.ndarray | None = None  # (T,) the same on the grid `make` estimates from the audio

    @property
    def n_frames(self) -> int:
        return self.feats.shape[1]


def collect_songs(pack_dirs, config: dict, split_path=None):
    """Read the packs; returns (train, valid, skipped) lists of (SongData, raw features)."""
    from ddc_sm.simfiles.dataset import iter_songs
    from ddc_sm.audio.cache import cached_features
    from ddc_sm.simfiles.splits import load_split, training_part

    try:
        split = load_split(split_path)
    except (OSError, ValueError, KeyError):
        split = {"train": [], "valid": [], "test": []}
    train, valid, skipped = [], [], []
    for song in iter_songs([str(p) for p in pack_dirs]):
        if not song.charts:
            continue
        part = training_part(song.key, split, float(config.get("valid_share", 0.1)), int(config.get("seed", 0)))
        if part == "test":
            skipped.append((song.key, "test split"))
            continue
        if song.audio_path is None:
            skipped.append((song.key, "no audio"))
            _log(f"  skip {song.key}: no audio file")
            continue
        try:
            raw = cached_features(song.audio_path, "placement")
        except Exception as exc:  # undecodable audio: skip the song, say so
            skipped.append((song.key, f"audio error: {exc}"))
            _log(f"  skip {song.key}: {exc}")
            continue
        (train if part == "train" else valid).append((song, raw))
    return train, valid, skipped


def onset_lag(raw: np.ndarray, step_times: np.ndarray, max_lag: int = 10) -> tuple[float, float]:
    """How far (seconds, sub-frame) the audio's onsets sit after the given step times, and a confidence.

    The onset strength is the spectral flux of the 1024-FFT log-mel (positive differences summed over bands,
    minus a 21-frame moving mean); the lag maximises its mean over the step frames.  The confidence is the
    peak's height above the median of the lag curve in units of the curve's standard deviation; a lag at
    the edge of the search range gets confidence 0.
    """
    from ddc_sm.audio.features import time_to_frame

    x = raw[:, 0, :].astype(np.float32)
    flux = np.maximum(0.0, np.diff(x, axis=1, prepend=x[:, :1])).sum(axis=0)
    flux = flux - np.convolve(flux, np.ones(21) / 21, mode="same")
    T = len(flux)
    frames = time_to_frame(np.asarray(step_times))
    frames = frames[(frames >= max_lag + 1) & (frames < T - max_lag - 1)]
    if len(frames) < 8:
        return 0.0, 0.0
    lags = np.arange(-max_lag, max_lag + 1)
    curve = np.array([flux[frames + lag].mean() for lag in lags])
    i = int(np.argmax(curve))
    if i == 0 or i == len(lags) - 1:
        return 0.0, 0.0
    a, b, c = curve[i - 1], curve[i], curve[i + 1]
    denom = a - 2 * b + c
    sub = 0.5 * (a - c) / denom if denom < 0 else 0.0
    confidence = float((b - np.median(curve)) / (curve.std() + 1e-9))
    return float((lags[i] + sub) / 100.0), confidence


def sync_corrections(pairs, max_lag: int, min_confidence: float) -> dict[str, float]:
    """Per-song shift (seconds) that moves the charts' steps onto the audio's onsets, relative to the median
    lag of all these songs (so the data's overall convention is kept); 0 where the estimate is unsure."""
    lags = {}
    for song, raw in pairs:
        times = np.concatenate([np.asarray(c.times) for c in song.charts])
        lag, conf = onset_lag(raw, times, max_lag)
        if conf >= min_confidence:
            lags[song.key] = lag
    if not lags:
        return {}
    median = float(np.median(list(lags.values())))
    return {k: v - median for k, v in lags.items()}


def song_beats(song, n_frames: int, shift: float = 0.0) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Beat positions of the frames on the human chart's grid (moved with the targets by ``shift``) and on the
    grid `make` estimates from the audio; None where a grid cannot be had."""
    from ddc_sm.timing.estimated import estimated_timing
    from ddc_sm.timing.grid import simfile_timing

    t = np.arange(n_frames) / 100.0
    try:
        human = np.asarray(simfile_timing(song.simfile_path).beat_at(t - shift), dtype=np.float64)
    except Exception:  # a simfile whose timing the engine cannot use
        human = None
    try:
        estimated = np.asarray(estimated_timing(song.audio_path).beat_at(t), dtype=np.float64)
    except Exception:
        estimated = None
    return human, estimated


def make_examples(pairs, stats, shifts: dict[str, float] | None = None, beats: bool = False) -> list[SongExample]:
    from ddc_sm.audio.features import time_to_frame

    out = []
    for song, raw in pairs:
        T = raw.shape[-1]
        feats = stats.apply(raw).transpose(1, 2, 0).astype(np.float16)  # (C, T, F)
        charts = []
        shift = (shifts or {}).get(song.key, 0.0)
        for chart in song.charts:
            times = np.asarray(chart.times, dtype=np.float64) + shift
            times = times[(times >= 0) & (times < T / 100.0)]
            frames = np.unique(np.clip(time_to_frame(times), 0, T - 1))
            if len(frames):
                charts.append((DIFFICULTIES.index(chart.difficulty), frames, times))
        if charts:
            human, estimated = song_beats(song, T, shift) if beats else (None, None)
            out.append(SongExample(song.key, np.ascontiguousarray(feats), charts, human, estimated))
    return out


def _beat_input(song: SongExample, positions: np.ndarray, grid: dict, rng) -> np.ndarray:
    """Beat-phase inputs of a training crop at (fractional) frame ``positions``: the human grid (its offset
    jittered), sometimes the estimated grid or none, as ``grid`` (the config's ``beat_grid``) says."""
    from ddc_sm.placement.beats import N_FEATURES, phase_features

    r = rng.random()
    no_grid, estimate = float(grid.get("no_grid_prob", 0.1)), float(grid.get("estimate_prob", 0.3))
    beats = None
    if r >= no_grid:
        beats = song.estimated_beats if (r < no_grid + estimate or song.human_beats is None) else song.human_beats
    if beats is None:
        return np.zeros((len(positions), N_FEATURES), dtype=np.float32)
    frames = np.arange(len(beats))
    b = np.interp(positions, frames, beats)  # beyond the song: the grid carried on linearly
    slope = (beats[-1] - beats[0]) / max(1, len(beats) - 1)
    b = np.where(positions < 0, beats[0] + positions * slope, b)
    b = np.where(positions > frames[-1], beats[-1] + (positions - frames[-1]) * slope, b)
    if beats is song.human_beats:
        jitter = rng.normal(0.0, float(grid.get("offset_jitter_s", 0.01))) * 100.0  # frames
        b = b + jitter * slope
    return phase_features(b)


def _stretched(feats: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """(C, len(positions), F) features linearly interpolated at fractional frames; zeros outside the song."""
    T = feats.shape[1]
    lo = np.floor(positions).astype(np.int64)
    w = (positions - lo).astype(np.float32)[None, :, None]
    a = np.clip(lo, 0, T - 1)
    b = np.clip(lo + 1, 0, T - 1)
    out = feats[:, a].astype(np.float32) * (1 - w) + feats[:, b].astype(np.float32) * w
    out[:, (positions < 0) | (positions > T - 1)] = 0.0
    return out


class BatchSampler:
    """Random sub-sequences (with their context frames, zero beyond the song ends) and targets for all charts."""

    def __init__(self, songs: list[SongExample], config: dict, context: int, inv_std: np.ndarray, seed: int):
        self.songs = songs
        self.config = config
        self.context = context
        self.inv_std = inv_std  # (C, F): a raw log-mel shift of 1 is a z-score shift of 1/std
        self.rng = np.random.default_rng(seed)
        lengths = np.array([s.n_frames for s in songs], dtype=np.float64)
        self.p = lengths / lengths.sum()

    def sample(self):
        from ddc_sm.placement.beats import N_FEATURES

        cfg, rng, k = self.config, self.rng, self.context
        aug = cfg.get("augment", {})
        B = int(cfg["batch_songs"])
        L = int(rng.integers(int(cfg["min_len"]), int(cfg["max_len"]) + 1))
        song_ids = rng.choice(len(self.songs), size=B, p=self.p)
        C, _, F = self.songs[0].feats.shape
        x = np.zeros((B, C, L + 2 * k, F), dtype=np.float32)
        chart_song, chart_diff, targets = [], [], []
        grid = cfg.get("beat_grid") or {}
        beat = np.zeros((B, L, N_FEATURES), dtype=np.float32) if grid.get("enabled") else None
        stretch, stretch_p = float(aug.get("stretch", 0.0)), float(aug.get("stretch_prob", 0.0))
        band_shift, band_p = int(aug.get("band_shift", 0)), float(aug.get("band_shift_prob", 0.0))
        gain_db = float(aug.get("gain_db", 0.0))
        jitter = int(aug.get("time_jitter_frames", 0))
        jitter_p = float(aug.get("time_jitter_prob", 0.0))
        smooth = float(aug.get("target_smooth", 0.0))
        for b, si in enumerate(song_ids):
            song = self.songs[si]
            T = song.n_frames
            # time stretch: the crop covers L * rate source frames (rate > 1: the song played faster)
            rate = 1.0 + rng.uniform(-stretch, stretch) if stretch and rng.random() < stretch_p else 1.0
            start = int(rng.integers(0, max(1, T - int(math.ceil(L * rate)) + 1)))
            if rate == 1.0:
                lo, hi = start - k, start + L + k
                a, z = max(lo, 0), min(hi, T)
                x[b, :, a - lo:z - lo] = song.feats[:, a:z]
                inside = slice(a - lo, z - lo)
            else:
                positions = start + np.arange(-k, L + k) * rate
                x[b] = _stretched(song.feats, positions)
                cols = np.nonzero((positions >= 0) & (positions <= T - 1))[0]
                inside = slice(int(cols[0]), int(cols[-1]) + 1)
            if band_shift and rng.random() < band_p:  # pitch shift: the mel bands move by a band or two
                d = int(rng.integers(1, band_shift + 1)) * (1 if rng.random() < 0.5 else -1)
                x[b] = np.roll(x[b], d, axis=2)
                if d > 0:
                    x[b, :, :, :d] = 0.0
                else:
                    x[b, :, :, d:] = 0.0
            if beat is not None:
                beat[b] = _beat_input(song, start + np.arange(L) * rate, grid, rng)
            if gain_db:
                shift = rng.uniform(-gain_db, gain_db) * math.log(10.0) / 10.0  # dB of power → natural-log units
                x[b, :, inside] += (shift * self.inv_std)[:, None, :]
            for diff, frames, _times in song.charts:
                offset = 0
                if jitter and rng.random() < jitter_p:
                    offset = int(rng.integers(-jitter, jitter + 1))
                rel = frames + offset - start
                if rate != 1.0:
                    rel = np.unique(np.rint(rel / rate).astype(np.int64))
                y = np.zeros(L, dtype=np.float32)
                if smooth:
                    for d in (-1, 1):
                        r = rel + d
                        y[r[(r >= 0) & (r < L)]] = smooth
                y[rel[(rel >= 0) & (rel < L)]] = 1.0
                chart_song.append(b)
                chart_diff.append(diff)
                targets.append(y)
        return x, np.array(chart_song), np.array(chart_diff), np.stack(targets), beat


def song_probabilities(model, song: SongExample, window: int = 0) -> dict[int, np.ndarray]:
    """Probabilities of every chart difficulty of a (validation) song, as at inference."""
    import torch

    from ddc_sm.placement.inference import decode_windowed

    from ddc_sm.placement.beats import phase_features

    diffs = sorted({d for d, _, _ in song.charts})
    with torch.no_grad():
        x = torch.from_numpy(song.feats.astype(np.float32))[None]
        beat = None
        if model.config.beat_features:  # the grid `make` would estimate, as at run time
            beats = song.estimated_beats
            beat = torch.from_numpy(phase_features(beats) if beats is not None
                                    else np.zeros((song.n_frames, model.config.beat_features), np.float32))[None]
        enc = model.encode(model.pad(x), beat=beat)
        idx = torch.tensor(diffs, dtype=torch.long)
        prob = torch.sigmoid(decode_windowed(model, enc.expand(len(diffs), -1, -1), idx, window)).numpy()
    return {d: prob[i] for i, d in enumerate(diffs)}


def _peak_candidates(prob: np.ndarray, smooth: int, min_distance: int):
    """Peaks at the lowest threshold and their heights (filtering by height afterwards is equivalent)."""
    from scipy.signal import find_peaks

    from ddc_sm.placement.peaks import smooth_probability

    s = smooth_probability(prob, smooth)
    peaks, props = find_peaks(s, height=float(THRESHOLD_GRID[0]), distance=min_distance)
    return peaks, props["peak_heights"]


def score_grid(val_probs, songs: list[SongExample], smooth: int, min_distance: int, tol: float):
    """Counts (tp, fp, fn) per difficulty and threshold of the grid: dict diff -> array (len(grid), 3)."""
    from ddc_sm.placement.metrics import match_count

    counts = {d: np.zeros((len(THRESHOLD_GRID), 3), dtype=np.int64) for d in range(len(DIFFICULTIES))}
    for song, probs in zip(songs, val_probs):
        for diff, _frames, times in song.charts:
            peaks, heights = _peak_candidates(probs[diff], smooth, min_distance)
            ptimes = peaks / 100.0
            for i, thr in enumerate(THRESHOLD_GRID):
                sel = ptimes[heights >= thr]
                tp = match_count(sel, times, tol)
                counts[diff][i] += (tp, len(sel) - tp, len(times) - tp)
    return counts


def _f(c) -> np.ndarray:
    c = np.asarray(c, dtype=np.float64)
    denom = 2 * c[..., 0] + c[..., 1] + c[..., 2]
    return np.where(denom > 0, 2 * c[..., 0] / np.maximum(denom, 1), 0.0)


def best_thresholds(counts) -> dict[int, tuple[float, np.ndarray]]:
    out = {}
    for d, c in counts.items():
        if c[0].sum() == 0:
            continue
        f = _f(c)
        i = int(np.argmax(f))
        out[d] = (float(THRESHOLD_GRID[i]), c[i])
    return out


def validate(model, songs, smooth: int = 5, min_distance: int = 3, tol: float = 0.02, window: int = 0):
    """Mean over difficulties of the best-threshold validation F, the per-difficulty results, and the BCE."""
    probs = [song_probabilities(model, s, window) for s in songs]
    best = best_thresholds(score_grid(probs, songs, smooth, min_distance, tol))
    mean_f = float(np.mean([_f(c) for _, c in best.values()])) if best else 0.0
    eps = 1e-7
    total, n = 0.0, 0
    for s, p in zip(songs, probs):
        for diff, frames, _ in s.charts:
            y = np.zeros(len(p[diff]))
            y[frames] = 1.0
            q = np.clip(p[diff], eps, 1 - eps)
            total += float(-(y * np.log(q) + (1 - y) * np.log(1 - q)).sum())
            n += len(y)
    return mean_f, best, total / max(n, 1), probs


def run_train_placement(pack_dirs, out_dir, config_path=None, *, threads: int | None = None) -> int:
    """Train stage 1 on the packs and write ``out_dir/placement.pt``; returns the exit code."""
    import torch

    from ddc_sm.placement.model import PlacementModel
    from ddc_sm.weights import BUNDLE_FILES, save_bundle

    t_start = time.time()
    config = load_config(config_path)
    seed = int(config.get("seed", 0))
    torch.manual_seed(seed)
    threads = int(threads or config.get("threads", 0) or os.environ.get("DDC_SM_THREADS", 0) or 1)  # --threads first
    torch.set_num_threads(threads)

    data = _training_data(pack_dirs, config)
    model_cfg = dict(config.get("model") or {})
    if (config.get("beat_grid") or {}).get("enabled"):
        from ddc_sm.placement.beats import N_FEATURES

        model_cfg["beat_features"] = N_FEATURES
    model = PlacementModel(model_cfg)
    if config.get("init_conv_from"):
        from ddc_sm.placement.ddc_transfer import init_conv_from_ddc

        _log(init_conv_from_ddc(model, config["init_conv_from"]))
    _log(f"model: {model.config.conv_features} conv features/frame, {sum(p.numel() for p in model.parameters())} parameters")
    tol = float(config.get("peaks", {}).get("tolerance", 0.02))
    run = _fit(model, data, config, seed, tol, t_start)
    peaks, report = _choose_peak_picking(model, data.valid, config.get("peaks", {}), tol, run["best_step"])

    total_seconds = time.time() - t_start
    bundle_config = {"model": model.config.to_dict(), "peaks": peaks}
    extra = {
        "command": " ".join(["ddc-sm", "train", "placement"] + [str(p) for p in pack_dirs] + ["--out", str(out_dir)]
                            + (["--config", str(config_path)] if config_path else [])),
        "train_config": config,
        "train_songs": [s.key for s in data.train],
        "valid_songs": [s.key for s in data.valid],
        "skipped_songs": [{"key": k, "why": why} for k, why in data.skipped],
        "train_charts": data.n_charts,
        "sync_shifts_ms": {k: round(v * 1000, 1) for k, v in data.shifts.items()},
        "train_minutes": data.train_frames / 6000.0,
        "steps_run": run["steps_run"],
        "best_step": run["best_step"],
        "history": run["history"],
        **report,
        "train_seconds": run["train_seconds"],
        "total_seconds": total_seconds,
        "threads": threads,
        "torch": torch.__version__,
    }
    path = save_bundle(Path(out_dir) / BUNDLE_FILES["placement"], "placement", bundle_config, run["best_state"],
                       stats=data.stats.to_dict(), extra=extra)
    _log(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB) in {total_seconds / 60:.1f} min")
    return 0


@dataclass
class TrainingData:
    """The training and validation songs as examples, with what was learned about them on the way."""

    train: list
    valid: list
    stats: object  # FeatureStats fitted on the training songs
    shifts: dict[str, float]  # sync correction per training song (seconds)
    skipped: list
    n_charts: dict[str, int]
    train_frames: int


def _training_data(pack_dirs, config) -> TrainingData:
    """Read the packs, split the songs, fit the feature statistics and the sync corrections."""
    from ddc_sm.audio.features import FeatureStats
    from ddc_sm.errors import UserError

    for p in pack_dirs:
        if not Path(p).exists():
            raise UserError(f"pack folder not found: {p}")
    _log(f"reading songs from {', '.join(str(p) for p in pack_dirs)} ...")
    train_pairs, valid_pairs, skipped = collect_songs(pack_dirs, config, config.get("split_file"))
    if not train_pairs:
        raise UserError("no training songs with dance-single charts and readable audio found")
    if not valid_pairs:  # a tiny pack: validate on the training songs rather than not at all
        _log("  no validation songs: thresholds are chosen on the training songs")
        valid_pairs = train_pairs
    stats = FeatureStats.fit([raw for _, raw in train_pairs])
    sync = config.get("sync_correction") or {}
    shifts: dict[str, float] = {}
    if sync.get("enabled"):
        shifts = sync_corrections(train_pairs, int(sync.get("max_lag_frames", 10)), float(sync.get("min_confidence", 2.0)))
        moved = {k: v for k, v in shifts.items() if abs(v) >= 0.005}
        _log(f"  sync correction: {len(moved)} of {len(train_pairs)} training songs moved by ≥5 ms "
             f"(largest {max((abs(v) for v in moved.values()), default=0) * 1000:.0f} ms)")
    beats = bool((config.get("beat_grid") or {}).get("enabled"))
    if beats:
        _log("  beat grids: the human charts' and the estimated ones (cached after the first run) ...")
    train = make_examples(train_pairs, stats, shifts, beats)
    valid = make_examples(valid_pairs, stats, beats=beats)
    n_charts = {d: sum(1 for s in train for c in s.charts if c[0] == i) for i, d in enumerate(DIFFICULTIES)}
    train_frames = sum(s.n_frames for s in train)
    _log(f"  train: {len(train)} songs, {sum(n_charts.values())} charts {n_charts}, {train_frames / 6000:.1f} min audio; "
         f"valid: {len(valid)} songs, {sum(len(s.charts) for s in valid)} charts; skipped {len(skipped)}")
    return TrainingData(train, valid, stats, shifts, skipped, n_charts, train_frames)


def _fit(model, data: TrainingData, config, seed: int, tol: float, t_start: float) -> dict:
    """The training loop (cosine learning rate, validation every ``eval_every`` steps); the model is left with
    the checkpoint of the best mean validation F-score.  Returns the run's record."""
    import torch

    mcfg = model.config
    inv_std = (1.0 / data.stats.std).T.astype(np.float32)  # (C, F)
    sampler = BatchSampler(data.train, config, mcfg.context, inv_std, seed)
    opt = torch.optim.Adam(model.parameters(), lr=float(config["lr"]), weight_decay=float(config.get("weight_decay", 0.0)))
    steps = int(config["steps"])
    lr0, lr1 = float(config["lr"]), float(config.get("lr_final", config["lr"]))
    eval_every = max(1, int(config.get("eval_every", 500)))
    max_seconds = float(config.get("max_minutes", 0) or 0) * 60.0

    best_f, best_state, best_step, history = -1.0, None, 0, []
    running, t_train = [], time.time()
    step = 0
    for step in range(1, steps + 1):
        model.train()
        lr = lr1 + 0.5 * (lr0 - lr1) * (1 + math.cos(math.pi * (step - 1) / max(1, steps - 1)))
        for group in opt.param_groups:
            group["lr"] = lr
        x, chart_song, chart_diff, y, beat = sampler.sample()
        enc = model.encode(torch.from_numpy(x), beat=None if beat is None else torch.from_numpy(beat))
        logits = model.decode(enc[torch.from_numpy(chart_song)], torch.from_numpy(chart_diff))
        loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, torch.from_numpy(y))
        opt.zero_grad()
        loss.backward()
        if config.get("grad_clip"):
            torch.nn.utils.clip_grad_norm_(model.parameters(), float(config["grad_clip"]))
        opt.step()
        running.append(float(loss.detach()))
        out_of_time = max_seconds and time.time() - t_start > max_seconds
        if step % eval_every == 0 or step == steps or out_of_time:
            model.eval()
            mean_f, best, vloss, _ = validate(model, data.valid, tol=tol)
            history.append({"step": step, "train_loss": float(np.mean(running)), "valid_loss": vloss, "valid_f": mean_f})
            mark = ""
            if mean_f > best_f:
                best_f, best_step, mark = mean_f, step, " *"
                best_state = copy.deepcopy(model.state_dict())
            el = time.time() - t_train
            _log(f"step {step}/{steps}  train loss {np.mean(running):.4f}  valid loss {vloss:.4f}  valid F {mean_f:.3f}{mark}"
                 f"  lr {lr:.2e}  {el / 60:.1f} min ({el / step:.2f} s/step)")
            running = []
            if out_of_time:
                _log(f"stopping early: max_minutes={config.get('max_minutes')} reached")
                break
    train_seconds = time.time() - t_train
    if best_state is None:
        best_state = copy.deepcopy(model.state_dict())
    model.load_state_dict(best_state)
    model.eval()
    return {"best_state": best_state, "best_step": best_step, "steps_run": step, "history": history,
            "train_seconds": train_seconds}


def _choose_peak_picking(model, valid, peaks_cfg: dict, tol: float, best_step: int) -> tuple[dict, dict]:
    """Peak-picking settings (window, smoothing, minimum distance, a threshold per difficulty) that maximise the
    validation songs' mean F-score; returns them (the bundle's ``peaks``) and the validation report."""
    from ddc_sm.placement.metrics import FScore

    _log(f"choosing peak picking on validation data (best checkpoint: step {best_step}) ...")
    best_choice = None
    min_gain = float(peaks_cfg.get("min_gain", 0.002))
    for window in peaks_cfg.get("window_options", [0]):
        probs = [song_probabilities(model, s, int(window)) for s in valid]
        for smooth in peaks_cfg.get("smooth_options", [5]):
            for dist in peaks_cfg.get("min_distance_options", [3]):
                best = best_thresholds(score_grid(probs, valid, int(smooth), int(dist), tol))
                mean_f = float(np.mean([_f(c) for _, c in best.values()])) if best else 0.0
                _log(f"  window {window:>4} smooth {smooth} min_distance {dist}: mean F {mean_f:.4f}")
                # a later option must beat the earlier ones clearly (validation holds only a few songs)
                if best_choice is None or mean_f > best_choice[0] + min_gain:
                    best_choice = (mean_f, int(window), int(smooth), int(dist), best)
    mean_f, window, smooth, dist, best = best_choice
    thresholds, val_scores = {}, {}
    pooled = FScore(0, 0, 0)
    for d, (thr, c) in sorted(best.items()):
        fs = FScore(*(int(v) for v in c))
        pooled = pooled + fs
        thresholds[DIFFICULTIES[d]] = thr
        val_scores[DIFFICULTIES[d]] = {**fs.to_dict(), "threshold": thr}
    # difficulties absent from validation: the mean of the others
    default_thr = float(np.mean(list(thresholds.values()))) if thresholds else 0.25
    for d in DIFFICULTIES:
        thresholds.setdefault(d, default_thr)
    _log(f"validation (window {window}, smooth {smooth}, min_distance {dist}, ±{tol * 1000:.0f} ms):")
    for d, s in val_scores.items():
        _log(f"  {d:<10} F {s['f']:.3f}  P {s['precision']:.3f}  R {s['recall']:.3f}  threshold {s['threshold']:.2f}  ({s['tp'] + s['fn']} steps)")
    _log(f"  {'pooled':<10} F {pooled.f:.3f}  mean over difficulties {mean_f:.3f}")
    peaks = {"thresholds": thresholds, "smooth": smooth, "min_distance": dist, "window": window}
    return peaks, {"valid_scores": val_scores, "valid_pooled": pooled.to_dict(), "valid_mean_f": mean_f}
