"""Stage 1: the C-LSTM step placement model (Dance Dance Convolution style).

Per frame, a 15-frame context window (±7) of z-scored log-mel features (80 bands × 3 FFT sizes) goes through

    conv 3→10, kernel 7 (time) × 3 (freq) → ReLU → max-pool 1×3 (freq)
    conv 10→20, kernel 3 × 3            → ReLU → max-pool 1×3 (freq)   → 20 × 7 × 8 = 1120 features

The 1120 features are concatenated with the one-hot difficulty (Beginner..Challenge) and, when the config has
``beat_features``, the frame's place in the beat grid (:mod:`ddc_sm.placement.beats`), projected to a small
size, and an LSTM over frames gives one step logit per frame.

Efficiency: because the convolutions are "valid" in time and the windows of neighbouring frames overlap, the
conv stack of all windows equals one convolution over the whole (zero-padded) song followed by a 7-frame unfold
of the pooled output (:meth:`PlacementModel.conv_features`).  The conv features and the projection of the
conv part do not depend on the difficulty (:meth:`PlacementModel.encode`); only the difficulty's column of
the projection and the LSTM are run per difficulty (:meth:`PlacementModel.decode`).

Tensor layout: features are (batch, channels=3, frames, bands=80).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

import torch
from torch import nn


@dataclass
class PlacementConfig:
    n_bands: int = 80
    n_channels: int = 3
    context: int = 7  # frames each side: window = 2 * context + 1 = 15
    conv1_channels: int = 10
    conv1_time: int = 7
    conv1_freq: int = 3
    conv2_channels: int = 20
    conv2_time: int = 3
    conv2_freq: int = 3
    pool_freq: int = 3
    n_difficulties: int = 5
    beat_features: int = 0  # per-frame beat-phase inputs (ddc_sm.placement.beats: 6), 0 = none (the seed's model)
    proj_size: int = 128  # projection of [conv features ; difficulty one-hot] before the LSTM
    lstm_hidden: int = 64
    lstm_layers: int = 2
    bidirectional: bool = True
    fc_size: int = 64  # hidden layer between LSTM and the logit (0 = none)
    dropout: float = 0.3

    @classmethod
    def from_dict(cls, d: dict | None) -> "PlacementConfig":
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in (d or {}).items() if k in names})

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def window(self) -> int:
        return 2 * self.context + 1

    @property
    def conv_out_time(self) -> int:
        return self.window - (self.conv1_time - 1) - (self.conv2_time - 1)

    @property
    def conv_out_freq(self) -> int:
        f = (self.n_bands - self.conv1_freq + 1) // self.pool_freq
        return (f - self.conv2_freq + 1) // self.pool_freq

    @property
    def conv_features(self) -> int:
        """Features per frame after the conv stack (1120 for the brief's shapes)."""
        return self.conv2_channels * self.conv_out_time * self.conv_out_freq


class PlacementModel(nn.Module):
    def __init__(self, config: PlacementConfig | dict | None = None):
        super().__init__()
        if not isinstance(config, PlacementConfig):
            config = PlacementConfig.from_dict(config)
        c = self.config = config
        if c.conv_out_time < 1 or c.conv_out_freq < 1:
            raise ValueError(f"conv stack leaves no output for config {c}")
        self.conv1 = nn.Conv2d(c.n_channels, c.conv1_channels, (c.conv1_time, c.conv1_freq))
        self.conv2 = nn.Conv2d(c.conv1_channels, c.conv2_channels, (c.conv2_time, c.conv2_freq))
        self.pool = nn.MaxPool2d((1, c.pool_freq))
        # Linear over [conv features ; one-hot difficulty]; split in encode/decode so that the conv part is
        # computed once for all difficulties.
        # Columns: [conv features | difficulty one-hot | beat phase].
        self.proj = nn.Linear(c.conv_features + c.n_difficulties + c.beat_features, c.proj_size)
        self.drop = nn.Dropout(c.dropout)
        self.lstm = nn.LSTM(c.proj_size, c.lstm_hidden, num_layers=c.lstm_layers, batch_first=True,
                            bidirectional=c.bidirectional, dropout=c.dropout if c.lstm_layers > 1 else 0.0)
        out = c.lstm_hidden * (2 if c.bidirectional else 1)
        if c.fc_size:
            self.head = nn.Sequential(nn.Linear(out, c.fc_size), nn.ReLU(), nn.Dropout(c.dropout), nn.Linear(c.fc_size, 1))
        else:
            self.head = nn.Linear(out, 1)

    # --- conv stack -------------------------------------------------------------------------------------
    def pad(self, x: torch.Tensor) -> torch.Tensor:
        """Zero-pad (B, C, T, F) features by ``context`` frames at both ends (the song ends)."""
        k = self.config.context
        return nn.functional.pad(x, (0, 0, k, k))

    def conv_features(self, x_padded: torch.Tensor, chunk: int = 4096) -> torch.Tensor:
        """(B, C, T + 2·context, F) padded features → (B, T, conv_features), computed in chunks of frames.

        Row t of the output is exactly the conv stack applied to the 15-frame window centred on frame t.
        """
        c = self.config
        w = c.window
        total = x_padded.shape[2] - (w - 1)
        if total <= 0:
            raise ValueError("input shorter than the context window")
        outs = []
        for start in range(0, total, chunk):
            n = min(chunk, total - start)
            h = x_padded[:, :, start:start + n + w - 1]
            h = self.pool(torch.relu(self.conv1(h)))
            h = self.pool(torch.relu(self.conv2(h)))  # (B, 20, n + conv_out_time - 1, 8)
            h = h.unfold(2, c.conv_out_time, 1)  # (B, 20, n, 8, 7)
            h = h.permute(0, 2, 1, 4, 3).reshape(h.shape[0], n, -1)  # (B, n, 20·7·8) in (chan, time, freq) order
            outs.append(h)
        return outs[0] if len(outs) == 1 else torch.cat(outs, dim=1)

    # --- difficulty-independent / dependent halves --------------------------------------------------------
    def encode(self, x_padded: torch.Tensor, chunk: int = 4096, beat: torch.Tensor | None = None) -> torch.Tensor:
        """Conv features projected (without the difficulty term): (B, T, proj_size).

        ``beat`` (B, T, beat_features): the beat-phase inputs of a model that has them (zeros when None).
        """
        c = self.config
        nf = c.conv_features
        outs = []
        w = self.config.window
        total = x_padded.shape[2] - (w - 1)
        for start in range(0, total, chunk):
            n = min(chunk, total - start)
            feats = self.conv_features(x_padded[:, :, start:start + n + w - 1], chunk=chunk)
            outs.append(nn.functional.linear(feats, self.proj.weight[:, :nf], self.proj.bias))
        enc = outs[0] if len(outs) == 1 else torch.cat(outs, dim=1)
        if c.beat_features and beat is not None:
            enc = enc + nn.functional.linear(beat, self.proj.weight[:, nf + c.n_difficulties:])
        return enc

    def decode(self, enc: torch.Tensor, difficulty: torch.Tensor) -> torch.Tensor:
        """enc (B, T, P) from :meth:`encode`, difficulty (B,) int indices → logits (B, T)."""
        nf, nd = self.config.conv_features, self.config.n_difficulties
        diff_term = self.proj.weight[:, nf:nf + nd].t()[difficulty]  # one-hot @ W_d = row of W_d^T
        h = self.drop(torch.relu(enc + diff_term[:, None, :]))
        h, _ = self.lstm(h)
        return self.head(self.drop(h)).squeeze(-1)

    def forward(self, x: torch.Tensor, difficulty: torch.Tensor, *, padded: bool = False,
                beat: torch.Tensor | None = None) -> torch.Tensor:
        """x (B, C, T, F) z-scored features (or padded by ``context`` frames each side when ``padded``);
        difficulty (B,) int indices into Beginner..Challenge; ``beat`` as :meth:`encode` → per-frame logits (B, T)."""
        if not padded:
            x = self.pad(x)
        return self.decode(self.encode(x, beat=beat), difficulty)


def build_model(config: PlacementConfig | dict | None = None) -> PlacementModel:
    return PlacementModel(config)
