"""The original Dance Dance Convolution step-placement model as a peer for quality benchmarks.

Reads DDC's released files from ``<repo>/../shared/peers/ddc`` at run time (never committed or shipped)
and runs them without TensorFlow::

    from benchmarks.ddc_peer import DDCPeerPlacer
    peer = DDCPeerPlacer.load()                       # PeerUnavailable if the files are absent
    probs = peer.probabilities("song.ogg", "Hard")    # (frames,), frame i at i * 10 ms
    times = peer.step_times("song.ogg", "Hard")       # seconds

    python -m benchmarks.ddc_peer.placement --root ../shared/data --split test
"""

from .checkpoint_v1 import CheckpointError, read_checkpoint
from .placement import DEFAULT_PEER_DIR, DIFFICULTIES, SERVER_THRESHOLDS, DDCPeerPlacer, PeerUnavailable

__all__ = ["DDCPeerPlacer", "PeerUnavailable", "read_checkpoint", "CheckpointError", "DEFAULT_PEER_DIR",
           "DIFFICULTIES", "SERVER_THRESHOLDS"]
