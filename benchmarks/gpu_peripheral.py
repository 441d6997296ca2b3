"""GPU check of the peripheral models: train the EDA PINN and the sleep ViT on CUDA with AMP.

Run from the repository root on a machine with a CUDA GPU::

    .venv/bin/python benchmarks/gpu_peripheral.py                   # < 5 minutes on one H100
    .venv/bin/python benchmarks/gpu_peripheral.py --device cpu --smoke
                                                                    # the script's own sanity run

For :class:`~physioaffect.estimators.peripheral.EDAPINN` (default configuration, on the simulated
EDA windows of ``bench_peripheral.py``) and
:class:`~physioaffect.estimators.sleep.SleepApneaClassifier` (published configuration, on
simulated PSG epochs) it

1. fits the estimator twice with the same ``random_state`` (same initial weights, same batch
   order) on the same data: once with ``device="cpu"`` (float32) and once with
   ``device="cuda"``, where :mod:`physioaffect.training` trains with automatic mixed precision
   (bfloat16 where supported, else float16 with gradient scaling). Stochastic depth is switched
   off for the ViT (``survival_prob=1.0``): its random branch drops would come from two
   different generators, and the two runs should differ only by device and precision;
2. checks that the CUDA loss curve tracks the CPU one: at every epoch
   ``|loss_cuda - loss_cpu| <= atol + rtol * loss_cpu`` (defaults 0.02 and 0.05) and the CUDA
   loss falls from the first epoch to the last; prints PASS or FAIL per model;
3. measures CUDA training throughput (windows per second of the training loop) on the training
   set repeated ``--copies`` times, after the tracking fit has warmed the device up.

``--device cpu`` runs the same comparison on the CPU, the second fit under
``torch.autocast("cpu", dtype=torch.bfloat16)`` ("emulated AMP": the same precision as CUDA's
bfloat16 autocast, not the same kernels), so the check has a real difference to judge;
``--smoke`` makes it small (fewer windows and epochs, the ViT in the test suite's small
configuration). Without CUDA (and without ``--device cpu``) it prints a message and exits 0.
The exit status is 1 when any model fails the check.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

BUDGET_S = 270.0  # stop starting new models past this, to stay under 5 minutes


def tracks(cpu, dev, atol, rtol):
    """(ok, largest deviation): every epoch within atol + rtol * |cpu|, and dev's loss falls."""
    cpu, dev = np.asarray(cpu, dtype=float), np.asarray(dev, dtype=float)
    if cpu.shape != dev.shape or not np.all(np.isfinite(dev)):
        return False, float("inf")
    gap = np.abs(dev - cpu)
    ok = bool(np.all(gap <= atol + rtol * np.abs(cpu)) and dev[-1] < dev[0])
    return ok, float(gap.max())


def emulated_amp(estimator_cls):
    """``estimator_cls`` whose network runs its forward pass under CPU bfloat16 autocast.

    The outputs are cast back to float32, as CUDA autocast does for the losses (cross-entropy
    and MSE run in float32 there).
    """
    import torch

    net_cls = estimator_cls._module_class()

    class EmulatedAMPNet(net_cls):
        def forward(self, *args, **kwargs):
            with torch.autocast("cpu", dtype=torch.bfloat16):
                out = super().forward(*args, **kwargs)
            return {k: v.float() for k, v in out.items()}

    class Emulated(estimator_cls):
        @classmethod
        def _module_class(cls):
            return EmulatedAMPNet

    Emulated.__name__ = f"EmulatedAMP{estimator_cls.__name__}"
    return Emulated


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda",
                    help="device under check (default cuda; 'cpu' compares float32 with emulated "
                         "bfloat16 autocast on the CPU)")
    ap.add_argument("--smoke", action="store_true",
                    help="tiny data, few epochs, small ViT: checks the script quickly")
    ap.add_argument("--pinn-epochs", type=int, help="EDA PINN epochs (default 10, smoke 4)")
    ap.add_argument("--vit-epochs", type=int, help="ViT epochs (default 6, smoke 4)")
    ap.add_argument("--psg-epochs", type=int, help="PSG training epochs (default 512, smoke 96)")
    ap.add_argument("--copies", type=int,
                    help="throughput run: the training set repeated this many times (default 8, "
                         "smoke 1)")
    ap.add_argument("--atol", type=float, default=0.02)
    ap.add_argument("--rtol", type=float, default=0.05)
    ap.add_argument("--threads", type=int,
                    help="torch threads of the CPU runs (default: torch's default with CUDA, "
                         "1 with --device cpu)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    start = time.perf_counter()

    import torch

    device = args.device
    cuda = device.startswith("cuda")
    if cuda and not torch.cuda.is_available():
        print(f"gpu_peripheral: no CUDA device is available (torch {torch.__version__}); "
              "nothing to check.")
        return 0
    if not cuda and device != "cpu":
        ap.error("--device must be cuda[:N] or cpu")
    smoke = args.smoke
    if args.threads or not cuda:
        torch.set_num_threads(args.threads or 1)
    pinn_epochs = args.pinn_epochs or (4 if smoke else 10)
    vit_epochs = args.vit_epochs or (4 if smoke else 6)
    n_psg = args.psg_epochs or (96 if smoke else 512)
    n_subjects, n_blocks = (3, 3) if smoke else (8, 12)

    from bench_peripheral import VIT_SMALL, make_eda_data, make_psg_data

    from physioaffect.estimators.peripheral import EDAPINN
    from physioaffect.estimators.sleep import SleepApneaClassifier

    if cuda:
        bf16 = torch.cuda.is_bf16_supported()
        print(f"gpu_peripheral on {torch.cuda.get_device_name(0)} (torch {torch.__version__}, "
              f"CUDA {torch.version.cuda}), AMP {'bfloat16' if bf16 else 'float16 + grad scaling'}"
              f"; CPU: {torch.get_num_threads()} thread(s)")
        dev_pinn, dev_vit = EDAPINN, SleepApneaClassifier
    else:
        print(f"gpu_peripheral sanity run on the CPU ({torch.get_num_threads()} thread(s)): "
              f"float32 against emulated AMP (bfloat16 autocast){', --smoke' if smoke else ''}")
        dev_pinn, dev_vit = emulated_amp(EDAPINN), emulated_amp(SleepApneaClassifier)

    t0 = time.perf_counter()
    eda_tr, _, _ = make_eda_data(n_subjects, n_blocks, 1, args.seed)
    psg_tr, _ = make_psg_data(n_psg, 8, args.seed)
    X, y, eda = eda_tr["X"], eda_tr["y"], eda_tr["eda"]
    sig = psg_tr["signals"].values
    labels = np.stack([psg_tr["stage"].values, psg_tr["apnea"].values], axis=1)
    print(f"data: {len(y)} EDA windows ({X.shape[1]} x {X.shape[2]}), {n_psg} PSG epochs "
          f"({sig.shape[1]} x {sig.shape[2]} at 64 Hz); {time.perf_counter() - t0:.0f} s")

    vit_cfg = dict(VIT_SMALL) if smoke else {}
    vit_cfg["survival_prob"] = 1.0
    vit_label = "SleepViT " + ("small (test config)" if smoke else "published")
    n_times = vit_cfg.get("n_times", 2000)

    def pinn(cls, dev, epochs):
        return cls(max_epochs=epochs, random_state=args.seed, device=dev)

    def vit(cls, dev, epochs):
        return cls(sfreq=64.0, **vit_cfg, max_epochs=epochs, random_state=args.seed, device=dev)

    k = max(1, args.copies or (1 if smoke else 8))
    models = [
        ("EDAPINN (default config)", f"EDA {X.shape[1]} x {X.shape[2]}", pinn_epochs,
         lambda cls, dev, ep: pinn(cls, dev, ep).fit(X, y, eda=eda), len(y),
         lambda cls, dev, ep: pinn(cls, dev, ep).fit(np.tile(X, (k, 1, 1)), np.tile(y, k),
                                                     eda=np.tile(eda, (k, 1)))),
        (vit_label, f"PSG {sig.shape[1]} x {n_times}", vit_epochs,
         lambda cls, dev, ep: vit(cls, dev, ep).fit(sig, labels), n_psg,
         lambda cls, dev, ep: vit(cls, dev, ep).fit(np.tile(sig, (k, 1, 1)),
                                                    np.tile(labels, (k, 1)))),
    ]
    dev_cls = {models[0][0]: dev_pinn, models[1][0]: dev_vit}
    cpu_cls = {models[0][0]: EDAPINN, models[1][0]: SleepApneaClassifier}

    rows, failed = [], []
    thr_epochs = 2
    for label, reads, epochs, fit, n, fit_big in models:
        if time.perf_counter() - start > BUDGET_S:
            print(f"\n{label}: skipped, the {BUDGET_S:.0f}-s budget is spent")
            failed.append(f"{label} (not run)")
            continue
        t0 = time.perf_counter()
        h_cpu = fit(cpu_cls[label], "cpu", epochs).history_
        h_dev = fit(dev_cls[label], device, epochs).history_
        ok, worst = tracks(h_cpu.loss, h_dev.loss, args.atol, args.rtol)
        name = device if cuda else "cpu+bf16"
        if not ok:
            failed.append(label)
        h_thr = fit_big(dev_cls[label], device, thr_epochs).history_
        dev_wps = thr_epochs * k * n / h_thr.seconds
        cpu_wps = epochs * n / h_cpu.seconds
        print(f"\n{label} ({reads}, {n} windows, {epochs} epochs): {'PASS' if ok else 'FAIL'} "
              f"(largest |loss_{name} - loss_cpu| {worst:.4f}; tolerance {args.atol} + "
              f"{args.rtol} x loss_cpu; {time.perf_counter() - t0:.0f} s)")
        print("  epoch    " + "  ".join(f"{e:>7d}" for e in range(epochs)))
        print("  cpu      " + "  ".join(f"{v:>7.4f}" for v in h_cpu.loss))
        print(f"  {name:<9}" + "  ".join(f"{v:>7.4f}" for v in h_dev.loss))
        rows.append((label, cpu_wps, dev_wps, ok))
        if cuda:
            torch.cuda.empty_cache()

    head = f"{device.upper()}+AMP windows/s" if cuda else "cpu+bf16 windows/s"
    print(f"\n{'model':<28} {'CPU windows/s':>14}   {head:>20}   {'ratio':>9}   loss tracks")
    for label, cpu_wps, dev_wps, ok in rows:
        print(f"{label:<28} {cpu_wps:>14,.0f}   {dev_wps:>20,.0f}   {dev_wps / cpu_wps:>8.1f}x"
              f"   {'PASS' if ok else 'FAIL'}")
    print(f"\n(CPU: float32, the tracking fit, {torch.get_num_threads()} thread(s); "
          f"{head.split()[0]}: the training set x {k}, {thr_epochs} epochs, after the tracking "
          f"fit. Training-loop time only, estimator batch sizes.) Total "
          f"{time.perf_counter() - start:.0f} s.")
    if failed:
        print(f"FAIL: {', '.join(failed)}")
        return 1
    print("PASS" if rows else "nothing ran")
    return 0 if rows else 1


if __name__ == "__main__":
    sys.exit(main())
