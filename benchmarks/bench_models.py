"""Training throughput and inference latency of HiSTN, RBTransformer and TorchEEG's DGCNN on CPU.

Run from the repository root::

    .venv/bin/python benchmarks/bench_models.py            # full run (a few minutes)
    .venv/bin/python benchmarks/bench_models.py --quick    # fewer windows and rounds (~1 min)
    .venv/bin/python benchmarks/bench_models.py --threads 2

All models see the same seeded data in the same process: 1-s windows of 14-channel 128-Hz pink
noise (DREAMER's layout) for HiSTN, and the band-DE tokens of those same windows (14 channels x
4 bands, theta..gamma, :func:`physioaffect.features.tokens.band_de_tokens`) for RBTransformer and
DGCNN. Every model trains through the one loop of :mod:`physioaffect.training` (Adam, batch 256,
cross-entropy) and runs inference on batches of 256 in eval mode without gradients. Rounds are
interleaved (A B C, A B C, ...) and the report gives medians, with ratios against DGCNN measured
in the same run. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
from _common import fmt_ratio, limit_blas_threads, log, machine_line, pink_noise, table  # noqa: E402

SFREQ = 128.0
N_CHANS = 14
N_CLASSES = 2
BATCH = 256
TOKEN_BANDS = 4


def make_data(n_windows: int, seed: int):
    """Raw 1-s windows (n, 14, 128), their band-DE tokens (n, 14, 4) and binary labels."""
    from physioaffect.features.tokens import band_de_tokens

    n_times = int(SFREQ)
    raw = pink_noise(N_CHANS, n_windows * n_times, seed).reshape(N_CHANS, n_windows, n_times)
    raw = np.ascontiguousarray(raw.transpose(1, 0, 2))
    tokens = band_de_tokens(raw, SFREQ, window=1.0, step=1.0, design_sfreq=None, n_jobs=1)
    tokens = np.ascontiguousarray(tokens.reshape(n_windows, N_CHANS, TOKEN_BANDS))
    y = np.random.default_rng(seed).integers(0, N_CLASSES, n_windows)
    return raw.astype(np.float32), tokens.astype(np.float32), y.astype(np.int64)


def import_dgcnn():
    """TorchEEG's DGCNN class, or None with a message (TorchEEG is in the ``bench`` extra)."""
    import scipy.signal

    # TorchEEG 1.1.2 imports `scipy.signal.hann`, which SciPy 1.13 removed.
    if not hasattr(scipy.signal, "hann"):
        scipy.signal.hann = scipy.signal.windows.hann
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from torcheeg.models import DGCNN
    except Exception as exc:  # noqa: BLE001 - any import failure means: skip it
        log(f"TorchEEG DGCNN skipped: cannot import it ({type(exc).__name__}: {exc}); "
            "install the bench extra: pip install -e .[bench]")
        return None
    return DGCNN


def build_models(dgcnn_cls):
    """name -> (factory, input key, what it reads)."""
    from physioaffect.nets import HiSTN, RBTransformer

    models = {
        "HiSTN": (lambda: HiSTN(n_chans=N_CHANS, n_outputs=N_CLASSES, n_times=int(SFREQ),
                                sfreq=SFREQ), "raw", "raw 14 x 128"),
        "RBTransformer": (lambda: RBTransformer(n_chans=N_CHANS, n_outputs=N_CLASSES,
                                                n_bands=TOKEN_BANDS), "tokens", "tokens 14 x 4"),
    }
    if dgcnn_cls is not None:
        models["DGCNN (TorchEEG)"] = (
            lambda: dgcnn_cls(in_channels=TOKEN_BANDS, num_electrodes=N_CHANS, num_layers=2,
                              hid_channels=32, num_classes=N_CLASSES), "tokens", "tokens 14 x 4")
    return models


def time_training(model, X, y, epochs: int) -> float:
    """Seconds per training window through physioaffect.training.train."""
    from physioaffect.training import train

    hist = train(model, X, y, epochs=epochs, batch_size=BATCH, lr=1e-3, device="cpu",
                 progress=False, seed=0)
    return hist.seconds / (epochs * len(X))


def time_inference(model, X, repeats: int) -> float:
    """Median seconds of one forward pass over a batch of 256 (eval mode, no gradients)."""
    import torch

    model.eval()
    xb = torch.from_numpy(X[:BATCH])
    times = []
    with torch.no_grad():
        model(xb)  # warm-up
        for _ in range(repeats):
            t0 = time.perf_counter()
            model(xb)
            times.append(time.perf_counter() - t0)
    model.train()
    return statistics.median(times)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer windows and rounds")
    ap.add_argument("--threads", type=int, default=1, help="torch and BLAS threads (default 1)")
    ap.add_argument("--windows", type=int, help="training windows (default 2048, quick 512)")
    ap.add_argument("--rounds", type=int, help="interleaved rounds (default 5, quick 3)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    n_windows = args.windows or (512 if args.quick else 2048)
    rounds = args.rounds or (3 if args.quick else 5)
    if n_windows < BATCH:
        ap.error(f"--windows must be at least one batch ({BATCH})")

    import torch

    torch.set_num_threads(args.threads)
    _limiter = limit_blas_threads(args.threads)  # noqa: F841 - keep the limit alive
    log(f"data: {n_windows} windows, seed {args.seed}")
    raw, tokens, y = make_data(n_windows, args.seed)
    inputs = {"raw": raw, "tokens": tokens}
    dgcnn_cls = import_dgcnn()
    models = build_models(dgcnn_cls)

    train_s = {name: [] for name in models}
    infer_s = {name: [] for name in models}
    params = {}
    for name, (factory, key, _) in models.items():  # warm-up: allocators, first-call paths
        log(f"    warm-up  {name}")
        torch.manual_seed(args.seed)
        model = factory()
        params[name] = sum(p.numel() for p in model.parameters())
        time_training(model, inputs[key][:BATCH], y[:BATCH], 1)
        time_inference(model, inputs[key], 2)
    for k in range(rounds):
        log(f"    round {k + 1}/{rounds}")
        for name, (factory, key, _) in models.items():
            torch.manual_seed(args.seed)
            model = factory()
            train_s[name].append(time_training(model, inputs[key], y, 1))
            infer_s[name].append(time_inference(model, inputs[key], 5 if args.quick else 20))

    anchor = "DGCNN (TorchEEG)" if dgcnn_cls is not None else None
    med_train = {n: statistics.median(v) for n, v in train_s.items()}
    med_infer = {n: statistics.median(v) for n, v in infer_s.items()}
    rows = []
    for name, (_, _, reads) in models.items():
        wps = 1.0 / med_train[name]
        ms = 1e3 * med_infer[name]
        rows.append([
            name, reads, f"{params[name]:,}", f"{wps:,.0f}",
            fmt_ratio(wps * med_train[anchor]) if anchor else "-",
            f"{ms:.2f}",
            fmt_ratio(med_infer[anchor] / med_infer[name]) if anchor else "-",
        ])
    print(f"Model throughput on CPU ({machine_line()}; torch {torch.__version__}, "
          f"{args.threads} thread(s))")
    print(f"{n_windows} training windows, batch {BATCH}, Adam, one epoch per round; inference "
          f"on one batch of {BATCH}; medians over {rounds} interleaved rounds")
    print()
    print(table(["model", "input", "params", "train windows/s", "vs DGCNN", "infer ms/256",
                 "speed vs DGCNN"], rows, "lllrrrr"))
    if anchor is None:
        print("\nTorchEEG DGCNN skipped (cannot import it): no anchor ratios.")
    print("\nRatios > 1x: faster than TorchEEG's DGCNN on the same windows in this run. "
          "Absolute numbers on a shared machine move by tens of percent between runs.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
