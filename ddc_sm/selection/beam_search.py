"""Constrained beam search for step selection: one state per placed step, holds always well-formed.

Each hypothesis carries its open-hold bitmask (bit c = column c held).  At every step a token is allowed
only when

* it is a row (``<pad>``, ``<start>``, ``<end>`` are never emitted);
* it respects the open holds: a held column gets ``0`` or a tail ``3``, a free column never gets a tail;
* the holds still open after it can be closed in the steps left: ``#open <= steps remaining``.  The
  vocabulary always holds a single-tail row for each column (:data:`ddc_sm.selection.vocab.ESSENTIAL_ROWS`), so a
  hypothesis can always close one hold per step; at the last step only tokens that leave no hold open pass.

With ``repeat_panels`` (and the step ``times``) a hypothesis never steps alone on a panel of its last step row
(a single step or a jump) within ``FAST_REPEAT_S`` of it, on the guarded panels (all four, or Left and Right
only): in any footing that is a jack or a footswitch (a *sideswitch* on Left/Right), which the
human charts of the easier difficulties do not have, nor, on the side panels, those of any difficulty (see
:data:`ddc_sm.selection.inference.FAST_REPEAT_PANELS`).

With ``no_crossovers`` a hypothesis also never completes a crossover pattern (see
:func:`ddc_sm.simfiles.stats.crossover_patterns`): after single steps on Left then Up/Down, a single step on Right
is not allowed (and mirrored); used for the easier difficulties, whose players should not have to cross over.

Two modes share these constraints:

* ``seed=None``: plain beam search for the most likely sequence.  Scores are summed log-probabilities
  (softmax over the rows, specials removed; constrained tokens masked without renormalising).  With a model
  that is unsure of the arrows (they are ambiguous) the most likely sequence degenerates into loops such as
  an endless left-right trill, so this is not what ``make`` uses.
* ``seed=<int>`` (the default of :meth:`ddc_sm.selection.inference.StepSelector.select`): *stochastic* beam search
  (Kool, van Hoof & Welling 2019, "Stochastic Beams and Where to Find Them"): Gumbel-top-k over the
  constrained distribution (softmax of ``logits / temperature`` over the allowed tokens), so the best beam is
  a sample of a whole valid chart from the model, without loops, with jumps, holds and mines about as often as
  in human charts.  The noise comes from a ``torch.Generator`` seeded with ``seed``: the same inputs and seed
  give the same chart.

Decoding is incremental (the model's bounded key/value cache), and :func:`beam_search_many` decodes several
charts (a song's difficulties) in one batch of (chart x beam) hypotheses per step
(:class:`ddc_sm.selection.model.BeamDecoder`), giving each chart exactly the tokens it gets alone.  Ties are
broken by ``torch.topk`` on CPU, which is deterministic for the same inputs.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ddc_sm.simfiles.rows import step_columns
from ddc_sm.selection.vocab import COLUMNS, ESSENTIAL_ROWS, N_SPECIALS, START, Vocab, is_valid_sequence, repair_rows


class HoldTables:
    """Tensor versions of :meth:`Vocab.transition_table` for masking and updating beams."""

    def __init__(self, vocab: Vocab):
        nxt, allowed = vocab.transition_table()
        self.next_mask = torch.from_numpy(nxt)
        self.allowed = torch.from_numpy(allowed)
        pop = torch.tensor([bin(m).count("1") for m in range(1 << COLUMNS)])
        self.open_after = pop[self.next_mask]  # (16, V)
        # the one column a token steps on (tap / hold head / roll head), -1 for none, -2 for a jump
        cols, masks = [], []
        for token in range(len(vocab)):
            row = vocab.row(token) if token >= N_SPECIALS else ""
            hit = step_columns(row)
            cols.append(hit[0] if len(hit) == 1 else (-1 if not hit else -2))
            masks.append(sum(1 << c for c in hit))
        self.step_column = torch.tensor(cols)
        self.step_mask = torch.tensor(masks, dtype=torch.long)  # bit c: the token steps on column c

    def allowed_for(self, holds: torch.Tensor, remaining: int) -> torch.Tensor:
        """(B, V) bool: tokens each hypothesis may emit with ``remaining`` steps after this one."""
        return self.allowed[holds] & (self.open_after[holds] <= remaining)

    def allowed_for_each(self, holds: torch.Tensor, remaining: torch.Tensor) -> torch.Tensor:
        """(B, V) bool: :meth:`allowed_for` with each hypothesis' own ``remaining`` (B,)."""
        return self.allowed[holds] & (self.open_after[holds] <= remaining[:, None])


ALL_PANELS = 0b1111  # bit c: column c (Left, Down, Up, Right)
SIDE_PANELS = 0b1001  # Left and Right
# seconds: a single step on the panel of the last single step sooner than this is a jack or a footswitch (the
# footswitch gap of ddc_sm.simfiles.footing, ITGmania's; a jack's is shorter and inside it)
FAST_REPEAT_S = 0.3


class FootState:
    """Last two single-panel steps of each hypothesis (4 = none), to forbid crossover patterns; and the panels
    and time of its last step row (to forbid fast repeats)."""

    NONE = 4

    def __init__(self, tables: HoldTables):
        self.col = tables.step_column
        self.mask = tables.step_mask
        self.a = torch.full((1,), self.NONE, dtype=torch.long)
        self.b = torch.full((1,), self.NONE, dtype=torch.long)
        self.last = torch.zeros(1, dtype=torch.long)  # panels of the last step row (bitmask)
        self.t_last = torch.full((1,), float("-inf"), dtype=torch.float64)

    def repeating(self, now: torch.Tensor, panels: torch.Tensor) -> torch.Tensor:
        """(B, V) bool: single steps on a panel of the last step row within ``FAST_REPEAT_S`` of it (``now``:
        each hypothesis' step time, (B,)), on the panels guarded for it (``panels``: (B,) bitmasks)."""
        fast = now - self.t_last < FAST_REPEAT_S
        single = self.col[None, :] >= 0
        return fast[:, None] & single & ((self.mask[None, :] & (self.last & panels)[:, None]) != 0)

    def crossing(self) -> torch.Tensor:
        """(B, V) bool: tokens that would complete Left-(Up|Down)-Right or Right-(Up|Down)-Left."""
        col = self.col[None, :]
        middle = (self.b == 1) | (self.b == 2)
        return middle[:, None] & ((col == 0) | (col == 3)) & (self.a[:, None] == 3 - col)

    def advance(self, parent: torch.Tensor, tok: torch.Tensor, now: torch.Tensor | None = None) -> None:
        a, b = self.a[parent], self.b[parent]
        last, t_last = self.last[parent], self.t_last[parent]
        col = self.col[tok]
        single, jump = col >= 0, col == -2
        self.a = torch.where(single, b, torch.where(jump, torch.full_like(a, self.NONE), a))
        self.b = torch.where(single, col, torch.where(jump, torch.full_like(b, self.NONE), b))
        stepped = self.mask[tok] != 0
        self.last = torch.where(stepped, self.mask[tok], last)
        self.t_last = t_last if now is None else torch.where(stepped, now, t_last)


class JumpBudget:
    """Jumps each hypothesis has written, to keep them within ``share`` of the steps plus ``slack``: a jump is
    allowed at step ``pos`` only while ``jumps + 1 <= share * (pos + 1) + slack``."""

    def __init__(self, tables: HoldTables, share: float, slack: float):
        self.is_jump = tables.step_column == -2
        self.share, self.slack = float(share), float(slack)
        self.count = torch.zeros(1, dtype=torch.long)

    def over(self, pos: int) -> torch.Tensor:
        """(B, V) bool: tokens that would exceed the budget at step ``pos``."""
        limit = self.share * (pos + 1) + self.slack
        return self.is_jump[None, :] & ((self.count[:, None] + 1).float() > limit)

    def advance(self, parent: torch.Tensor, tok: torch.Tensor) -> None:
        self.count = self.count[parent] + self.is_jump[tok].long()


def _log1mexp(x: torch.Tensor) -> torch.Tensor:
    """log(1 - exp(x)) for x <= 0, numerically stable."""
    return torch.where(x > -0.6931, torch.log(-torch.expm1(x)), torch.log1p(-torch.exp(x)))


def _truncated_gumbel(parent_g: torch.Tensor, raw: torch.Tensor) -> torch.Tensor:
    """Gumbels ``raw`` (B, V) conditioned so that each row's maximum equals ``parent_g`` (B,)."""
    z = raw.max(dim=1, keepdim=True).values
    v = parent_g[:, None] - raw + _log1mexp(torch.clamp(raw - z, max=0.0))
    return parent_g[:, None] - torch.clamp(v, min=0.0) - torch.log1p(torch.exp(-v.abs()))


@dataclass
class SearchJob:
    """One chart to decode with :func:`beam_search_many`: its encoder output (1, N, d), difficulty index and
    decoding settings (see :func:`beam_search`)."""

    memory: torch.Tensor
    difficulty: int
    seed: int | None = None
    no_crossovers: bool = False
    logit_bias: torch.Tensor | None = None
    jump_budget: tuple[float, float] | None = None
    times: torch.Tensor | None = None  # (N,) step times in seconds (float64), for ``repeat_panels``
    repeat_panels: int = 0  # bit c: no fast repeat on column c (ALL_PANELS, SIDE_PANELS: L and R; 0: none)


@torch.no_grad()
def beam_search(model, memory: torch.Tensor, difficulty: int, vocab: Vocab, beam_size: int = 20, *,
                seed: int | None = None, temperature: float = 1.0, banned=(), no_crossovers: bool = False,
                logit_bias: torch.Tensor | None = None, jump_budget: tuple[float, float] | None = None,
                no_fast_repeats: bool = False, times=None, repeat_panels: int = None) -> list[int]:
    """Token ids (one per encoded step, rows only) of the best hypothesis.

    ``model`` is a :class:`ddc_sm.selection.model.SelectionTransformer` in eval mode, ``memory`` its encoder
    output (1, N, d) for the chart.  ``seed=None``: plain beam search; an int: stochastic beam search with
    that seed (see the module docstring).  ``temperature`` divides the logits (both modes).  ``banned``: token
    ids never emitted (e.g. mine-only rows); the essential rows cannot be banned.  ``no_crossovers``: never
    complete a crossover pattern (see the module docstring).  ``logit_bias``: (V,) added to the logits after the
    temperature (e.g. a negative bias on jump rows makes jumps rarer).  ``jump_budget=(share, slack)``: at most
    ``share * steps + slack`` jumps by any point of the chart (see :class:`JumpBudget`), so a model that falls
    into a run of jumps cannot write a chart of nothing else.  ``no_fast_repeats`` with the step ``times`` (N,):
    never a single step on a panel of the last step row within ``FAST_REPEAT_S`` (see the module docstring);
    ``repeat_panels``: only on these panels (a bitmask, bit c for column c; default all four).
    """
    job = SearchJob(memory, difficulty, seed, no_crossovers, logit_bias, jump_budget,
                    None if times is None else torch.as_tensor(times, dtype=torch.float64),
                    (ALL_PANELS if repeat_panels is None else int(repeat_panels)) if no_fast_repeats else 0)
    return beam_search_many(model, [job], vocab, beam_size, temperature=temperature, banned=banned)[0]


@torch.no_grad()
def beam_search_many(model, jobs: list[SearchJob], vocab: Vocab, beam_size: int = 20, *, temperature: float = 1.0,
                     banned=(), on_step=None) -> list[list[int]]:
    """:func:`beam_search` for several charts at once: one batch of (chart x beam) hypotheses per step.

    Each chart gets exactly the tokens :func:`beam_search` gives it alone: the model's logits per hypothesis are
    the same bits (:class:`ddc_sm.selection.model.BeamDecoder`), each chart draws its Gumbel noise from its own
    generator seeded with its ``seed``, in the same order, and the few steps whose floating-point results
    depend on a tensor's length (the noise's logarithms, the top-k) run per chart on tensors shaped as they
    would be alone.  Everything else (masks, scores, holds, feet, jump counts) is one tensor operation over all
    hypotheses.  ``on_step(n)`` is called after each step with the number of steps decoded so far, all charts
    together.
    """
    from ddc_sm.selection.model import BeamDecoder

    if beam_size < 1:
        raise ValueError("beam_size must be >= 1")
    if temperature <= 0:
        raise ValueError("temperature must be > 0")
    out: list[list[int]] = [[] for _ in jobs]
    todo = sorted((j for j, job in enumerate(jobs) if job.memory.shape[1] > 0), key=lambda j: -jobs[j].memory.shape[1])
    if not todo:
        return out
    jobs_in = [jobs[j] for j in todo]  # longest first: the charts still decoding are always the first ones
    lengths = [int(job.memory.shape[1]) for job in jobs_in]
    tables = HoldTables(vocab)
    essential = {vocab.id(r) for r in ESSENTIAL_ROWS if r in vocab}
    banned = [int(t) for t in banned if int(t) not in essential]
    if banned:
        tables.allowed[:, banned] = False
    v = len(vocab)
    decoder = BeamDecoder(model, [job.memory for job in jobs_in], [int(job.difficulty) for job in jobs_in], beam_size)
    gens = [None if job.seed is None else torch.Generator().manual_seed(int(job.seed)) for job in jobs_in]
    zero_bias = torch.zeros(v)
    biases = torch.stack([zero_bias if job.logit_bias is None else job.logit_bias.float() for job in jobs_in])
    has_bias = torch.tensor([job.logit_bias is not None for job in jobs_in])
    feet_on = torch.tensor([job.no_crossovers for job in jobs_in])
    budget_on = torch.tensor([job.jump_budget is not None for job in jobs_in])
    shares = [job.jump_budget[0] if job.jump_budget else 0.0 for job in jobs_in]
    slacks = [job.jump_budget[1] if job.jump_budget else 0.0 for job in jobs_in]
    stochastic = torch.tensor([g is not None for g in gens])

    sizes = [1] * len(jobs_in)  # hypotheses per chart, chart by chart
    prev = torch.full((len(jobs_in),), START, dtype=torch.long)
    holds = torch.zeros(len(jobs_in), dtype=torch.long)
    scores = torch.zeros(len(jobs_in))  # log-probability of each hypothesis
    gumbel = torch.zeros(len(jobs_in))  # its perturbed score (stochastic mode)
    feet = FootState(tables)
    feet.a = feet.a.expand(len(jobs_in)).clone()
    feet.b = feet.b.expand(len(jobs_in)).clone()
    feet.last = feet.last.expand(len(jobs_in)).clone()
    feet.t_last = feet.t_last.expand(len(jobs_in)).clone()
    repeat_panels = torch.tensor([int(job.repeat_panels) if job.times is not None else 0 for job in jobs_in],
                                 dtype=torch.long)
    guard_repeats = bool((repeat_panels != 0).any())  # else no step time is needed
    step_times = [job.times if job.times is not None else torch.zeros(int(job.memory.shape[1]), dtype=torch.float64)
                  for job in jobs_in]
    budget = JumpBudget(tables, 0.0, 0.0)
    budget.count = budget.count.expand(len(jobs_in)).clone()
    parents_hist: list[list[list[int]]] = [[] for _ in jobs_in]
    tokens_hist: list[list[list[int]]] = [[] for _ in jobs_in]
    done = 0
    for pos in range(lengths[0]):
        active = sum(1 for n in lengths if n > pos)
        sizes = sizes[:active]
        r = sum(sizes)
        prev, holds, scores, gumbel = prev[:r], holds[:r], scores[:r], gumbel[:r]
        feet.a, feet.b, budget.count = feet.a[:r], feet.b[:r], budget.count[:r]
        feet.last, feet.t_last = feet.last[:r], feet.t_last[:r]
        chart = torch.repeat_interleave(torch.arange(active), torch.tensor(sizes))
        # each hypothesis' step time (for the fast-repeat guard)
        now = torch.stack([step_times[j][pos] for j in range(active)])[chart] if guard_repeats else None
        remaining = torch.tensor([n - 1 - pos for n in lengths[:active]])[chart]
        # the jump limit as beam_search compares it: a float32 against each hypothesis' count + 1
        limit = torch.tensor([s * (pos + 1) + c for s, c in zip(shares[:active], slacks[:active])],
                             dtype=torch.float32)[chart]

        logits = decoder.step(prev, holds).float() / temperature
        logits = torch.where(has_bias[chart][:, None], logits + biases[chart], logits)
        logits[:, :N_SPECIALS] = float("-inf")
        ok = tables.allowed_for_each(holds, remaining)
        if not bool(ok.any(dim=1).all()):  # only with a vocabulary lacking the essential rows
            ok = ok | (tables.allowed[holds] & ~ok.any(dim=1, keepdim=True))
        uncrossed = ok & ~feet.crossing()
        ok = torch.where(feet_on[chart][:, None] & uncrossed.any(dim=1, keepdim=True), uncrossed, ok)
        if guard_repeats:
            panels = repeat_panels[chart]
            unrepeated = ok & ~feet.repeating(now, panels)
            ok = torch.where((panels != 0)[:, None] & unrepeated.any(dim=1, keepdim=True), unrepeated, ok)
        within = ok & ~(budget.is_jump[None, :] & ((budget.count[:, None] + 1).float() > limit[:, None]))
        ok = torch.where(budget_on[chart][:, None] & within.any(dim=1, keepdim=True), within, ok)
        # the stochastic search samples from the model restricted to the allowed tokens
        logp = torch.log_softmax(torch.where(stochastic[chart][:, None], logits.masked_fill(~ok, float("-inf")),
                                             logits), dim=-1)
        cand = (scores[:, None] + logp).masked_fill(~ok, float("-inf"))
        # a model may give an allowed token probability 0; keep such tokens reachable, ranked last
        cand = torch.where(ok & torch.isinf(cand), torch.full_like(cand, -1e30), cand)

        parents, tokens, new_scores, new_gumbel, new_sizes = [], [], [], [], []
        a = 0
        for j in range(active):
            b = a + sizes[j]
            c = cand[a:b]
            if gens[j] is None:
                key = c
            else:  # per chart: the logarithms' rounding depends on the tensor's length
                u = torch.rand(c.shape, generator=gens[j]).clamp_(1e-12, 1.0 - 1e-7)
                raw = (c - torch.log(-torch.log(u))).masked_fill(~ok[a:b], float("-inf"))
                key = _truncated_gumbel(gumbel[a:b], raw).masked_fill(~ok[a:b], float("-inf"))
            flat = key.reshape(-1)
            k = min(beam_size, int(torch.isfinite(flat).sum()))
            top, idx = torch.topk(flat, k)
            parent = idx // v
            tok = idx % v
            parents_hist[j].append(parent.tolist())
            tokens_hist[j].append(tok.tolist())
            parents.append(parent + a)
            tokens.append(tok)
            new_scores.append(c.reshape(-1)[idx])
            new_gumbel.append(top)
            new_sizes.append(k)
            a = b
        parent = torch.cat(parents)
        tok = torch.cat(tokens)
        holds = tables.next_mask[holds[parent], tok]
        scores = torch.cat(new_scores)
        gumbel = torch.cat(new_gumbel)
        prev = tok
        feet.advance(parent, tok, None if now is None else now[parent])
        budget.advance(parent, tok)
        sizes = new_sizes
        done += active
        going = sum(1 for n in lengths if n > pos + 1)
        if going:
            decoder.advance(parent[:sum(sizes[:going])])
        if on_step is not None:
            on_step(done)
    for j, job_index in enumerate(todo):
        tokens: list[int] = []
        b = 0
        for p in range(lengths[j] - 1, -1, -1):  # backtrack the best hypothesis (topk is sorted: 0 is best)
            tokens.append(tokens_hist[j][p][b])
            b = parents_hist[j][p][b]
        tokens.reverse()
        out[job_index] = tokens
    return out


def tokens_to_rows(tokens: list[int], vocab: Vocab) -> list[str]:
    """Rows of decoded tokens; a sequence that is somehow not well-formed is repaired (never expected)."""
    rows = vocab.decode(tokens)
    if not is_valid_sequence(rows):
        rows = repair_rows(rows)
    return rows
