"""The shipped mel filterbanks are librosa's, and they are the ones the features and the tempo estimator use."""

import subprocess
import sys

import numpy as np

from ddc_sm.audio import features as F
from ddc_sm.audio import filters
from ddc_sm.timing import tempo


def test_every_shipped_filterbank_is_librosas():
    import librosa

    assert filters.FILE.exists()
    for sr, n_fft, n_mels, fmin, fmax, htk, norm in filters.SHIPPED:
        ref = librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax, htk=htk, norm=norm)
        got = filters.mel_filters(sr, n_fft, n_mels, fmin, fmax, htk=htk, norm=norm)
        assert got.dtype == ref.dtype and np.array_equal(got, ref), (sr, n_fft)
        centres = librosa.mel_frequencies(n_mels=n_mels + 2, fmin=fmin, fmax=fmax, htk=htk)[1:-1]
        assert np.array_equal(filters.mel_centres(n_mels, fmin, fmax, htk=htk), centres)


def test_shipped_list_matches_the_settings_that_use_it():
    wanted = {(F.PLACEMENT_SR, n, F.PLACEMENT_MELS, F.PLACEMENT_FMIN, F.PLACEMENT_FMAX, False, "slaney")
              for n in F.PLACEMENT_FFTS}
    wanted.add((F.SELECTION_SR, F.SELECTION_FFT, F.SELECTION_MELS, F.SELECTION_FMIN, F.SELECTION_FMAX, False, "slaney"))
    for n in (tempo.N_FFT, tempo.N_FFT_FINE):
        wanted.add((tempo.ANALYSIS_SR, n, tempo.N_BANDS, *tempo.MEL_RANGE, True, None))
    assert wanted == set(filters.SHIPPED)


def test_a_filterbank_not_shipped_comes_from_librosa():
    import librosa

    got = filters.mel_filters(8000, 256, 20, 0.0, 4000.0)
    assert np.array_equal(got, librosa.filters.mel(sr=8000, n_fft=256, n_mels=20, fmin=0.0, fmax=4000.0))


def test_features_and_tempo_do_not_import_librosa():
    code = ("import sys, numpy as np\n"
            "from ddc_sm.audio.features import placement_features, selection_features\n"
            "from ddc_sm.timing.tempo import estimate_tempo\n"
            "from ddc_sm.audio.synth import drum_track\n"
            "t = drum_track(120.0, 0.5, 8.0)\n"
            "placement_features(t.samples); selection_features(t.samples[::3])\n"
            "estimate_tempo(t.samples, t.sample_rate)\n"
            "assert 'librosa' not in sys.modules, 'librosa was imported'\n")
    subprocess.run([sys.executable, "-c", code], check=True)
