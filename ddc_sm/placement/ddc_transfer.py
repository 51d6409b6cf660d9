"""Training only: start stage 1's convolutions from the original DDC's released placement model.

DDC (Donahue, Lipton and McAuley, 2017; MIT licence, see ``ddc_sm/weights/DDC_LICENSE``) trained its step
placement CNN on about 35 hours of expert Fraxtil/ITG charts.  Its two convolutions have exactly the brief's
shapes (10 filters 7x3 over 3 channels, 20 filters 3x3), so `ddc-sm train placement` with the config's
``init_conv_from`` set to its checkpoint (``model_sp-56000``) copies them into our model before training;
everything else starts from scratch.  Its features differ from ours in detail (essentia's mel bands of the power
spectrum against librosa's, both z-scored per band), so the copy is a start, and training adapts it.

The checkpoint is read by :mod:`ddc_sm.placement.ddc_checkpoint` (no TensorFlow).  Nothing here runs at inference:
the package never reads ``../shared`` or any DDC file when it makes a chart.
"""

from __future__ import annotations

import numpy as np

SCOPE = "model_sp/"


def init_conv_from_ddc(model, checkpoint_path) -> str:
    """Copy DDC's conv weights into ``model`` (a :class:`~ddc_sm.placement.model.PlacementModel` with the brief's
    conv shapes); returns a line saying what was copied."""
    import torch

    from ddc_sm.errors import UserError
    from ddc_sm.placement.ddc_checkpoint import read_checkpoint

    try:
        tensors = read_checkpoint(checkpoint_path)
    except (OSError, ValueError) as exc:
        raise UserError(f"cannot read the DDC checkpoint {checkpoint_path}: {exc}") from exc
    pairs = ((model.conv1, "cnn_0"), (model.conv2, "cnn_1"))
    with torch.no_grad():
        for conv, name in pairs:
            w = tensors.get(f"{SCOPE}{name}/filters")
            b = tensors.get(f"{SCOPE}{name}/biases")
            # TensorFlow kernels are (time, band, in, out); torch's (out, in, time, band)
            w = None if w is None else torch.from_numpy(np.ascontiguousarray(np.asarray(w, np.float32).transpose(3, 2, 0, 1)))
            if w is None or b is None or tuple(w.shape) != tuple(conv.weight.shape):
                raise UserError(f"the DDC checkpoint's {name} does not fit the model's convolution "
                                f"{tuple(conv.weight.shape)}")
            conv.weight.copy_(w)
            conv.bias.copy_(torch.from_numpy(np.asarray(b, np.float32)))
    return f"  conv layers initialised from DDC's {checkpoint_path}"
