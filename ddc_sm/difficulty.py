"""Difficulty names as StepMania reads them."""

from __future__ import annotations

from typing import Optional

DIFFICULTY_NAMES = ("Beginner", "Easy", "Medium", "Hard", "Challenge", "Edit")
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
