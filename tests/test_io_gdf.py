"""GDF recordings through read_recording, `physioaffect info` and `physioaffect preprocess`.

No GDF file ships with the real test data, so the test writes one: GDF 1.25 as its specification
lays it out (a 256-byte fixed header, 256 bytes per channel, int16 records, then an event table
of mode 1), which MNE's reader decodes.
"""

import struct

import numpy as np
import pytest

from physioaffect.cli.main import main
from physioaffect.io import read_recording, recording_info

mne = pytest.importorskip("mne")

SFREQ = 128
LABELS = ("Fp1", "Fp2", "F3", "F4", "C3", "C4", "O1", "O2")
PHYS = 500.0  # physical range +-500 uV over the int16 digital range


def _pad(text, size):
    return text.encode("latin-1").ljust(size, b" ")[:size]


def write_gdf1(path, digital, events=()):
    """Write int16 samples ``digital`` (n_channels, n_times), 1-s records, as GDF 1.25.

    ``events``: (sample, type) pairs, samples 0-based, written 1-based as GDF stores them.
    """
    n_ch, n_times = digital.shape
    assert n_times % SFREQ == 0
    n_records = n_times // SFREQ
    header = b"GDF 1.25" + _pad("X X", 80) + _pad("physioaffect test", 80)
    header += _pad("2026112709300000", 16)
    header += struct.pack("<q", 256 * (1 + n_ch)) + bytes(8 + 8 + 8 + 20)
    header += struct.pack("<qIII", n_records, 1, 1, n_ch)
    assert len(header) == 256
    header += b"".join(_pad(label, 16) for label in LABELS[:n_ch])
    header += _pad("AgAgCl electrode", 80) * n_ch
    header += _pad("uV", 8) * n_ch
    header += struct.pack(f"<{n_ch}d", *([-PHYS] * n_ch))
    header += struct.pack(f"<{n_ch}d", *([PHYS] * n_ch))
    header += struct.pack(f"<{n_ch}q", *([-32768] * n_ch))
    header += struct.pack(f"<{n_ch}q", *([32767] * n_ch))
    header += _pad("HP:0.1Hz LP:40Hz", 80) * n_ch
    header += struct.pack(f"<{n_ch}i", *([SFREQ] * n_ch))
    header += struct.pack(f"<{n_ch}i", *([3] * n_ch))  # GDF type 3: int16
    header += bytes(32 * n_ch)
    assert len(header) == 256 * (1 + n_ch)
    records = digital.astype("<i2").reshape(n_ch, n_records, SFREQ).transpose(1, 0, 2)
    table = b""
    if events:
        pos = np.array([s + 1 for s, _ in events], dtype="<u4")
        typ = np.array([t for _, t in events], dtype="<u2")
        table = struct.pack("<B", 1) + struct.pack("<I", SFREQ)[:3] + struct.pack("<I", len(pos))
        table += pos.tobytes() + typ.tobytes()
    path.write_bytes(header + records.tobytes() + table)
    return path


def _expected_volts(digital):
    gain = 2 * PHYS / 65535.0
    return ((digital.astype(float) + 32768) * gain - PHYS) * 1e-6


@pytest.fixture(scope="module")
def gdf(tmp_path_factory):
    rng = np.random.default_rng(7)
    n_times = 60 * SFREQ
    t = np.arange(n_times) / SFREQ
    uv = 30 * np.sin(2 * np.pi * 10 * t) + 20 * rng.standard_normal((len(LABELS), n_times))
    digital = np.round(uv / (2 * PHYS / 65535.0) - 0.5).astype(np.int16)
    events = [(5 * SFREQ, 769), (25 * SFREQ, 770), (45 * SFREQ, 769)]
    path = write_gdf1(tmp_path_factory.mktemp("gdf") / "rec.gdf", digital, events)
    return path, digital, events


def test_gdf_samples_rate_names_and_events(gdf):
    path, digital, events = gdf
    raw = read_recording(path, preload=True)
    assert raw.info["sfreq"] == SFREQ
    assert raw.ch_names == list(LABELS)
    assert set(raw.get_channel_types()) == {"eeg"}
    np.testing.assert_allclose(raw.get_data(), _expected_volts(digital), rtol=1e-9, atol=1e-15)
    onsets = np.round(raw.annotations.onset * SFREQ).astype(int)
    assert onsets.tolist() == [s for s, _ in events]
    assert list(raw.annotations.description) == [str(k) for _, k in events]


def test_gdf_info(gdf, capsys):
    path, digital, _ = gdf
    info = recording_info(path)
    assert info["format"].startswith("GDF")
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "rec.gdf" in out and "Fp1" in out


def test_gdf_preprocess_equals_de_of_the_samples(gdf, tmp_path):
    xr = pytest.importorskip("xarray")
    from physioaffect.features import differential_entropy

    path, digital, _ = gdf
    rc = main(["preprocess", str(path), "-o", str(tmp_path), "--no-progress", "--window", "4"])
    assert rc == 0
    files = sorted(tmp_path.glob("*.nc"))
    assert len(files) == 1
    with xr.open_dataset(files[0], engine="h5netcdf") as ds:
        de = ds["de"].load()
    expected = differential_entropy(_expected_volts(digital), SFREQ, window=4.0)
    assert de.sizes["channel"] == len(LABELS)
    np.testing.assert_allclose(de.transpose("window", "channel", "band").values, expected,
                               atol=1e-9)
