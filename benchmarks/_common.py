"""Small helpers shared by the benchmark scripts: seeded signals, timing, thread limits, tables."""

from __future__ import annotations

import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence

import numpy as np


def log(msg: str) -> None:
    """Progress goes to stderr so that stdout holds only the report."""
    print(msg, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------
# signals
# --------------------------------------------------------------------------------------------
def pink_noise(n_channels: int, n_times: int, seed: int, white_fraction: float = 0.2) -> np.ndarray:
    """Seeded 1/f ("pink") noise plus a little white noise, float64, C-contiguous.

    Each channel has unit variance, then is scaled to about 10 (think microvolts).
    """
    rng = np.random.default_rng(seed)
    spec = rng.standard_normal((n_channels, n_times // 2 + 1)) + 1j * rng.standard_normal(
        (n_channels, n_times // 2 + 1)
    )
    f = np.arange(spec.shape[1], dtype=float)
    f[0] = 1.0
    spec /= np.sqrt(f)
    spec[:, 0] = 0.0
    x = np.fft.irfft(spec, n=n_times, axis=-1)
    x /= x.std(axis=-1, keepdims=True)
    x = np.sqrt(1.0 - white_fraction) * x + np.sqrt(white_fraction) * rng.standard_normal(x.shape)
    return np.ascontiguousarray(10.0 * x)


# --------------------------------------------------------------------------------------------
# threads
# --------------------------------------------------------------------------------------------
def limit_blas_threads(n: int):
    """Limit BLAS/OpenMP pools (numpy, scipy) to ``n`` threads for the life of the process.

    Returns the threadpoolctl limiter (keep a reference) or None when threadpoolctl is absent.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl ships with scikit-learn
        return None
    return threadpool_limits(limits=n)


def cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def machine_line() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{cpu}, {cpu_count()} cores available, Python {platform.python_version()}"


# --------------------------------------------------------------------------------------------
# timing
# --------------------------------------------------------------------------------------------
class Timed:
    """One route under test: a callable, how many interleaved rounds it joins, and its samples."""

    def __init__(self, name: str, fn: Callable[[], object], rounds: int, work: float):
        self.name = name
        self.fn = fn
        self.rounds = rounds
        self.work = work  # channel-samples processed by one call
        self.inner = 1  # calls per measurement, set by calibrate()
        self.times: list[float] = []
        self.output = None

    def calibrate(self, min_measure_s: float) -> None:
        """One untimed-for-the-record call: compiles, warms caches, keeps the output, sets ``inner``."""
        t0 = time.perf_counter()
        self.output = self.fn()
        dt = time.perf_counter() - t0
        self.inner = max(1, int(np.ceil(min_measure_s / max(dt, 1e-6))))

    def measure(self) -> None:
        t0 = time.perf_counter()
        for _ in range(self.inner):
            self.fn()
        self.times.append((time.perf_counter() - t0) / self.inner)

    @property
    def median_s(self) -> float:
        return statistics.median(self.times)

    @property
    def mega_per_s(self) -> float:
        return self.work / self.median_s / 1e6


def run_interleaved(routes: Sequence[Timed], min_measure_s: float = 0.2) -> None:
    """Calibrate every route, then time them in interleaved rounds (A B C, A B C, ...).

    Interleaving spreads the drift of a shared machine over all routes alike, so paired ratios
    are steadier than the absolute speeds.
    """
    for r in routes:
        log(f"    warm-up  {r.name}")
        r.calibrate(min_measure_s)
    n_rounds = max(r.rounds for r in routes)
    for k in range(n_rounds):
        log(f"    round {k + 1}/{n_rounds}")
        for r in routes:
            if k < r.rounds:
                r.measure()


# --------------------------------------------------------------------------------------------
# formatting
# --------------------------------------------------------------------------------------------
def fmt_ratio(r: float | None) -> str:
    if r is None or not np.isfinite(r):
        return "-"
    if r >= 100:
        return f"{r:,.0f}x"
    if r >= 10:
        return f"{r:.1f}x"
    if r >= 0.1:
        return f"{r:.2f}x"
    return f"{r:.2g}x"


def fmt_speed(m: float) -> str:
    if m >= 100:
        return f"{m:,.0f}"
    if m >= 1:
        return f"{m:.1f}"
    return f"{m:.3f}"


def table(header: Sequence[str], rows: Sequence[Sequence[str]], align: str | None = None) -> str:
    """Plain-text table; ``align`` has one letter per column, 'l' or 'r'."""
    align = align or "l" * len(header)
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows, strict=True)]

    def line(cells):
        out = []
        for c, w, a in zip(cells, widths, align, strict=True):
            out.append(str(c).ljust(w) if a == "l" else str(c).rjust(w))
        return "  ".join(out).rstrip()

    sep = "  ".join("-" * w for w in widths)
    return "\n".join([line(header), sep, *(line(r) for r in rows)])
