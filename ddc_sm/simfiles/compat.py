"""Import ``simfile`` quietly: simfile 2.1.1 imports ``fs``, which warns about ``pkg_resources``."""

from __future__ import annotations

import warnings

SIMFILE_EXTENSIONS = (".sm", ".ssc")


def import_simfile():
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*pkg_resources.*")
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        import simfile
        import simfile.dir  # noqa: F401
        import simfile.notes  # noqa: F401
        import simfile.notes.timed  # noqa: F401
        import simfile.sm  # noqa: F401
        import simfile.ssc  # noqa: F401
        import simfile.timing  # noqa: F401
        import simfile.timing.engine  # noqa: F401
    return simfile
