"""Training the musicality critic (:mod:`ddc_sm.selection.critic`): ``ddc-sm train critic PACK_DIRS... --out DIR``.

Data: the human dance-single charts of the packs' songs, split by song as the other models are
(:func:`ddc_sm.simfiles.splits.training_part`): ``train`` songs train it, ``valid`` songs choose the checkpoint,
``test`` songs are never read.  Each step: ``batch`` crops of ``window`` rows from random train charts, half of
them from a corrupted copy of the whole chart (corrupted before cropping, so holds opened before the crop are
respected) (:func:`~ddc_sm.selection.critic.corrupt`, a random kind, a random share 0.15-0.5 of the taps),
all randomly mirrored or flipped; binary cross-entropy of the crop's mean logit (human 1, corrupted 0).
Every ``eval_every`` steps: the AUC of whole valid charts against one corrupted copy of each per kind
(seeded); the best checkpoint is written to ``OUT/critic.pt`` with the AUC per kind.  Seeded; CPU, minutes.
"""

from __future__ import annotations

import copy
import sys
import time
from pathlib import Path

import numpy as np

from ddc_sm.selection.critic import CORRUPTIONS, N_FEATURES, build_critic, chart_features, corrupt, flipped

DEFAULT_CONFIG = {"seed": 0, "steps": 4000, "batch": 32, "window": 128, "lr": 0.001, "eval_every": 250,
                  "time_warp": 0.0,
                  "model": {"channels": 48, "kernel": 5, "layers": 3, "dropout": 0.1}}


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def collect_charts(pack_dirs, seed: int = 0):
    """(train, valid): lists of (difficulty, rows, times) of the human charts."""
    from ddc_sm.simfiles.dataset import iter_songs
    from ddc_sm.simfiles.splits import load_split, training_part

    split = load_split()
    parts: dict[str, list] = {"train": [], "valid": []}
    for song in iter_songs([str(p) for p in pack_dirs]):
        part = training_part(song.key, split, seed=seed)
        if part not in parts:
            continue
        for c in song.charts:
            if len(c.rows) >= 16:
                parts[part].append((c.difficulty, list(c.rows), np.asarray(c.times)))
    return parts["train"], parts["valid"]


def auc(positive: list[float], negative: list[float]) -> float:
    """The probability that a random positive scores above a random negative (ties count half)."""
    p, n = np.asarray(positive), np.asarray(negative)
    if not len(p) or not len(n):
        return float("nan")
    greater = (p[:, None] > n[None, :]).mean()
    ties = (p[:, None] == n[None, :]).mean()
    return float(greater + 0.5 * ties)


def validation_auc(model, charts, seed: int = 1) -> dict[str, float]:
    """AUC per corruption kind of whole valid charts against one corrupted copy of each."""
    from ddc_sm.selection.critic import Critic

    critic = Critic(model)
    rng = np.random.default_rng(seed)
    human = [critic.logit(r, t, d) for d, r, t in charts]
    out = {}
    for kind in CORRUPTIONS:
        bad = [critic.logit(corrupt(r, kind, rng), t, d) for d, r, t in charts]
        out[kind] = auc(human, bad)
    return out


def warped_times(times: np.ndarray, rng: np.random.Generator, share: float) -> np.ndarray:
    """With probability ``share``, other times for the same rows, the same for a human crop as for a corrupted
    one (so the times tell the critic nothing): half of those evenly spaced at the crop's median gap, half with
    each gap scaled by its own log-normal factor (sigma 0.3); else ``times``."""
    times = np.asarray(times, dtype=np.float64)
    if len(times) < 2 or share <= 0.0 or rng.random() >= share:
        return times
    gaps = np.diff(times)
    if rng.random() < 0.5:
        gaps = np.full_like(gaps, float(np.median(gaps)))
    else:
        gaps = gaps * np.exp(rng.normal(0.0, 0.3, len(gaps)))
    return times[0] + np.concatenate([[0.0], np.cumsum(gaps)])


def run_train_critic(pack_dirs, out_dir, config_path=None, *, threads: int | None = None) -> int:
    import torch

    from ddc_sm import threads as thread_policy
    from ddc_sm.config import overlay_json
    from ddc_sm.errors import UserError
    from ddc_sm.weights import save_bundle

    t0 = time.time()
    config = overlay_json(copy.deepcopy(DEFAULT_CONFIG), config_path)
    thread_policy.configure(threads)
    seed = int(config["seed"])
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    for p in pack_dirs:
        if not Path(p).exists():
            raise UserError(f"pack folder not found: {p}")
    train, valid = collect_charts(pack_dirs, seed)
    if not train:
        raise UserError("no training charts found")
    valid = valid or train
    _log(f"critic: {len(train)} train charts, {len(valid)} valid charts")
    model = build_critic(config["model"])
    opt = torch.optim.Adam(model.parameters(), lr=float(config["lr"]))
    W, B = int(config["window"]), int(config["batch"])
    best, best_state, best_aucs, history = -1.0, None, {}, []
    for step in range(1, int(config["steps"]) + 1):
        model.train()
        xs, ys = [], []
        for b in range(B):
            d, rows, times = train[int(rng.integers(0, len(train)))]
            start = int(rng.integers(0, max(1, len(rows) - W + 1)))
            label = b % 2 == 0
            if not label:  # the whole chart, then the crop: holds opened before the crop stay respected
                rows = corrupt(rows, CORRUPTIONS[int(rng.integers(0, len(CORRUPTIONS)))], rng,
                               float(rng.uniform(0.15, 0.5)))
            r, t = rows[start:start + W], times[start:start + W]
            t = warped_times(t, rng, float(config.get("time_warp", 0.0)))
            r = flipped(r, rng)
            f = np.zeros((W, N_FEATURES), np.float32)
            f[:len(r)] = chart_features(r, t, d)
            xs.append(f.T)
            ys.append((1.0 if label else 0.0, len(r)))
        x = torch.from_numpy(np.stack(xs))
        lengths = torch.tensor([n for _, n in ys])
        mask = (torch.arange(W)[None, :] < lengths[:, None]).float()
        logits = (model(x)[:, 0] * mask).sum(1) / mask.sum(1)
        y = torch.tensor([v for v, _ in ys])
        loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % int(config["eval_every"]) == 0 or step == int(config["steps"]):
            model.eval()
            aucs = validation_auc(model, valid)
            mean = float(np.mean(list(aucs.values())))
            history.append({"step": step, "loss": float(loss.detach()), "valid_auc": aucs})
            mark = ""
            if mean > best:
                best, best_state, best_aucs, mark = mean, copy.deepcopy(model.state_dict()), aucs, " *"
            _log(f"step {step}: loss {float(loss.detach()):.3f}  valid AUC " + ", ".join(f"{k} {v:.3f}" for k, v in aucs.items())
                 + f"  mean {mean:.3f}{mark}  ({(time.time() - t0) / 60:.1f} min)")
    extra = {"command": " ".join(["ddc-sm", "train", "critic"] + [str(p) for p in pack_dirs] + ["--out", str(out_dir)]),
             "train_config": config, "train_charts": len(train), "valid_charts": len(valid), "history": history,
             "valid_auc": best_aucs, "best_valid_mean_auc": best,
             "train_seconds": time.time() - t0}
    path = save_bundle(Path(out_dir) / "critic.pt", "critic", {"model": config["model"]}, best_state or model.state_dict(),
                       extra=extra)
    _log(f"wrote {path} ({path.stat().st_size / 1e3:.0f} kB) in {(time.time() - t0) / 60:.1f} min")
    return 0
