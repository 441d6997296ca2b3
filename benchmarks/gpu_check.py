"""GPU check: train each model a few epochs on CUDA with mixed precision, against the CPU run.

Run from the repository root on a machine with a CUDA GPU::

    .venv/bin/python benchmarks/gpu_check.py             # < 5 minutes on one H100
    .venv/bin/python benchmarks/gpu_check.py --epochs 8 --windows 4096

For HiSTN (1-s raw windows, 14 channels, 128 Hz), RBTransformer (14 x 4 band tokens) and, when
TorchEEG imports, DGCNN on the same tokens, it

1. trains the model on CPU and on CUDA with automatic mixed precision (bfloat16 where supported),
   through :func:`physioaffect.training.train`, from the same initial weights, on the same seeded
   data in the same batch order, with dropout off so that the two runs differ only by the device
   and the precision;
2. checks that the CUDA loss curve tracks the CPU one: at every epoch
   ``|loss_cuda - loss_cpu| <= atol + rtol * loss_cpu`` (defaults 0.03 and 0.10), and the CUDA
   loss falls from the first epoch to the last; prints PASS or FAIL per model;
3. measures CUDA training throughput (windows per second, AMP on, after a warm-up epoch) on a
   larger set.

Without CUDA it prints a message and exits with status 0. The exit status is 1 when any model
fails the check.
"""

from __future__ import annotations

import argparse
import copy
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

SFREQ = 128.0
N_CHANS = 14
N_CLASSES = 2
TOKEN_BANDS = 4
BATCH = 256
BUDGET_S = 270.0  # stop starting new work past this, to stay under 5 minutes


def make_data(n_windows: int, seed: int):
    """Learnable seeded data: class 1 windows carry more 10-Hz power (raw) and higher tokens."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, N_CLASSES, n_windows)
    t = np.arange(int(SFREQ)) / SFREQ
    phase = rng.uniform(0, 2 * np.pi, (n_windows, N_CHANS, 1))
    raw = rng.standard_normal((n_windows, N_CHANS, int(SFREQ)))
    raw += (0.3 + 0.5 * y)[:, None, None] * np.sin(2 * np.pi * 10.0 * t + phase)
    tokens = rng.standard_normal((n_windows, N_CHANS, TOKEN_BANDS))
    tokens[:, :, 1] += 0.6 * y[:, None]  # "alpha" token
    return raw.astype(np.float32), tokens.astype(np.float32), y.astype(np.int64)


def import_dgcnn():
    import scipy.signal

    if not hasattr(scipy.signal, "hann"):  # TorchEEG 1.1.2 needs it; SciPy 1.13 removed it
        scipy.signal.hann = scipy.signal.windows.hann
    try:
        from torcheeg.models import DGCNN
    except Exception as exc:  # noqa: BLE001
        print(f"DGCNN (TorchEEG) skipped: cannot import it ({type(exc).__name__}: {exc})")
        return None
    return DGCNN


def factories(dgcnn_cls):
    from physioaffect.nets import HiSTN, RBTransformer

    out = {
        "HiSTN": (lambda: HiSTN(n_chans=N_CHANS, n_outputs=N_CLASSES, n_times=int(SFREQ),
                                sfreq=SFREQ, drop_prob=0.0), "raw"),
        "RBTransformer": (lambda: RBTransformer(n_chans=N_CHANS, n_outputs=N_CLASSES,
                                                n_bands=TOKEN_BANDS, drop_prob=0.0), "tokens"),
    }
    if dgcnn_cls is not None:
        out["DGCNN (TorchEEG)"] = (lambda: dgcnn_cls(
            in_channels=TOKEN_BANDS, num_electrodes=N_CHANS, num_layers=2, hid_channels=32,
            num_classes=N_CLASSES), "tokens")
    return out


def fit(model, X, y, epochs, device, seed):
    from physioaffect.training import train

    return train(model, X, y, epochs=epochs, batch_size=BATCH, lr=1e-3, device=device,
                 amp=True, seed=seed, progress=False)


def tracks(cpu, gpu, atol, rtol):
    cpu, gpu = np.asarray(cpu), np.asarray(gpu)
    dev = np.abs(gpu - cpu)
    ok = bool(np.all(dev <= atol + rtol * np.abs(cpu)) and gpu[-1] < gpu[0])
    return ok, float(dev.max())


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=6, help="epochs of the tracking check")
    ap.add_argument("--windows", type=int, default=2048, help="windows of the tracking check")
    ap.add_argument("--throughput-windows", type=int, default=16384,
                    help="windows of the CUDA throughput run")
    ap.add_argument("--atol", type=float, default=0.03)
    ap.add_argument("--rtol", type=float, default=0.10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default="cuda",
                    help="device under check (default cuda; 'cpu' runs the script's own "
                         "sanity check, CPU against CPU)")
    args = ap.parse_args(argv)
    start = time.perf_counter()

    import torch

    device = args.device
    cuda = device.startswith("cuda")
    if cuda and not torch.cuda.is_available():
        print("gpu_check: no CUDA device is available (torch "
              f"{torch.__version__}); nothing to check.")
        return 0
    if cuda:
        bf16 = torch.cuda.is_bf16_supported()
        print(f"gpu_check on {torch.cuda.get_device_name(0)} (torch {torch.__version__}, CUDA "
              f"{torch.version.cuda}), AMP {'bfloat16' if bf16 else 'float16 + grad scaling'}; "
              f"CPU: {torch.get_num_threads()} threads")
    else:
        print(f"gpu_check sanity run on {device} against CPU (no AMP off CUDA)")

    def sync():
        if cuda:
            torch.cuda.synchronize()
    raw, tokens, y = make_data(args.windows, args.seed)
    data = {"raw": raw, "tokens": tokens}
    big_raw, big_tokens, big_y = make_data(args.throughput_windows, args.seed + 1)
    big = {"raw": big_raw, "tokens": big_tokens}
    models = factories(import_dgcnn())

    rows, failed = [], []
    for label, (factory, key) in models.items():
        if time.perf_counter() - start > BUDGET_S:
            print(f"{label}: skipped, the {BUDGET_S:.0f}-s budget is spent")
            continue
        torch.manual_seed(args.seed)
        init = factory()
        cpu_model, gpu_model = copy.deepcopy(init), copy.deepcopy(init)
        h_cpu = fit(cpu_model, data[key], y, args.epochs, "cpu", args.seed)
        h_gpu = fit(gpu_model, data[key], y, args.epochs, device, args.seed)
        ok, worst = tracks(h_cpu.loss, h_gpu.loss, args.atol, args.rtol)
        if not ok:
            failed.append(label)
        # throughput: a warm-up epoch, then a timed run with AMP
        thr_model = copy.deepcopy(init)
        fit(thr_model, big[key][:BATCH * 4], big_y[:BATCH * 4], 1, device, args.seed)
        sync()
        h_thr = fit(thr_model, big[key], big_y, 2, device, args.seed)
        sync()
        gpu_wps = 2 * args.throughput_windows / h_thr.seconds
        cpu_wps = args.epochs * args.windows / h_cpu.seconds
        print(f"\n{label}: {'PASS' if ok else 'FAIL'} (largest |loss_{device} - loss_cpu| "
              f"{worst:.4f}; tolerance {args.atol} + {args.rtol} x loss_cpu)")
        print("  epoch  " + "  ".join(f"{e:>7d}" for e in range(args.epochs)))
        print("  cpu    " + "  ".join(f"{v:>7.4f}" for v in h_cpu.loss))
        print(f"  {device:<7}" + "  ".join(f"{v:>7.4f}" for v in h_gpu.loss))
        rows.append((label, cpu_wps, gpu_wps, ok))
        if cuda:
            torch.cuda.empty_cache()

    head = f"{device.upper()}+AMP windows/s" if cuda else f"{device} windows/s"
    print(f"\nmodel              CPU windows/s   {head:>18}   {'ratio':>10}   loss tracks")
    for label, cpu_wps, gpu_wps, ok in rows:
        print(f"{label:<18} {cpu_wps:>13,.0f}   {gpu_wps:>18,.0f}   {gpu_wps / cpu_wps:>9.1f}x"
              f"   {'PASS' if ok else 'FAIL'}")
    print(f"\n(CPU: the {args.windows}-window tracking run; {device}: {args.throughput_windows} "
          f"windows x 2 epochs after a warm-up; batch {BATCH}.) Total "
          f"{time.perf_counter() - start:.0f} s.")
    if failed:
        print(f"FAIL: {', '.join(failed)}")
        return 1
    print("PASS" if rows else "nothing ran")
    return 0 if rows else 1


if __name__ == "__main__":
    sys.exit(main())
