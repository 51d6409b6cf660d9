"""ddc_sm: audio in, playable StepMania chart out (two-stage Dance Dance Convolution model).

Importing the package is cheap: heavy libraries (torch, librosa, simfile) are imported inside the
functions that need them.
"""

__version__ = "0.1.0"

from ddc_sm.difficulty import DIFFICULTIES  # noqa: E402
