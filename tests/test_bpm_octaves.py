"""benchmarks/bpm_octaves.py: the dominant BPM of a simfile's timing."""

import math
from fractions import Fraction

from benchmarks.bpm_octaves import dominant_bpm


def test_the_longest_stretch_sets_the_dominant_bpm():
    # 32 beats at 120, 8 at 240 (a double-time break), then 120 to the end (counted as 64 beats)
    assert dominant_bpm([(Fraction(0), 120.0), (Fraction(32), 240.0), (Fraction(40), 120.0)]) == 120.0
    # a short intro at 100, then 300 beats at 210 until the last change
    assert dominant_bpm([(Fraction(0), 100.0), (Fraction(4), 210.0), (Fraction(304), 105.0)]) == 210.0
    assert math.isnan(dominant_bpm([]))
