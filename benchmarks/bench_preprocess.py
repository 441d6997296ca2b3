"""EDF/BDF -> DE feature file: physioaffect's streaming CLI against the plain MNE route.

Run from the repository root::

    .venv/bin/python benchmarks/bench_preprocess.py             # 2-h EDF (3 repeats) + 24-h BDF
    .venv/bin/python benchmarks/bench_preprocess.py --no-big    # the 2-h EDF only
    .venv/bin/python benchmarks/bench_preprocess.py --quick     # 10-min EDF + 1-h BDF, 1 repeat

Recordings come from the simulator and are cached in ``--data-dir`` (first run: minutes to
generate). Every route runs in a fresh subprocess: the wall time is measured around it (interpreter
start, imports, reading, filtering, writing the NetCDF file: the whole job) and the peak RSS is
the child's own high-water mark (``VmHWM``). Both routes compute DE = 0.5 ln(2 pi e var) of
the five default bands in non-overlapping windows, zero-phase, and write a NetCDF feature file;
the report compares the two files. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
from _bigfile import (  # noqa: E402
    big_bdf_path,
    default_data_dir,
    ensure_big_bdf,
    ensure_deap_edf,
)
from _common import cpu_count, fmt_ratio, fmt_speed, log, machine_line, table  # noqa: E402

# physioaffect.features.DEFAULT_BANDS, passed to the MNE route as they are
BANDS = {"delta": (1.0, 4.0), "theta": (4.0, 8.0), "alpha": (8.0, 14.0), "beta": (14.0, 31.0),
         "gamma": (31.0, 49.0)}
SFREQ = 256.0
WINDOW_S = 4.0

TARGET_SPEEDUP = 5.0
TARGET_MEMORY = 4.0
TARGET_BIG_RSS_MB = 1000.0  # 1 GB = 10^9 bytes
SAME_TOL = 1e-3  # nats, the same against MNE with IIR Butterworth filters (interior windows)
EDGE_WINDOWS = 10  # left out at each end in that check: the two pad the ends differently
WARM_S = 300.0  # the warm-up recording (also used for the IIR check)

MB = 1e6
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS",
               "NUMBA_NUM_THREADS", "VECLIB_MAXIMUM_THREADS")

# --------------------------------------------------------------------------------------------
# the child processes
# --------------------------------------------------------------------------------------------
# Both print one line "BENCH {json}" with their peak RSS (VmHWM, kB) as their last act. VmHWM
# belongs to the process image after exec, so the parent's own memory never counts (ru_maxrss of
# a child can carry the parent's high-water mark over the fork/exec).
_HWM = r"""
def _vmhwm_kb():
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return -1
"""

# physioaffect: the console script `physioaffect preprocess FILE -o DIR --no-progress --window W`
# (the same work as the entry point, physioaffect.cli.main:console_main, which ends with
# gc.freeze() before exiting), then the high-water mark.
_PHYSIOAFFECT_CHILD = _HWM + r"""
import gc, json, sys, time
t0 = time.perf_counter()
from physioaffect.cli.main import main
rc = main(sys.argv[1:])
print("BENCH " + json.dumps({"rc": rc, "inner_s": time.perf_counter() - t0,
                             "vmhwm_kb": _vmhwm_kb()}), flush=True)
gc.freeze()
sys.exit(rc)
"""

# MNE: preload the file, then per band: copy + raw.filter (default FIR, zero-phase, n_jobs=1),
# fixed-length epochs, get_data, population variance per (epoch, channel) -> DE; write the same
# (window, channel, band) array to NetCDF with xarray/h5netcdf.
_MNE_CHILD = _HWM + r"""
import json, sys, time
t0 = time.perf_counter()
import numpy as np
import mne
import xarray as xr
path, out, window, bands = sys.argv[1], sys.argv[2], float(sys.argv[3]), json.loads(sys.argv[4])
method = sys.argv[5]  # "fir": MNE's default; "iir": Butterworth order 4 as SOS, for the check
kw = {} if method == "fir" else {"method": "iir", "iir_params": {"order": 4, "ftype": "butter",
                                                                   "output": "sos"}}
reader = mne.io.read_raw_bdf if path.lower().endswith(".bdf") else mne.io.read_raw_edf
raw = reader(path, preload=True, verbose="error")
raw.pick("eeg")
de = None
for b, (lo, hi) in enumerate(bands.values()):
    filtered = raw.copy().filter(lo, hi, n_jobs=1, verbose="error", **kw)
    epochs = mne.make_fixed_length_epochs(filtered, duration=window, preload=False,
                                          verbose="error")
    x = epochs.get_data(verbose="error")  # (n_epochs, n_channels, n_times)
    var = x.var(axis=-1)
    if de is None:
        de = np.empty(var.shape + (len(bands),))
        onset = epochs.events[:, 0] / raw.info["sfreq"] - raw.first_time
    de[:, :, b] = 0.5 * np.log(2 * np.pi * np.e * var)
    del filtered, epochs, x, var
ds = xr.Dataset(
    {"de": (("window", "channel", "band"), de, {"units": "nats", "signal_units": "V"})},
    coords={"onset": ("window", onset), "channel": list(raw.ch_names), "band": list(bands),
            "band_low": ("band", [v[0] for v in bands.values()]),
            "band_high": ("band", [v[1] for v in bands.values()])})
ds.to_netcdf(out, engine="h5netcdf")
print("BENCH " + json.dumps({"rc": 0, "inner_s": time.perf_counter() - t0,
                             "vmhwm_kb": _vmhwm_kb()}), flush=True)
"""


def child_env(threads: int) -> dict:
    env = dict(os.environ)
    for var in THREAD_VARS:
        env[var] = str(threads)
    env["PHYSIOAFFECT_NUM_THREADS"] = str(threads)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


class Route:
    """One way of turning a recording into a DE feature file, run in a fresh subprocess."""

    def __init__(self, name: str, kind: str, threads: int, window: float, method: str = "fir"):
        self.name = name
        self.kind = kind  # "physioaffect" or "mne"
        self.threads = threads
        self.window = window
        self.method = method  # MNE's filter: "fir" (its default) or "iir"

    def command(self, recording: Path, outdir: Path) -> tuple[list[str], Path]:
        if self.kind == "physioaffect":
            argv = ["preprocess", str(recording), "-o", str(outdir), "--no-progress",
                    "--window", f"{self.window:g}"]
            return [sys.executable, "-c", _PHYSIOAFFECT_CHILD, *argv], outdir / f"{recording.stem}.nc"
        out = outdir / f"{recording.stem}.nc"
        return [sys.executable, "-c", _MNE_CHILD, str(recording), str(out), f"{self.window:g}",
                json.dumps(BANDS), self.method], out

    def run(self, recording: Path, outdir: Path, timeout: float) -> dict:
        """One run: wall seconds (parent's clock), peak RSS in MB, the feature file written."""
        if outdir.exists():
            shutil.rmtree(outdir)
        outdir.mkdir(parents=True)
        cmd, out = self.command(recording, outdir)
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, cwd=str(REPO), env=child_env(self.threads), capture_output=True,
                              text=True, timeout=timeout)
        wall = time.perf_counter() - t0
        info = None
        for line in proc.stdout.splitlines():
            if line.startswith("BENCH "):
                info = json.loads(line[len("BENCH "):])
        if proc.returncode != 0 or info is None or not out.exists():
            raise RuntimeError(f"{self.name} on {recording.name} failed (rc={proc.returncode}):\n"
                               f"{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")
        return {"wall_s": wall, "inner_s": info["inner_s"], "rss_mb": info["vmhwm_kb"] * 1024 / MB,
                "output": out}


# --------------------------------------------------------------------------------------------
# recordings
# --------------------------------------------------------------------------------------------
class Recording:
    def __init__(self, path: Path, n_channels: int, seconds: float, sfreq: float, fmt: str):
        self.path = path
        self.n_channels = n_channels
        self.seconds = seconds
        self.sfreq = sfreq
        span = f"{seconds / 3600:g} h" if seconds >= 3600 else f"{seconds / 60:g} min"
        self.label = f"{span} x {n_channels} ch x {sfreq:g} Hz {fmt}"

    @property
    def work(self) -> float:
        """Channel-samples of input."""
        return self.n_channels * self.seconds * self.sfreq

    @property
    def float64_mb(self) -> float:
        return self.work * 8.0 / MB


def compare_outputs(pa_file: Path, mne_file: Path, edge: int = 0) -> dict:
    """|DE_physioaffect - DE_mne| in nats: median, 95th percentile, max, and per band.

    ``edge`` windows at each end are left out (the routes pad the recording's ends differently).
    """
    import xarray as xr

    with xr.open_dataset(pa_file, engine="h5netcdf") as a, \
            xr.open_dataset(mne_file, engine="h5netcdf") as b:
        if list(a["channel"].values) != list(b["channel"].values):
            raise RuntimeError("the two feature files list different channels")
        if list(a["band"].values) != list(b["band"].values):
            raise RuntimeError("the two feature files list different bands")
        da = a["de"].transpose("window", "channel", "band").values
        db = b["de"].transpose("window", "channel", "band").values
        same_onsets = (a.sizes["window"] == b.sizes["window"]
                       and np.allclose(a["onset"].values, b["onset"].values))
        bands = [str(v) for v in a["band"].values]
    if da.shape != db.shape:
        raise RuntimeError(f"feature arrays differ in shape: {da.shape} vs {db.shape}")
    shape = da.shape
    if edge:
        da, db = da[edge:-edge], db[edge:-edge]
    signed = da - db
    d = np.abs(signed)
    return {
        "shape": shape,
        "same_onsets": same_onsets,
        "median": float(np.median(d)),
        "p95": float(np.percentile(d, 95)),
        "max": float(np.max(d)),
        "bands": {band: (float(np.median(d[:, :, i])), float(np.median(signed[:, :, i])))
                  for i, band in enumerate(bands)},
    }


def total_memory_mb() -> float:
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024 / MB
    except OSError:
        pass
    return float("nan")


def fmt_mb(v: float) -> str:
    return f"{v:,.0f}"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true",
                    help="smoke run: a 10-min EDF and a 1-h BDF, one repeat")
    ap.add_argument("--data-dir", type=Path, default=default_data_dir(),
                    help="where simulated recordings are cached (default %(default)s)")
    ap.add_argument("--repeats", type=int, default=None,
                    help="timed runs of each route on the 32-channel EDF (default 3, --quick 1)")
    ap.add_argument("--big-repeats", type=int, default=1,
                    help="timed runs of each physioaffect route on the 64-channel BDF (default 1)")
    ap.add_argument("--no-big", action="store_true",
                    help="skip the 64-channel BDF (24 h; 1 h with --quick)")
    ap.add_argument("--threads", type=int, default=cpu_count(),
                    help="also run physioaffect with this many threads (default: the CPUs "
                         "available, %(default)s; 1 gives the one-thread rows only)")
    ap.add_argument("--window", type=float, default=WINDOW_S, help="window length in s (default 4)")
    ap.add_argument("--seed", type=int, default=0, help="simulator seed of the recordings")
    ap.add_argument("--keep-outputs", action="store_true",
                    help="keep the feature files written (under DATA_DIR/runs)")
    ap.add_argument("--timeout", type=float, default=3600.0, help="seconds allowed per child run")
    args = ap.parse_args(argv)

    repeats = args.repeats or (1 if args.quick else 3)
    edf_s = 600.0 if args.quick else 2 * 3600.0
    big_s = 3600.0 if args.quick else 24 * 3600.0
    data_dir = args.data_dir.expanduser()
    runs_dir = data_dir / "runs"
    n_par = max(1, args.threads)

    import mne

    import physioaffect

    # ---- recordings -------------------------------------------------------------------------
    log(f"recordings in {data_dir}")
    edf = Recording(ensure_deap_edf(data_dir, edf_s, SFREQ, args.seed), 32, edf_s, SFREQ, "EDF")
    big = None
    if not args.no_big:
        free = shutil.disk_usage(data_dir).free
        need = big_s * 64 * SFREQ * 3
        if not big_bdf_path(data_dir, big_s, SFREQ, args.seed).exists() and free < need * 1.2:
            log(f"  skipping the BDF: {need / 1e9:.1f} GB needed, {free / 1e9:.1f} GB free")
        else:
            big = Recording(ensure_big_bdf(data_dir, big_s, SFREQ, args.seed), 64, big_s, SFREQ,
                            "BDF")
    warm = Recording(ensure_deap_edf(data_dir, WARM_S, SFREQ, args.seed + 1), 32, WARM_S, SFREQ,
                     "EDF")

    pa1 = Route("physioaffect CLI, 1 thread", "physioaffect", 1, args.window)
    pan = Route(f"physioaffect CLI, {n_par} threads", "physioaffect", n_par, args.window)
    mne1 = Route("MNE preload + FIR filter + epochs + var, n_jobs=1", "mne", 1, args.window)
    mne_iir = Route("MNE, IIR Butterworth order 4 (check only)", "mne", 1, args.window, "iir")
    edf_routes = [pa1, mne1] + ([pan] if n_par > 1 else [])
    big_routes = [pa1] + ([pan] if n_par > 1 else [])

    # ---- warm-up (Numba cache, .pyc files, page cache) and the same-computation check --------
    # A wheel install byte-compiles the package; an editable one under PYTHONDONTWRITEBYTECODE=1
    # (as in CI containers) would recompile every module in every child, so write the .pyc here.
    import compileall

    compileall.compile_dir(str(REPO / "physioaffect"), quiet=1)
    log(f"warm-up (untimed): every route once on the {warm.label}; MNE with IIR filters too")
    warm_runs = {}
    for r in edf_routes + [mne_iir]:
        res = r.run(warm.path, runs_dir / "warm-up", args.timeout)
        warm_runs[r.name] = res
        if r in (pa1, mne_iir):
            keep = runs_dir / f"keep-warm-{r.kind}-{r.method}.nc"
            shutil.move(str(res["output"]), keep)
            res["output"] = keep
    same = compare_outputs(warm_runs[pa1.name]["output"], warm_runs[mne_iir.name]["output"],
                           edge=EDGE_WINDOWS)

    results = {}  # (recording label, route name) -> list of runs
    outputs = {}

    def timed(rec, routes, n):
        for k in range(n):
            for r in routes:
                log(f"  {rec.label}: {r.name}, run {k + 1}/{n}")
                res = r.run(rec.path, runs_dir / f"{r.kind}-{r.threads}", args.timeout)
                results.setdefault((rec.label, r.name), []).append(res)
                log(f"    {res['wall_s']:.1f} s, peak RSS {fmt_mb(res['rss_mb'])} MB")
                if k == 0 and r.threads == 1:  # keep one output of each one-thread route
                    keep = runs_dir / f"keep-{r.kind}-{rec.path.stem}.nc"
                    shutil.move(str(res["output"]), keep)
                    outputs[(rec.label, r.kind)] = keep

    log(f"timing {edf.label}: {repeats} interleaved round(s)")
    timed(edf, edf_routes, repeats)
    agree = compare_outputs(outputs[(edf.label, "physioaffect")], outputs[(edf.label, "mne")])
    if big is not None:
        log(f"timing {big.label}: {args.big_repeats} round(s), physioaffect only")
        timed(big, big_routes, args.big_repeats)

    # ---- report ------------------------------------------------------------------------------
    def med(rec, route, key):
        runs = results.get((rec.label, route.name))
        return statistics.median(r[key] for r in runs) if runs else None

    print(f"EDF/BDF -> DE feature file (NetCDF), {args.window:g}-s windows, 5 bands "
          f"(delta 1-4, theta 4-8, alpha 8-14, beta 14-31, gamma 31-49 Hz), zero-phase, "
          "simulated EEG (physioaffect.simulate)")
    print(f"machine: {machine_line()}")
    print(f"physioaffect {physioaffect.__version__}, mne {mne.__version__}, numpy {np.__version__}")
    print("each run is a fresh subprocess; wall = the whole job as the parent sees it (start-up, "
          "imports, read, filter, write); in-process = from the child's first line to its end; "
          "peak RSS = the child's VmHWM (1 MB = 10^6 bytes)")
    print("threads: an n-thread row sets PHYSIOAFFECT_NUM_THREADS and the BLAS/OpenMP/Numba pools to "
          "n; MNE filters with n_jobs=1 (one core)")
    print(f"medians of {repeats} interleaved run(s) on the EDF, {args.big_repeats} on the BDF; "
          "one untimed warm-up run of each route first")
    print()
    rows = []
    for rec, routes in ((edf, edf_routes), (big, big_routes)):
        if rec is None:
            continue
        for r in routes:
            wall = med(rec, r, "wall_s")
            n = len(results[(rec.label, r.name)])
            rows.append([rec.label, r.name, str(n), f"{wall:.1f}", f"{med(rec, r, 'inner_s'):.1f}",
                         fmt_speed(rec.work / wall / 1e6), fmt_mb(med(rec, r, "rss_mb"))])
    w_pa, w_mne = med(edf, pa1, "wall_s"), med(edf, mne1, "wall_s")
    m_pa, m_mne = med(edf, pa1, "rss_mb"), med(edf, mne1, "rss_mb")
    speedup, mem_ratio = w_mne / w_pa, m_mne / m_pa
    rows.append([edf.label, "speed-up = MNE / physioaffect (1 thread each)", "", fmt_ratio(speedup),
                 "", "", ""])
    rows.append([edf.label, "memory ratio = MNE / physioaffect (1 thread each)", "", "", "", "",
                 fmt_ratio(mem_ratio)])
    if n_par > 1:
        rows.append([edf.label, f"speed-up = MNE (n_jobs=1) / physioaffect ({n_par} threads)", "",
                     fmt_ratio(w_mne / med(edf, pan, "wall_s")), "", "", ""])
    print(table(["recording", "route", "runs", "wall s", "in-process s", "M ch-samples/s",
                 "peak RSS MB"], rows, "llrrrrr"))
    print()
    print(f"for scale, the untimed warm-up runs on the {warm.label}: " + ", ".join(
        f"{name} {res['wall_s']:.1f} s / {fmt_mb(res['rss_mb'])} MB"
        for name, res in warm_runs.items() if name != mne_iir.name))
    print()

    if big is not None:
        # MNE's peak grows with the preloaded data: a line through its warm-up and EDF peaks
        w_m = warm_runs[mne1.name]["rss_mb"]
        slope = (m_mne - w_m) / (edf.float64_mb - warm.float64_mb)
        est = m_mne + slope * (big.float64_mb - edf.float64_mb)
        print(f"{big.label}: the MNE route is not run. read_raw_bdf(preload=True) alone holds "
              f"{big.float64_mb / 1e3:.1f} GB of float64 samples, and a filtered copy and the "
              f"epochs array add as much again each; a line through the MNE route's peaks on the "
              f"two EDFs ({slope:.1f} MB per MB of preloaded data) puts its peak near "
              f"{est / 1e3:.0f} GB (this machine has {total_memory_mb() / 1e3:.0f} GB).")
        print()

    print(f"agreement on the {edf.label} ({agree['shape'][0]} windows x {agree['shape'][1]} "
          f"channels x {agree['shape'][2]} bands; window onsets "
          f"{'equal' if agree['same_onsets'] else 'DIFFER'}), timed routes:")
    print(f"  |DE physioaffect - DE MNE| in nats: median {agree['median']:.3f}, 95th percentile "
          f"{agree['p95']:.3f}. physioaffect: Butterworth order 4, forward-backward (-6 dB at the "
          "band edges); MNE's default FIR centres a transition band of max(2 Hz, 25% of the edge) "
          "(1 Hz at 1 Hz) on each edge, so each band is wider (gamma reaches ~55 Hz and the 50-Hz "
          "line noise) and MNE's DE is higher:")
    print(table(["band", "median |d| nats", "median d (physioaffect - MNE)"],
                [[b, f"{v[0]:.3f}", f"{v[1]:+.3f}"] for b, v in agree["bands"].items()], "lrr"))
    print(f"same computation: physioaffect against the MNE route with IIR Butterworth order-4 "
          f"filters (MNE filtfilt) on the {warm.label}, {EDGE_WINDOWS} windows left out at each "
          f"end: median |d| {same['median']:.1e}, max {same['max']:.1e} nats")
    print()

    print("targets" + (" (--quick: shorter files than the spec's 2-h EDF and 24-h BDF)"
                       if args.quick else ""))
    trows = [
        [edf.label, f"physioaffect >= {TARGET_SPEEDUP:g}x faster than MNE (1 thread each)",
         fmt_ratio(speedup), "met" if speedup >= TARGET_SPEEDUP else "not met"],
        [edf.label, f"physioaffect >= {TARGET_MEMORY:g}x less peak RSS than MNE",
         fmt_ratio(mem_ratio), "met" if mem_ratio >= TARGET_MEMORY else "not met"],
    ]
    if big is not None:
        worst = max(r["rss_mb"] for route in big_routes for r in results[(big.label, route.name)])
        trows.append([big.label, f"completes under {TARGET_BIG_RSS_MB:,.0f} MB peak RSS "
                      "(worst physioaffect run)", f"{fmt_mb(worst)} MB",
                      "met" if worst < TARGET_BIG_RSS_MB else "not met"])
    else:
        trows.append(["BDF", f"completes under {TARGET_BIG_RSS_MB:,.0f} MB peak RSS", "-",
                      "not run"])
    trows.append([warm.label, f"check: same DE as MNE with IIR filters, median |d| < "
                  f"{SAME_TOL:g} nats", f"{same['median']:.1e}",
                  "met" if same["median"] < SAME_TOL else "not met"])
    trows.append([edf.label, "note: DE against MNE's default FIR (wider bands, see above), "
                  "median |d| nats", f"{agree['median']:.3f}", "info"])
    print(table(["recording", "target", "measured", "result"], trows, "llrl"))

    if not args.keep_outputs:
        shutil.rmtree(runs_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
