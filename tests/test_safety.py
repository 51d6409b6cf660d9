"""Hostile and careless input (issue 10): nothing written outside the song folder, nothing lost, one-line
errors before any model runs.  Small synthesised inputs only; no real models unless said."""

from __future__ import annotations

import io
from fractions import Fraction
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ddc_sm.pipeline.pack import run_pack
from ddc_sm.simfiles.lint import check_paths
from simfile_builders import clean_sm, fake_make_charts, make_song, write_audio

ROOT = Path(__file__).resolve().parents[1]


def cli(*args, cwd=None, timeout=60, env_extra=None):
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-m", "ddc_sm", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=timeout, env=env)


def tree(folder: Path) -> dict:
    return {p.relative_to(folder).as_posix(): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file() or p.is_symlink()}


# 1. nothing written (or read) outside the song folder ---------------------------------------------------

def _escape_pack(root: Path):
    pack, out = root / "pack", root / "out"
    write_audio(pack / "esc" / "decoy.ogg", 8)
    write_audio(out / "victim.ogg", 8)
    (pack / "esc" / "escape.sm").write_text("#TITLE:x;\n#MUSIC:../../out/victim.ogg;\n#OFFSET:0;\n#BPMS:0=128;\n")
    write_audio(pack / "ok" / "fine.ogg", 8)
    return pack, out


@pytest.mark.parametrize("add", [False, True])
def test_pack_never_writes_beside_a_music_outside_the_song_folder(tmp_path, capsys, add):
    pack, out = _escape_pack(tmp_path)
    if add:
        (out / "victim.sm").write_text(clean_sm(music="victim.ogg"))
    before = tree(out)
    code = run_pack(pack, ["Easy"], add=add, maker=fake_make_charts, out=io.StringIO())
    assert code == 1
    assert tree(out) == before
    err = capsys.readouterr().err
    assert "failed: esc: #MUSIC '../../out/victim.ogg' is outside the song folder" in err
    assert (pack / "ok" / "fine.sm").exists()


def test_a_shipped_marker_is_not_force(tmp_path):
    song = make_song(tmp_path / "pack" / "s", sm=clean_sm(), seconds=8)
    (song / ".ddc-sm-pack.json").write_text('{"mode": "new", "audio": "song.ogg", "files": ["song.sm"]}')
    before = (song / "song.sm").read_bytes()
    run_pack(tmp_path / "pack", ["Easy"], maker=fake_make_charts, out=io.StringIO())
    assert (song / "song.sm").read_bytes() == before


def test_check_does_not_open_a_music_outside_the_folder(tmp_path, monkeypatch):
    song = tmp_path / "s"
    song.mkdir()
    (song / "a.sm").write_text("#TITLE:x;\n#MUSIC:../../../../etc/passwd;\n#OFFSET:0;\n#BPMS:0=128;\n")
    import ddc_sm.simfiles.lint as lint

    opened = []
    monkeypatch.setattr(lint, "header_duration", lambda p: opened.append(p))
    problems, _ = check_paths([song])
    assert "music-outside" in [p.code for p in problems] and not opened
    assert all(p.severity == "error" for p in problems if p.code == "music-outside")


def test_symlinks_out_of_the_song_folder_are_not_followed(tmp_path):
    outside = write_audio(tmp_path / "elsewhere" / "secret.ogg", 8)
    song = tmp_path / "pack" / "s"
    song.mkdir(parents=True)
    (song / "song.ogg").symlink_to(outside)
    (song / "a.sm").write_text("#TITLE:x;\n#MUSIC:song.ogg;\n#OFFSET:0;\n#BPMS:0=128;\n")
    problems, _ = check_paths([song])
    assert "music-outside" in [p.code for p in problems]
    before = tree(tmp_path / "elsewhere")
    code = run_pack(tmp_path / "pack", ["Easy"], maker=fake_make_charts, out=io.StringIO())
    assert code == 1 and tree(tmp_path / "elsewhere") == before


# 3. validation before the models ---------------------------------------------------------------------------

@pytest.fixture
def no_models(monkeypatch):
    """make_charts with the models replaced by a tripwire: a validation error must come before them."""
    import ddc_sm.pipeline.make as make

    def tripwire(*_a, **_k):
        raise AssertionError("the models ran before the input was validated")

    monkeypatch.setattr(make, "generate_charts", tripwire)
    monkeypatch.setattr(make, "load_audio", tripwire)
    return make.make_charts


def test_read_only_folder_fails_before_the_models(tmp_path, no_models, monkeypatch):
    from ddc_sm.errors import UserError
    import ddc_sm.simfiles.writer as writer

    audio = write_audio(tmp_path / "s" / "a.ogg", 8)
    monkeypatch.setattr(writer.os, "access", lambda *_a, **_k: False)
    with pytest.raises(UserError, match="cannot write in .*permission denied"):
        no_models(audio, ["Easy"])
    assert sorted(p.name for p in audio.parent.iterdir()) == ["a.ogg"]


def test_lock_file_that_cannot_be_created_is_one_line(tmp_path, no_models, monkeypatch):
    from ddc_sm.errors import UserError
    import ddc_sm.simfiles.writer as writer

    audio = write_audio(tmp_path / "s" / "a.ogg", 8)

    def denied(*_a, **_k):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(writer.os, "open", denied)
    with pytest.raises(UserError, match="cannot write in .*Permission denied; nothing written"):
        no_models(audio, ["Easy"])


def test_a_folder_named_like_the_chart_fails_before_the_models(tmp_path, no_models):
    from ddc_sm.errors import DdcSmError

    audio = write_audio(tmp_path / "s" / "song.ogg", 8)
    (audio.parent / "song.sm").mkdir()
    with pytest.raises(DdcSmError, match="folder"):
        no_models(audio, ["Easy"], force=True, bpm=120.0, offset=0.0)


@pytest.mark.parametrize("offset", [float("nan"), float("inf"), 1e308, -1e308])
def test_unusable_offset_fails_before_the_models(tmp_path, no_models, offset):
    from ddc_sm.errors import UserError

    audio = write_audio(tmp_path / "s" / "a.ogg", 8)
    with pytest.raises(UserError, match="--offset .* is not a usable offset"):
        no_models(audio, ["Easy"], bpm=120.0, offset=offset)


@pytest.mark.parametrize("header", ["#OFFSET:0;\n#BPMS:0=0;\n", "#OFFSET:nan;\n#BPMS:0=120;\n",
                                    "#OFFSET:0;\n#BPMS:0=1e308;\n", "#OFFSET:0;\n#BPMS:;\n"])
def test_add_onto_unusable_timing_fails_before_the_models(tmp_path, no_models, header):
    from ddc_sm.errors import TimingError

    song = tmp_path / "s"
    audio = write_audio(song / "song.ogg", 8)
    (song / "song.sm").write_text("#TITLE:x;\n#MUSIC:song.ogg;\n" + header + "#NOTES:\n dance-single:\n x:\n Hard:\n"
                                  " 5:\n 0,0,0,0,0:\n1000\n0000\n0000\n0000\n;\n")
    with pytest.raises(TimingError, match="cannot time new charts"):
        no_models(audio, ["Easy"], add=True)


def test_add_onto_an_unreadable_chart_names_the_file(tmp_path, no_models):
    from ddc_sm.errors import DdcSmError

    song = tmp_path / "s"
    audio = write_audio(song / "song.ogg", 8)
    (song / "song.sm").write_text("#NOTES:\n dance-single:\n")
    with pytest.raises(DdcSmError, match="song.sm"):
        no_models(audio, ["Easy"], add=True)


def test_cli_offset_nan_is_one_line_error_before_the_models(tmp_path):
    audio = write_audio(tmp_path / "s" / "a.ogg", 8)
    r = cli("make", audio, "--offset", "nan", "--bpm", "120", "--weights", tmp_path / "no-weights")
    assert r.returncode == 2 and r.stderr.startswith("error: --offset nan") and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_cli_empty_difficulty_list_is_an_error(tmp_path):
    audio = write_audio(tmp_path / "s" / "a.ogg", 8)
    r = cli("make", audio, "-d", ",", "--weights", tmp_path / "no-weights")
    assert r.returncode == 2 and r.stderr.startswith("error:") and "Traceback" not in r.stderr


# 4. one run per song folder ---------------------------------------------------------------------------------

def test_a_second_run_on_a_song_being_charted_fails_at_once_naming_the_first(tmp_path, no_models):
    from ddc_sm.errors import SongBusyError
    from ddc_sm.simfiles.writer import LOCK, song_lock

    audio = write_audio(tmp_path / "s" / "a.ogg", 8)
    with song_lock(audio.parent):
        assert (audio.parent / LOCK).read_text().strip() == str(os.getpid())
        with pytest.raises(SongBusyError, match=f"being charted by another ddc-sm \\(pid {os.getpid()}\\)"):
            no_models(audio, ["Easy"])
    assert not (audio.parent / LOCK).exists()


def test_the_lock_is_taken_across_processes(tmp_path):
    from ddc_sm.errors import SongBusyError
    from ddc_sm.simfiles.writer import song_lock

    folder = tmp_path / "s"
    folder.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time; from ddc_sm.simfiles.writer import song_lock\n"
                               f"with song_lock({str(folder)!r}):\n print('held', flush=True); time.sleep(30)"],
                              stdout=subprocess.PIPE, text=True, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(SongBusyError, match=f"pid {holder.pid}"):
            with song_lock(folder):
                pass
    finally:
        holder.kill()
        holder.wait()
    with song_lock(folder):  # a dead holder's lock is free again
        pass


def test_lock_file_symlink_is_not_followed(tmp_path):
    from ddc_sm.errors import UserError
    from ddc_sm.simfiles.writer import LOCK, song_lock

    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    folder = tmp_path / "s"
    folder.mkdir()
    (folder / LOCK).symlink_to(victim)
    with pytest.raises(UserError):
        with song_lock(folder):
            pass
    assert victim.read_text() == "keep me"


# 5. the .sm/.ssc pair is one unit ---------------------------------------------------------------------------

def test_a_kill_while_writing_the_temporaries_leaves_nothing_and_the_rerun_cleans_up(tmp_path, monkeypatch):
    import ddc_sm.simfiles.writer as writer

    folder = tmp_path / "s"
    folder.mkdir()
    real = writer._write_commit

    def killed(*_a):
        raise KeyboardInterrupt

    monkeypatch.setattr(writer, "_write_commit", killed)
    with pytest.raises(KeyboardInterrupt):
        writer.write_charts({folder / "a.sm": "sm", folder / "a.ssc": "ssc"}, overwrite=False)
    assert list(folder.iterdir()) == []
    (folder / ".a.ssc.ddc-sm-k1ll3d.tmp").write_text("half")  # what a SIGKILL mid-write leaves
    (folder / ".user.tmp").write_text("not ours")
    monkeypatch.setattr(writer, "_write_commit", real)
    writer.recover(folder)
    assert sorted(p.name for p in folder.iterdir()) == [".user.tmp"]


def test_a_shipped_commit_record_cannot_rename_outside_or_onto_non_charts(tmp_path):
    import json

    from ddc_sm.simfiles.writer import COMMIT, recover

    folder = tmp_path / "s"
    folder.mkdir()
    (folder / ".x.ddc-sm-a.tmp").write_text("evil")
    (folder / COMMIT).write_text(json.dumps({"renames": [[".x.ddc-sm-a.tmp", "../victim.sm"],
                                                         [".x.ddc-sm-a.tmp", "song.ogg"]]}))
    assert recover(folder) == []
    assert not (tmp_path / "victim.sm").exists() and not (folder / "song.ogg").exists()


# 6. permissions and the user's text -------------------------------------------------------------------------

def test_new_files_follow_the_umask_and_existing_ones_keep_their_mode(tmp_path):
    from ddc_sm.simfiles.writer import write_charts

    old = os.umask(0o022)
    try:
        write_charts({tmp_path / "a.sm": "x", tmp_path / "a.ssc": "y"}, overwrite=False)
        assert oct((tmp_path / "a.sm").stat().st_mode & 0o777) == oct(0o644)
        (tmp_path / "a.ssc").chmod(0o664)
        write_charts({tmp_path / "a.ssc": "z"}, overwrite=True)
        assert oct((tmp_path / "a.ssc").stat().st_mode & 0o777) == oct(0o664)
    finally:
        os.umask(old)


def test_add_keeps_the_users_comments_and_text(tmp_path):
    from fractions import Fraction

    from ddc_sm.simfiles.compat import import_simfile
    from ddc_sm.simfiles.writer import GeneratedChart, add_charts

    path = tmp_path / "song.sm"
    original = clean_sm().replace("#TITLE:", "// my notes about this song\n#TITLE:", 1)
    path.write_text(original, encoding="utf-8")
    text = add_charts(path, [GeneratedChart("Medium", 4, [Fraction(0)], ["1000"])])
    assert text.startswith(original.rstrip())
    path.write_text(text, encoding="utf-8")
    assert [c.difficulty for c in import_simfile().open(str(path), strict=True).charts] == ["Easy", "Hard", "Medium"]


# 2. long FLAC; a crashing worker ----------------------------------------------------------------------------

def test_long_flac_converts_without_crashing(tmp_path):
    """One soundfile.write of >= 60 s of Ogg Vorbis segfaults libvorbis; the conversion writes in blocks.
    Run in a subprocess so a crash is a failed test, not a dead test run."""
    import numpy as np
    import soundfile

    flac = tmp_path / "s" / "long.flac"
    flac.parent.mkdir()
    sr = 22050
    t = np.arange(65 * sr) / sr
    soundfile.write(str(flac), np.stack([0.3 * np.sin(2 * np.pi * 440 * t)] * 2, 1).astype("float32"), sr)
    r = subprocess.run([sys.executable, "-c", "import sys; from ddc_sm.audio.decode import playable_copy; "
                        "print(playable_copy(sys.argv[1]))", str(flac)], capture_output=True, text=True,
                       env=dict(os.environ, PYTHONPATH=str(ROOT)), timeout=120)
    assert r.returncode == 0, r.stderr[-500:]
    assert abs(soundfile.info(str(flac.with_suffix(".ogg"))).duration - 65) < 0.1
    assert sorted(p.name for p in flac.parent.iterdir()) == ["long.flac", "long.ogg"]  # no hidden leftovers


def test_a_crashing_worker_fails_only_its_own_song(tmp_path, capsys):
    from simfile_builders import segv_make_charts

    pack = tmp_path / "P"
    for name in ("a", "b", "c"):
        write_audio(pack / name / f"{name}.ogg", 8)
    write_audio(pack / "m" / "segv.ogg", 8)
    code = run_pack(pack, ["Easy"], jobs=2, maker=segv_make_charts, out=io.StringIO())
    err = capsys.readouterr().err
    assert code == 1
    assert "3 charted" in err and "1 failed" in err and "failed: m: the worker process crashed" in err
    for name in ("a", "b", "c"):
        assert (pack / name / f"{name}.sm").exists()


# 3/7/8. check: no crash, limits, right answers ----------------------------------------------------------------

def _sm(tmp_path, header: str, name="a.sm", chart=True) -> Path:
    song = tmp_path / "s"
    song.mkdir(exist_ok=True)
    write_audio(song / "song.ogg", 8)
    body = "#TITLE:x;\n#MUSIC:song.ogg;\n" + header
    if chart:
        body += "#NOTES:\n dance-single:\n x:\n Hard:\n 5:\n 0,0,0,0,0:\n1000\n0000\n0000\n0000\n;\n"
    (song / name).write_text(body)
    return song / name


def codes(path) -> dict:
    return {p.code: p.severity for p in check_paths([path])[0]}


@pytest.mark.parametrize("as_json", [False, True])
def test_check_huge_beat_is_reported_not_a_crash(tmp_path, as_json):
    from ddc_sm.commands.check import run_check

    path = _sm(tmp_path, "#OFFSET:0;\n#BPMS:1e400=120;\n")
    assert run_check([path], as_json=as_json, out=io.StringIO()) == 1
    assert codes(path)["bpm-malformed"] == "error"


@pytest.mark.parametrize("header,code", [("#OFFSET:1e308;\n#BPMS:0=120;\n", "offset-range"),
                                         ("#OFFSET:0;\n#BPMS:0=1e308;\n", "bpm-range"),
                                         ("#OFFSET:0;\n#BPMS:0=-120;\n", "bpm-negative")])
def test_check_unusable_timing_is_an_error(tmp_path, header, code):
    assert codes(_sm(tmp_path, header))[code] == "error"


def test_check_a_400_digit_meter_is_an_error(tmp_path):
    path = _sm(tmp_path, "#OFFSET:0;\n#BPMS:0=120;\n", chart=False)
    with open(path, "a") as f:
        f.write("#NOTES:\n dance-single:\n x:\n Hard:\n " + "9" * 400 + ":\n 0,0,0,0,0:\n1000\n0000\n0000\n0000\n;\n")
    assert codes(path)["meter"] == "error"


def test_check_names_utf16(tmp_path):
    path = _sm(tmp_path, "#OFFSET:0;\n#BPMS:0=120;\n")
    path.write_bytes(path.read_text().encode("utf-16"))
    found = check_paths([path])[0]
    assert [p.code for p in found] == ["encoding"] and "UTF-16" in found[0].message


def test_check_refuses_a_huge_simfile_without_parsing_it(tmp_path, monkeypatch):
    import ddc_sm.simfiles.lint as lint

    path = _sm(tmp_path, "#OFFSET:0;\n#BPMS:0=120;\n")
    monkeypatch.setattr(lint, "MAX_SIMFILE_BYTES", 100)
    monkeypatch.setattr(lint, "_simfile", lambda: (_ for _ in ()).throw(AssertionError("parsed")))
    assert [p.code for p in check_paths([path])[0]] == ["too-large"]


def test_mp3_length_is_read_without_loading_the_file(tmp_path, monkeypatch):
    from ddc_sm.audio.mp3 import mp3_duration

    junk = tmp_path / "x.mp3"
    junk.write_bytes(b"\0" * 100000)
    monkeypatch.setattr(Path, "read_bytes", lambda self: (_ for _ in ()).throw(AssertionError("read whole")))
    assert mp3_duration(junk) is None


def test_too_long_audio_is_refused_from_its_header_before_decoding(tmp_path, monkeypatch):
    import ddc_sm.audio.decode as decode
    from ddc_sm.errors import AudioError

    wav = write_audio(tmp_path / "x.wav", 8)
    monkeypatch.setattr(decode, "MAX_DURATION_S", 6.0)
    monkeypatch.setattr(decode, "_decode", lambda p: (_ for _ in ()).throw(AssertionError("decoded")))
    with pytest.raises(AudioError, match="minutes long"):
        decode.load_audio(wav)


def test_a_folder_given_to_make_is_named_a_folder(tmp_path):
    from ddc_sm.errors import UserError
    from ddc_sm.pipeline.make import make_charts

    with pytest.raises(UserError, match="is a folder"):
        make_charts(tmp_path, ["Easy"])


def test_ctrl_c_prints_interrupted_and_exits_130(tmp_path):
    import signal
    import time

    code = ("import time, ddc_sm.commands.check as c\n"
            "def slow(*a, **k):\n print('ready', flush=True); time.sleep(30)\n"
            "c.run_check = slow\nfrom ddc_sm.commands.cli import main\nmain(['check', '.'])\n")
    p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert p.stdout.readline().strip() == "ready"
    time.sleep(0.2)
    p.send_signal(signal.SIGINT)
    _out, err = p.communicate(timeout=20)
    assert p.returncode == 130 and err.strip() == "interrupted"


# check: time and memory linear in the timing entries ------------------------------------------------------------

LAST_NOTE_AT_BEAT_16 = ("#NOTES:\n dance-single:\n x:\n Hard:\n 5:\n 0,0,0,0,0:\n" + "0000\n0000\n0000\n0000\n,\n" * 4
                        + "1000\n0000\n0000\n0000\n;\n")


@pytest.mark.parametrize("tag,entries", [("BPMS", ",".join(f"{i}=120" for i in range(200_000))),
                                         ("STOPS", ",".join(f"{i}=0.01" for i in range(16_000)))])
def test_check_a_long_timing_list_is_quick(tmp_path, tag, entries):
    import time

    header = f"#OFFSET:0;\n#BPMS:{entries};\n" if tag == "BPMS" else f"#OFFSET:0;\n#BPMS:0=120;\n#STOPS:{entries};\n"
    path = _sm(tmp_path, header)
    start = time.perf_counter()
    problems, _ = check_paths([path])
    assert time.perf_counter() - start < 10
    assert [p.code for p in problems if p.severity == "error"] == []


def test_check_a_long_plain_timing_still_times_the_notes(tmp_path):
    """3000 BPM entries (past the engine's limit): the last note, beat 16 at 60 BPM plus 1 s of stops, is at
    17 s; the 8 s music ends 9 s earlier."""
    bpms = ",".join(f"{i}=60" for i in range(3000))
    stops = ",".join(f"{i}=0.25" for i in range(4)) + ",16=5"  # the stop on the note's beat comes after it
    path = _sm(tmp_path, f"#OFFSET:0;\n#BPMS:{bpms};\n#STOPS:{stops};\n", chart=False)
    with open(path, "a") as f:
        f.write(LAST_NOTE_AT_BEAT_16)
    found = [p for p in check_paths([path])[0] if p.code == "notes-after-music"]
    assert len(found) == 1 and "the last note is at 17.000 s" in found[0].message


def test_the_plain_sweep_agrees_with_simfiles_engine():
    import random

    from ddc_sm.simfiles.compat import import_simfile
    from ddc_sm.simfiles.lint import _plain_time_at, parse_beat_values

    sf = import_simfile()
    rng = random.Random(3)
    for _ in range(20):
        bpm_beats = sorted(set(rng.randrange(1, 400) for _ in range(rng.randrange(0, 30))))
        bpm_text = ",".join(f"{b / 4}={rng.uniform(60, 300):.3f}" for b in [0] + bpm_beats)
        stop_beats = sorted(set(rng.randrange(0, 400) for _ in range(rng.randrange(0, 10))))
        stop_text = ",".join(f"{b / 4}={rng.uniform(0, 1):.3f}" for b in stop_beats)
        offset = rng.uniform(-1, 1)
        sim = sf.loads(f"#OFFSET:{offset:.3f};\n#BPMS:{bpm_text};\n#STOPS:{stop_text};\n")
        engine = sf.timing.engine.TimingEngine(sf.timing.TimingData(sim))
        bpms, stops = sorted(parse_beat_values(bpm_text)[0]), sorted(parse_beat_values(stop_text)[0])
        for beat in (Fraction(0), Fraction(rng.randrange(0, 440), 4), Fraction(rng.randrange(0, 4400), 48)):
            ours = _plain_time_at(float(f"{offset:.3f}"), bpms, stops, beat)
            assert abs(ours - float(engine.time_at(sf.timing.Beat(beat)))) < 1e-3


def test_check_refuses_a_timing_list_too_long_to_parse(tmp_path, monkeypatch):
    import ddc_sm.simfiles.lint as lint

    path = _sm(tmp_path, "#OFFSET:0;\n#BPMS:" + ",".join(f"{i}=120" for i in range(20)) + ";\n")
    monkeypatch.setattr(lint, "MAX_TIMING_ENTRIES", 10)
    real = lint.parse_beat_values

    def parse(text):
        assert "=120," not in (text or ""), "the long list was parsed"
        return real(text)

    monkeypatch.setattr(lint, "parse_beat_values", parse)
    found = check_paths([path])[0]
    assert [(p.code, p.severity) for p in found] == [("timing-too-long", "error")]
    assert "#BPMS has 20 entries" in found[0].message


# make: damaged audio is named damaged, not charted as a short song -----------------------------------------------

def _damaged_ogg(path: Path, keep_head: float, hole: float) -> Path:
    """A 40 s .ogg whose bytes after the first ``keep_head`` share are zeroed for a ``hole`` share (its last
    pages, which give the header's length, kept)."""
    write_audio(path, 40)
    data = path.read_bytes()
    n = len(data)
    start, end = int(n * keep_head), int(n * (keep_head + hole))
    path.write_bytes(data[:start] + bytes(end - start) + data[end:])
    return path


def test_audio_of_which_little_decodes_is_called_corrupt_not_short(tmp_path, monkeypatch):
    import ddc_sm.pipeline.make as make
    from ddc_sm.audio.decode import header_duration, load_audio
    from ddc_sm.errors import AudioError

    ogg = _damaged_ogg(tmp_path / "s" / "song.ogg", 0.25, 0.65)
    assert header_duration(ogg) == pytest.approx(40.0, abs=0.1)
    with pytest.raises(AudioError, match=r"only 1\d\.\d s of 40\.0 s could be decoded: the file is corrupt or "
                                         "truncated"):
        load_audio(ogg)
    monkeypatch.setattr(make, "generate_charts", lambda *_a, **_k: (_ for _ in ()).throw(AssertionError("charted")))
    with pytest.raises(AudioError, match="corrupt or truncated"):
        make.make_charts(ogg, ["Easy"], bpm=120.0, offset=0.0)


def test_audio_with_a_damaged_stretch_is_charted_with_a_warning(tmp_path):
    from ddc_sm.audio.decode import load_audio

    intact = load_audio(write_audio(tmp_path / "ok.ogg", 40))
    assert intact.warnings == ()
    audio = load_audio(_damaged_ogg(tmp_path / "song.ogg", 0.5, 0.1))
    assert 30 < audio.duration < 39
    assert len(audio.warnings) == 1 and f"only {audio.duration:.1f} s of 40.0 s could be decoded" in audio.warnings[0]


# --add: what is wrong with the existing chart, in words ------------------------------------------------------------

_ADD_CHART = "#NOTES:\n dance-single:\n x:\n Hard:\n 5:\n 0,0,0,0,0:\n1000\n0000\n0000\n0000\n;\n"


@pytest.mark.parametrize("content,words", [
    (b"#TITLE:" + bytes(range(0x80, 0x100)) * 4 + b";\n", "cannot read existing chart song.sm: not UTF-8 or a known encoding"),
    (("#TITLE:x;\n#BPMS:0=120;\n" + _ADD_CHART).encode("utf-16"), "cannot read existing chart song.sm: it is UTF-16"),
    (b"#TITLE:x;\n#OFFSET:0;\n#BPMS:0=120;\n#STOPS:1=x;\n" + _ADD_CHART.encode(), "song.sm: its #STOPS '1=x' is not a list of beat=seconds"),
    (b"#TITLE:x;\n#OFFSET:0;\n#BPMS:0=120;\n#DELAYS:1=2=3;\n" + _ADD_CHART.encode(), "song.sm: its #DELAYS '1=2=3' is not a list"),
    (b"#TITLE:x;\n#OFFSET:0;\n#BPMS:=120;\n" + _ADD_CHART.encode(), "song.sm: its #BPMS '=120' is not a list of beat=bpm"),
])
def test_add_onto_a_broken_chart_says_what_is_wrong(tmp_path, no_models, content, words):
    from ddc_sm.errors import DdcSmError

    song = tmp_path / "s"
    audio = write_audio(song / "song.ogg", 8)
    (song / "song.sm").write_bytes(content)
    with pytest.raises(DdcSmError) as caught:
        no_models(audio, ["Easy"], add=True)
    message = str(caught.value)
    assert words in message
    for internal in ("list index", "ConversionSyntax", "decimal", "codec", "unpack", "<class"):
        assert internal not in message


def test_simfile_timing_errors_are_words(tmp_path):
    from ddc_sm.errors import DdcSmError
    from ddc_sm.timing.grid import simfile_timing

    path = tmp_path / "a.sm"
    path.write_text("#TITLE:x;\n#OFFSET:0;\n#BPMS:0=120;\n#STOPS:1=x;\n")
    with pytest.raises(DdcSmError) as caught:
        simfile_timing(path)
    assert "a.sm" in str(caught.value) and "decimal" not in str(caught.value).lower()
    assert "not a list of beat=value" in str(caught.value)


# make: audio that is not numbers, or one constant level ------------------------------------------------------------

@pytest.mark.parametrize("value,subtype,match", [(float("nan"), "FLOAT", "not finite numbers"),
                                                 (float("inf"), "DOUBLE", "not finite numbers"),
                                                 (float("nan"), "PCM_16", "silent"),  # written as a constant -1
                                                 (0.5, "PCM_16", "silent")])
def test_audio_that_is_not_sound_is_refused(tmp_path, value, subtype, match):
    import numpy as np
    import soundfile

    from ddc_sm.audio.decode import load_audio
    from ddc_sm.errors import AudioError

    wav = tmp_path / "x.wav"
    soundfile.write(str(wav), np.full(8 * 22050, value, dtype="float32"), 22050, subtype=subtype)
    with pytest.raises(AudioError, match=match) as caught:
        load_audio(wav)
    assert "\n" not in str(caught.value)


def test_cli_make_on_a_nan_wav_is_a_one_line_error(tmp_path):
    import numpy as np
    import soundfile

    wav = tmp_path / "s" / "nan.wav"
    wav.parent.mkdir()
    soundfile.write(str(wav), np.full(8 * 22050, np.nan, dtype="float32"), 22050, subtype="FLOAT")
    r = cli("make", wav, "--bpm", "120", "--offset", "0", "-d", "Easy")
    errors = [line for line in r.stderr.splitlines() if line.startswith("error:")]  # after 'reading nan.wav...'
    assert r.returncode == 2 and len(errors) == 1 and "not finite" in errors[0] and "Traceback" not in r.stderr
    assert sorted(p.name for p in wav.parent.iterdir()) == ["nan.wav"]
