"""Stage 2: choose the arrows (a *state* row) for each placed step.

``StepSelector.load(weights_dir)`` reads the ``selection`` bundle; ``.select(raw_feats, times, difficulty)``
decodes one valid row per step time with constrained beam search; ``.score(...)`` gives teacher-forced
accuracy and negative log-likelihood of a human chart (for ``ddc-sm eval``).

The model's inputs per step (shared with training, see :func:`step_inputs`): the normalised selection
log-mel (100 bands) at the step's frame and the frames at ``frame_offsets`` around it, flattened; and the
gap features of :func:`gap_features`.
"""

from __future__ import annotations

import functools
import hashlib
import math
import os
from typing import Sequence

import numpy as np

from ddc_sm.difficulty import DIFFICULTIES
from ddc_sm.audio.features import FRAME_RATE, FeatureStats

GAP_FLOOR = 1e-3  # seconds
GAP_CAP = 30.0
GAP_CENTRE = math.log(0.25)
GAP_SCALE = 1.5
DEFAULT_FRAME_OFFSETS = (-2, -1, 0, 1, 2)
# Decoding defaults, used where the bundle's config has no "decode" section (or lacks a key).
# "jump_logit_bias": {difficulty name: bias added to the logits of jump rows}, set by `ddc-sm train jumps` so
# that a difficulty's generated charts have no more jumps than its human charts.
DEFAULT_DECODE = {"temperature": 1.0, "mine_only_rows": False, "jump_logit_bias": {}}
NO_CROSSOVER_DIFFICULTIES = (0, 1, 2)  # Beginner, Easy, Medium: charts never ask these players to cross over
# Panels on which no single step follows the last step row's panel within 0.3 s (a jack or a footswitch in any
# footing, a sideswitch on Left/Right; see ddc_sm.selection.beam_search.FAST_REPEAT_S), by difficulty index.
# Beginner, Easy, Medium: all four; their train+valid human charts have none: the 90th percentile of jacks,
# footswitches and sideswitches per 100 steps is 0 for each of them (Medium's jacks: 0.57).  Hard: all four too;
# its human charts have few: footswitches 0.37, sideswitches 0.12 per 100 steps at the 90th percentile (jacks 1.83,
# median 0), and guarding Left/Right only left the generated Hard charts with 0.42 footswitches per 100 steps in
# the median (Up/Down repeats, which the feet's alternation makes footswitches), above that range.  Challenge:
# Left and Right only; its human charts have sideswitches at 0.12 at the 90th percentile, but footswitches (0.89)
# and jacks (3.20) on Up/Down are theirs.  Regenerate the ranges: python benchmarks/patterns.py (the human P10-P90
# column, fitted on train+valid)
# (bitmasks, bit c for column c: beam_search.ALL_PANELS 0b1111, beam_search.SIDE_PANELS 0b1001)
FAST_REPEAT_PANELS = {0: 0b1111, 1: 0b1111, 2: 0b1111, 3: 0b1111, 4: 0b1001}
# (share, slack): by any point of a chart at most share * steps + slack of its steps are jumps; without them a
# model that falls into a run of jumps can write a Medium chart of nothing else.  Fitted on the train+valid songs
# of ../shared/data (never test): the slack as chosen by hand, the share the smallest on a 0.05 grid with which
# >= 92 % (Beginner, Easy, Medium) or >= 95 % (Hard, Challenge) of that difficulty's train+valid human charts stay
# within the budget: Beginner 94 %, Easy 94 %, Medium 94 %, Hard 97 %, Challenge 96 % of them do.  The same
# values as the first fit on all songs.  Regenerate: python benchmarks/fit_constants.py
JUMP_BUDGET = {"Beginner": (0.2, 4.0), "Easy": (0.2, 4.0), "Medium": (0.25, 4.0), "Hard": (0.4, 4.0),
               "Challenge": (0.5, 8.0)}


def gap_features(times: Sequence[float]) -> np.ndarray:
    """(N, 4) float32: scaled log gap to the previous step (time since audio start for the first), scaled
    log gap to the next step (``GAP_CAP`` for the last), first-step flag, last-step flag.  Gaps are floats,
    not quantised."""
    t = np.asarray(times, dtype=np.float64)
    n = len(t)
    out = np.zeros((n, 4), dtype=np.float32)
    if n == 0:
        return out
    prev = np.empty(n)
    nxt = np.empty(n)
    prev[0] = max(t[0], 0.0)
    prev[1:] = np.diff(t)
    nxt[-1] = GAP_CAP
    nxt[:-1] = np.diff(t)
    out[:, 0] = (np.log(np.clip(prev, GAP_FLOOR, GAP_CAP)) - GAP_CENTRE) / GAP_SCALE
    out[:, 1] = (np.log(np.clip(nxt, GAP_FLOOR, GAP_CAP)) - GAP_CENTRE) / GAP_SCALE
    out[0, 2] = 1.0
    out[-1, 3] = 1.0
    return out


def step_frames(times: Sequence[float]) -> np.ndarray:
    """Frame index of each step time (frame i is at i * 10 ms)."""
    return np.rint(np.asarray(times, dtype=np.float64) * FRAME_RATE).astype(np.int64)


def gather_audio(norm_feats: np.ndarray, frames: np.ndarray, offsets: Sequence[int]) -> np.ndarray:
    """(N, bands * len(offsets)) float32: columns of ``norm_feats`` (bands, T) at ``frames + offset`` (clipped
    to the audio), offsets outermost."""
    t = norm_feats.shape[1]
    idx = np.clip(np.asarray(frames)[:, None] + np.asarray(offsets)[None, :], 0, max(t - 1, 0))  # (N, K)
    cols = norm_feats[:, idx]  # (bands, N, K)
    return np.ascontiguousarray(cols.transpose(1, 2, 0).reshape(len(frames), -1), dtype=np.float32)


def step_inputs(norm_feats: np.ndarray, times: Sequence[float], offsets: Sequence[int] = DEFAULT_FRAME_OFFSETS):
    """Encoder inputs of one chart: ``(audio (N, bands*K), gaps (N, 4))`` as float32 arrays."""
    return gather_audio(norm_feats, step_frames(times), offsets), gap_features(times)


def chart_seed(seed: int, difficulty: int, times: Sequence[float]) -> int:
    """The stochastic beam search's seed for one chart: from ``seed``, the difficulty and the chart's step times
    (to the millisecond).  The same song and options give the same chart; another song gets its own noise.  (With
    ``seed`` and the difficulty alone every song drew the same noise, and where the audio says little, as at a
    Beginner chart's start, most songs got the same arrows: 7 of 8 test songs opened their Beginner charts with
    the same 18 rows.)"""
    ms = np.rint(np.asarray(times, dtype=np.float64) * 1000.0).astype("<i8").tobytes()
    digest = hashlib.blake2b(f"{int(seed)}:{int(difficulty)}:".encode() + ms, digest_size=8).digest()
    return int.from_bytes(digest, "little") >> 1


def difficulty_id(difficulty: str | int) -> int:
    if isinstance(difficulty, (int, np.integer)):
        if not 0 <= int(difficulty) < len(DIFFICULTIES):
            raise ValueError(f"difficulty index {difficulty} out of range")
        return int(difficulty)
    for i, name in enumerate(DIFFICULTIES):
        if name.lower() == str(difficulty).strip().lower():
            return i
    raise ValueError(f"unknown difficulty {difficulty!r}; expected one of {', '.join(DIFFICULTIES)}")


def build_model(config: dict, vocab_size: int):
    from ddc_sm.selection.model import SelectionTransformer

    offsets = config.get("frame_offsets", list(DEFAULT_FRAME_OFFSETS))
    return SelectionTransformer(vocab_size, n_mels=config.get("n_mels", 100), n_frames=len(offsets),
                                **config.get("model", {}))


def _balanced_groups(keys: list, steps: dict, n: int) -> list[list]:
    """``keys`` in at most ``n`` groups of about equal total ``steps`` (longest first to the lightest group)."""
    n = max(1, min(int(n), len(keys)))
    groups: list[list] = [[] for _ in range(n)]
    load = [0] * n
    for key in sorted(keys, key=lambda k: -steps[k]):
        g = load.index(min(load))
        groups[g].append(key)
        load[g] += steps[key]
    return [g for g in groups if g]


class StepSelector:
    """A trained step selection model with its vocabulary and feature statistics."""

    def __init__(self, model, vocab, stats: FeatureStats, config: dict, extra: dict | None = None):
        self.model = model.eval()
        self.vocab = vocab
        self.stats = stats
        self.config = config
        self.extra = extra or {}
        self.frame_offsets = tuple(config.get("frame_offsets", DEFAULT_FRAME_OFFSETS))

    @classmethod
    def load(cls, weights_dir: str | os.PathLike | None = None) -> "StepSelector":
        from ddc_sm.weights import load_bundle

        return cls.from_bundle(load_bundle("selection", weights_dir))

    @classmethod
    def from_bundle(cls, bundle: dict) -> "StepSelector":
        from ddc_sm.selection.vocab import Vocab

        config = bundle["config"]
        vocab = Vocab.from_dict(bundle["extra"]["vocab"])
        model = build_model(config, len(vocab))
        model.load_state_dict(bundle["state_dict"])
        return cls(model, vocab, FeatureStats.from_dict(bundle["stats"]), config, bundle.get("extra"))

    # ---------------------------------------------------------------------------------------- helpers
    def _encode(self, raw_feats: np.ndarray, times: Sequence[float], difficulty: int):
        return self._encode_normalised(self.stats.apply(np.asarray(raw_feats, dtype=np.float32)), times, difficulty)

    def _encode_normalised(self, norm: np.ndarray, times: Sequence[float], difficulty: int):
        import torch

        audio, gaps = step_inputs(norm, times, self.frame_offsets)
        audio_t = torch.from_numpy(audio)[None]
        gaps_t = torch.from_numpy(gaps)[None]
        diff = torch.tensor([difficulty], dtype=torch.long)
        return self.model.encode(audio_t, gaps_t, diff), audio_t, gaps_t, diff

    @staticmethod
    def _check_times(times) -> np.ndarray:
        t = np.asarray(times, dtype=np.float64).reshape(-1)
        if len(t) > 1 and np.any(np.diff(t) < 0):
            raise ValueError("step times must be sorted")
        return t

    # ------------------------------------------------------------------------------------------ API
    def select(self, raw_feats: np.ndarray, times: Sequence[float], difficulty: str | int,
               beam_size: int = 20, *, seed: int | None = 0, temperature: float | None = None) -> list[str]:
        """One row per step time (same order), a well-formed chart (holds closed, no special tokens).

        Stochastic beam search seeded with ``seed``, the difficulty and the step times (:func:`chart_seed`):
        deterministic for the same inputs.
        ``seed=None`` runs plain (most-likely-sequence) beam search instead, which tends to loop.
        ``temperature`` defaults to the bundle's ``config["decode"]["temperature"]``.  Rows of mines only are
        not emitted unless ``config["decode"]["mine_only_rows"]`` (a placed step should be stepped on).
        Beginner, Easy and Medium charts never ask for a crossover, Beginner to Hard charts never for a jack or
        footswitch (the same panel again within 0.3 s), Challenge charts for none on Left/Right
        (:data:`FAST_REPEAT_PANELS`), and
        no chart has more jumps than its
        difficulty's ``JUMP_BUDGET`` allows.  Jump rows get the difficulty's
        ``config["decode"]["jump_logit_bias"]`` (0 where it has none).
        """
        return self.select_many(raw_feats, {difficulty: times}, beam_size, seed=seed, temperature=temperature)[difficulty]

    def select_many(self, raw_feats: np.ndarray, times: dict, beam_size: int = 20, *, seed: int | None = 0,
                    temperature: float | None = None, workers: int = 1, on_step=None) -> dict:
        """:meth:`select` for several difficulties of one song at once: ``times`` maps each difficulty (name or
        index) to its step times; returns the rows for each.

        The features are normalised once, each difficulty's steps are encoded once, and all difficulties are
        decoded in one batched beam search (:func:`ddc_sm.selection.beam_search.beam_search_many`), so each
        chart is exactly the one :meth:`select` gives it alone.  ``workers`` > 1 splits the difficulties into that
        many groups of about equal steps, each decoded by its own process on Linux (:mod:`ddc_sm.forked`: the
        search is bound by Python that holds the GIL, so threads would not help), the first by this one; a
        worker that fails is done over here.  The charts are the same bytes whatever ``workers`` is.
        ``on_step(n)``: called with the number of steps decoded so far, all difficulties together.
        """
        import torch

        from ddc_sm import forked, threads
        from ddc_sm.selection.beam_search import SearchJob, beam_search_many, tokens_to_rows

        checked = {key: self._check_times(t) for key, t in times.items()}
        out: dict = {key: [] for key in times}
        keys = [key for key, t in checked.items() if len(t)]
        if not keys:
            return out
        decode = {**DEFAULT_DECODE, **self.config.get("decode", {})}
        if temperature is None:
            temperature = float(decode["temperature"])
        banned = [] if decode["mine_only_rows"] else self.vocab.mine_only_tokens()
        norm = self.stats.apply(np.asarray(raw_feats, dtype=np.float32))
        jobs = {}
        with torch.inference_mode(), threads.single():  # encoding too: the charts do not depend on the thread budget
            for key in keys:
                diff = difficulty_id(key)
                jump_bias = float(decode["jump_logit_bias"].get(DIFFICULTIES[diff], 0.0))
                bias = None
                if jump_bias:
                    bias = torch.zeros(len(self.vocab))
                    bias[self.vocab.jump_tokens()] = jump_bias
                jobs[key] = SearchJob(self._encode_normalised(norm, checked[key], diff)[0], diff,
                                      None if seed is None else chart_seed(seed, diff, checked[key]),
                                      diff in NO_CROSSOVER_DIFFICULTIES, bias, JUMP_BUDGET[DIFFICULTIES[diff]],
                                      times=torch.as_tensor(np.asarray(checked[key], dtype=np.float64)),
                                      repeat_panels=FAST_REPEAT_PANELS.get(diff, 0))
        groups = _balanced_groups(keys, {key: len(checked[key]) for key in keys}, workers)
        done = [0] * len(groups)

        def report(g: int, n: int) -> None:
            done[g] = n
            if on_step is not None:
                on_step(sum(done))

        def decode(group: list, progress) -> list:
            return beam_search_many(self.model, [jobs[key] for key in group], self.vocab, beam_size,
                                    temperature=temperature, banned=banned, on_step=progress)

        with threads.single():  # per-step work never fans out over threads (see ddc_sm.threads)
            tokens = forked.run_parts(decode, groups, report)
        for g, group in enumerate(groups):
            for key, toks in zip(group, tokens[g]):
                out[key] = tokens_to_rows(toks, self.vocab)
        return out

    def score(self, raw_feats: np.ndarray, times: Sequence[float], rows: Sequence[str],
              difficulty: str | int) -> dict:
        """Teacher-forced score of a human chart.

        Rows are first mapped into the vocabulary (:meth:`Vocab.map_rows`; ``n_mapped`` counts rows that
        changed).  Probabilities are renormalised over the rows (special tokens excluded), as in decoding.
        Returns ``{"count", "n" (same), "correct", "accuracy", "nll" (total, nats), "perplexity", "n_mapped"}``.
        """
        import torch

        from ddc_sm.selection.vocab import START, hold_states

        t = self._check_times(times)
        if len(rows) != len(t):
            raise ValueError(f"{len(rows)} rows for {len(t)} step times")
        n = len(t)
        if n == 0:
            return {"count": 0, "n": 0, "correct": 0, "accuracy": float("nan"), "nll": 0.0, "perplexity": float("nan"),
                    "n_mapped": 0}
        mapped = self.vocab.map_rows(list(rows))
        target = torch.tensor([self.vocab.id(r) for r in mapped], dtype=torch.long)
        tokens_in = torch.cat([torch.tensor([START]), target[:-1]])[None]
        holds = torch.tensor(hold_states(mapped), dtype=torch.long)[None]
        with torch.no_grad():
            memory, _a, _g, diff = self._encode(raw_feats, t, difficulty_id(difficulty))
            logits = self.model.decode(tokens_in, holds, diff, memory)[0].float()
        from ddc_sm.selection.vocab import N_SPECIALS

        logits[:, :N_SPECIALS] = float("-inf")
        logp = torch.log_softmax(logits, dim=-1)
        nll = float(-logp.gather(1, target[:, None]).sum())
        correct = int((logits.argmax(dim=-1) == target).sum())
        return {"count": n, "n": n, "correct": correct, "accuracy": correct / n, "nll": nll, "perplexity": math.exp(nll / n),
                "n_mapped": sum(a != b for a, b in zip(rows, mapped))}


@functools.lru_cache(maxsize=4)
def load_selector(weights_dir: str | None = None) -> StepSelector:
    """The StepSelector of ``weights_dir`` (the shipped weights when None), loaded once per process."""
    return StepSelector.load(weights_dir)
