"""``ddc-sm train selection``: train the stage-2 step selection transformer on simfile packs.

Data: every ``dance-single`` chart (Beginner..Challenge) of every song under the pack folders.  Split by
song: songs listed in ``ddc_sm/simfiles/split_shared_data.json`` go to their part (``train`` trains, ``valid``
chooses the epoch, ``test`` is never read); other songs go to ``valid`` when a seeded hash of their key falls
under ``valid_share``, else to ``train``.

Training: random windows of ``window`` steps from the training charts (the model's attention is local, so
windows and whole charts compute the same thing).  Each chart, each epoch, gets a random arrow permutation
(identity, mirror, left-right flip, up-down flip), Gaussian jitter of its step times (``time_jitter_ms``,
clipped to ``time_jitter_max_ms``; the gaps and the sampled frames follow) and a constant log-mel shift
(uniform in +-``gain_jitter`` nats, i.e. a gain change).  AdamW with warm-up and cosine decay; after every
epoch the teacher-forced validation NLL is measured and the best epoch is kept.  Training stops after
``epochs`` epochs, ``patience`` epochs without improvement, or ``max_minutes``.

The bundle (``OUT/selection.pt``) stores the config, the vocabulary, the FeatureStats of the training songs
and a summary (songs of each part, command, validation scores, trivial baselines).
"""

from __future__ import annotations

import copy
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

DEFAULT_CONFIG = Path(__file__).resolve().parent / "train.json"


def load_config(path: str | os.PathLike | None = None) -> dict:
    """The training config: the JSON object in ``path`` laid over the shipped ``selection/train.json``."""
    from ddc_sm.config import overlay_json

    return overlay_json(overlay_json({}, DEFAULT_CONFIG), path)


# ------------------------------------------------------------------------------------------------- data
@dataclass
class SongFeatures:
    """Normalised selection features of one song, kept only around the frames that steps can sample."""

    feats: np.ndarray  # (bands, K) float32, normalised
    frame_map: np.ndarray  # (T,) int32: frame -> column of feats (-1 where not kept)

    def gather(self, frames: np.ndarray, offsets) -> np.ndarray:
        t = len(self.frame_map)
        idx = np.clip(frames[:, None] + np.asarray(offsets)[None, :], 0, t - 1)
        cols = self.frame_map[idx]
        if (cols < 0).any():
            raise RuntimeError("sampled a frame that was not kept")
        sel = self.feats[:, cols]  # (bands, N, K)
        return np.ascontiguousarray(sel.transpose(1, 2, 0).reshape(len(frames), -1))


@dataclass
class ChartSample:
    song: int  # index into the feature list
    key: str
    difficulty: int
    times: np.ndarray
    tokens: dict  # permutation name -> (tokens int64 (N,), holds int64 (N,))


def assign_parts(keys: list[str], valid_share: float, seed: int) -> dict[str, str]:
    """Song key -> 'train' / 'valid' / 'test' (shared split first, else a seeded hash)."""
    from ddc_sm.simfiles.splits import load_split, training_part

    split = load_split()
    return {key: training_part(key, split, valid_share, seed) for key in keys}


def compact_features(norm: np.ndarray, times_list: list[np.ndarray], margin: int) -> SongFeatures:
    from ddc_sm.selection.inference import step_frames

    t = norm.shape[1]
    keep = np.zeros(t, dtype=bool)
    for times in times_list:
        f = np.clip(step_frames(times), 0, t - 1)
        for d in range(-margin, margin + 1):
            keep[np.clip(f + d, 0, t - 1)] = True
    cols = np.flatnonzero(keep)
    frame_map = np.full(t, -1, dtype=np.int32)
    frame_map[cols] = np.arange(len(cols), dtype=np.int32)
    return SongFeatures(np.ascontiguousarray(norm[:, cols], dtype=np.float32), frame_map)


def encode_chart(vocab, rows: list[str], permutations: list[str]) -> dict:
    from ddc_sm.selection.vocab import hold_states, permute_rows

    out = {}
    for name in permutations:
        mapped = vocab.map_rows(permute_rows(rows, name))
        out[name] = (np.array([vocab.id(r) for r in mapped], dtype=np.int64),
                     np.array(hold_states(mapped), dtype=np.int64))
    return out


# -------------------------------------------------------------------------------------------- batching
def window_inputs(sample: ChartSample, feats: SongFeatures, config: dict, rng: np.random.Generator | None,
                  inv_std: np.ndarray, start: int = 0, end: int | None = None):
    """Encoder inputs, decoder inputs and targets of steps ``start:end`` of one chart (augmented when ``rng``
    is given): ``(audio, gaps, tokens_in, holds, targets)``."""
    from ddc_sm.selection.inference import gap_features, step_frames
    from ddc_sm.selection.vocab import START

    tc = config["train"]
    offsets = config["frame_offsets"]
    n = len(sample.times)
    end = n if end is None else end
    lo, hi = max(start - 1, 0), min(end + 1, n)  # one neighbour each side for the gaps
    times = sample.times[lo:hi]
    perm = "identity"
    if rng is not None:
        sigma = tc["time_jitter_ms"] / 1000.0
        cap = tc["time_jitter_max_ms"] / 1000.0
        if sigma > 0:
            times = times + np.clip(rng.normal(0.0, sigma, len(times)), -cap, cap)
            times = np.maximum.accumulate(np.maximum(times, 0.0))
        perm = tc["permutations"][int(rng.integers(len(tc["permutations"])))]
    # gap_features flags its first/last row: they are the chart's own ends or the dropped neighbours
    gaps = gap_features(times)[start - lo:start - lo + end - start]
    times = times[start - lo:start - lo + end - start]
    audio = feats.gather(step_frames(times), offsets)
    if rng is not None and tc["gain_jitter"] > 0:
        shift = rng.uniform(-tc["gain_jitter"], tc["gain_jitter"])
        audio += np.tile(shift * inv_std, len(offsets)).astype(np.float32)[None, :]
    tokens, holds = sample.tokens[perm]
    tokens_in = np.concatenate([[START], tokens[:-1]])
    return audio, gaps, tokens_in[start:end], holds[start:end], tokens[start:end]


def collate(items: list[tuple], difficulties: list[int]):
    import torch

    from ddc_sm.selection.vocab import PAD

    b = len(items)
    t = max(len(it[4]) for it in items)
    dim = items[0][0].shape[1]
    audio = np.zeros((b, t, dim), dtype=np.float32)
    gaps = np.zeros((b, t, items[0][1].shape[1]), dtype=np.float32)
    tin = np.full((b, t), PAD, dtype=np.int64)
    holds = np.zeros((b, t), dtype=np.int64)
    target = np.full((b, t), PAD, dtype=np.int64)
    mask = np.zeros((b, t), dtype=bool)
    for i, (a, g, ti, h, tg) in enumerate(items):
        n = len(tg)
        audio[i, :n], gaps[i, :n], tin[i, :n], holds[i, :n], target[i, :n], mask[i, :n] = a, g, ti, h, tg, True
    return (torch.from_numpy(audio), torch.from_numpy(gaps), torch.tensor(difficulties, dtype=torch.long),
            torch.from_numpy(tin), torch.from_numpy(holds), torch.from_numpy(target), torch.from_numpy(mask))


def epoch_windows(charts: list[ChartSample], window: int, rng: np.random.Generator) -> list[tuple[int, int, int]]:
    """Shuffled (chart index, start, end) windows covering every chart once, with a random phase per chart."""
    out = []
    for ci, ch in enumerate(charts):
        n = len(ch.times)
        phase = int(rng.integers(window)) if n > window else 0
        bounds = sorted({0, n, *range(phase, n, window)})
        out += [(ci, s, e) for s, e in zip(bounds[:-1], bounds[1:])]
    order = rng.permutation(len(out))
    return [out[i] for i in order]


# ----------------------------------------------------------------------------------------- evaluation
def evaluate(model, charts: list[ChartSample], feats: list[SongFeatures], config: dict, inv_std) -> dict:
    """Teacher-forced accuracy and NLL (specials excluded from the softmax) over whole charts."""
    import torch

    from ddc_sm.selection.vocab import N_SPECIALS

    model.eval()
    n = correct = 0
    nll = 0.0
    with torch.no_grad():
        for ch in charts:
            item = window_inputs(ch, feats[ch.song], config, None, inv_std)
            audio, gaps, diff, tin, holds, target, mask = collate([item], [ch.difficulty])
            logits = model(audio, gaps, diff, tin, holds)[0]
            logits[:, :N_SPECIALS] = float("-inf")
            logp = torch.log_softmax(logits, dim=-1)
            tg = target[0]
            nll += float(-logp.gather(1, tg[:, None]).sum())
            correct += int((logits.argmax(-1) == tg).sum())
            n += len(tg)
    model.train()
    return {"n": n, "accuracy": correct / max(n, 1), "nll": nll / max(n, 1), "perplexity": math.exp(nll / max(n, 1))}


def baselines(train: list[ChartSample], valid: list[ChartSample], vocab_size: int, alpha: float = 0.1) -> dict:
    """Most-frequent-token and add-alpha bigram (previous token -> token) trained on the training charts."""
    from ddc_sm.selection.vocab import N_SPECIALS, START

    uni = np.zeros(vocab_size)
    big = np.zeros((vocab_size, vocab_size))
    for ch in train:
        tok = ch.tokens["identity"][0]
        np.add.at(uni, tok, 1)
        prev = np.concatenate([[START], tok[:-1]])
        np.add.at(big, (prev, tok), 1)
    uni[:N_SPECIALS] = 0
    big[:, :N_SPECIALS] = 0
    p_uni = uni / uni.sum()
    rows_mask = np.zeros(vocab_size, dtype=bool)
    rows_mask[N_SPECIALS:] = True
    p_big = (big + alpha * rows_mask) / (big + alpha * rows_mask).sum(axis=1, keepdims=True)
    top = int(np.argmax(uni))
    n = c_uni = c_big = 0
    nll_uni = nll_big = 0.0
    for ch in valid:
        tok = ch.tokens["identity"][0]
        prev = np.concatenate([[START], tok[:-1]])
        n += len(tok)
        c_uni += int((tok == top).sum())
        nll_uni += float(-np.log(np.maximum(p_uni[tok], 1e-12)).sum())
        c_big += int((np.argmax(p_big[prev], axis=1) == tok).sum())
        nll_big += float(-np.log(p_big[prev, tok]).sum())
    n = max(n, 1)
    return {"most_frequent": {"accuracy": c_uni / n, "perplexity": math.exp(nll_uni / n)},
            "bigram": {"accuracy": c_big / n, "perplexity": math.exp(nll_big / n)}}


# ---------------------------------------------------------------------------------------------- train
def train_model(train: list[ChartSample], valid: list[ChartSample], feats: list[SongFeatures], vocab,
                config: dict, inv_std: np.ndarray, log: Callable[[str], None] = print):
    """Train and return ``(best model, history list, best epoch record)``."""
    import torch

    from ddc_sm.selection.inference import build_model
    from ddc_sm.selection.vocab import PAD

    tc = config["train"]
    seed = int(config["seed"])
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    model = build_model(config, len(vocab))
    model.train()
    n_params = sum(p.numel() for p in model.parameters())
    # relative-position bias tables need large values to attend to exact offsets: they learn faster
    groups: dict[str, list] = {"decay": [], "no_decay": [], "table": []}
    for name, p in model.named_parameters():
        if "table" in name:
            groups["table"].append(p)
        elif p.dim() > 1 and "emb" not in name:
            groups["decay"].append(p)
        else:
            groups["no_decay"].append(p)
    table_lr = tc.get("table_lr_scale", 1.0)
    opt = torch.optim.AdamW([{"params": groups["decay"], "weight_decay": tc["weight_decay"]},
                             {"params": groups["no_decay"], "weight_decay": 0.0},
                             {"params": groups["table"], "weight_decay": 0.0, "lr": tc["lr"] * table_lr}],
                            lr=tc["lr"])
    n_train_steps = sum(len(c.times) for c in train)
    batches_per_epoch = max(1, math.ceil(n_train_steps / tc["window"] / tc["batch_size"]))
    total = batches_per_epoch * tc["epochs"]
    warm = max(1, tc["warmup_steps"])

    def lr_at(step):
        if step < warm:
            return (step + 1) / warm
        return 0.5 * (1 + math.cos(math.pi * min(1.0, (step - warm) / max(1, total - warm)))) * 0.95 + 0.05

    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_at)
    log(f"model: {n_params:,} parameters; {len(train)} training charts ({n_train_steps:,} steps), "
        f"{len(valid)} validation charts; ~{batches_per_epoch} batches/epoch")
    start = time.time()
    best, best_state, history = None, None, []
    bad_epochs = 0
    step = 0
    for epoch in range(1, tc["epochs"] + 1):
        windows = epoch_windows(train, tc["window"], rng)
        total_loss, total_n = 0.0, 0
        t_epoch = time.time()
        for bi in range(0, len(windows), tc["batch_size"]):
            items, diffs = [], []
            for ci, s, e in windows[bi:bi + tc["batch_size"]]:
                items.append(window_inputs(train[ci], feats[train[ci].song], config, rng, inv_std, s, e))
                diffs.append(train[ci].difficulty)
            audio, gaps, diff, tin, holds, target, mask = collate(items, diffs)
            logits = model(audio, gaps, diff, tin, holds, mask)
            loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1),
                                                     ignore_index=PAD)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), tc["grad_clip"])
            opt.step()
            sched.step()
            step += 1
            k = int(mask.sum())
            total_loss += float(loss.detach()) * k
            total_n += k
        val = evaluate(model, valid, feats, config, inv_std) if valid else {"nll": total_loss / max(total_n, 1)}
        record = {"epoch": epoch, "train_nll": total_loss / max(total_n, 1), **{f"valid_{k}": v for k, v in val.items()},
                  "minutes": (time.time() - start) / 60}
        history.append(record)
        improved = best is None or val["nll"] < best["valid_nll"] - 1e-4
        if improved:
            best, best_state, bad_epochs = record, copy.deepcopy(model.state_dict()), 0
        else:
            bad_epochs += 1
        log(f"epoch {epoch:2d}  train nll {record['train_nll']:.3f}  "
            + (f"valid nll {val['nll']:.3f} acc {val['accuracy']:.3f} ppl {val['perplexity']:.2f}  " if valid else "")
            + f"{time.time() - t_epoch:.0f}s{'  *' if improved else ''}")
        elapsed_min = (time.time() - start) / 60
        if bad_epochs >= tc["patience"]:
            log(f"no improvement for {bad_epochs} epochs: stopping")
            break
        if elapsed_min + (time.time() - t_epoch) / 60 > tc["max_minutes"]:
            log(f"time budget of {tc['max_minutes']} minutes reached: stopping")
            break
    model.load_state_dict(best_state)
    model.eval()
    return model, history, best


def run_train_selection(pack_dirs, out_dir, config_path=None, *, log: Callable[[str], None] | None = None,
                        threads: int | None = None) -> int:
    """Train on the packs and write ``out_dir/selection.pt``; returns the process exit code."""
    import torch

    from ddc_sm.weights import BUNDLE_FILES, save_bundle

    log = log or (lambda m: print(m, flush=True))
    t0 = time.time()
    config = load_config(config_path)
    tc = config["train"]
    seed = int(config["seed"])
    if threads:  # --threads first, else the config's
        tc["threads"] = int(threads)
    torch.set_num_threads(int(tc.get("threads", 1)))
    pack_dirs = [Path(p) for p in pack_dirs]
    train_songs, valid_songs, vocab, stats, feats, train, valid = _training_samples(pack_dirs, config, log)
    inv_std = (1.0 / stats.std).astype(np.float32)
    log(f"features ready ({time.time() - t0:.0f}s)")

    base = baselines(train, valid, len(vocab)) if valid else {}
    for name, b in base.items():
        log(f"baseline {name}: valid accuracy {b['accuracy']:.3f}, perplexity {b['perplexity']:.2f}")

    model, history, best = train_model(train, valid, feats, vocab, config, inv_std, log)
    minutes = (time.time() - t0) / 60
    command = " ".join(["ddc-sm", "train", "selection"] + [str(p) for p in pack_dirs] + ["--out", str(out_dir)]
                       + (["--config", str(config_path)] if config_path else []))
    summary = {
        "command": command,
        "pack_dirs": [str(p) for p in pack_dirs],
        "n_charts": {"train": len(train), "valid": len(valid)},
        "n_steps": {"train": int(sum(len(c.times) for c in train)), "valid": int(sum(len(c.times) for c in valid))},
        "best": best, "history": history, "baselines": base,
        "minutes": round(minutes, 1), "threads": int(tc.get("threads", 1)), "torch": torch.__version__, "seed": seed,
    }
    extra = {"vocab": vocab.to_dict(), "command": command,
             "train_songs": sorted(s.key for s in train_songs), "valid_songs": sorted(s.key for s in valid_songs),
             "summary": summary}
    out_path = Path(out_dir) / BUNDLE_FILES["selection"]
    save_bundle(out_path, "selection", config, model.state_dict(), stats.to_dict(),
                extra)
    log(f"best epoch {best['epoch']}: valid accuracy {best.get('valid_accuracy', float('nan')):.3f}, "
        f"perplexity {best.get('valid_perplexity', float('nan')):.2f}")
    log(f"wrote {out_path} ({out_path.stat().st_size / 1e6:.1f} MB) in {minutes:.1f} min")
    return 0


def _training_samples(pack_dirs: list[Path], config: dict, log: Callable[[str], None]):
    """The songs of the packs split into parts, the vocabulary of the training charts, the feature statistics,
    each song's compact normalised features and the charts as samples (training ones in every arrow permutation).

    Returns (train_songs, valid_songs, vocab, stats, feats, train samples, valid samples)."""
    from ddc_sm.audio.cache import cached_features
    from ddc_sm.audio.features import FeatureStats
    from ddc_sm.difficulty import DIFFICULTIES
    from ddc_sm.errors import UserError
    from ddc_sm.selection.vocab import Vocab
    from ddc_sm.simfiles.dataset import iter_songs

    tc = config["train"]
    seed = int(config["seed"])
    pack_dirs = [Path(p) for p in pack_dirs]
    for p in pack_dirs:
        if not p.is_dir():
            raise UserError(f"pack folder not found: {p}")

    songs = []
    for song in iter_songs(pack_dirs):
        if song.audio_path is None or not song.charts:
            log(f"skipping {song.key}: {'no audio' if song.audio_path is None else 'no dance-single charts'}")
            continue
        songs.append(song)
    if not songs:
        raise UserError("no songs with audio and dance-single charts under " + ", ".join(map(str, pack_dirs)))
    parts = assign_parts([s.key for s in songs], tc["valid_share"], seed)
    train_songs = [s for s in songs if parts[s.key] == "train"]
    valid_songs = [s for s in songs if parts[s.key] == "valid"]
    n_test = sum(parts[s.key] == "test" for s in songs)
    if not train_songs:
        raise UserError("no training songs (every song is in the valid/test split)")
    log(f"{len(songs)} songs: {len(train_songs)} train, {len(valid_songs)} valid, {n_test} test (not used)")

    vocab = Vocab.build([c.rows for s in train_songs for c in s.charts], int(config["vocab_size"]))
    log(f"vocabulary: {len(vocab.rows)} rows + 3 special tokens")

    def load(song):
        return cached_features(song.audio_path, "selection")

    log("feature statistics of the training songs ...")
    stats = FeatureStats.fit(load(s) for s in train_songs)
    margin = max(abs(o) for o in config["frame_offsets"]) + int(math.ceil(tc["time_jitter_max_ms"] / 10.0)) + 1
    feats: list[SongFeatures] = []
    train, valid = [], []
    perms = list(tc["permutations"])
    if "identity" not in perms:
        perms = ["identity"] + perms
    for song in train_songs + valid_songs:
        idx = len(feats)
        feats.append(compact_features(stats.apply(load(song)), [c.times for c in song.charts], margin))
        target = train if parts[song.key] == "train" else valid
        for c in song.charts:
            target.append(ChartSample(idx, song.key, DIFFICULTIES.index(c.difficulty), np.asarray(c.times),
                                      encode_chart(vocab, c.rows, perms if target is train else ["identity"])))
    return train_songs, valid_songs, vocab, stats, feats, train, valid
