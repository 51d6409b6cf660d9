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
        rel = torch.arange(tk, device=device)[None, :] - torch.arange(tq, device=device)[:, None]
        return self.for_offsets(rel)


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
