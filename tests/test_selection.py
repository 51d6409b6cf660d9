"""Step selection model: shapes, incremental decoding, StepSelector API, tiny training, shipped weights."""

import math
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from ddc_sm.audio.features import FeatureStats  # noqa: E402
from ddc_sm.selection.model import SelectionTransformer  # noqa: E402
from ddc_sm.selection.inference import StepSelector, difficulty_id, gap_features, step_inputs  # noqa: E402
from ddc_sm.selection.vocab import N_SPECIALS, START, Vocab, is_valid_sequence  # noqa: E402

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "packs"
ROWS = ["1000", "0100", "0010", "0001", "2000", "0200", "0020", "0002", "3000", "0300", "0030", "0003",
        "1001", "0110", "M000"]
TINY = {"frame_offsets": [-1, 0, 1], "n_mels": 100,
        "model": dict(d_model=16, n_heads=2, enc_layers=1, dec_layers=1, d_ff=32, dropout=0.0, enc_window=4,
                      dec_window=5, cross_window=3, conv_kernel=3)}


def tiny_selector(seed=0):
    from ddc_sm.selection.inference import build_model

    torch.manual_seed(seed)
    vocab = Vocab(ROWS)
    model = build_model(TINY, len(vocab))
    stats = FeatureStats(np.full(100, -5.0, np.float32), np.full(100, 2.0, np.float32))
    return StepSelector(model, vocab, stats, TINY)


def test_forward_shapes():
    m = SelectionTransformer(40, n_mels=100, n_frames=5, d_model=32, n_heads=4, enc_layers=2, dec_layers=2,
                             d_ff=64).eval()
    b, t = 3, 37
    audio, gaps = torch.randn(b, t, 500), torch.randn(b, t, 4)
    diff = torch.tensor([0, 2, 4])
    tin = torch.randint(0, 40, (b, t))
    holds = torch.randint(0, 16, (b, t))
    mask = torch.ones(b, t, dtype=torch.bool)
    mask[1, 30:] = False
    assert m.encode(audio, gaps, diff, mask).shape == (b, t, 32)
    logits = m(audio, gaps, diff, tin, holds, mask)
    assert logits.shape == (b, t, 40)
    assert torch.isfinite(logits).all()


@pytest.mark.parametrize("dec_conv", [0, 1, 3])
def test_incremental_matches_full_forward_and_padding(dec_conv):
    torch.manual_seed(0)
    m = SelectionTransformer(20, n_mels=8, n_frames=3, d_model=32, n_heads=2, enc_layers=1, dec_layers=2,
                             d_ff=64, enc_window=4, dec_window=5, cross_window=3, dec_conv=dec_conv).eval()
    for name, p in m.named_parameters():
        if "table" in name:
            torch.nn.init.normal_(p)
    t = 17
    audio, gaps, d = torch.randn(1, t, 24), torch.randn(1, t, 4), torch.tensor([2])
    tok = torch.randint(3, 20, (1, t))
    tok[0, 0] = START
    holds = torch.randint(0, 16, (1, t))
    with torch.no_grad():
        full = m(audio, gaps, d, tok, holds)
        kv = m.memory_kv(m.encode(audio, gaps, d))
        cache, outs = None, []
        for i in range(t):
            lg, cache = m.decode_step(tok[:, i], holds[:, i], d, i, kv, cache)
            outs.append(lg)
        assert torch.allclose(full, torch.stack(outs, 1), atol=1e-5)
        # padding a batch does not change the real positions
        pad = 5
        mask = torch.zeros(1, t + pad, dtype=torch.bool)
        mask[:, :t] = True
        padded = m(torch.cat([audio, torch.randn(1, pad, 24)], 1), torch.cat([gaps, torch.randn(1, pad, 4)], 1), d,
                   torch.cat([tok, torch.zeros(1, pad, dtype=torch.long)], 1),
                   torch.cat([holds, torch.zeros(1, pad, dtype=torch.long)], 1), mask)
        assert torch.allclose(padded[:, :t], full, atol=1e-5)


def test_config_is_the_shipped_json_with_the_users_overlay(tmp_path):
    import json

    from ddc_sm.selection.train import DEFAULT_CONFIG, load_config

    shipped = json.loads(DEFAULT_CONFIG.read_text())
    assert load_config() == shipped
    user = tmp_path / "c.json"
    user.write_text(json.dumps({"train": {"epochs": 1}}))
    overlaid = load_config(user)
    assert overlaid["train"]["epochs"] == 1 and overlaid["train"]["lr"] == shipped["train"]["lr"]


def test_gap_features():
    g = gap_features([0.5, 0.75, 1.0, 1.0625])
    assert g.shape == (4, 4) and g.dtype == np.float32
    assert g[0, 2] == 1 and g[-1, 3] == 1 and g[1:, 2].sum() == 0
    assert g[1, 0] == pytest.approx(0.0, abs=1e-6)  # gap 0.25 s is the centre
    assert g[2, 1] < g[1, 1]  # shorter next gap, smaller feature (not quantised)
    assert len(gap_features([])) == 0


def test_step_inputs_shapes():
    feats = np.random.default_rng(0).normal(size=(100, 300)).astype(np.float32)
    audio, gaps = step_inputs(feats, [0.0, 1.0, 2.995, 5.0], [-2, 0, 2])
    assert audio.shape == (4, 300) and gaps.shape == (4, 4)
    assert np.allclose(audio[1, 100:200], feats[:, 100])  # offset 0 block is the step's frame
    assert np.allclose(audio[3, 100:200], feats[:, 299])  # past the end: clipped to the last frame


def test_difficulty_id():
    assert difficulty_id("hard") == 3 and difficulty_id("Challenge") == 4 and difficulty_id(0) == 0
    with pytest.raises(ValueError):
        difficulty_id("edit")


@pytest.mark.parametrize("beam", [1, 5])
def test_selector_select_and_score(beam):
    sel = tiny_selector()
    with torch.no_grad():  # a model that loves mine-only rows: select never emits them by default
        sel.model.out.bias[sel.vocab.id("M000")] = 30.0
    raw = np.random.default_rng(1).normal(-5, 2, size=(100, 1000)).astype(np.float32)
    times = np.sort(np.random.default_rng(2).uniform(0.2, 9.5, 60))
    rows = sel.select(raw, times, "Hard", beam_size=beam)
    assert len(rows) == 60 and is_valid_sequence(rows) and all(r in sel.vocab for r in rows)
    assert "M000" not in rows
    assert sel.select(raw, times, "Hard", beam_size=beam) == rows  # deterministic (seed 0)
    plain = sel.select(raw, times, "Hard", beam_size=beam, seed=None)
    assert len(plain) == 60 and is_valid_sequence(plain)
    assert sel.select(raw, times, "Hard", beam_size=beam, seed=None) == plain
    assert sel.select(raw, [], "Easy") == []
    human = ["1000", "2000", "0100", "3000", "1111", "0M0M"] * 10
    s = sel.score(raw, times, human, "Hard")
    assert s["n"] == s["count"] == 60 and 0 <= s["correct"] <= 60 and s["accuracy"] == s["correct"] / 60
    assert s["nll"] > 0 and s["perplexity"] == pytest.approx(math.exp(s["nll"] / 60))
    assert s["n_mapped"] >= 20  # 1111 and 0M0M are not in the vocabulary
    with pytest.raises(ValueError):
        sel.score(raw, times, human[:-1], "Hard")


def test_bundle_round_trip(tmp_path):
    from ddc_sm.weights import save_bundle

    sel = tiny_selector()
    save_bundle(tmp_path / "selection.pt", "selection", TINY, sel.model.state_dict(), sel.stats.to_dict(),
                {"vocab": sel.vocab.to_dict()})
    loaded = StepSelector.load(tmp_path)
    assert loaded.vocab.rows == sel.vocab.rows
    raw = np.random.default_rng(1).normal(-5, 2, size=(100, 500)).astype(np.float32)
    times = np.arange(0.5, 4.5, 0.25)
    rows = loaded.select(raw, times, "Medium", beam_size=3)
    assert len(rows) == len(times) and is_valid_sequence(rows)


def test_tiny_training_smoke():
    """The training loop on random features: runs, keeps the best epoch, scores sensibly."""
    from ddc_sm.selection.train import ChartSample, SongFeatures, baselines, encode_chart, evaluate, train_model

    rng = np.random.default_rng(0)
    vocab = Vocab.build([ROWS], k=20)
    feats = [SongFeatures(rng.normal(size=(100, 600)).astype(np.float32), np.arange(600, dtype=np.int32))]
    charts = []
    for i in range(4):
        rows = ["1000", "0100", "0010", "0001", "2000", "3000"] * 6
        times = np.arange(len(rows)) * 0.15 + 0.3 + i * 0.01
        charts.append(ChartSample(0, "p/s", i % 5, times, encode_chart(vocab, rows, ["identity", "mirror"])))
    config = {**TINY, "seed": 0, "train": {"valid_share": 0.1, "window": 16, "batch_size": 4, "epochs": 3,
                                           "max_minutes": 5, "patience": 3, "lr": 3e-3, "weight_decay": 0.0,
                                           "warmup_steps": 2, "grad_clip": 1.0, "permutations": ["identity", "mirror"],
                                           "time_jitter_ms": 5.0, "time_jitter_max_ms": 10.0, "gain_jitter": 0.5}}
    logs = []
    model, history, best = train_model(charts[:3], charts[3:], feats, vocab, config, np.ones(100, np.float32),
                                       logs.append)
    assert len(history) == 3 and best["valid_nll"] == min(h["valid_nll"] for h in history)
    ev = evaluate(model, charts[3:], feats, config, np.ones(100, np.float32))
    assert ev["n"] == 36 and ev["nll"] == pytest.approx(best["valid_nll"], rel=1e-4)
    base = baselines(charts[:3], charts[3:], len(vocab))
    assert 0 <= base["bigram"]["accuracy"] <= 1 and base["most_frequent"]["perplexity"] > 1
    assert any("epoch" in m for m in logs)


def test_train_command_on_a_synthesised_pack(tmp_path, monkeypatch):
    """End to end: `ddc-sm train selection` on a two-song synthesised pack with a tiny config."""
    import json

    import soundfile as sf

    from ddc_sm.audio.synth import drum_track
    from ddc_sm.selection.train import run_train_selection

    monkeypatch.setenv("DDC_SM_CACHE", str(tmp_path / "cache"))
    pack = tmp_path / "pack"
    patterns = ["1000", "0100", "0010", "0001", "2000", "0000", "3000", "1001"]
    for si in range(2):
        song = pack / f"song{si}"
        song.mkdir(parents=True)
        track = drum_track(120.0, 0.5, 12.0, sample_rate=16000, seed=si)
        sf.write(song / "song.wav", track.samples, 16000)
        measures = [("\n".join(patterns[(m + j) % len(patterns)] for j in range(4))) for m in range(5)]
        notes = "\n,\n".join(measures)
        charts = "".join(
            f"#NOTES:\n     dance-single:\n     :\n     {d}:\n     {i + 2}:\n     0,0,0,0,0:\n{notes}\n;\n"
            for i, d in enumerate(["Easy", "Hard"]))
        (song / "song.sm").write_text(f"#TITLE:s{si};\n#MUSIC:song.wav;\n#OFFSET:-0.5;\n#BPMS:0.000=120.000;\n"
                                      + charts, encoding="utf-8")
    config = dict(TINY)
    # seed 4 puts pack/song0 in valid and pack/song1 in train (seeded song-level hash)
    config.update(seed=4, vocab_size=16,
                  train={"valid_share": 0.4, "window": 8, "batch_size": 4, "epochs": 2, "max_minutes": 2})
    cfg_path = tmp_path / "cfg.json"
    cfg_path.write_text(json.dumps(config))
    logs = []
    assert run_train_selection([pack], tmp_path / "out", cfg_path, log=logs.append) == 0
    sel = StepSelector.load(tmp_path / "out")
    summary = sel.extra["summary"]
    assert sel.extra["train_songs"] == ["pack/song1"] and sel.extra["valid_songs"] == ["pack/song0"]
    assert sel.extra["command"].startswith("ddc-sm train selection")
    assert summary["n_charts"] == {"train": 2, "valid": 2}
    assert len(summary["history"]) >= 1
    raw = np.random.default_rng(0).normal(-5, 2, size=(100, 1200)).astype(np.float32)
    rows = sel.select(raw, np.arange(0.5, 10.0, 0.25), "Easy", beam_size=4)
    assert len(rows) == 38 and is_valid_sequence(rows)


@pytest.mark.skipif(not (Path(__file__).resolve().parents[1] / "ddc_sm" / "weights" / "selection.pt").exists(),
                    reason="shipped selection weights not built yet")
def test_shipped_weights_select_long_chart():
    sel = StepSelector.load()
    assert len(sel.vocab) > N_SPECIALS + 8
    raw = np.random.default_rng(0).normal(sel.stats.mean[:, None], sel.stats.std[:, None], size=(100, 4000))
    times = np.arange(0.5, 39.5, 0.125)  # 312 steps
    rows = sel.select(raw.astype(np.float32), times, "Challenge", beam_size=4)
    assert len(rows) == len(times) and is_valid_sequence(rows)


def test_real_song_if_available():
    if not SHARED.is_dir():
        pytest.skip(f"real data not found at {SHARED} (../shared/data/packs); skipping the real-song check")
    if not (Path(__file__).resolve().parents[1] / "ddc_sm" / "weights" / "selection.pt").exists():
        pytest.skip("shipped selection weights not built yet")
    from ddc_sm.simfiles.dataset import iter_songs
    from ddc_sm.audio.cache import cached_features

    song = next(s for s in iter_songs([SHARED / "StepMania 5"]) if s.charts and s.audio_path)
    chart = song.charts[0]
    sel = StepSelector.load()
    raw = cached_features(song.audio_path, "selection")
    times, rows = chart.times[:200], chart.rows[:200]
    out = sel.select(raw, times, chart.difficulty, beam_size=5)
    assert len(out) == len(times) and is_valid_sequence(out)
    s = sel.score(raw, times, rows, chart.difficulty)
    assert s["n"] == len(times) and s["perplexity"] < len(sel.vocab)


@pytest.mark.skipif(not (Path(__file__).resolve().parents[1] / "ddc_sm" / "weights" / "selection.pt").exists(),
                    reason="shipped selection weights not built yet")
@pytest.mark.parametrize("workers", [1, 2])
def test_shipped_weights_all_difficulties_at_once_are_each_chart_alone(workers):
    """select_many (one batched search, or two threads) gives each chart the rows of the search of that chart alone
    (``beam_search``; tests/test_beam_search.py checks that one against the single-chart search as it was)."""
    from ddc_sm.selection.beam_search import beam_search, tokens_to_rows
    from ddc_sm.selection.inference import (FAST_REPEAT_PANELS, JUMP_BUDGET, NO_CROSSOVER_DIFFICULTIES,
                                            chart_seed)

    sel = StepSelector.load()
    rng = np.random.default_rng(1)
    raw = rng.normal(sel.stats.mean[:, None], sel.stats.std[:, None], size=(100, 2400)).astype(np.float32)
    times = {"Beginner": np.sort(rng.uniform(0.5, 23.0, 40)), "Medium": np.sort(rng.uniform(0.5, 23.0, 90)),
             "Challenge": np.sort(rng.uniform(0.5, 23.0, 130))}
    got = sel.select_many(raw, times, beam_size=20, seed=3, workers=workers)
    decode = sel.config.get("decode", {})
    for name, t in times.items():
        diff = difficulty_id(name)
        bias = None
        if decode.get("jump_logit_bias", {}).get(name):
            bias = torch.zeros(len(sel.vocab))
            bias[sel.vocab.jump_tokens()] = float(decode["jump_logit_bias"][name])
        with torch.no_grad():
            memory = sel._encode(raw, t, diff)[0]
            alone = beam_search(sel.model, memory, diff, sel.vocab, 20, seed=chart_seed(3, diff, t),
                                banned=sel.vocab.mine_only_tokens(),
                                no_crossovers=diff in NO_CROSSOVER_DIFFICULTIES, logit_bias=bias,
                                jump_budget=JUMP_BUDGET[name], no_fast_repeats=diff in FAST_REPEAT_PANELS,
                                times=t, repeat_panels=FAST_REPEAT_PANELS.get(diff))
        assert got[name] == tokens_to_rows(alone, sel.vocab)


def test_chart_seed_is_the_same_for_the_same_chart_and_differs_between_charts():
    from ddc_sm.selection.inference import chart_seed

    times = np.arange(40) * 0.5 + 1.0
    assert chart_seed(0, 0, times) == chart_seed(0, 0, times.copy())
    assert chart_seed(0, 0, times) == chart_seed(0, 0, times + 0.0001)  # to the millisecond
    others = {chart_seed(1, 0, times), chart_seed(0, 1, times), chart_seed(0, 0, times + 0.25),
              chart_seed(0, 0, times[:-1])}
    assert chart_seed(0, 0, times) not in others and len(others) == 4
    assert all(0 <= s < 2 ** 63 for s in others)


@pytest.mark.skipif(not (Path(__file__).resolve().parents[1] / "ddc_sm" / "weights" / "selection.pt").exists(),
                    reason="shipped selection weights not built yet")
def test_shipped_weights_two_songs_with_the_same_step_inputs_get_their_own_arrows():
    """Two songs whose steps look the same to the model (featureless audio, the same gaps) but fall at other times
    are other songs: they must not get one chart (with one seed for every song, 7 of 8 test songs opened their
    Beginner charts with the same 18 rows); the same song again gets the same chart."""
    sel = StepSelector.load()
    raw = np.repeat(sel.stats.mean[:, None], 3000, axis=1).astype(np.float32)
    first = 1.0 + np.arange(40) * 0.5
    second = first + 0.25
    a = sel.select(raw, first, "Beginner", beam_size=20, seed=0)
    b = sel.select(raw, second, "Beginner", beam_size=20, seed=0)
    assert a == sel.select(raw, first, "Beginner", beam_size=20, seed=0)
    assert a != b
