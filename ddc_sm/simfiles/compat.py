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


def read_existing_chart(path, what: str = "existing chart", force_hint: bool = True):
    """``simfile.open`` of a chart the user already has (``--add``; ``what`` names it), failing with :class:`SimfileError` that
    names the file and says in words what is wrong, never a parser's or codec's internals.  ``force_hint``: the
    message suggests ``--force`` (for commands that would replace the file)."""
    from pathlib import Path

    from ddc_sm.errors import SimfileError

    path = Path(path)
    where = f"cannot read {what} {path.name}"
    force = " or use --force" if force_hint else ""
    try:
        with open(path, "rb") as f:
            head = f.read(4)
    except OSError as exc:
        raise SimfileError(f"{where}: {exc.strerror or exc}") from None
    if head[:2] in (b"\xff\xfe", b"\xfe\xff") or (len(head) == 4 and b"\0" in head):
        raise SimfileError(f"{where}: it is UTF-16 or binary, not a text simfile (StepMania reads UTF-8); "
                           f"save it as UTF-8{force}")
    sf = import_simfile()
    try:
        return sf.open(str(path), strict=False)
    except UnicodeError:
        raise SimfileError(f"{where}: not UTF-8 or a known encoding (CP1252, CP932, CP949); save it as UTF-8"
                           f"{force}") from None
    except Exception as exc:
        raise SimfileError(f"{where}: {parse_error_words(exc)}; fix it{force}") from None


def parse_error_words(exc: BaseException) -> str:
    """What ``simfile`` failed on, in words: its own messages (such as 'expected at least 6 chart components,
    got 2') are kept; Python's internals (an IndexError, a decimal signal, an unpacking error) are not."""
    text = str(exc).strip()
    internal = ("index", "unpack", "codec", "decimal", "<class", "invalid literal", "object", "NoneType")
    if type(exc) is ValueError and text and len(text) < 200 and not any(w in text for w in internal):
        return text
    return "its text is not a well-formed simfile (#TAG:value; tags, #NOTES with their fields)"
