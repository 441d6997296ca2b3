"""Long simulated recordings on disk for the preprocessing benchmark, cached by their parameters.

Two kinds of file, both from :func:`physioaffect.simulate.eeg`:

- ``deap_edf``: the 32-channel DEAP montage, simulated in 10-min segments (one seed each, joined
  end to end) and written whole with :func:`physioaffect.simulate.write_edf` (EDF+, 16 bits).
- ``big_bdf``: 64 channels, written by :class:`BdfWriter` one 5-min segment at a time, so that a
  day-long recording never sits in memory. Each segment is the 62-channel SEED montage plus two
  channels from a DREAMER-montage call with another seed, labelled ``EEG63`` and ``EEG64`` (the
  SEED set already holds every DEAP and DREAMER electrode, so they cannot keep a position name).

Segments are independent draws, so the signal jumps at each joint (every 5 or 10 min); that is
immaterial to throughput and memory. Files are written under a temporary name and renamed when
complete, so an interrupted run leaves no file that a later run would take for finished.
"""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

import numpy as np

FILE_VERSION = 1  # bump when the content of a cached file would change

BDF_PHYS_UV = 3000.0  # physical range of the streamed BDF: +-3 mV (the simulator peaks ~0.3 mV)
BDF_DIG_MIN, BDF_DIG_MAX = -(2**23), 2**23 - 1

_DEAP_SEGMENT_S = 600.0
_BIG_SEGMENT_S = 300.0


def _log(msg: str) -> None:
    import sys

    print(msg, file=sys.stderr, flush=True)


def default_data_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "physioaffect-bench"


def _tmp_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.part")


def _seconds_label(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 3600}h{(s % 3600) // 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"


# --------------------------------------------------------------------------------------------
# 32-channel EDF (DEAP montage), written whole
# --------------------------------------------------------------------------------------------
def deap_edf_path(data_dir: Path, duration_s: float, sfreq: float, seed: int) -> Path:
    return Path(data_dir) / (f"sim-deap32-{sfreq:g}Hz-{_seconds_label(duration_s)}-seed{seed}"
                             f"-v{FILE_VERSION}.edf")


def ensure_deap_edf(data_dir: Path, duration_s: float, sfreq: float, seed: int) -> Path:
    """The cached 32-channel EDF, simulated and written if absent."""
    from physioaffect.montage import get_montage
    from physioaffect.simulate import eeg, write_edf

    path = deap_edf_path(data_dir, duration_s, sfreq, seed)
    if path.exists():
        return path
    Path(data_dir).mkdir(parents=True, exist_ok=True)
    n_total = int(round(duration_s * sfreq))
    seg = int(round(_DEAP_SEGMENT_S * sfreq))
    t0 = time.perf_counter()
    _log(f"  simulating {path.name}: 32 ch x {n_total} samples in {_DEAP_SEGMENT_S:g}-s segments")
    parts = []
    for k, start in enumerate(range(0, n_total, seg)):
        n = min(seg, n_total - start)
        parts.append(eeg("deap", sfreq=sfreq, duration=n / sfreq, random_state=seed * 1000 + k))
    data = np.concatenate(parts, axis=1)
    del parts
    write_edf(data, sfreq, list(get_montage("deap").ch_names), path)
    _log(f"  wrote {path} ({path.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - t0:.0f} s")
    return path


# --------------------------------------------------------------------------------------------
# 64-channel BDF, streamed
# --------------------------------------------------------------------------------------------
class BdfWriter:
    """Minimal streaming BDF writer: 1-s data records, one rate, 24-bit samples in microvolts.

    ``write(block)`` takes volts, shape (n_channels, k * sfreq) for a whole number k of records.
    Samples beyond +-``phys_uv`` are clipped (and counted in ``clipped``). ``close()`` renames the
    temporary file to ``path``; ``abort()`` removes it.
    """

    def __init__(self, path, ch_names, sfreq, n_records, *, phys_uv=BDF_PHYS_UV):
        self.path = Path(path)
        self.ch_names = [str(c) for c in ch_names]
        self.n_ch = len(self.ch_names)
        if int(sfreq) != sfreq:
            raise ValueError(f"BdfWriter needs an integer rate for 1-s records, got {sfreq}")
        self.spr = int(sfreq)  # samples per 1-s record
        self.n_records = int(n_records)
        self.phys_uv = float(phys_uv)
        # MNE and the EDF spec: physical = (digital - dig_min) * cal + phys_min
        self.cal = 2 * self.phys_uv / (BDF_DIG_MAX - BDF_DIG_MIN)  # uV per step
        self.offset = -self.phys_uv - BDF_DIG_MIN * self.cal
        self.records_written = 0
        self.clipped = 0
        self._tmp = _tmp_name(self.path)
        self._fh = open(self._tmp, "xb")
        self._fh.write(self._header())

    @staticmethod
    def _field(value, width):
        text = str(value)
        if len(text) > width:
            raise ValueError(f"header field {text!r} longer than {width} characters")
        return text.ljust(width).encode("ascii")

    def _header(self) -> bytes:
        f = self._field
        n = self.n_ch
        head = (b"\xffBIOSEMI" + f("X X X X", 80) + f("Startdate 01-JAN-2024 X X X", 80)
                + f("01.01.24", 8) + f("00.00.00", 8) + f(256 * (n + 1), 8) + f("24BIT", 44)
                + f(self.n_records, 8) + f(1, 8) + f(n, 4))
        rng = f"{self.phys_uv:g}"
        columns = [
            [f(c, 16) for c in self.ch_names],
            [f("simulated", 80)] * n,
            [f("uV", 8)] * n,
            [f("-" + rng, 8)] * n,
            [f(rng, 8)] * n,
            [f(BDF_DIG_MIN, 8)] * n,
            [f(BDF_DIG_MAX, 8)] * n,
            [f("", 80)] * n,
            [f(self.spr, 8)] * n,
            [f("", 32)] * n,
        ]
        out = head + b"".join(b"".join(col) for col in columns)
        assert len(out) == 256 * (n + 1)
        return out

    def digital(self, block_volts: np.ndarray) -> np.ndarray:
        """int32 samples of a block in volts, clipped to the 24-bit range."""
        d = np.rint((np.asarray(block_volts, dtype=np.float64) * 1e6 - self.offset) / self.cal)
        over = (d < BDF_DIG_MIN) | (d > BDF_DIG_MAX)
        self.clipped += int(over.sum())
        return np.clip(d, BDF_DIG_MIN, BDF_DIG_MAX).astype("<i4")

    def write(self, block_volts: np.ndarray) -> None:
        n_ch, n = block_volts.shape
        if n_ch != self.n_ch or n % self.spr:
            raise ValueError(f"block of shape {block_volts.shape}: expected ({self.n_ch}, "
                             f"k * {self.spr})")
        k = n // self.spr
        d = self.digital(block_volts)
        # (n_ch, k, spr) -> records (k, n_ch, spr), then the low 3 bytes of each little-endian int32
        rec = np.ascontiguousarray(d.reshape(n_ch, k, self.spr).transpose(1, 0, 2))
        raw = rec.view(np.uint8).reshape(k, n_ch, self.spr, 4)[..., :3]
        self._fh.write(np.ascontiguousarray(raw).tobytes())
        self.records_written += k

    def close(self) -> Path:
        if self.records_written != self.n_records:
            self.abort()
            raise RuntimeError(f"{self.path}: wrote {self.records_written} records, header says "
                               f"{self.n_records}")
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self._fh.close()
        os.replace(self._tmp, self.path)
        return self.path

    def abort(self) -> None:
        if not self._fh.closed:
            self._fh.close()
        if self._tmp.exists():
            self._tmp.unlink()


def big_ch_names() -> list[str]:
    from physioaffect.montage import get_montage

    return list(get_montage("seed").ch_names) + ["EEG63", "EEG64"]


def simulate_64(duration_s: float, sfreq: float, seed: int) -> np.ndarray:
    """(64, n) volts: SEED's 62 channels plus two channels of a DREAMER-montage draw."""
    from physioaffect.simulate import eeg

    main = eeg("seed", sfreq=sfreq, duration=duration_s, random_state=seed)
    extra = eeg("dreamer", sfreq=sfreq, duration=duration_s, random_state=seed + 500_000)
    return np.concatenate([main, extra[[0, 7]]], axis=0)


def big_bdf_path(data_dir: Path, duration_s: float, sfreq: float, seed: int) -> Path:
    return Path(data_dir) / (f"sim-seed62+2-64ch-{sfreq:g}Hz-{_seconds_label(duration_s)}"
                             f"-seed{seed}-v{FILE_VERSION}.bdf")


def write_big_bdf(path: Path, duration_s: float, sfreq: float, seed: int,
                  segment_s: float = _BIG_SEGMENT_S) -> Path:
    """Simulate and stream a 64-channel BDF of ``duration_s`` (whole seconds) to ``path``."""
    n_records = int(round(duration_s))
    if n_records != duration_s or n_records < 1:
        raise ValueError(f"duration must be a whole number of seconds, got {duration_s}")
    seg_records = int(segment_s)
    writer = BdfWriter(path, big_ch_names(), sfreq, n_records)
    t0 = last = time.perf_counter()
    try:
        for k, first in enumerate(range(0, n_records, seg_records)):
            n = min(seg_records, n_records - first)
            writer.write(simulate_64(float(n), sfreq, seed * 1000 + k))
            now = time.perf_counter()
            if now - last > 30:
                last = now
                done = writer.records_written / n_records
                _log(f"    {100 * done:.0f}% of {path.name}, {now - t0:.0f} s, "
                     f"~{(now - t0) * (1 - done) / done:.0f} s left")
    except BaseException:
        writer.abort()
        raise
    if writer.clipped:
        _log(f"  warning: {writer.clipped} samples clipped to +-{BDF_PHYS_UV:g} uV in {path.name}")
    return writer.close()


def check_bdf_writer(tmp_dir: Path, sfreq: float = 256.0, seconds: int = 20, seed: int = 7) -> dict:
    """Write a short file with :class:`BdfWriter` and read it back with MNE and physioaffect.

    Raises AssertionError when MNE's samples differ from the simulated ones by more than half a
    24-bit step (plus rounding), or when the header reads back wrong. Returns the figures.
    """
    import mne

    from physioaffect.io.recording import _read_header

    tmp_dir = Path(tmp_dir)
    tmp_dir.mkdir(parents=True, exist_ok=True)
    path = tmp_dir / f"bdf-writer-check-{os.getpid()}.bdf"
    try:
        x = simulate_64(float(seconds), sfreq, seed)
        # two 10-s blocks, as the streamed file is written in blocks
        writer = BdfWriter(path, big_ch_names(), sfreq, seconds)
        half = (seconds // 2) * int(sfreq)
        writer.write(x[:, :half])
        writer.write(x[:, half:])
        writer.close()
        raw = mne.io.read_raw_bdf(path, preload=True, verbose="error")
        y = raw.get_data()
        step_v = writer.cal * 1e-6
        err = float(np.max(np.abs(y - x)))
        assert raw.ch_names == big_ch_names(), raw.ch_names
        assert raw.info["sfreq"] == sfreq, raw.info["sfreq"]
        assert y.shape == x.shape, (y.shape, x.shape)
        assert set(raw.get_channel_types()) == {"eeg"}, set(raw.get_channel_types())
        assert err <= 0.5 * step_v * (1 + 1e-6) + 1e-15, (err, step_v)
        header = _read_header(path, "BDF")
        assert header.n_records == seconds and list(header.labels) == big_ch_names()
        return {"max_abs_error_v": err, "step_v": step_v, "clipped": writer.clipped}
    finally:
        if path.exists():
            path.unlink()


def ensure_big_bdf(data_dir: Path, duration_s: float, sfreq: float, seed: int) -> Path:
    """The cached 64-channel BDF, simulated and streamed to disk if absent."""
    path = big_bdf_path(data_dir, duration_s, sfreq, seed)
    if path.exists():
        return path
    Path(data_dir).mkdir(parents=True, exist_ok=True)
    check = check_bdf_writer(Path(data_dir))
    _log(f"  BDF writer check: MNE reads back within {check['max_abs_error_v']:.2e} V "
         f"(half a step = {check['step_v'] / 2:.2e} V)")
    n_bytes = 256 * 65 + int(duration_s) * 64 * int(sfreq) * 3
    _log(f"  simulating and streaming {path.name}: 64 ch x {int(duration_s * sfreq)} samples, "
         f"{n_bytes / 1e9:.2f} GB")
    t0 = time.perf_counter()
    write_big_bdf(path, duration_s, sfreq, seed)
    _log(f"  wrote {path} ({path.stat().st_size / 1e9:.2f} GB) in {time.perf_counter() - t0:.0f} s")
    return path
