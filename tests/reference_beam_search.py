"""The single-chart beam search as it was before charts were decoded together (``model.decode_step`` with a
concatenated cache, ``model.reorder_cache`` every step): the batched search must give exactly its tokens."""

import torch

from ddc_sm.selection.beam_search import FootState, HoldTables, JumpBudget, _truncated_gumbel
from ddc_sm.selection.vocab import ESSENTIAL_ROWS, N_SPECIALS, START, Vocab


@torch.no_grad()
def reference_beam_search(model, memory: torch.Tensor, difficulty: int, vocab: Vocab, beam_size: int = 20, *,
                seed: int | None = None, temperature: float = 1.0, banned=(), no_crossovers: bool = False,
                logit_bias: torch.Tensor | None = None, jump_budget: tuple[float, float] | None = None) -> list[int]:
    """Token ids (one per encoded step, rows only) of the best hypothesis.

    ``model`` is a :class:`ddc_sm.selection.model.SelectionTransformer` in eval mode, ``memory`` its encoder
    output (1, N, d) for the chart.  ``seed=None``: plain beam search; an int: stochastic beam search with
    that seed (see the module docstring).  ``temperature`` divides the logits (both modes).  ``banned``: token
    ids never emitted (e.g. mine-only rows); the essential rows cannot be banned.  ``no_crossovers``: never
    complete a crossover pattern (see the module docstring).  ``logit_bias``: (V,) added to the logits after the
    temperature (e.g. a negative bias on jump rows makes jumps rarer).  ``jump_budget=(share, slack)``: at most
    ``share * steps + slack`` jumps by any point of the chart (see :class:`JumpBudget`), so a model that falls
    into a run of jumps cannot write a chart of nothing else.
    """
    if beam_size < 1:
        raise ValueError("beam_size must be >= 1")
    if temperature <= 0:
        raise ValueError("temperature must be > 0")
    n = memory.shape[1]
    if n == 0:
        return []
    tables = HoldTables(vocab)
    essential = {vocab.id(r) for r in ESSENTIAL_ROWS if r in vocab}
    banned = [int(t) for t in banned if int(t) not in essential]
    if banned:
        tables.allowed[:, banned] = False
    mem_kv = model.memory_kv(memory)
    diff = torch.tensor([difficulty], dtype=torch.long)
    prev = torch.tensor([START], dtype=torch.long)
    holds = torch.zeros(1, dtype=torch.long)
    scores = torch.zeros(1)  # log-probability of each hypothesis
    gumbel = torch.zeros(1)  # its perturbed score (stochastic mode)
    gen = None if seed is None else torch.Generator().manual_seed(int(seed))
    feet = FootState(tables) if no_crossovers else None
    budget = JumpBudget(tables, *jump_budget) if jump_budget is not None else None
    cache = None
    parents_hist: list[torch.Tensor] = []
    tokens_hist: list[torch.Tensor] = []
    v = len(vocab)
    for pos in range(n):
        logits, cache = model.decode_step(prev, holds, diff, pos, mem_kv, cache)
        logits = logits.float() / temperature
        if logit_bias is not None:
            logits = logits + logit_bias
        logits[:, :N_SPECIALS] = float("-inf")
        ok = tables.allowed_for(holds, n - 1 - pos)
        if not bool(ok.any(dim=1).all()):  # only with a vocabulary lacking the essential rows
            ok = ok | (tables.allowed[holds] & ~ok.any(dim=1, keepdim=True))
        if feet is not None:
            uncrossed = ok & ~feet.crossing()
            ok = torch.where(uncrossed.any(dim=1, keepdim=True), uncrossed, ok)
        if budget is not None:
            within = ok & ~budget.over(pos)
            ok = torch.where(within.any(dim=1, keepdim=True), within, ok)
        if gen is None:
            logp = torch.log_softmax(logits, dim=-1)
        else:  # sample from the model restricted to the allowed tokens
            logp = torch.log_softmax(logits.masked_fill(~ok, float("-inf")), dim=-1)
        cand = (scores[:, None] + logp).masked_fill(~ok, float("-inf"))
        # a model may give an allowed token probability 0; keep such tokens reachable, ranked last
        cand = torch.where(ok & torch.isinf(cand), torch.full_like(cand, -1e30), cand)
        if gen is None:
            key = cand
        else:
            u = torch.rand(cand.shape, generator=gen).clamp_(1e-12, 1.0 - 1e-7)
            raw = (cand - torch.log(-torch.log(u))).masked_fill(~ok, float("-inf"))
            key = _truncated_gumbel(gumbel, raw).masked_fill(~ok, float("-inf"))
        flat = key.reshape(-1)
        k = min(beam_size, int(torch.isfinite(flat).sum()))
        top, idx = torch.topk(flat, k)
        parent = idx // v
        tok = idx % v
        holds = tables.next_mask[holds[parent], tok]
        scores = cand.reshape(-1)[idx]
        gumbel = top
        prev = tok
        cache = model.reorder_cache(cache, parent)
        if feet is not None:
            feet.advance(parent, tok)
        if budget is not None:
            budget.advance(parent, tok)
        parents_hist.append(parent)
        tokens_hist.append(tok)
    # backtrack the best hypothesis (topk is sorted: index 0 is best)
    out = []
    b = 0
    for pos in range(n - 1, -1, -1):
        out.append(int(tokens_hist[pos][b]))
        b = int(parents_hist[pos][b])
    out.reverse()
    return out
