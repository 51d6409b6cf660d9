"""Constrained beam search on tiny random models: exactly one valid row per step, never a special token."""

import pytest

torch = pytest.importorskip("torch")

from ddc_sm.selection.beam_search import beam_search, tokens_to_rows  # noqa: E402
from ddc_sm.selection.model import SelectionTransformer  # noqa: E402
from ddc_sm.selection.vocab import END, N_SPECIALS, PAD, START, Vocab, is_valid_sequence  # noqa: E402

ROWS = ["1000", "0100", "0010", "0001", "2000", "0200", "0020", "0002", "3000", "0300", "0030", "0003",
        "1001", "0110", "2002", "0220", "3003", "0330", "2200", "M000", "4000", "2222", "1100", "0M00"]


def tiny_model(vocab_size, seed=0, **kw):
    torch.manual_seed(seed)
    cfg = dict(n_mels=6, n_frames=3, d_model=16, n_heads=2, enc_layers=1, dec_layers=2, d_ff=32, dropout=0.0,
               enc_window=4, dec_window=6, cross_window=3, dec_conv=3)
    cfg.update(kw)
    return SelectionTransformer(vocab_size, **cfg).eval()


def encode(model, n, seed=1, difficulty=2):
    g = torch.Generator().manual_seed(seed)
    audio = torch.randn(1, n, 18, generator=g)
    gaps = torch.randn(1, n, 4, generator=g)
    with torch.no_grad():
        return model.encode(audio, gaps, torch.tensor([difficulty]))


def bias_toward(model, token_ids, amount=20.0):
    with torch.no_grad():
        model.out.bias.zero_()
        model.out.bias[token_ids] = amount


@pytest.fixture(scope="module")
def vocab():
    return Vocab(ROWS)


def check(rows, n, vocab):
    assert len(rows) == n
    assert all(r in vocab for r in rows)
    assert is_valid_sequence(rows), rows


SEEDS = [None, 0]  # plain and stochastic beam search


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("beam", [1, 2, 5, 20])
@pytest.mark.parametrize("n", [1, 2, 7, 40])
def test_random_model_valid_states(vocab, beam, n, seed):
    model = tiny_model(len(vocab))
    tokens = beam_search(model, encode(model, n), 2, vocab, beam, seed=seed)
    assert all(t >= N_SPECIALS for t in tokens)
    check(vocab.decode(tokens), n, vocab)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("beam", [1, 3, 20])
def test_biased_to_hold_heads(vocab, beam, seed):
    model = tiny_model(len(vocab), seed=3)
    heads = [vocab.id(r) for r in ("2222", "2000", "0220", "4000")]
    bias_toward(model, heads)
    for n in (1, 2, 3, 5, 30):
        rows = vocab.decode(beam_search(model, encode(model, n), 0, vocab, beam, seed=seed))
        check(rows, n, vocab)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("beam", [1, 4, 20])
def test_biased_to_special_tokens(vocab, beam, seed):
    model = tiny_model(len(vocab), seed=4)
    bias_toward(model, [PAD, START, END], amount=50.0)
    tokens = beam_search(model, encode(model, 25), 4, vocab, beam, seed=seed)
    assert all(t >= N_SPECIALS for t in tokens)
    check(vocab.decode(tokens), 25, vocab)


@pytest.mark.parametrize("seed", SEEDS)
def test_biased_to_tails_and_mines(vocab, seed):
    model = tiny_model(len(vocab), seed=5)
    bias_toward(model, [vocab.id(r) for r in ("3000", "3003", "M000", "0M00")])
    check(vocab.decode(beam_search(model, encode(model, 30), 1, vocab, 5, seed=seed)), 30, vocab)


@pytest.mark.parametrize("seed", SEEDS)
def test_deterministic(vocab, seed):
    model = tiny_model(len(vocab), seed=7)
    mem = encode(model, 50)
    a = beam_search(model, mem, 3, vocab, 8, seed=seed)
    b = beam_search(model, mem, 3, vocab, 8, seed=seed)
    assert a == b


def test_stochastic_seeds_and_temperature(vocab):
    model = tiny_model(len(vocab), seed=7)
    mem = encode(model, 60)
    runs = {s: beam_search(model, mem, 3, vocab, 4, seed=s) for s in (0, 1, 2)}
    assert len({tuple(r) for r in runs.values()}) > 1  # different seeds, different charts
    cold = beam_search(model, mem, 3, vocab, 4, seed=0, temperature=0.3)
    check(vocab.decode(cold), 60, vocab)
    with pytest.raises(ValueError):
        beam_search(model, mem, 3, vocab, 4, temperature=0.0)


def test_stochastic_beam_samples_the_model(vocab):
    """Gumbel-top-k with beam 1 at one step is a sample: its frequencies follow the model's softmax."""
    model = tiny_model(len(vocab), seed=11)
    with torch.no_grad():
        model.out.weight.zero_()
        model.out.bias.fill_(-30.0)
        model.out.bias[vocab.id("1000")] = 0.0
        model.out.bias[vocab.id("0100")] = float(torch.log(torch.tensor(3.0)))
    mem = encode(model, 1)
    picks = [vocab.row(beam_search(model, mem, 0, vocab, 1, seed=s)[0]) for s in range(400)]
    share = picks.count("0100") / len(picks)
    assert 0.65 < share < 0.85  # model says 0.75


def test_long_chart_beyond_windows(vocab):
    # far longer than every attention window: decoding runs with a bounded cache
    model = tiny_model(len(vocab), seed=8)
    rows = tokens_to_rows(beam_search(model, encode(model, 300), 2, vocab, 4, seed=0), vocab)
    check(rows, 300, vocab)


def test_empty_and_bad_beam(vocab):
    model = tiny_model(len(vocab))
    assert beam_search(model, torch.zeros(1, 0, 16), 0, vocab, 3) == []
    with pytest.raises(ValueError):
        beam_search(model, encode(model, 3), 0, vocab, 0)


def test_beam_one_is_greedy_under_constraints(vocab):
    """Beam 1 picks the most likely allowed token at every step."""
    from ddc_sm.selection.beam_search import HoldTables

    model = tiny_model(len(vocab), seed=9)
    n = 12
    mem = encode(model, n)
    tokens = beam_search(model, mem, 2, vocab, 1)
    tables = HoldTables(vocab)
    kv = model.memory_kv(mem)
    prev, holds, cache = torch.tensor([START]), torch.tensor([0]), None
    for pos in range(n):
        with torch.no_grad():
            logits, cache = model.decode_step(prev, holds, torch.tensor([2]), pos, kv, cache)
        ok = tables.allowed_for(holds, n - 1 - pos)[0]
        logits = logits[0].masked_fill(~ok, float("-inf"))
        best = int(logits.argmax())
        assert best == tokens[pos]
        prev = torch.tensor([best])
        holds = tables.next_mask[holds, best]


@pytest.mark.parametrize("seed", SEEDS)
def test_banned_tokens_never_emitted(vocab, seed):
    model = tiny_model(len(vocab), seed=12)
    mines = vocab.mine_only_tokens()
    assert mines == [vocab.id("M000"), vocab.id("0M00")]
    bias_toward(model, mines, amount=30.0)
    tokens = beam_search(model, encode(model, 40), 2, vocab, 5, seed=seed, banned=mines + [vocab.id("1000")])
    assert not set(tokens) & set(mines)
    check(vocab.decode(tokens), 40, vocab)  # essential rows (1000) cannot be banned: still valid


@pytest.mark.parametrize("seed", SEEDS)
def test_logit_bias_on_jumps(vocab, seed):
    model = tiny_model(len(vocab), seed=3)
    jumps = vocab.jump_tokens()
    bias_toward(model, jumps, amount=8.0)
    memory = encode(model, 60)
    many = beam_search(model, memory, 2, vocab, 5, seed=seed)
    assert set(many) & set(jumps)
    bias = torch.zeros(len(vocab))
    bias[jumps] = -1e4
    none = beam_search(model, memory, 2, vocab, 5, seed=seed, logit_bias=bias)
    assert not set(none) & set(jumps)
    check(vocab.decode(none), 60, vocab)


@pytest.mark.parametrize("seed", SEEDS)
def test_jump_budget_caps_a_model_that_only_wants_jumps(vocab, seed):
    model = tiny_model(len(vocab), seed=4)
    bias_toward(model, vocab.jump_tokens(), amount=30.0)
    n = 80
    tokens = beam_search(model, encode(model, n), 2, vocab, 5, seed=seed, jump_budget=(0.25, 4.0))
    rows = vocab.decode(tokens)
    check(rows, n, vocab)
    jumps = [sum(c in "124" for c in r) >= 2 for r in rows]
    assert all(sum(jumps[:k + 1]) <= 0.25 * (k + 1) + 4.0 for k in range(n))
    assert sum(jumps) >= 20  # the budget is used, not avoided


def test_no_crossovers_forbids_left_middle_right_patterns():
    from ddc_sm.simfiles.stats import crossover_patterns

    vocab = Vocab(["1000", "0100", "0010", "0001", "1001", "2000", "3000", "0003", "0002"])
    for seed in range(5):
        model = tiny_model(len(vocab), seed=seed)
        memory = encode(model, 120, seed=seed)
        free = tokens_to_rows(beam_search(model, memory, 0, vocab, 4, seed=seed), vocab)
        safe = tokens_to_rows(beam_search(model, memory, 0, vocab, 4, seed=seed, no_crossovers=True), vocab)
        assert len(safe) == memory.shape[1] and is_valid_sequence(safe)
        assert crossover_patterns(safe) == 0
        if crossover_patterns(free):
            return
    pytest.fail("the unconstrained search never produced a crossover, so the test shows nothing")


@pytest.mark.parametrize("beam", [1, 2, 5, 20])
@pytest.mark.parametrize("model_seed,dec_conv,dec_window", [(0, 3, 6), (1, 0, 1), (2, 1, 3)])
def test_charts_decoded_together_get_exactly_their_tokens_alone(vocab, beam, model_seed, dec_conv, dec_window):
    """One batched search over (chart x beam) gives each chart the tokens of the single-chart search as it was
    (one chart at a time, concatenated cache reordered every step), for every mix of settings."""
    from reference_beam_search import reference_beam_search

    from ddc_sm.selection.beam_search import SearchJob, beam_search_many

    model = tiny_model(len(vocab), seed=model_seed, dec_conv=dec_conv, dec_window=dec_window)
    if model_seed == 2:
        bias_toward(model, [vocab.id(r) for r in ("2222", "2000", "0220", "4000")], amount=3.0)
    jobs = []
    for i, n in enumerate([1, 9, 40, 40, 0, 23]):
        jump_bias = torch.zeros(len(vocab))
        jump_bias[vocab.jump_tokens()] = -0.5
        memory = encode(model, n, seed=i, difficulty=i % 5) if n else torch.zeros(1, 0, 16)
        jobs.append(SearchJob(memory, i % 5, seed=None if i == 3 else 7 * i, no_crossovers=i % 2 == 0,
                              logit_bias=jump_bias if i % 3 == 0 else None, jump_budget=(0.25, 4.0) if i != 1 else None))
    steps = []
    together = beam_search_many(model, jobs, vocab, beam, banned=vocab.mine_only_tokens(), on_step=steps.append)
    assert steps[-1] == sum(job.memory.shape[1] for job in jobs)
    for job, tokens in zip(jobs, together):
        alone = reference_beam_search(model, job.memory, job.difficulty, vocab, beam, seed=job.seed,
                                      banned=vocab.mine_only_tokens(), no_crossovers=job.no_crossovers,
                                      logit_bias=job.logit_bias, jump_budget=job.jump_budget)
        assert tokens == alone


@pytest.mark.parametrize("seed", SEEDS)
def test_no_fast_repeats_keeps_the_same_panel_apart(vocab, seed):
    """A model that only wants Left taps: with no_fast_repeats a single step never follows a single step on the
    same panel sooner than FAST_REPEAT_S (a jack or footswitch in any footing); slower repeats stay allowed."""
    from ddc_sm.selection.beam_search import FAST_REPEAT_S
    from ddc_sm.simfiles.rows import step_columns

    model = tiny_model(len(vocab), seed=5)
    bias_toward(model, [vocab.id("1000")], amount=8.0)
    n = 60
    fast = torch.arange(n, dtype=torch.float64) * 0.125  # 8ths at 240 BPM: every gap is fast
    memory = encode(model, n)
    free = vocab.decode(beam_search(model, memory, 1, vocab, 4, seed=seed))
    assert sum(r == "1000" for r in free) > n // 2  # without the guard the model jacks Left

    def repeats(rows, times):
        out, last = 0, None
        for r, t in zip(rows, times):
            cols = step_columns(r)
            if len(cols) == 1:
                if last is not None and last[0] == cols[0] and t - last[1] < FAST_REPEAT_S:
                    out += 1
                last = (cols[0], t)
            elif len(cols) > 1:
                last = None
        return out

    guarded = vocab.decode(beam_search(model, memory, 1, vocab, 4, seed=seed, no_fast_repeats=True,
                                       times=fast))
    check(guarded, n, vocab)
    assert repeats(free, fast.tolist()) > 0 and repeats(guarded, fast.tolist()) == 0
    slow = torch.arange(n, dtype=torch.float64) * 0.5  # quarters at 120 BPM: repeats are not fast
    assert vocab.decode(beam_search(model, memory, 1, vocab, 4, seed=seed, no_fast_repeats=True,
                                    times=slow)) == free


def test_fast_repeats_guarded_on_the_side_panels_only(vocab):
    """repeat_panels=Left|Right (Hard, Challenge): fast Left-Left is never emitted, fast Down-Down still may be."""
    from ddc_sm.selection.beam_search import SIDE_PANELS

    model = tiny_model(len(vocab), seed=5)
    n = 40
    fast = torch.arange(n, dtype=torch.float64) * 0.125
    memory = encode(model, n)
    for row, allowed in (("1000", False), ("0100", True)):
        bias_toward(model, [vocab.id(row)], amount=8.0)
        rows = vocab.decode(beam_search(model, memory, 3, vocab, 4, seed=0, no_fast_repeats=True, times=fast,
                                        repeat_panels=SIDE_PANELS))
        check(rows, n, vocab)
        repeats = sum(a == b == row for a, b in zip(rows, rows[1:]))
        assert (repeats > 0) == allowed, (row, rows)
