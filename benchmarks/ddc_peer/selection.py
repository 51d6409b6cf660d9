"""The original DDC step-selection model (``model_ss-23628``) as a benchmark peer: perplexity and accuracy
of human step rows given the human step times, and charts of its own arrows for given step times
(:meth:`DDCPeerSelector.generate`, used by ``benchmarks/patterns.py --generated``).

Architecture (``SymNet`` as the released server built it; numpy re-implementation):
    input per step k: the previous row as a "bag of arrows" (17 values: index 0 = start symbol ``<-1>``,
    else ``1 + 4*arrow + class`` for each of the 4 arrows, classes 0 empty, 1 tap, 2 hold/roll head,
    3 tail) and the time gaps ``[t_k - t_{k-1}, t_{k+1} - t_k]`` in seconds (0 at the ends)
    -> ``rnn_proj``: bag @ W + gaps @ nosym_W + b (128) -> 2-layer LSTM (TF ``BasicLSTMCell``, gates
    i, j, f, o, forget bias 1.0) -> softmax over 257 classes: 0 = ``<-1>``, ``1 + base-4 value`` of the row
    (``labels_4_0123.txt`` lists the 256 rows in that order).
DDC trained on rows with mines removed (``M`` -> ``0``), rolls as holds (``4`` -> ``2``) and empty rows
dropped; :func:`ddc_row` applies the same mapping to ddc_sm's normalised rows.

    python -m benchmarks.ddc_peer.selection --root ../shared/data --split test
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from ddc_sm.placement.ddc_checkpoint import read_checkpoint
from .placement import DEFAULT_PEER_DIR, REPO_ROOT, PeerUnavailable

CHECKPOINT_NAME = "model_ss-23628"
SCOPE = "model_ss/"
N_ARROWS, N_CLASSES = 4, 4
START = "<-1>"
_CELL = "rnn_unroll/MultiRNNCell/Cell{}/BasicLSTMCell/Linear/"
FORGET_BIAS = 1.0


def ddc_row(row: str) -> str:
    """ddc_sm row ('0 1 2 3 4 M' per column) -> DDC's 4-class row (mines empty, rolls as holds)."""
    return row.replace("M", "0").replace("4", "2")


def row_index(row: str) -> int:
    """Output class of a DDC row: 1 + its base-4 value (0 is the start symbol)."""
    return 1 + int(row, N_CLASSES)


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _gaps(times: np.ndarray) -> np.ndarray:
    """(N, 2): each step's gaps to the previous and the next step in seconds (0 at the ends), DDC's input."""
    padded = np.concatenate([times[:1], times, times[-1:]])
    return np.stack([padded[1:-1] - padded[:-2], padded[2:] - padded[1:-1]], axis=1)


class DDCPeerSelector:
    def __init__(self, weights: dict[str, np.ndarray]):
        w = {k: np.asarray(v, np.float64) for k, v in weights.items()}
        self.proj_w, self.proj_nosym_w, self.proj_b = w["rnn_proj/W"], w["rnn_proj/nosym_W"], w["rnn_proj/b"]
        self.cells = [(w[_CELL.format(i) + "Matrix"], w[_CELL.format(i) + "Bias"]) for i in range(2)]
        self.out_w, self.out_b = w["sym_rnn_output/softmax_w"], w["sym_rnn_output/softmax_b"]
        if self.proj_w.shape != (17, 128) or self.out_w.shape != (128, 257):
            raise ValueError("unexpected DDC selection checkpoint shapes")
        self.size = self.proj_b.shape[0]

    @classmethod
    def load(cls, peer_dir=None) -> "DDCPeerSelector":
        peer_dir = Path(peer_dir) if peer_dir is not None else DEFAULT_PEER_DIR
        path = peer_dir / CHECKPOINT_NAME
        if not path.is_file():
            raise PeerUnavailable(f"DDC peer not available: {CHECKPOINT_NAME} not found in {peer_dir}")
        raw = read_checkpoint(path)
        return cls({k[len(SCOPE):]: v for k, v in raw.items() if k.startswith(SCOPE)})

    @staticmethod
    def encode_input(prev: str) -> np.ndarray:
        x = np.zeros(1 + N_ARROWS * N_CLASSES)
        if prev == START:
            x[0] = 1.0
        else:
            for i, c in enumerate(prev):
                x[1 + i * N_CLASSES + int(c)] = 1.0
        return x

    def log_probs(self, rows: list[str], times: np.ndarray) -> np.ndarray:
        """(len(rows), 257) log-probabilities of each step's row given the previous rows and the times.
        ``rows`` are DDC rows (see :func:`ddc_row`)."""
        times = np.asarray(times, np.float64)
        n = len(rows)
        if n == 0:
            return np.zeros((0, self.out_w.shape[1]))
        gaps = _gaps(times)
        prev = [START] + list(rows[:-1])
        x_all = np.stack([self.encode_input(p) for p in prev]) @ self.proj_w + gaps @ self.proj_nosym_w + self.proj_b
        state = [(np.zeros(self.size), np.zeros(self.size)) for _ in self.cells]
        out = np.empty((n, self.out_w.shape[1]))
        for k in range(n):
            out[k] = self._step(x_all[k], state)
        return out

    def _step(self, x: np.ndarray, state: list) -> np.ndarray:
        """One LSTM step from the projected input ``x`` (updates ``state``); log-probabilities (257,)."""
        h_in = x
        for layer, (mat, bias) in enumerate(self.cells):
            c, h = state[layer]
            gates = np.concatenate([h_in, h]) @ mat + bias
            i, j, f, o = np.split(gates, 4)
            c = c * _sigmoid(f + FORGET_BIAS) + _sigmoid(i) * np.tanh(j)
            h = np.tanh(c) * _sigmoid(o)
            state[layer] = (c, h)
            h_in = h
        logits = h_in @ self.out_w + self.out_b
        logits -= logits.max()
        return logits - np.log(np.exp(logits).sum())

    def generate(self, times, seed: int = 0, temperature: float = 1.0) -> list[str]:
        """DDC's arrows for the step ``times``: each row sampled (seeded) from the model's distribution given the
        rows before it, as DDC's released demo charts, restricted to rows that are playable: not empty, and
        holds well-formed (a held column gets nothing or its tail, a free one never a tail, and no more holds
        open than steps left to close them, so the last row leaves none open).  The restriction is ours (DDC
        itself repairs nothing); ddc_sm's own beam search has the same hold rule."""
        times = np.asarray(times, np.float64)
        n = len(times)
        if n == 0:
            return []
        rng = np.random.default_rng(seed)
        labels = [np.base_repr(k, N_CLASSES).zfill(N_ARROWS) for k in range(N_CLASSES ** N_ARROWS)]
        classes = np.array([[int(c) for c in r] for r in labels])  # (256, 4)
        gaps = _gaps(times)
        state = [(np.zeros(self.size), np.zeros(self.size)) for _ in self.cells]
        held = np.zeros(N_ARROWS, dtype=bool)
        prev, rows = START, []
        for k in range(n):
            x = self.encode_input(prev) @ self.proj_w + gaps[k] @ self.proj_nosym_w + self.proj_b
            lp = self._step(x, state)[1:] / temperature  # the 256 rows
            tails_ok = np.all((classes != 3) | held, axis=1)
            held_ok = np.all(~held | (classes == 0) | (classes == 3), axis=1)
            after = (held & (classes != 3)) | (classes == 2)
            ok = tails_ok & held_ok & (after.sum(axis=1) <= n - 1 - k) & (classes != 0).any(axis=1)
            p = np.where(ok, np.exp(lp - lp[ok].max()), 0.0)
            choice = int(rng.choice(len(labels), p=p / p.sum()))
            rows.append(labels[choice])
            held = after[choice]
            prev = labels[choice]
        return rows

    def score(self, rows: list[str], times: np.ndarray) -> dict:
        """Per-step negative log-likelihood (nats), perplexity and argmax accuracy of DDC rows."""
        lp = self.log_probs(rows, times)
        target = np.array([row_index(r) for r in rows], dtype=np.int64)
        nll = -lp[np.arange(len(rows)), target]
        return {"nll": nll, "perplexity": float(np.exp(nll.mean())) if len(rows) else float("nan"),
                "accuracy": float(np.mean(lp.argmax(axis=1) == target)) if len(rows) else float("nan")}


def chart_inputs(chart) -> tuple[list[str], np.ndarray]:
    """DDC rows and times of a ddc_sm ChartData (rows empty after the mapping are dropped, as DDC did)."""
    rows, times = [], []
    for row, t in zip(chart.rows, chart.times):
        r = ddc_row(row)
        if r != "0" * N_ARROWS:
            rows.append(r)
            times.append(t)
    return rows, np.asarray(times, np.float64)


def evaluate(root, split: str = "test", peer_dir=None, out=sys.stdout) -> dict:
    from ddc_sm.simfiles.dataset import iter_songs
    from ddc_sm.simfiles.splits import load_split

    selector = DDCPeerSelector.load(peer_dir)
    keys = None if split == "all" else set(load_split()[split])
    total_nll, total_steps, total_correct, charts = 0.0, 0, 0, 0
    print(f"{'song':50s} {'difficulty':10s} {'steps':>6s} {'ppl':>7s} {'acc':>6s}", file=out)
    for song in iter_songs(root):
        if keys is not None and song.key not in keys:
            continue
        for chart in song.charts:
            rows, times = chart_inputs(chart)
            if len(rows) < 2:
                continue
            s = selector.score(rows, times)
            charts += 1
            total_nll += float(s["nll"].sum())
            total_steps += len(rows)
            total_correct += int(round(s["accuracy"] * len(rows)))
            print(f"{song.key[:50]:50s} {chart.difficulty:10s} {len(rows):6d} {s['perplexity']:7.2f} "
                  f"{s['accuracy']:6.3f}", file=out, flush=True)
    ppl = float(np.exp(total_nll / total_steps)) if total_steps else float("nan")
    acc = total_correct / total_steps if total_steps else float("nan")
    print(f"\nDDC peer selection, split={split}: {charts} charts, {total_steps} steps, "
          f"pooled perplexity={ppl:.2f} accuracy={acc:.3f} (over DDC's 257 classes)", file=out)
    return {"split": split, "charts": charts, "steps": total_steps, "perplexity": ppl, "accuracy": acc}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Step-selection perplexity of the original DDC model (peer).")
    ap.add_argument("--root", default=str(REPO_ROOT.parent / "shared" / "data"))
    ap.add_argument("--split", default="test", choices=("train", "valid", "test", "all"))
    ap.add_argument("--peer-dir", default=None)
    args = ap.parse_args(argv)
    try:
        evaluate(args.root, args.split, args.peer_dir)
    except PeerUnavailable as exc:
        print(f"skipped: {exc}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
