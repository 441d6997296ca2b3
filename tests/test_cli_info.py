import re
import subprocess
import sys

import pytest

from physioaffect.cli.main import main

pytest.importorskip("mne")


def test_info_two_good_files_and_one_bad(real_data_dir, tmp_path, capsys):
    good_bdf = real_data_dir / "mne-python-edf-testdata" / "test.bdf"
    bad = tmp_path / "broken.edf"
    bad.write_bytes(good_bdf.read_bytes()[:300])
    good_edf = real_data_dir / "edfio-testdata" / "short_psg.edf"
    assert main(["info", str(good_bdf), str(bad), str(good_edf)]) == 1
    out, err = capsys.readouterr()
    assert err.count("\n") == 1
    assert "broken.edf" in err and "not an EDF file" in err
    assert str(good_bdf) in out and str(good_edf) in out
    assert re.search(r"^  Status +stim +2048  Boolean$", out, re.MULTILINE)  # a row of test.bdf
    assert re.search(r"^  Fp1 +eeg +2048  uV$", out, re.MULTILINE)
    assert "EOG horizontal  eog" in out and "Temp rectal     temperature" in out
    assert "duration     300 s (7 channels, read at 100 Hz)" in out
    assert "warning:" in out and "1 Hz: Resp oro-nasal" in out


def test_info_all_good_exits_0(real_data_dir, capsys):
    hypnogram = real_data_dir / "edfio-testdata" / "SC4001EC-Hypnogram.edf"
    psg = real_data_dir / "biosemi-bdf-bdfjl" / "Newtest17-256.bdf"
    assert main(["info", str(hypnogram), str(psg)]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert "EDF+C, annotation-only" in out and "annotations  154" in out
    assert "duration     60 s (17 channels, read at 256 Hz)" in out


def test_info_missing_file_exits_1(tmp_path, capsys):
    assert main(["info", str(tmp_path / "absent.bdf")]) == 1
    assert "absent.bdf: no such file" in capsys.readouterr().err


def test_info_requires_a_file(capsys):
    assert main(["info"]) == 2


def test_info_help_pulls_in_no_heavy_module():
    code = ("import sys, contextlib, io, physioaffect.cli.main as m\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    assert m.main(['info', '--help']) == 0\n"
            "print(','.join(n for n in ('numpy', 'mne') if n in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
