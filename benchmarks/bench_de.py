"""Differential-entropy (DE) extraction: physioaffect's fused kernel against the field's routes.

Run from the repository root::

    .venv/bin/python benchmarks/bench_de.py            # full run (a few minutes)
    .venv/bin/python benchmarks/bench_de.py --quick    # shorter recordings, fewer repeats
    .venv/bin/python benchmarks/bench_de.py --threads 1  # one-core rows only

Every route runs on the same seeded data in the same process, in interleaved rounds; the report
gives medians in M channel-samples/s, ratios against the scipy and TorchEEG anchors, the agreement of
every route with a scipy reference (in nats), the targets, and the compile/load time of a fresh
process. Comparisons are per core: Numba, BLAS and torch are held to one thread unless a row says
otherwise. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
import scipy  # noqa: E402
import scipy.signal  # noqa: E402
from _common import (  # noqa: E402
    Timed,
    cpu_count,
    fmt_ratio,
    fmt_speed,
    limit_blas_threads,
    log,
    machine_line,
    pink_noise,
    run_interleaved,
    table,
)

# Library defaults (the contract of physioaffect.features.differential_entropy).
BANDS = {"delta": (1.0, 4.0), "theta": (4.0, 8.0), "alpha": (8.0, 14.0), "beta": (14.0, 31.0),
         "gamma": (31.0, 49.0)}
ORDER = 4
# TorchEEG BandDifferentialEntropy defaults.
TE_BANDS = {"theta": (4.0, 8.0), "alpha": (8.0, 14.0), "beta": (14.0, 31.0), "gamma": (31.0, 49.0)}
TE_ORDER = 5
WINDOW_S = 1.0
LN2 = math.log(2.0)
HALF_LOG_2PIE = 0.5 * math.log(2.0 * math.pi * math.e)

# Arithmetic ceiling on one core (PERFORMANCE.md): 5 bands x 4 biquads ~ 180 flops per channel-sample
# at ~32 GFLOP/s -> 175 M channel-samples/s for one pass; forward-backward does twice the work.
CEILING_CAUSAL = 175.0
CEILING_ZERO_PHASE = CEILING_CAUSAL / 2

TARGET_FUSED = 8.0
TARGET_TORCHEEG = 1000.0
TARGET_LOAD_S = 1.0

EDGE_WINDOWS = 10

# route names, as printed
ZP1 = "physioaffect fused zero-phase, 1 thread"
C1 = "physioaffect fused causal, 1 thread"
PRE = "physioaffect preset=torcheeg, 1 thread"
SFF = "scipy sosfiltfilt + var"
SF = "scipy sosfilt + var"
MNE = "mne filter_data IIR + var"
SPW = "scipy sosfilt per window (torcheeg semantics)"
TE = "TorchEEG BandDifferentialEntropy"  # windows dropped at each end for the "interior" agreement column

WORKLOADS = [
    # name, channels, sfreq, minutes (full), minutes (--quick), seed
    ("32ch 128Hz", 32, 128.0, 60.0, 5.0, 1),
    ("DREAMER-like 14ch 128Hz", 14, 128.0, 5.0, 1.0, 2),
    ("SEED-like 62ch 200Hz", 62, 200.0, 4.0, 1.0, 3),
]


# --------------------------------------------------------------------------------------------
# the routes
# --------------------------------------------------------------------------------------------
def _windowed_de(y: np.ndarray, win: int, log_fn=np.log) -> np.ndarray:
    """(n_channels, n_times) filtered signal -> (n_windows, n_channels) DE, population variance."""
    n_win = y.shape[-1] // win
    var = y[:, : n_win * win].reshape(y.shape[0], n_win, win).var(axis=-1)
    return (0.5 * log_fn(2.0 * np.pi * np.e * var)).T


def scipy_de(data: np.ndarray, sfreq: float, zero_phase: bool) -> np.ndarray:
    """butter(4, output='sos') per band, sosfiltfilt (or sosfilt) of the whole signal, 1-s variance."""
    win = int(round(WINDOW_S * sfreq))
    out = []
    for lo, hi in BANDS.values():
        sos = scipy.signal.butter(ORDER, [lo, hi], btype="bandpass", fs=sfreq, output="sos")
        if zero_phase:
            y = scipy.signal.sosfiltfilt(sos, data, axis=-1)
        else:
            y = scipy.signal.sosfilt(sos, data, axis=-1)
        out.append(_windowed_de(y, win))
    return np.stack(out, axis=-1)


def mne_de(data: np.ndarray, sfreq: float) -> np.ndarray:
    """mne.filter.filter_data, IIR order-4 Butterworth in SOS (zero-phase), then 1-s variance."""
    import mne

    win = int(round(WINDOW_S * sfreq))
    out = []
    for lo, hi in BANDS.values():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            y = mne.filter.filter_data(
                data, sfreq, lo, hi, method="iir",
                iir_params=dict(order=ORDER, ftype="butter", output="sos"),
                n_jobs=1, verbose=False,
            )
        out.append(_windowed_de(y, win))
    return np.stack(out, axis=-1)


def scipy_torcheeg_semantics(data: np.ndarray, sfreq: float) -> np.ndarray:
    """TorchEEG's semantics done in SOS: each 1-s window filtered from zero state (order 5), log2."""
    win = int(round(WINDOW_S * sfreq))
    n_ch, n_t = data.shape
    n_win = n_t // win
    xw = data[:, : n_win * win].reshape(n_ch, n_win, win)
    out = []
    for lo, hi in TE_BANDS.values():
        sos = scipy.signal.butter(TE_ORDER, [lo, hi], btype="bandpass", fs=sfreq, output="sos")
        y = scipy.signal.sosfilt(sos, xw, axis=-1)
        out.append((0.5 * np.log2(2.0 * np.pi * np.e * y.var(axis=-1))).T)
    return np.stack(out, axis=-1)


def import_torcheeg_transform():
    """TorchEEG's BandDifferentialEntropy, or None when TorchEEG is not installed."""
    # TorchEEG 1.1.2 imports `scipy.signal.hann`, which SciPy 1.13 removed (it lives in
    # scipy.signal.windows); restore the old name so that its transforms import at all.
    if not hasattr(scipy.signal, "hann"):
        scipy.signal.hann = scipy.signal.windows.hann
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from torcheeg.transforms import BandDifferentialEntropy
    except ImportError as exc:
        log(f"  TorchEEG not available ({exc}); its rows are skipped")
        return None
    try:
        import torch

        torch.set_num_threads(1)
    except Exception:  # noqa: BLE001 - torch is only here because TorchEEG imports it
        pass
    return BandDifferentialEntropy


def time_torcheeg(transform_cls, data, sfreq, budget_s, seed):
    """Apply the transform as a TorchEEG user does, window by window, for about ``budget_s``.

    Windows are drawn in a seeded random order over the whole recording; the speed measured on
    that subset is the speed for the whole. Returns (M ch-samples/s, window indices, outputs).
    """
    win = int(round(WINDOW_S * sfreq))
    n_ch, n_t = data.shape
    n_win = n_t // win
    t = transform_cls(sampling_rate=int(round(sfreq)))
    order = np.random.default_rng(seed).permutation(n_win)
    t(eeg=data[:, :win])  # first call outside the clock
    done, outs = [], []
    t0 = time.perf_counter()
    for w in order:
        outs.append(t(eeg=data[:, w * win : (w + 1) * win])["eeg"])
        done.append(int(w))
        if len(done) >= 5 and time.perf_counter() - t0 >= budget_s:
            break
    elapsed = time.perf_counter() - t0
    speed = len(done) * n_ch * win / elapsed / 1e6
    return speed, np.asarray(done), np.stack(outs, axis=0)


# --------------------------------------------------------------------------------------------
# compile / load time of a fresh process
# --------------------------------------------------------------------------------------------
# A fresh interpreter: optionally import the dependencies the first call pulls in (so that their
# import time is reported apart from compiling/loading the kernels), import physioaffect, then time
# the first call of each mode on a small array.
_FIRST_CALL = r"""
import importlib, json, sys, time
out = {"deps_s": None}
if sys.argv[1] == "preimport":
    t = time.perf_counter()
    for name in ("numpy", "scipy.signal", "numba", "xarray"):
        try:
            importlib.import_module(name)
        except ImportError:
            pass
    out["deps_s"] = time.perf_counter() - t
t = time.perf_counter()
import numpy as np
from physioaffect.features import differential_entropy
out["import_s"] = time.perf_counter() - t
x = np.random.default_rng(0).standard_normal((4, 1280))
for key, kw in (("zero_phase", {"zero_phase": True}), ("causal", {"zero_phase": False}),
                ("torcheeg", {"preset": "torcheeg"})):
    t = time.perf_counter()
    differential_entropy(x, 128.0, window=1.0, **kw)
    out[key] = time.perf_counter() - t
print("RESULT " + json.dumps(out))
"""

FIRST_CALL_RUNS = [
    # label, cache state, pre-import the dependencies?
    ("cold cache, deps pre-imported (compiles)", True),
    ("warm cache, deps pre-imported (loads)", True),
    ("warm cache, nothing pre-imported", False),
]


def first_call_times(cache_dir: str, preimport: bool) -> dict:
    env = dict(os.environ)
    env["NUMBA_CACHE_DIR"] = cache_dir
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    proc = subprocess.run(
        [sys.executable, "-c", _FIRST_CALL, "preimport" if preimport else "plain"],
        cwd=str(REPO), env=env, capture_output=True, text=True, timeout=600,
    )
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])
    raise RuntimeError(f"first-call subprocess failed (rc={proc.returncode}):\n{proc.stderr[-2000:]}")


# --------------------------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------------------------
def _spread(ratios) -> str:
    if not ratios:
        return "-"
    return f"{fmt_ratio(min(ratios))} - {fmt_ratio(max(ratios))}"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="short recordings and fewer repeats")
    ap.add_argument("--threads", type=int, default=min(2, cpu_count()),
                    help="also time the fused kernel with this many threads (1: one-core rows only)")
    ap.add_argument("--torcheeg-seconds", type=float, default=None,
                    help="time budget for TorchEEG per workload (default 4, --quick 1)")
    ap.add_argument("--rounds", type=int, default=None,
                    help="interleaved rounds of every route (default 7, --quick 3)")
    ap.add_argument("--no-compile-check", action="store_true", help="skip the fresh-process check")
    args = ap.parse_args(argv)

    _blas_limit = limit_blas_threads(1)  # noqa: F841 - held for the life of the process
    import numba

    from physioaffect.features import differential_entropy

    n_par = max(1, args.threads)
    zpn = f"physioaffect fused zero-phase, {n_par} threads"
    cn = f"physioaffect fused causal, {n_par} threads"
    te_budget = args.torcheeg_seconds or (1.0 if args.quick else 4.0)
    # every route joins every round, so that each ratio compares medians over the same spells of
    # the shared machine
    fast_rounds = slow_rounds = max(1, args.rounds or (3 if args.quick else 7))

    try:
        import mne

        mne_version = mne.__version__
    except ImportError:
        mne = None
        mne_version = "absent"
    te_cls = import_torcheeg_transform()
    te_version = "absent"
    if te_cls is not None:
        import torcheeg

        te_version = torcheeg.__version__

    def fused(n_threads, **kw):
        def call(data, sfreq):
            return differential_entropy(data, sfreq, window=WINDOW_S, n_jobs=n_threads, **kw)

        return call

    # ---- fresh-process compile/load first, while nothing else is running -------------------
    compile_info = None
    if not args.no_compile_check:
        log("fresh-process first calls (cold cache, then warm cache) ...")
        with tempfile.TemporaryDirectory(prefix="de-bench-cache-") as cache_dir:
            try:
                compile_info = [(label, first_call_times(cache_dir, pre)) for label, pre in FIRST_CALL_RUNS]
            except Exception as exc:  # noqa: BLE001 - reported, not fatal
                log(f"  compile check failed: {exc}")
                compile_info = exc

    rows, agree_rows, results = [], [], []
    for name, n_ch, sfreq, minutes, quick_minutes, seed in WORKLOADS:
        dur_min = quick_minutes if args.quick else minutes
        n_t = int(round(dur_min * 60 * sfreq))
        wl = f"{name} {dur_min:g}min"
        log(f"{wl}: generating {n_ch} x {n_t} float64 ...")
        data = pink_noise(n_ch, n_t, seed)
        work = float(n_ch * n_t)

        plan = [
            (ZP1, lambda d=data, s=sfreq: fused(1, zero_phase=True)(d, s), fast_rounds),
            (C1, lambda d=data, s=sfreq: fused(1, zero_phase=False)(d, s), fast_rounds),
            (PRE, lambda d=data, s=sfreq: fused(1, preset="torcheeg")(d, s), fast_rounds),
        ]
        if n_par > 1:
            plan += [
                (zpn, lambda d=data, s=sfreq: fused(n_par, zero_phase=True)(d, s), fast_rounds),
                (cn, lambda d=data, s=sfreq: fused(n_par, zero_phase=False)(d, s), fast_rounds),
            ]
        plan += [
            (SFF, lambda d=data, s=sfreq: scipy_de(d, s, True), slow_rounds),
            (SF, lambda d=data, s=sfreq: scipy_de(d, s, False), slow_rounds),
        ]
        if mne is not None:
            plan.append((MNE, lambda d=data, s=sfreq: mne_de(d, s), slow_rounds))
        plan.append((SPW, lambda d=data, s=sfreq: scipy_torcheeg_semantics(d, s), slow_rounds))
        routes = {key: Timed(key, fn, rounds, work) for key, fn, rounds in plan}

        run_interleaved(list(routes.values()))

        speeds = {k: r.mega_per_s for k, r in routes.items()}
        out = {k: r.output for k, r in routes.items()}
        te_speed = te_idx = None
        if te_cls is not None:
            log(f"    {TE}, ~{te_budget:g} s of windows")
            te_speed, te_idx, out[TE] = time_torcheeg(te_cls, data, sfreq, te_budget, seed)
            speeds[TE] = te_speed

        for key, m in speeds.items():
            label = f"{TE} ({len(te_idx)} windows)" if key == TE else key
            rows.append([
                wl, label, fmt_speed(m),
                fmt_ratio(m / speeds[SFF]),
                fmt_ratio(m / speeds[SF]),
                fmt_ratio(m / te_speed) if te_speed else "-",
            ])

        # agreement with the scipy route of the same semantics, in nats (log2 outputs x ln 2)
        checks = [(ZP1, SFF, 1.0), (C1, SF, 1.0)]
        if n_par > 1:
            checks += [(zpn, SFF, 1.0), (cn, SF, 1.0)]
        if mne is not None:
            checks.append((MNE, SFF, 1.0))
        checks.append((PRE, SPW, LN2))
        if te_idx is not None:
            checks += [(TE, SPW, LN2), (PRE, TE, LN2)]
        for route, ref, scale in checks:
            a, b = np.asarray(out[route], float), np.asarray(out[ref], float)
            subset = TE in (route, ref)  # TorchEEG saw a random subset of windows
            if subset:
                a = a if route == TE else a[te_idx]
                b = b if ref == TE else b[te_idx]
            if a.shape != b.shape:
                agree_rows.append([wl, route, ref, f"shape {a.shape} vs {b.shape}", "-"])
                continue
            d = np.abs(a - b) * scale
            inner = d[EDGE_WINDOWS:-EDGE_WINDOWS] if d.shape[0] > 2 * EDGE_WINDOWS else d
            agree_rows.append([wl, route, ref, f"{np.nanmax(d):.1e}", "-" if subset else f"{np.nanmax(inner):.1e}"])

        # the same pairs round by round (interleaved rounds see the same machine): the spread
        # of these ratios shows how far the shared machine's drift moves the median ratios
        paired = {}
        for ours, anchor in ((ZP1, SFF), (C1, SF)):
            ta, tb = routes[ours].times, routes[anchor].times
            paired[ours] = [b / a for a, b in zip(ta, tb, strict=False)]
        results.append((wl, speeds, te_speed, paired))
        del data, routes, out, plan

    # ---- report ------------------------------------------------------------------------------
    print("Differential-entropy extraction, 1-s windows, float64 pink noise (seeded)")
    print(f"machine: {machine_line()}")
    print(f"numpy {np.__version__}, scipy {scipy.__version__}, numba {numba.__version__}, "
          f"mne {mne_version}, torcheeg {te_version}")
    print(f"one core unless a row says otherwise (kernel threads, BLAS and torch limited to 1); "
          f"medians of {fast_rounds} (physioaffect) / {slow_rounds} (scipy, mne) interleaved rounds; "
          f"TorchEEG: one pass over ~{te_budget:g} s of randomly chosen windows, scaled to the whole")
    print()
    print(table(
        ["workload", "route", "M ch-samples/s", "vs scipy sosfiltfilt", "vs scipy sosfilt", "vs TorchEEG"],
        rows, "llrrrr"))
    print()
    print("agreement: max |DE - reference| in nats (log2 outputs converted); "
          f"interior drops {EDGE_WINDOWS} windows at each end")
    print(table(["workload", "route", "reference", "max |d| all", "max |d| interior"], agree_rows, "lllrr"))
    print()

    print("fraction of the one-core arithmetic ceiling "
          f"({CEILING_CAUSAL:g} M/s one pass, {CEILING_ZERO_PHASE:g} M/s zero-phase; n threads: n x ceiling)")
    ceil_rows = []
    for wl, speeds, _, _ in results:
        for key, m in speeds.items():
            if not key.startswith("physioaffect"):
                continue
            n = n_par if key.endswith(f"{n_par} threads") and n_par > 1 else 1
            ceiling = (CEILING_ZERO_PHASE if "zero-phase" in key else CEILING_CAUSAL) * n
            ceil_rows.append([wl, key, fmt_speed(m), f"{ceiling:g}", f"{100 * m / ceiling:.0f}%"])
    print(table(["workload", "route", "M ch-samples/s", "ceiling", "reached"], ceil_rows, "llrrr"))
    print()

    print("targets")
    target_rows = []
    for wl, speeds, te_speed, paired in results:
        r = speeds[ZP1] / speeds[SFF]
        target_rows.append([wl, f"zero-phase fused >= {TARGET_FUSED:g}x scipy sosfiltfilt route", fmt_ratio(r), _spread(paired[ZP1]), "PASS" if r >= TARGET_FUSED else "FAIL"])
        r = speeds[C1] / speeds[SF]
        target_rows.append([wl, f"causal fused >= {TARGET_FUSED:g}x scipy sosfilt route", fmt_ratio(r), _spread(paired[C1]), "PASS" if r >= TARGET_FUSED else "FAIL"])
        if te_speed:
            r = speeds[PRE] / te_speed
            target_rows.append([wl, f"preset=torcheeg >= {TARGET_TORCHEEG:,.0f}x TorchEEG BandDifferentialEntropy", fmt_ratio(r), "-", "PASS" if r >= TARGET_TORCHEEG else "FAIL"])
        else:
            target_rows.append([wl, f"preset=torcheeg >= {TARGET_TORCHEEG:,.0f}x TorchEEG BandDifferentialEntropy", "-", "-", "n/a"])
    if isinstance(compile_info, list):
        warm = compile_info[1][1]  # warm cache, dependencies already imported
        worst = max(warm["zero_phase"], warm["causal"], warm["torcheeg"])
        target_rows.append(["fresh process", f"first DE call with a warm cache < {TARGET_LOAD_S:g} s (each mode)", f"{worst:.2f} s", "-", "PASS" if worst < TARGET_LOAD_S else "FAIL"])
    else:
        target_rows.append(["fresh process", f"first DE call with a warm cache < {TARGET_LOAD_S:g} s (each mode)", "-", "-", "n/a"])
    print(table(["workload", "target", "measured", "per round", "result"], target_rows, "llrrl"))
    print("(measured: ratio of the median speeds; per round: lowest and highest ratio of the two routes "
          "timed in the same interleaved round)")
    print()

    if isinstance(compile_info, list):
        print("fresh process, first differential_entropy call of each mode on 4 ch x 10 s, in seconds")
        print("(deps = numpy, scipy.signal, numba, xarray; import = physioaffect.features; the target row "
              "uses the warm cache with deps pre-imported)")

        def sec(v):
            return "-" if v is None else f"{v:.2f}"

        crow = [[label, sec(r["deps_s"]), sec(r["import_s"]), sec(r["zero_phase"]), sec(r["causal"]),
                 sec(r["torcheeg"])] for label, r in compile_info]
        print(table(["process", "deps", "import", "zero-phase", "causal", "preset=torcheeg"], crow, "lrrrrr"))
    elif compile_info is not None:
        print(f"fresh-process check failed: {compile_info}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
