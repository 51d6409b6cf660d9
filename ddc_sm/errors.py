"""The errors ddc_sm raises on purpose.  Every one is a :class:`DdcSmError`; its message is one line meant for
the user.  Only the command layer (:mod:`ddc_sm.commands`) turns them into ``error: ...`` and an exit code;
library callers catch the class they care about.
"""


class DdcSmError(Exception):
    """Root of ddc_sm's errors: a problem with the input, the options or the environment."""


class UserError(DdcSmError):
    """An option or argument that cannot be used (unknown difficulty, missing path, bad value)."""


class AudioError(DdcSmError):
    """The audio file is missing, unreadable, silent or unusable."""


class ChartExistsError(DdcSmError):
    """A chart file already exists and neither --force nor --add was given."""


class SongBusyError(DdcSmError):
    """Another ddc-sm process is charting the same song folder."""


class SimfileError(DdcSmError, ValueError):
    """A simfile (.sm/.ssc) cannot be read or holds no usable chart."""


class TimingError(DdcSmError):
    """A BPM/offset (given, estimated or from an existing chart) that no chart can be built on."""


class WeightsError(DdcSmError):
    """Model weights are missing, unreadable or do not fit the model."""


class ConfigError(DdcSmError):
    """A training config file cannot be read or is not a JSON object."""
