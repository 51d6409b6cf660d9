from fractions import Fraction

import pytest

from ddc_sm.simfiles.writer import GeneratedChart, SongInfo, add_charts, new_simfile, write_atomically
from ddc_sm.errors import ChartExistsError
from ddc_sm.simfiles.compat import import_simfile

sf = import_simfile()

CHART = GeneratedChart(
    "Hard", 8,
    beats=[Fraction(0), Fraction(1, 2), Fraction(1), Fraction(3, 2), Fraction(2), Fraction(33, 16), Fraction(9, 2)],
    rows=["1000", "0100", "2001", "0010", "3000", "M000", "0110"],
)
INFO = SongInfo("Title ☆", "Artist", "song.ogg", bpm=128.0, offset=0.123, sample_start=3.0, sample_length=12.0)


def _notes(chart):
    return [(n.beat, n.column, n.note_type.value) for n in sf.notes.NoteData(chart)]


@pytest.mark.parametrize("kind", ["sm", "ssc"])
def test_generated_chart_round_trips_through_simfile_open(tmp_path, kind):
    path = tmp_path / f"song.{kind}"
    write_atomically(path, str(new_simfile(kind, INFO, [CHART])), overwrite=False)
    sim = sf.open(str(path))
    assert sim.title == "Title ☆" and sim.music == "song.ogg"
    assert float(sim.offset) == pytest.approx(0.123)
    assert sim.bpms.strip().startswith("0.000000=128.000000")
    if kind == "ssc":
        assert sim.version == "0.83"
        assert path.read_text(encoding="utf-8").startswith("#VERSION:0.83;")
    (chart,) = sim.charts
    assert chart.stepstype == "dance-single" and chart.difficulty == "Hard" and chart.meter == "8"
    assert _notes(chart) == [(n.beat, n.column, n.note_type.value) for n in CHART.notes()]


def test_rows_per_measure_are_standard(tmp_path):
    measures = CHART.note_data().strip().split(",")
    assert all(len(m.split()) in (4, 8, 12, 16, 24, 32, 48, 64, 96, 192) for m in measures)


def test_write_refuses_to_replace_without_overwrite(tmp_path):
    path = tmp_path / "song.sm"
    path.write_text("mine", encoding="utf-8")
    with pytest.raises(ChartExistsError):
        write_atomically(path, "new", overwrite=False)
    assert path.read_text(encoding="utf-8") == "mine"
    write_atomically(path, "new", overwrite=True)
    assert path.read_text(encoding="utf-8") == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["song.sm"]  # no temporary files left


def test_add_charts_keeps_existing_charts(tmp_path):
    path = tmp_path / "song.ssc"
    path.write_text(str(new_simfile("ssc", INFO, [CHART])), encoding="utf-8")
    easy = GeneratedChart("Easy", 3, [Fraction(0), Fraction(2)], ["1000", "0001"])
    path.write_text(add_charts(path, [easy]), encoding="utf-8")
    sim = import_simfile().open(str(path))
    assert [c.difficulty for c in sim.charts] == ["Hard", "Easy"]
    assert _notes(sim.charts[0]) == [(n.beat, n.column, n.note_type.value) for n in CHART.notes()]
