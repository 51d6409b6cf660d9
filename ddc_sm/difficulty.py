"""Difficulty names: the five ddc_sm writes, and StepMania's reading of names in simfiles and options."""

from __future__ import annotations

from typing import Iterable, Optional

from ddc_sm.errors import UserError

DIFFICULTIES = ("Beginner", "Easy", "Medium", "Hard", "Challenge")  # what the models know, easiest first
DIFFICULTY_NAMES = DIFFICULTIES + ("Edit",)  # what StepMania writes
# names older simfiles use; StepMania still reads them (OldStyleStringToDifficulty)
OLD_DIFFICULTY_NAMES = {
    "basic": "Easy", "light": "Easy",
    "another": "Medium", "trick": "Medium", "standard": "Medium", "difficult": "Medium",
    "ssr": "Hard", "maniac": "Hard", "heavy": "Hard",
    "smaniac": "Challenge", "expert": "Challenge", "oni": "Challenge",
}


def canonical_difficulty(name: str) -> Optional[str]:
    """StepMania's reading of a difficulty name (any case, old names too); None when it does not know it."""
    key = (name or "").strip().lower()
    for canon in DIFFICULTY_NAMES:
        if canon.lower() == key:
            return canon
    return OLD_DIFFICULTY_NAMES.get(key)


def parse_difficulties(values: Optional[Iterable[str]], *, default_all: bool = True) -> list[str]:
    """Difficulties a user asked for, easiest first: ``['hard']`` -> ``['Hard']``, ``['easy,hard']`` ->
    ``['Easy', 'Hard']``, ``['all']`` -> all five; nothing asked -> all five (``default_all``) or ``[]``.

    Names are read as StepMania reads them (any case, old names such as ``expert``).  Raises
    :class:`UserError` on an unknown name, or when values were given but name nothing (``-d ","``).
    """
    values = list(values or [])
    names = [v.strip() for value in values for v in str(value).split(",") if v.strip()]
    if not names:
        if values:
            raise UserError(f"no difficulty named in {', '.join(map(repr, values))}; use one of "
                            f"{', '.join(DIFFICULTIES)} or 'all'")
        return list(DIFFICULTIES) if default_all else []
    out: set[str] = set()
    for name in names:
        if name.lower() == "all":
            out.update(DIFFICULTIES)
            continue
        canon = canonical_difficulty(name)
        if canon not in DIFFICULTIES:
            raise UserError(f"unknown difficulty {name!r}; use one of {', '.join(DIFFICULTIES)} or 'all'")
        out.add(canon)
    return sorted(out, key=DIFFICULTIES.index)
