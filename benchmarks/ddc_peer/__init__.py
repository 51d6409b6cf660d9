"""The original Dance Dance Convolution step-placement model as a peer for quality benchmarks.

Reads DDC's released files from ``<repo>/../shared/peers/ddc`` at run time (never committed or shipped)
and runs them without TensorFlow::

    from benchmarks.ddc_peer import DDCPeerPlacer
    peer = DDCPeerPlacer.load()                       # PeerUnavailable if the files are absent
    probs = peer.probabilities("song.ogg", "Hard")    # (frames,), frame i at i * 10 ms
    times = peer.step_times("song.ogg", "Hard")       # seconds

    python -m benchmarks.ddc_peer.placement --root ../shared/data --split test
"""

__all__ = ["DDCPeerPlacer", "PeerUnavailable", "read_checkpoint", "CheckpointError", "DEFAULT_PEER_DIR",
           "DIFFICULTIES", "SERVER_THRESHOLDS"]


def __getattr__(name):  # lazy, so `python -m benchmarks.ddc_peer.placement` imports placement only once
    if name in ("read_checkpoint", "CheckpointError"):
        from ddc_sm.placement import ddc_checkpoint

        return getattr(ddc_checkpoint, name)
    if name in __all__:
        from . import placement

        return getattr(placement, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
