"""ddc_sm: audio in, playable StepMania chart out (two-stage Dance Dance Convolution model).

For scripts::

    from ddc_sm import make_charts, estimate_tempo, check_paths, load_audio
    result = make_charts("song.ogg", ["Hard"])          # writes song.sm / song.ssc beside the song
    est = estimate_tempo(load_audio("song.ogg").samples, 44100)
    problems, n_files = check_paths(["MyPack"])

Importing the package is cheap: the names below are loaded on first use, and heavy libraries (torch,
librosa, simfile) only inside the functions that need them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from ddc_sm.difficulty import DIFFICULTIES, parse_difficulties
from ddc_sm.errors import (AudioError, ChartExistsError, ConfigError, DdcSmError, SimfileError, TimingError,
                           UserError, WeightsError)

__version__ = "0.1.0"

# public name -> module that defines it (loaded lazily by __getattr__)
_LAZY = {
    "make_charts": "ddc_sm.pipeline.make", "MakeResult": "ddc_sm.pipeline.make",
    "run_pack": "ddc_sm.pipeline.pack",
    "evaluate": "ddc_sm.pipeline.evaluate",
    "estimate_tempo": "ddc_sm.timing.tempo", "TempoEstimate": "ddc_sm.timing.tempo",
    "ConstantTiming": "ddc_sm.timing.grid", "simfile_timing": "ddc_sm.timing.grid", "snap_times": "ddc_sm.timing.grid",
    "check_paths": "ddc_sm.simfiles.lint", "Problem": "ddc_sm.simfiles.lint",
    "iter_songs": "ddc_sm.simfiles.dataset", "load_song": "ddc_sm.simfiles.dataset",
    "chart_stats": "ddc_sm.simfiles.stats",
    "load_audio": "ddc_sm.audio.decode", "Audio": "ddc_sm.audio.decode",
    "placement_features": "ddc_sm.audio.features", "selection_features": "ddc_sm.audio.features",
    "StepPlacer": "ddc_sm.placement.inference", "load_placer": "ddc_sm.placement.inference",
    "StepSelector": "ddc_sm.selection.inference", "load_selector": "ddc_sm.selection.inference",
}

__all__ = ["__version__", "DIFFICULTIES", "parse_difficulties", "DdcSmError", "UserError", "AudioError",
           "ChartExistsError", "SimfileError", "TimingError", "WeightsError", "ConfigError", *_LAZY]


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'ddc_sm' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:  # for type checkers and IDEs: the lazy names, imported eagerly
    from ddc_sm.audio.decode import Audio, load_audio  # noqa: F401
    from ddc_sm.audio.features import placement_features, selection_features  # noqa: F401
    from ddc_sm.pipeline.evaluate import evaluate  # noqa: F401
    from ddc_sm.pipeline.make import MakeResult, make_charts  # noqa: F401
    from ddc_sm.pipeline.pack import run_pack  # noqa: F401
    from ddc_sm.placement.inference import StepPlacer, load_placer  # noqa: F401
    from ddc_sm.selection.inference import StepSelector, load_selector  # noqa: F401
    from ddc_sm.simfiles.dataset import iter_songs, load_song  # noqa: F401
    from ddc_sm.simfiles.lint import Problem, check_paths  # noqa: F401
    from ddc_sm.simfiles.stats import chart_stats  # noqa: F401
    from ddc_sm.timing.grid import ConstantTiming, simfile_timing, snap_times  # noqa: F401
    from ddc_sm.timing.tempo import TempoEstimate, estimate_tempo  # noqa: F401
