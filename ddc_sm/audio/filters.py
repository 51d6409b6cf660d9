"""Mel filterbanks: librosa's, computed once and shipped, so that ``make`` never imports librosa.

``librosa.filters.mel`` is the one definition of the filters; importing librosa costs about a second of every
``make`` (its numba functions), for a few constant matrices.  The matrices the package uses (both stages'
features and the tempo estimator's bands, :data:`SHIPPED`) are stored in ``mel_filters.npz``, exactly as librosa
computes them (``tests/test_filters.py`` checks every one against librosa, bit for bit); any other filterbank is
asked of librosa.  Regenerate the file after changing a feature setting::

    python -m ddc_sm.audio.filters
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

FILE = Path(__file__).with_name("mel_filters.npz")

# (sr, n_fft, n_mels, fmin, fmax, htk, norm) of each filterbank the package uses: the placement features (three
# FFT sizes), the selection features, and the tempo estimator's two windows (see ddc_sm.audio.features and
# ddc_sm.timing.tempo, whose constants these repeat; the test checks that they agree).
SHIPPED = (
    (44100, 1024, 80, 27.5, 16000.0, False, "slaney"),
    (44100, 2048, 80, 27.5, 16000.0, False, "slaney"),
    (44100, 4096, 80, 27.5, 16000.0, False, "slaney"),
    (16000, 512, 100, 20.0, 8000.0, False, "slaney"),
    (22050, 1024, 48, 30.0, 11000.0, True, None),
    (22050, 256, 48, 30.0, 11000.0, True, None),
)


def _key(sr: int, n_fft: int, n_mels: int, fmin: float, fmax: float, htk: bool, norm) -> str:
    return f"mel_{int(sr)}_{int(n_fft)}_{int(n_mels)}_{float(fmin)!r}_{float(fmax)!r}_{bool(htk)}_{norm}"


def _centres_key(n_mels: int, fmin: float, fmax: float, htk: bool) -> str:
    return f"centres_{int(n_mels)}_{float(fmin)!r}_{float(fmax)!r}_{bool(htk)}"


@functools.lru_cache(maxsize=1)
def _shipped() -> dict[str, np.ndarray]:
    if not FILE.exists():
        return {}
    with np.load(FILE) as data:
        return {name: data[name] for name in data.files}


def mel_filters(sr: int, n_fft: int, n_mels: int, fmin: float, fmax: float, *, htk: bool = False,
                norm="slaney") -> np.ndarray:
    """``librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax, htk=htk, norm=norm)``
    (float32, (n_mels, n_fft // 2 + 1)): the shipped copy where there is one, else librosa's."""
    stored = _shipped().get(_key(sr, n_fft, n_mels, fmin, fmax, htk, norm))
    if stored is not None:
        return stored.copy()
    import librosa

    return librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax, htk=htk, norm=norm)


def mel_centres(n_mels: int, fmin: float, fmax: float, *, htk: bool = False) -> np.ndarray:
    """The centre frequencies (Hz) of the ``n_mels`` triangular filters between ``fmin`` and ``fmax``:
    ``librosa.mel_frequencies(n_mels + 2, fmin=fmin, fmax=fmax, htk=htk)[1:-1]``, shipped where it is."""
    stored = _shipped().get(_centres_key(n_mels, fmin, fmax, htk))
    if stored is not None:
        return stored.copy()
    import librosa

    return librosa.mel_frequencies(n_mels=n_mels + 2, fmin=fmin, fmax=fmax, htk=htk)[1:-1]


def compute_shipped() -> dict[str, np.ndarray]:
    """The arrays of ``mel_filters.npz``, from librosa."""
    import librosa

    out = {}
    for sr, n_fft, n_mels, fmin, fmax, htk, norm in SHIPPED:
        out[_key(sr, n_fft, n_mels, fmin, fmax, htk, norm)] = librosa.filters.mel(
            sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax, htk=htk, norm=norm)
        out[_centres_key(n_mels, fmin, fmax, htk)] = librosa.mel_frequencies(
            n_mels=n_mels + 2, fmin=fmin, fmax=fmax, htk=htk)[1:-1]
    return out


def main() -> None:
    np.savez_compressed(FILE, **compute_shipped())
    print(f"wrote {FILE} ({FILE.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
