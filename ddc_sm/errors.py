"""Errors that the CLI reports as a one-line message instead of a traceback."""


class UserError(Exception):
    """A problem with the user's input or environment; the message says what to do."""


class AudioError(UserError):
    """The audio file is missing, unreadable, silent or unusable."""


class ChartExistsError(UserError):
    """A chart file already exists and --force was not given."""
