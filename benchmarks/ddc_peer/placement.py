"""The original Dance Dance Convolution step-placement model (Donahue et al., 2017) as a benchmark peer.

Runs DDC's released server model (``model_sp-56000``, TensorFlow V1 checkpoint) without TensorFlow:
the checkpoint is read by :mod:`ddc_sm.placement.ddc_checkpoint` (training code of the package, never on its inference path), the features and the network are
re-implemented here (numpy + torch), following the released DDC inference code:

Features (DDC used essentia 2.1-beta3; re-implemented, essentia is not needed)
    mono audio at 44.1 kHz; frames every 441 samples (10 ms), *centred*: frame ``i`` covers samples
    ``[441 i - n/2, 441 i + n/2)`` with zeros outside the signal, so frame ``i`` is at ``i * 10 ms`` and a
    clip of ``L`` samples has ``L // 441 + 1`` frames; for n in 1024, 2048, 4096: Blackman-Harris 62 dB
    window (symmetric, scaled to sum 2), magnitude spectrum, *power* (magnitude squared) summed by
    essentia's (pre-2.1-beta4) MelBands filterbank: 80 triangles equally spaced on the HTK mel scale
    between 27.5 and 16000 Hz, weights linear in mel, each triangle normalised to unit sum, a bin
    belonging to a triangle only if its frequency lies inside it (narrow low bands get one bin);
    ``log(x + 1e-16)``; stacked to (frames, 80 bands, 3 sizes); z-scored with ``norm.pkl``.
Network (``OnsetNet`` in mode 'gen', no RNN)
    15-frame context (±7, zeros beyond the song *after* normalisation) -> conv 7x3 (time x band),
    10 filters, VALID, ReLU -> max-pool 1x3 over bands -> conv 3x3, 20 filters, VALID, ReLU -> max-pool
    1x3 -> flatten in (time, band, filter) order = 1120 -> concatenated with the difficulty one-hot
    (Beginner, Easy, Medium, Hard, Challenge) -> dense 256 ReLU -> dense 128 ReLU -> dense 1 -> sigmoid.
    No dropout at inference.
Peak picking (the released server's)
    probabilities convolved with a Hamming window of 5 ('same'), local maxima of the smoothed curve
    (``argrelextrema(..., np.greater_equal, order=1)``) kept where the *raw* probability reaches the
    difficulty's threshold (the server's fixed thresholds, chosen by DDC on its validation set).

    python -m benchmarks.ddc_peer.placement --root ../shared/data --split test   # F-score at ±20 ms
"""

from __future__ import annotations

import argparse
import pickle
import sys
import time
from functools import lru_cache
from pathlib import Path

import numpy as np

from ddc_sm.placement.ddc_checkpoint import read_checkpoint

SAMPLE_RATE = 44100
HOP = 441
FRAME_RATE = SAMPLE_RATE / HOP  # 100 frames per second
FFT_SIZES = (1024, 2048, 4096)
N_MELS = 80
FMIN, FMAX = 27.5, 16000.0
LOG_EPS = 1e-16
CONTEXT_RADIUS = 7
DIFFICULTIES = ("Beginner", "Easy", "Medium", "Hard", "Challenge")
# Thresholds of the released DDC server (infer/ddc_server.py), "producing best perchart Fscore on valid set".
SERVER_THRESHOLDS = {
    "Beginner": 0.15325437,
    "Easy": 0.23268291,
    "Medium": 0.29456162,
    "Hard": 0.29084727,
    "Challenge": 0.28875697,
}
CHECKPOINT_NAME = "model_sp-56000"
NORM_NAME = "norm.pkl"
SCOPE = "model_sp/"
EXPECTED_SHAPES = {
    "cnn_0/filters": (7, 3, 3, 10),
    "cnn_0/biases": (10,),
    "cnn_1/filters": (3, 3, 10, 20),
    "cnn_1/biases": (20,),
    "dnn_0/W": (1125, 256),
    "dnn_0/b": (256,),
    "dnn_1/W": (256, 128),
    "dnn_1/b": (128,),
    "logit/W": (128, 1),
    "logit/b": (1,),
}
REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_PEER_DIR = REPO_ROOT.parent / "shared" / "peers" / "ddc"


class PeerUnavailable(FileNotFoundError):
    """The DDC peer material (checkpoint, norm.pkl) is not where it was looked for."""


# --------------------------------------------------------------------------------------------------
# features
# --------------------------------------------------------------------------------------------------
def _hz2mel(hz):
    return 1127.01048 * np.log(np.asarray(hz, dtype=np.float64) / 700.0 + 1.0)


def _mel2hz(mel):
    return 700.0 * (np.exp(np.asarray(mel, dtype=np.float64) / 1127.01048) - 1.0)


@lru_cache(maxsize=None)
def blackmanharris62(n: int) -> np.ndarray:
    """essentia's 'blackmanharris62' window (symmetric), normalised to sum 2 like essentia's Windowing."""
    k = np.arange(n, dtype=np.float64)
    w = 0.44959 - 0.49364 * np.cos(2 * np.pi * k / (n - 1)) + 0.05677 * np.cos(4 * np.pi * k / (n - 1))
    w *= 2.0 / w.sum()
    w.setflags(write=False)
    return w


@lru_cache(maxsize=None)
def mel_filterbank(n_fft: int, n_mels: int = N_MELS, fmin: float = FMIN, fmax: float = FMAX,
                   sr: float = SAMPLE_RATE) -> np.ndarray:
    """(n_fft//2+1, n_mels) weights of essentia's MelBands as DDC used it (see module docstring)."""
    n_bins = n_fft // 2 + 1
    lo, hi = _hz2mel(fmin), _hz2mel(fmax)
    edges = _mel2hz(lo + (hi - lo) / (n_mels + 1) * np.arange(n_mels + 2))
    bin_hz = (sr / 2.0) / (n_bins - 1)
    w = np.zeros((n_bins, n_mels), dtype=np.float64)
    for i in range(n_mels):
        f0, f1, f2 = edges[i], edges[i + 1], edges[i + 2]
        m0, m1, m2 = _hz2mel([f0, f1, f2])
        j = np.arange(int(f0 / bin_hz + 0.5), int(f2 / bin_hz + 0.5))
        freq = j * bin_hz
        mel = _hz2mel(freq)
        up = (freq >= f0) & (freq < f1)
        down = (freq >= f1) & (freq < f2)
        w[j[up], i] = (mel[up] - m0) / (m1 - m0)
        w[j[down], i] = (m2 - mel[down]) / (m2 - m1)
        total = w[:, i].sum()
        if total > 0:
            w[:, i] /= total
    w = w.astype(np.float32)
    w.setflags(write=False)
    return w


def n_frames(n_samples: int) -> int:
    return n_samples // HOP + 1


def log_mel_features(y: np.ndarray, chunk: int = 2048) -> np.ndarray:
    """DDC's raw features of mono 44.1 kHz audio: float32 (frames, 80 bands, 3 FFT sizes)."""
    from scipy.fft import rfft

    y = np.asarray(y, dtype=np.float32).ravel()
    total = n_frames(len(y))
    out = np.empty((total, N_MELS, len(FFT_SIZES)), dtype=np.float32)
    for c, n_fft in enumerate(FFT_SIZES):
        half = n_fft // 2
        # frame i = padded[i*HOP : i*HOP + n_fft], centred on sample i*HOP
        padded = np.zeros(half + (total - 1) * HOP + n_fft, dtype=np.float32)
        padded[half:half + len(y)] = y
        frames = np.lib.stride_tricks.sliding_window_view(padded, n_fft)[::HOP][:total]
        window = blackmanharris62(n_fft).astype(np.float32)
        fb = mel_filterbank(n_fft)
        for start in range(0, total, chunk):
            spec = rfft(frames[start:start + chunk] * window, axis=-1, workers=1)
            power = spec.real.astype(np.float32) ** 2 + spec.imag.astype(np.float32) ** 2
            out[start:start + chunk, :, c] = np.log(power @ fb + LOG_EPS)
    return out


def load_audio_44k(path) -> np.ndarray:
    """Mono float32 samples at 44.1 kHz (ddc_sm's decoder; DDC used essentia's MonoLoader)."""
    from ddc_sm.audio.decode import load_audio

    return load_audio(path, SAMPLE_RATE, check=False).samples


# --------------------------------------------------------------------------------------------------
# peer files
# --------------------------------------------------------------------------------------------------
class _NumpyOnlyUnpickler(pickle.Unpickler):
    """norm.pkl is a Python 2 pickle of two numpy arrays; refuse anything else."""

    _ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
                ("numpy", "ndarray"), ("numpy", "dtype")}

    def find_class(self, module, name):
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(f"norm.pkl: refusing to load {module}.{name}")
        return super().find_class(module, name)


def load_norm(path) -> tuple[np.ndarray, np.ndarray]:
    with open(path, "rb") as f:
        mean, std = _NumpyOnlyUnpickler(f, encoding="latin1").load()
    mean, std = np.asarray(mean, np.float32), np.asarray(std, np.float32)
    if mean.shape != (N_MELS, len(FFT_SIZES)) or std.shape != mean.shape:
        raise ValueError(f"{path}: expected mean/std of shape (80, 3), got {mean.shape} and {std.shape}")
    return mean, std


def find_peer_dir(peer_dir=None) -> Path:
    """The DDC peer folder, or :class:`PeerUnavailable` with a message saying what is missing."""
    peer_dir = Path(peer_dir) if peer_dir is not None else DEFAULT_PEER_DIR
    missing = [n for n in (CHECKPOINT_NAME, NORM_NAME) if not (peer_dir / n).is_file()]
    if missing:
        raise PeerUnavailable(
            f"DDC peer not available: {', '.join(missing)} not found in {peer_dir} "
            "(peer material is read from ../shared/peers/ddc at run time and never shipped)"
        )
    return peer_dir


def difficulty_onehot_index(difficulty) -> int:
    if isinstance(difficulty, (int, np.integer)):
        if not 0 <= int(difficulty) < len(DIFFICULTIES):
            raise ValueError(f"difficulty index must be 0..4, got {difficulty}")
        return int(difficulty)
    for i, name in enumerate(DIFFICULTIES):
        if str(difficulty).strip().lower() == name.lower():
            return i
    raise ValueError(f"unknown difficulty {difficulty!r} (use one of {', '.join(DIFFICULTIES)})")


def pick_peaks(probs: np.ndarray, threshold: float) -> np.ndarray:
    """DDC's peak picking: frame indices of maxima of the Hamming(5)-smoothed curve whose raw
    probability reaches ``threshold``."""
    from scipy.signal import argrelextrema

    probs = np.asarray(probs, dtype=np.float64)
    if probs.size == 0:
        return np.zeros(0, dtype=np.int64)
    smoothed = np.convolve(probs, np.hamming(5), "same")
    maxima = argrelextrema(smoothed, np.greater_equal, order=1)[0]
    return maxima[probs[maxima] >= threshold].astype(np.int64)


# --------------------------------------------------------------------------------------------------
# the model
# --------------------------------------------------------------------------------------------------
class DDCPeerPlacer:
    """DDC's released step-placement CNN. ``probabilities`` gives one step probability per 10 ms frame
    (frame i at i * 10 ms); ``step_times`` the picked step times in seconds."""

    def __init__(self, weights: dict[str, np.ndarray], mean: np.ndarray, std: np.ndarray,
                 thresholds: dict[str, float] | None = None, peer_dir: Path | None = None):
        import torch

        for key, shape in EXPECTED_SHAPES.items():
            got = weights.get(key)
            if got is None or tuple(got.shape) != shape:
                raise ValueError(f"DDC checkpoint: {SCOPE}{key} should have shape {shape}, "
                                 f"got {None if got is None else got.shape}")
        t = {k: torch.from_numpy(np.ascontiguousarray(v, dtype=np.float32)) for k, v in weights.items()
             if k in EXPECTED_SHAPES}
        # TensorFlow conv kernels are (height=time, width=band, in, out); torch wants (out, in, h, w)
        self._conv0_w = t["cnn_0/filters"].permute(3, 2, 0, 1).contiguous()
        self._conv1_w = t["cnn_1/filters"].permute(3, 2, 0, 1).contiguous()
        self._conv0_b, self._conv1_b = t["cnn_0/biases"], t["cnn_1/biases"]
        self._dnn = [(t["dnn_0/W"], t["dnn_0/b"]), (t["dnn_1/W"], t["dnn_1/b"])]
        self._logit = (t["logit/W"], t["logit/b"])
        self.weights = {k: np.asarray(v) for k, v in weights.items()}
        self.mean = np.asarray(mean, np.float32)
        self.std = np.asarray(std, np.float32)
        self.thresholds = dict(SERVER_THRESHOLDS if thresholds is None else thresholds)
        self.peer_dir = peer_dir

    @classmethod
    def load(cls, peer_dir=None, thresholds: dict[str, float] | None = None) -> "DDCPeerPlacer":
        """Load from ``peer_dir`` (default ``<repo>/../shared/peers/ddc``); :class:`PeerUnavailable`
        (a FileNotFoundError) when the checkpoint or norm.pkl is not there."""
        peer_dir = find_peer_dir(peer_dir)
        raw = read_checkpoint(peer_dir / CHECKPOINT_NAME)
        weights = {k[len(SCOPE):]: v for k, v in raw.items() if k.startswith(SCOPE)}
        mean, std = load_norm(peer_dir / NORM_NAME)
        return cls(weights, mean, std, thresholds, peer_dir)

    # -- features -------------------------------------------------------------------------------
    def features(self, audio) -> np.ndarray:
        """Normalised DDC features (frames, 80, 3) of a path or of mono 44.1 kHz samples."""
        if isinstance(audio, np.ndarray):
            y = audio
        else:
            y = load_audio_44k(audio)
        return ((log_mel_features(y) - self.mean) / self.std).astype(np.float32)

    # -- forward ---------------------------------------------------------------------------------
    def probabilities_from_features(self, feats: np.ndarray, difficulty, batch: int = 4096) -> np.ndarray:
        """Step probability per frame from *normalised* features (frames, 80, 3).

        Equivalent to running the network on each frame's 15-frame context; the two VALID convolutions
        are computed once over the whole zero-padded song, then the per-frame 7x8x20 windows are cut.
        """
        import torch
        import torch.nn.functional as F

        feats = np.asarray(feats, dtype=np.float32)
        if feats.ndim != 3 or feats.shape[1:] != (N_MELS, len(FFT_SIZES)):
            raise ValueError(f"expected features of shape (frames, 80, 3), got {feats.shape}")
        total = feats.shape[0]
        if total == 0:
            return np.zeros(0, dtype=np.float32)
        onehot = torch.zeros(len(DIFFICULTIES))
        onehot[difficulty_onehot_index(difficulty)] = 1.0
        out = np.empty(total, dtype=np.float32)
        with torch.inference_mode():
            # (frames + 14, 80, 3) -> NCHW (1, 3, time, band)
            x = torch.from_numpy(np.pad(feats, ((CONTEXT_RADIUS, CONTEXT_RADIUS), (0, 0), (0, 0))))
            x = x.permute(2, 0, 1).unsqueeze(0)
            for start in range(0, total, batch):
                stop = min(total, start + batch)
                # padded rows start .. stop + 14 hold the contexts of frames start .. stop-1
                h = x[:, :, start:stop + 2 * CONTEXT_RADIUS]
                h = F.max_pool2d(F.relu(F.conv2d(h, self._conv0_w, self._conv0_b)), (1, 3))
                h = F.max_pool2d(F.relu(F.conv2d(h, self._conv1_w, self._conv1_b)), (1, 3))
                # h: (1, 20, n + 6, 8); frame k's features are time rows k .. k+6, flattened (time, band, filter)
                h = h[0].permute(1, 2, 0)  # (n + 6, 8, 20)
                win = h.unfold(0, 7, 1).permute(0, 3, 1, 2).reshape(stop - start, -1)  # (n, 7*8*20)
                z = torch.cat([win, onehot.expand(stop - start, -1)], dim=1)
                for w, b in self._dnn:
                    z = F.relu(z @ w + b)
                logits = z @ self._logit[0] + self._logit[1]
                out[start:stop] = torch.sigmoid(logits[:, 0]).numpy()
        return out

    def probabilities(self, audio, difficulty) -> np.ndarray:
        """(T,) step probabilities, frame i at i * 10 ms; ``audio`` is a path or mono 44.1 kHz samples."""
        return self.probabilities_from_features(self.features(audio), difficulty)

    def threshold(self, difficulty) -> float:
        return float(self.thresholds[DIFFICULTIES[difficulty_onehot_index(difficulty)]])

    def step_times_from_probabilities(self, probs: np.ndarray, difficulty) -> np.ndarray:
        return pick_peaks(probs, self.threshold(difficulty)) / FRAME_RATE

    def step_times(self, audio, difficulty) -> np.ndarray:
        """Step times in seconds (DDC's peak picking and per-difficulty threshold)."""
        return self.step_times_from_probabilities(self.probabilities(audio, difficulty), difficulty)


# --------------------------------------------------------------------------------------------------
# quick measurement
# --------------------------------------------------------------------------------------------------
def match_count(pred: np.ndarray, true: np.ndarray, tolerance: float = 0.02) -> int:
    """Size of a maximum one-to-one matching within ``tolerance`` seconds (ddc_sm's own matching)."""
    from ddc_sm.placement.metrics import match_count as ddc_sm_match_count

    return ddc_sm_match_count(pred, true, tol=tolerance)


def prf(hits: int, n_pred: int, n_true: int) -> tuple[float, float, float]:
    """Precision, recall, F from match counts (ddc_sm's FScore)."""
    from ddc_sm.placement.metrics import FScore

    score = FScore(hits, n_pred - hits, n_true - hits)
    return score.precision, score.recall, score.f


def evaluate(root, split: str = "all", tolerance: float = 0.02, peer_dir=None, thresholds=None,
             out=sys.stdout, limit: int | None = None) -> dict:
    """Per-chart and pooled placement P/R/F of the DDC peer at ±``tolerance`` s on ``root``'s songs
    (``split``: 'train', 'valid', 'test' of ddc_sm's split file, or 'all')."""
    from ddc_sm.simfiles.dataset import iter_songs
    from ddc_sm.simfiles.splits import load_split

    placer = DDCPeerPlacer.load(peer_dir, thresholds)
    keys = None if split == "all" else set(load_split()[split])
    rows, pooled = [], [0, 0, 0]
    per_diff: dict[str, list[int]] = {}
    songs = 0
    print(f"{'song':50s} {'difficulty':10s} {'human':>6s} {'ddc':>6s} {'P':>6s} {'R':>6s} {'F':>6s}", file=out)
    for song in iter_songs(root):
        if keys is not None and song.key not in keys:
            continue
        if song.audio_path is None or not song.charts:
            continue
        if limit is not None and songs >= limit:
            break
        songs += 1
        feats = placer.features(song.audio_path)
        for chart in song.charts:
            probs = placer.probabilities_from_features(feats, chart.difficulty)
            pred = placer.step_times_from_probabilities(probs, chart.difficulty)
            hits = match_count(pred, chart.times, tolerance)
            p, r, f = prf(hits, len(pred), len(chart.times))
            rows.append({"song": song.key, "difficulty": chart.difficulty, "n_true": len(chart.times),
                         "n_pred": len(pred), "hits": hits, "precision": p, "recall": r, "f": f})
            for acc in (pooled, per_diff.setdefault(chart.difficulty, [0, 0, 0])):
                acc[0] += hits
                acc[1] += len(pred)
                acc[2] += len(chart.times)
            print(f"{song.key[:50]:50s} {chart.difficulty:10s} {len(chart.times):6d} {len(pred):6d} "
                  f"{p:6.3f} {r:6.3f} {f:6.3f}", file=out, flush=True)
    summary = {"split": split, "songs": songs, "charts": len(rows), "tolerance_s": tolerance,
               "pooled": dict(zip(("precision", "recall", "f"), prf(*pooled))),
               "mean_chart_f": float(np.mean([r["f"] for r in rows])) if rows else 0.0,
               "per_difficulty": {d: dict(zip(("precision", "recall", "f"), prf(*v)), charts=sum(
                   1 for r in rows if r["difficulty"] == d)) for d, v in per_diff.items()},
               "charts_detail": rows}
    print(f"\nDDC peer, split={split}: {songs} songs, {len(rows)} charts, ±{tolerance * 1000:.0f} ms", file=out)
    for d in DIFFICULTIES:
        if d in summary["per_difficulty"]:
            s = summary["per_difficulty"][d]
            print(f"  {d:10s} charts={s['charts']:3d}  P={s['precision']:.3f} R={s['recall']:.3f} "
                  f"F={s['f']:.3f}", file=out)
    s = summary["pooled"]
    print(f"  pooled     charts={len(rows):3d}  P={s['precision']:.3f} R={s['recall']:.3f} F={s['f']:.3f}"
          f"   mean per-chart F={summary['mean_chart_f']:.3f}", file=out)
    return summary


def tune_thresholds(root, split: str = "valid", tolerance: float = 0.02, peer_dir=None,
                    grid=np.round(np.arange(0.02, 0.81, 0.01), 2)) -> dict[str, float]:
    """Per-difficulty thresholds maximising the pooled F-score on ``split`` of ddc_sm's split file
    (an alternative to DDC's fixed server thresholds, which were tuned on DDC's own validation set)."""
    from ddc_sm.simfiles.dataset import iter_songs
    from ddc_sm.simfiles.splits import load_split

    placer = DDCPeerPlacer.load(peer_dir)
    keys = set(load_split()[split])
    counts = {d: np.zeros((len(grid), 3)) for d in DIFFICULTIES}
    for song in iter_songs(root):
        if song.key not in keys or song.audio_path is None or not song.charts:
            continue
        feats = placer.features(song.audio_path)
        for chart in song.charts:
            probs = placer.probabilities_from_features(feats, chart.difficulty)
            for g, thr in enumerate(grid):
                pred = pick_peaks(probs, thr) / FRAME_RATE
                counts[chart.difficulty][g] += (match_count(pred, chart.times, tolerance), len(pred),
                                                len(chart.times))
    best = {}
    for d in DIFFICULTIES:
        f = [prf(*map(int, c))[2] for c in counts[d]]
        best[d] = float(grid[int(np.argmax(f))]) if counts[d][0, 2] else SERVER_THRESHOLDS[d]
    return best


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Placement F-score of the original DDC model (peer benchmark).")
    ap.add_argument("--root", default=str(REPO_ROOT.parent / "shared" / "data"), help="pack root")
    ap.add_argument("--split", default="test", choices=("train", "valid", "test", "all"))
    ap.add_argument("--tolerance", type=float, default=0.02, help="seconds (default 0.02)")
    ap.add_argument("--peer-dir", default=None, help="default <repo>/../shared/peers/ddc")
    ap.add_argument("--limit", type=int, default=None, help="at most this many songs")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    ap.add_argument("--json", default=None, help="also write the summary as JSON here")
    ap.add_argument("--tune-on", default=None, choices=("train", "valid"),
                    help="choose per-difficulty thresholds on this split (max pooled F) instead of DDC's "
                         "server thresholds")
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    try:
        t0 = time.time()
        thresholds = None
        if args.tune_on:
            thresholds = tune_thresholds(args.root, args.tune_on, args.tolerance, args.peer_dir)
            print(f"thresholds tuned on {args.tune_on}: "
                  + ", ".join(f"{d} {t:.2f}" for d, t in thresholds.items()))
        summary = evaluate(args.root, args.split, args.tolerance, args.peer_dir, thresholds, limit=args.limit)
        summary["thresholds"] = thresholds or dict(SERVER_THRESHOLDS)
    except PeerUnavailable as exc:
        print(f"skipped: {exc}", file=sys.stderr)
        return 0
    print(f"({time.time() - t0:.0f} s)")
    if args.json:
        import json

        Path(args.json).write_text(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
