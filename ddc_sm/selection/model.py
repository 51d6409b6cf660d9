"""Stage-2 step selection model: a small encoder-decoder transformer over the placed steps.

Encoder, per step: the normalised 100-band log-mel at the step's frame and a few neighbouring frames
(flattened), the log time gaps to the previous and next step plus first/last flags, and a difficulty
embedding; a 1-D convolution over steps gives local order, then pre-LN self-attention layers.
Decoder, per step: the previous state token (shifted right, ``<start>`` first), the open-hold bitmask
before the step and the difficulty; causal self-attention, cross-attention to the encoder, logits over
the vocabulary.

There are no absolute positions: every attention is *local* with a learned relative-position bias
(encoder: steps within ``enc_window`` either side; decoder self-attention: the last ``dec_window``
tokens; cross-attention: encoder steps within ``cross_window`` either side).  So a model trained on
windows of a chart computes exactly the same thing on a whole 1,500-step chart, and incremental decoding
(:meth:`SelectionTransformer.decode_step`) needs only a bounded key/value cache.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

NEG = -1e9
N_HOLD_STATES = 16
N_GAP_FEATURES = 4


class RelativeBias(nn.Module):
    """Per-head learned bias for the relative offset ``j - i`` in ``[lo, hi]``; outside it attention is masked."""

    def __init__(self, n_heads: int, lo: int, hi: int):
        super().__init__()
        self.lo, self.hi = lo, hi
        self.table = nn.Parameter(torch.zeros(n_heads, hi - lo + 1))

    def for_offsets(self, rel: torch.Tensor) -> torch.Tensor:
        """Bias (H, *rel.shape) for integer offsets ``rel`` (NEG where outside the band)."""
        inside = (rel >= self.lo) & (rel <= self.hi)
        b = self.table[:, (rel - self.lo).clamp(0, self.hi - self.lo)]
        return b.masked_fill(~inside, NEG)

    def matrix(self, tq: int, tk: int, device=None) -> torch.Tensor:
        """Bias (H, tq, tk) for query i and key j at offset ``j - i``.

        Without gradients it is built band by band (the same values as :meth:`for_offsets`), so a long chart
        needs one (H, tq, tk) float tensor instead of several int64 (tq, tk) temporaries.
        """
        if torch.is_grad_enabled() and self.table.requires_grad:
            rel = torch.arange(tk, device=device)[None, :] - torch.arange(tq, device=device)[:, None]
            return self.for_offsets(rel)
        out = torch.full((self.table.shape[0], tq, tk), NEG, dtype=self.table.dtype, device=device)
        for r in range(max(self.lo, 1 - tq), min(self.hi, tk - 1) + 1):
            out.diagonal(offset=r, dim1=1, dim2=2).copy_(self.table[:, r - self.lo, None])
        return out


class Attention(nn.Module):
    def __init__(self, d_model: int, n_heads: int, dropout: float):
        super().__init__()
        assert d_model % n_heads == 0
        self.h, self.dh = n_heads, d_model // n_heads
        self.q = nn.Linear(d_model, d_model)
        self.kv = nn.Linear(d_model, 2 * d_model)
        self.o = nn.Linear(d_model, d_model)
        self.dropout = dropout

    def project_kv(self, mem: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        b, t, _ = mem.shape
        k, v = self.kv(mem).view(b, t, 2, self.h, self.dh).permute(2, 0, 3, 1, 4)
        return k, v  # (B, H, T, dh)

    def attend(self, x: torch.Tensor, k: torch.Tensor, v: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape
        q = self.q(x).view(b, t, self.h, self.dh).transpose(1, 2)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=bias,
                                             dropout_p=self.dropout if self.training else 0.0)
        return self.o(out.transpose(1, 2).reshape(b, t, d))

    def forward(self, x, mem, bias):
        k, v = self.project_kv(mem)
        return self.attend(x, k, v, bias)


class FeedForward(nn.Module):
    def __init__(self, d_model: int, d_ff: int, dropout: float):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(d_model, d_ff), nn.GELU(), nn.Dropout(dropout), nn.Linear(d_ff, d_model))

    def forward(self, x):
        return self.net(x)


class EncoderLayer(nn.Module):
    def __init__(self, d_model, n_heads, d_ff, dropout):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(d_model), nn.LayerNorm(d_model)
        self.attn = Attention(d_model, n_heads, dropout)
        self.ff = FeedForward(d_model, d_ff, dropout)
        self.drop = nn.Dropout(dropout)

    def forward(self, x, bias):
        h = self.ln1(x)
        x = x + self.drop(self.attn(h, h, bias))
        return x + self.drop(self.ff(self.ln2(x)))


class DecoderLayer(nn.Module):
    def __init__(self, d_model, n_heads, d_ff, dropout):
        super().__init__()
        self.ln1, self.ln2, self.ln3 = nn.LayerNorm(d_model), nn.LayerNorm(d_model), nn.LayerNorm(d_model)
        self.self_attn = Attention(d_model, n_heads, dropout)
        self.cross_attn = Attention(d_model, n_heads, dropout)
        self.ff = FeedForward(d_model, d_ff, dropout)
        self.drop = nn.Dropout(dropout)

    def forward(self, x, mem, self_bias, cross_bias):
        h = self.ln1(x)
        x = x + self.drop(self.self_attn(h, h, self_bias))
        x = x + self.drop(self.cross_attn(self.ln2(x), mem, cross_bias))
        return x + self.drop(self.ff(self.ln3(x)))


class SelectionTransformer(nn.Module):
    """Encoder-decoder transformer emitting one state token per step.

    Shapes: ``audio`` (B, T, n_mels * len(frame_offsets)) normalised log-mel around each step, ``gaps``
    (B, T, 4) from :func:`ddc_sm.selection.inference.gap_features`, ``difficulty`` (B,) ints 0..4, ``tokens_in`` (B, T)
    previous tokens (``<start>`` first), ``holds`` (B, T) open-hold bitmask before each step, ``mask`` (B, T)
    True on real steps.  :meth:`forward` returns logits (B, T, vocab_size).
    """

    def __init__(self, vocab_size: int, n_mels: int = 100, n_frames: int = 5, d_model: int = 128,
                 n_heads: int = 4, enc_layers: int = 3, dec_layers: int = 3, d_ff: int = 256,
                 dropout: float = 0.1, enc_window: int = 32, dec_window: int = 64, cross_window: int = 16,
                 conv_kernel: int = 5, dec_conv: int = 0, n_difficulties: int = 5):
        super().__init__()
        self.vocab_size = vocab_size
        self.dec_window = dec_window
        self.cross_window = cross_window
        self.audio_in = nn.Sequential(nn.Linear(n_mels * n_frames, d_model), nn.GELU(), nn.Dropout(dropout),
                                      nn.Linear(d_model, d_model))
        self.gap_in = nn.Sequential(nn.Linear(N_GAP_FEATURES, d_model), nn.GELU(), nn.Linear(d_model, d_model))
        self.enc_difficulty = nn.Embedding(n_difficulties, d_model)
        self.conv = nn.Conv1d(d_model, d_model, conv_kernel, padding=conv_kernel // 2)
        self.enc_bias = RelativeBias(n_heads, -enc_window, enc_window)
        self.encoder = nn.ModuleList(EncoderLayer(d_model, n_heads, d_ff, dropout) for _ in range(enc_layers))
        self.enc_ln = nn.LayerNorm(d_model)

        self.token_emb = nn.Embedding(vocab_size, d_model)
        self.hold_emb = nn.Embedding(N_HOLD_STATES, d_model)
        self.dec_difficulty = nn.Embedding(n_difficulties, d_model)
        # optional causal convolution over the last ``dec_conv`` decoder inputs (explicit n-gram features)
        self.dec_conv = nn.Conv1d(d_model, d_model, dec_conv) if dec_conv > 0 else None
        self.self_bias = RelativeBias(n_heads, -(dec_window - 1), 0)
        self.cross_bias = RelativeBias(n_heads, -cross_window, cross_window)
        self.decoder = nn.ModuleList(DecoderLayer(d_model, n_heads, d_ff, dropout) for _ in range(dec_layers))
        self.dec_ln = nn.LayerNorm(d_model)
        self.out = nn.Linear(d_model, vocab_size)
        self.drop = nn.Dropout(dropout)
        self._init()

    def _init(self):
        for name, p in self.named_parameters():
            if p.dim() > 1 and "table" not in name:
                nn.init.normal_(p, std=0.02 if "emb" in name else 1.0 / math.sqrt(p.shape[-1]))
            elif name.endswith("bias") and p.dim() == 1:
                nn.init.zeros_(p)

    # ----------------------------------------------------------------------------------------- encoder
    def encode(self, audio, gaps, difficulty, mask=None) -> torch.Tensor:
        b, t, _ = audio.shape
        x = self.audio_in(audio) + self.gap_in(gaps) + self.enc_difficulty(difficulty)[:, None, :]
        if mask is not None:
            x = x * mask[..., None]
        x = x + self.conv(x.transpose(1, 2)).transpose(1, 2)
        x = self.drop(x)
        bias = self.enc_bias.matrix(t, t, x.device)[None]
        if mask is not None:
            bias = bias + torch.where(mask, 0.0, NEG)[:, None, None, :]
        for layer in self.encoder:
            x = layer(x, bias)
        return self.enc_ln(x)

    # ----------------------------------------------------------------------------------------- decoder
    def _dec_input(self, tokens, holds, difficulty):
        return self.token_emb(tokens) + self.hold_emb(holds) + self.dec_difficulty(difficulty)[:, None, :]

    def _causal_conv(self, x: torch.Tensor, history: torch.Tensor | None = None) -> torch.Tensor:
        """x + causal conv of x (B, T, d); ``history`` (B, k-1, d) holds the inputs before x (zeros if None)."""
        k = self.dec_conv.kernel_size[0]
        if history is None:
            history = x.new_zeros(x.shape[0], k - 1, x.shape[2])
        full = torch.cat([history, x], dim=1)
        return x + self.dec_conv(full.transpose(1, 2)).transpose(1, 2)

    def decode(self, tokens_in, holds, difficulty, memory, mask=None) -> torch.Tensor:
        b, t = tokens_in.shape
        x = self._dec_input(tokens_in, holds, difficulty)
        if self.dec_conv is not None:
            x = self._causal_conv(x)
        x = self.drop(x)
        self_bias = self.self_bias.matrix(t, t, x.device)[None]
        cross_bias = self.cross_bias.matrix(t, memory.shape[1], x.device)[None]
        if mask is not None:
            pad = torch.where(mask, 0.0, NEG)[:, None, None, :]
            self_bias, cross_bias = self_bias + pad, cross_bias + pad
        for layer in self.decoder:
            x = layer(x, memory, self_bias, cross_bias)
        return self.out(self.dec_ln(x))

    def forward(self, audio, gaps, difficulty, tokens_in, holds, mask=None) -> torch.Tensor:
        memory = self.encode(audio, gaps, difficulty, mask)
        return self.decode(tokens_in, holds, difficulty, memory, mask)

    # ------------------------------------------------------------------------------ incremental decoding
    def memory_kv(self, memory: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Cross-attention keys/values of every decoder layer for an encoded chart (batch 1)."""
        return [layer.cross_attn.project_kv(memory) for layer in self.decoder]

    def decode_step(self, tokens, holds, difficulty, pos: int, mem_kv, cache=None):
        """One decoder step for a batch of hypotheses (beams) of the same chart.

        ``tokens``/``holds`` (B,) are the previous token and open-hold bitmask of each hypothesis at step
        ``pos``; ``difficulty`` a (1,) or (B,) tensor; ``mem_kv`` from :meth:`memory_kv`; ``cache`` the
        per-layer self-attention keys/values of the last ``dec_window - 1`` steps and the last decoder inputs
        for the causal convolution (None at the first step).  Returns ``(logits (B, V), cache)``; reorder the
        cache with :meth:`reorder_cache` when beams move.
        """
        b = tokens.shape[0]
        x = self._dec_input(tokens[:, None], holds[:, None], difficulty.expand(b))
        layer_cache, conv_hist = (None, None) if cache is None else cache
        new_hist = None
        if self.dec_conv is not None:
            k = self.dec_conv.kernel_size[0]
            if k > 1:
                prev_hist = conv_hist if conv_hist is not None else x.new_zeros(b, k - 1, x.shape[2])
                new_hist = torch.cat([prev_hist, x], dim=1)[:, 1:]
            else:
                prev_hist = x.new_zeros(b, 0, x.shape[2])
            x = self._causal_conv(x, prev_hist)
        n_mem = mem_kv[0][0].shape[2]
        lo, hi = max(0, pos - self.cross_window), min(n_mem, pos + self.cross_window + 1)
        rel = torch.arange(lo, hi) - pos
        cross_bias = self.cross_bias.for_offsets(rel)[None, :, None, :]
        new_cache = []
        self_bias = None
        for i, layer in enumerate(self.decoder):
            h = layer.ln1(x)
            k, v = layer.self_attn.project_kv(h)
            if layer_cache is not None:
                pk, pv = layer_cache[i]
                k, v = torch.cat([pk, k], dim=2), torch.cat([pv, v], dim=2)
            k, v = k[:, :, -self.dec_window:], v[:, :, -self.dec_window:]
            new_cache.append((k[:, :, -(self.dec_window - 1):], v[:, :, -(self.dec_window - 1):])
                             if self.dec_window > 1 else (k[:, :, :0], v[:, :, :0]))
            if self_bias is None:
                self_bias = self.self_bias.for_offsets(torch.arange(-k.shape[2] + 1, 1))[None, :, None, :]
            x = x + layer.self_attn.attend(h, k, v, self_bias)
            mk, mv = mem_kv[i]
            x = x + layer.cross_attn.attend(layer.ln2(x), mk[:, :, lo:hi].expand(b, -1, -1, -1),
                                            mv[:, :, lo:hi].expand(b, -1, -1, -1), cross_bias)
            x = x + layer.ff(layer.ln3(x))
        return self.out(self.dec_ln(x))[:, 0], (new_cache, new_hist)

    @staticmethod
    def reorder_cache(cache, index: torch.Tensor):
        layer_cache, hist = cache
        return ([(k.index_select(0, index), v.index_select(0, index)) for k, v in layer_cache],
                None if hist is None else hist.index_select(0, index))


# ------------------------------------------------------------------------------ many charts at once
_BMM_EXACT: dict[tuple, bool] = {}


def _bmm_matches_linear(layer: nn.Linear, rows: int) -> bool:
    """Whether ``baddbmm`` over charts gives, bit for bit, what ``F.linear`` gives on each chart's ``rows`` rows
    alone with this BLAS (checked once per shape; when it does not, :class:`BeamDecoder` calls ``F.linear`` per
    chart)."""
    key = (layer.in_features, layer.out_features, rows)
    if key not in _BMM_EXACT:
        g = torch.Generator().manual_seed(1234)
        w = torch.randn(layer.out_features, layer.in_features, generator=g)
        b = torch.randn(layer.out_features, generator=g)
        x = torch.randn(3, rows, layer.in_features, generator=g)
        alone = torch.stack([F.linear(x[i], w, b) for i in range(3)])
        together = torch.baddbmm(b.expand(3, rows, -1), x, w.t().expand(3, -1, -1))
        _BMM_EXACT[key] = bool(torch.equal(alone, together))
    return _BMM_EXACT[key]


def _attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """softmax(q kᵀ / √dh + bias) v for (..., Lq, dh) queries and (..., Lk, dh) keys and values.

    What ``F.scaled_dot_product_attention`` computes, written as two batched products: for the one-query steps of
    the beam search its CPU kernel spends most of its time on setting up (about 130 µs a call against 40 µs), and
    the products run on each (hypothesis or chart, head) alone, so a chart's numbers do not depend on the others
    decoded with it.
    """
    scores = torch.matmul(q, k.transpose(-1, -2)) * (1.0 / math.sqrt(q.shape[-1]))
    return torch.matmul(torch.softmax(scores + bias, dim=-1), v)


class BeamDecoder:
    """Incremental decoding of the beams of several charts in one batch (:func:`ddc_sm.selection.beam_search.
    beam_search_many`).

    Each chart (a *job*) owns ``beam_size`` slots of preallocated per-hypothesis caches: the self-attention
    keys/values of the last ``dec_window - 1`` steps of every decoder layer, and the last decoder inputs of the
    causal convolution.  A hypothesis whose parent has no other child takes over the parent's slot, so moving
    beams copies nothing; only a parent's second child copies the parent's cache into a free slot (with the
    stochastic beam search that is about one hypothesis in 400).  The time axis of the caches is a sliding
    window over a longer buffer, compacted once every ``spare`` steps.

    The logits of every hypothesis are those :meth:`SelectionTransformer.decode_step` gives (to the rounding of
    the attention and the convolution, computed here as plain products), and a chart's logits are, bit for bit,
    the same whichever charts are decoded with it: rows do not interact, products with the weights run per chart (one ``baddbmm`` batch
    entry per chart, or ``F.linear`` per chart where this BLAS would round differently, see
    :func:`_bmm_matches_linear`; the causal convolution's one output step is such a product too), and the
    attention products run per hypothesis (self-attention) or per chart (cross-attention), see :func:`_attention`.

    ``memories``: encoder outputs (1, N_j, d), longest first (the charts still decoding then hold a prefix of the
    slots).  The rows of :meth:`step` are the hypotheses of the still-decoding charts, chart by chart, each chart's
    in its beam order.
    """

    def __init__(self, model: "SelectionTransformer", memories: list[torch.Tensor], difficulties: list[int],
                 beam_size: int, spare: int = 32):
        lengths = [int(m.shape[1]) for m in memories]
        if lengths != sorted(lengths, reverse=True):
            raise ValueError("memories must be ordered longest first")
        first = model.decoder[0].self_attn
        self.model = model
        self.lengths = lengths
        self.beam = int(beam_size)
        self.h, self.dh = first.h, first.dh
        self.d = self.h * self.dh
        self.mem_kv = [model.memory_kv(m) for m in memories]
        self.difficulty = torch.tensor(difficulties, dtype=torch.long)
        n_slots = len(memories) * self.beam
        self.window = model.dec_window
        self.keep = max(self.window - 1, 0)  # keys kept between steps
        self.capacity = self.keep + max(1, int(spare))
        # (layer, key/value, slot, head, time, dh): a layer's keys of all hypotheses lie together
        self.kv = torch.zeros(len(model.decoder), 2, n_slots, self.h, self.capacity, self.dh)
        self.start, self.held = 0, 0  # the history occupies [start, start + held) of the time axis
        self.conv_k = model.dec_conv.kernel_size[0] if model.dec_conv is not None else 0
        self.conv_hist = torch.zeros(n_slots, max(self.conv_k - 1, 0), self.d) if self.conv_k else None
        self.conv_as_linear = None
        if self.conv_k:  # weight (out, in, k) as a linear layer on the (k, in) inputs flattened
            w = model.dec_conv.weight.detach()
            self.conv_as_linear = nn.Linear(w.shape[1] * w.shape[2], w.shape[0])
            self.conv_as_linear.weight.data = w.permute(0, 2, 1).reshape(w.shape[0], -1).contiguous()
            self.conv_as_linear.bias.data = model.dec_conv.bias.detach().clone()
        # the slot of each hypothesis of each chart, in beam order: one hypothesis (<start>) at first
        self.slots = [torch.tensor([j * self.beam]) for j in range(len(memories))]
        self.pos = 0

    # -- helpers --
    def _linear(self, layer: nn.Linear, x: torch.Tensor, sizes: list[int]) -> torch.Tensor:
        """``layer`` on rows (R, 1, in) grouped by chart (``sizes``), as each chart alone would compute it."""
        k = sizes[0]
        if k > 1 and all(s == k for s in sizes) and _bmm_matches_linear(layer, k):
            n = len(sizes)
            out = torch.baddbmm(layer.bias.expand(n, k, -1), x.reshape(n, k, -1), layer.weight.t().expand(n, -1, -1))
            return out.view(x.shape[0], 1, -1)
        parts, a = [], 0
        for s in sizes:
            parts.append(F.linear(x[a:a + s], layer.weight, layer.bias))
            a += s
        return parts[0] if len(parts) == 1 else torch.cat(parts)

    # -- decoding --
    def step(self, tokens: torch.Tensor, holds: torch.Tensor) -> torch.Tensor:
        """Logits (R, V) of the next step for the hypotheses of the charts still decoding (see the class doc)."""
        m, pos = self.model, self.pos
        active = sum(1 for n in self.lengths if n > pos)
        sizes = [len(self.slots[j]) for j in range(active)]
        slots = torch.cat(self.slots[:active])
        r = len(slots)
        if r != len(tokens):
            raise ValueError(f"{len(tokens)} hypotheses given, {r} decoding")
        order = torch.argsort(slots)  # physical order: by slot (chart by chart)
        used = slots[order]
        dense = bool(used[-1] == r - 1)  # every slot of the decoding charts in use: caches are plain views
        diff = torch.repeat_interleave(self.difficulty[:active], torch.tensor(sizes))
        x = m._dec_input(tokens[order][:, None], holds[order][:, None], diff[order])
        bounds = [0]
        for s in sizes:  # physical rows are chart by chart too
            bounds.append(bounds[-1] + s)
        groups = [(bounds[j], bounds[j + 1]) for j in range(active)]
        phys_sizes = sizes
        if self.conv_k:
            hist = self.conv_hist[:r] if dense else self.conv_hist[used]
            full = torch.cat([hist, x], dim=1)
            # the convolution's one output step is a product with the flattened kernel, chart by chart
            x = x + self._linear(self.conv_as_linear, full.reshape(r, 1, -1), phys_sizes)
            if self.conv_k > 1:
                if dense:
                    self.conv_hist[:r] = full[:, 1:]
                else:
                    self.conv_hist[used] = full[:, 1:]
        t = self.start + self.held  # where this step's keys go
        span = self.held + 1
        lo = max(0, pos - m.cross_window)
        cross = []
        for j, (a, b) in enumerate(groups):
            hi = min(self.lengths[j], pos + m.cross_window + 1)
            cross.append((lo, hi, m.cross_bias.for_offsets(torch.arange(lo, hi) - pos)[None, :, None, :]))
        self_bias = m.self_bias.for_offsets(torch.arange(-span + 1, 1))[None, :, None, :]
        same_cross = len(groups) > 1 and len(set(phys_sizes)) == 1 and len({c[:2] for c in cross}) == 1
        for i, layer in enumerate(m.decoder):
            h = layer.ln1(x)
            kv_new = self._linear(layer.self_attn.kv, h, phys_sizes).view(r, 2, self.h, self.dh)
            kv_new = kv_new.transpose(0, 1)  # (2, R, H, dh)
            if dense:
                self.kv[i, :, :r, :, t] = kv_new
                k = self.kv[i, 0, :r, :, self.start:t + 1]
                v = self.kv[i, 1, :r, :, self.start:t + 1]
            else:
                self.kv[i, :, used, :, t] = kv_new
                window = self.kv[i, :, :, :, self.start:t + 1].index_select(1, used)
                k, v = window[0], window[1]
            q = self._linear(layer.self_attn.q, h, phys_sizes).view(r, 1, self.h, self.dh).transpose(1, 2)
            att = _attention(q, k, v, self_bias)  # (R, H, 1, dh): one small product per hypothesis and head
            x = x + self._linear(layer.self_attn.o, att.transpose(1, 2).reshape(r, 1, self.d), phys_sizes)
            q = self._linear(layer.cross_attn.q, layer.ln2(x), phys_sizes).view(r, self.h, self.dh)
            if same_cross:  # every chart attends to the same window: one product per chart and head
                n, kk = len(groups), phys_sizes[0]
                mk = torch.cat([self.mem_kv[j][i][0][:, :, cross[0][0]:cross[0][1]] for j in range(n)])
                mv = torch.cat([self.mem_kv[j][i][1][:, :, cross[0][0]:cross[0][1]] for j in range(n)])
                qc = q.view(n, kk, self.h, self.dh).transpose(1, 2)  # (charts, H, beams, dh)
                att = _attention(qc, mk, mv, cross[0][2][0]).transpose(1, 2).reshape(r, 1, self.d)
            else:
                outs = []
                for j, (a, b) in enumerate(groups):
                    mk, mv = self.mem_kv[j][i]
                    c_lo, c_hi, c_bias = cross[j]
                    qc = q[a:b].transpose(0, 1)[None]  # (1, H, beams, dh)
                    outs.append(_attention(qc, mk[:, :, c_lo:c_hi], mv[:, :, c_lo:c_hi], c_bias[0])[0]
                                .transpose(0, 1).reshape(b - a, 1, self.d))
                att = outs[0] if len(outs) == 1 else torch.cat(outs)
            x = x + self._linear(layer.cross_attn.o, att, phys_sizes)
            ff = layer.ff.net
            hidden = ff[1](self._linear(ff[0], layer.ln3(x), phys_sizes))
            x = x + self._linear(ff[3], hidden, phys_sizes)
        logits = self._linear(m.out, m.dec_ln(x), phys_sizes)[:, 0]
        return logits[torch.argsort(order)]  # back to the hypotheses' order

    def advance(self, parents: torch.Tensor) -> None:
        """Move to the next step: ``parents`` (R',) indexes, for each hypothesis of the charts that go on (chart by
        chart, in beam order), its parent among the rows of the last :meth:`step`."""
        pos = self.pos
        going = sum(1 for n in self.lengths if n > pos + 1)
        old = torch.cat([s for s in self.slots[:sum(1 for n in self.lengths if n > pos)]])
        pslot = old[parents]
        # the first child of each parent keeps the parent's slot; the others take the chart's free slots
        n_slots = going * self.beam
        child = torch.arange(len(pslot))
        first = torch.full((n_slots,), len(pslot), dtype=torch.long).scatter_reduce(0, pslot, child, "amin")
        keeps = first[pslot] == child
        new = pslot.clone()
        if not bool(keeps.all()):
            taken = first < len(pslot)
            free = torch.nonzero(~taken).squeeze(1)  # by slot, so chart by chart
            dup = torch.nonzero(~keeps).squeeze(1)
            chart_of_dup = pslot[dup] // self.beam
            chart_of_free = free // self.beam
            # the i-th extra child of a chart gets the chart's i-th free slot
            free_start = torch.searchsorted(chart_of_free, chart_of_dup)
            dup_start = torch.searchsorted(chart_of_dup, chart_of_dup)
            dst = free[free_start + torch.arange(len(dup)) - dup_start]
            src = pslot[dup]
            new[dup] = dst
            self.kv[:, :, dst] = self.kv[:, :, src]
            if self.conv_hist is not None:
                self.conv_hist[dst] = self.conv_hist[src]
        sizes = torch.bincount(pslot // self.beam, minlength=going)[:going].tolist()
        self.slots = list(torch.split(new, sizes)) + self.slots[going:]
        # slide the time window: keep the last ``keep`` keys
        if self.held + 1 > self.keep:
            self.start += self.held + 1 - self.keep
            self.held = self.keep
        else:
            self.held += 1
        if self.start + self.held >= self.capacity:
            n = going * self.beam
            self.kv[:, :, :n, :, :self.held] = self.kv[:, :, :n, :, self.start:self.start + self.held].clone()
            self.start = 0
        self.pos += 1
