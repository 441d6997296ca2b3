"""Training throughput of the EDA PINN and the sleep 1D-ViT on CPU, against a plain baseline.

Run from the repository root::

    .venv/bin/python benchmarks/bench_peripheral.py            # full run (~4 min, 1 thread)
    .venv/bin/python benchmarks/bench_peripheral.py --quick    # smaller data, shorter runs (~1 min)
    .venv/bin/python benchmarks/bench_peripheral.py --threads 2

Two simulated tasks, each learned in the same process by a physioaffect network and by a
scikit-learn logistic regression on hand-made features:

- **EDA, 3 conditions** (baseline, stress, amusement): skin conductance from
  :func:`physioaffect.simulate.eda_ode` driven by condition-dependent tonic levels and SCR
  impulses, windowed by :func:`physioaffect.features.eda_inputs.eda_inputs` (noisy
  self-reports as drives, EDA at the window start and SCR features as context).
  :class:`~physioaffect.estimators.peripheral.EDAPINN` with its default configuration against
  a logistic regression on the eight SCR features of
  :func:`physioaffect.features.eda_features` and the self-reports. Split by subject.
- **PSG, sleep stage (5) + apnea (4)**: 30-s epochs of :func:`physioaffect.simulate.psg_epochs`.
  :class:`~physioaffect.estimators.sleep.SleepApneaClassifier` in the published configuration
  (6 blocks, 6 heads, patch 20, 2000-sample epochs) and in the small configuration of the test
  suite, against one logistic regression per head on numpy features (channel variances,
  breathing and heart rate, envelope dips, flow/effort ratio, thorax-abdomen correlation).

**train windows/s** is training alone (the loop's wall time, ``History.seconds``, for the
networks; ``fit`` for the baselines), on inputs prepared beforehand; input preparation is
reported apart. Medians over interleaved rounds, ratios against the baseline of the same task
in the same run. The scores come from one longer fit per network (epochs in the table) and are
measured on held-out data. See benchmarks/README.md.
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
from _common import fmt_ratio, limit_blas_threads, log, machine_line, table  # noqa: E402

# ---------------------------------------------------------------------------------------------
# EDA: simulation and inputs
# ---------------------------------------------------------------------------------------------
EDA_FS = 4.0  # Hz, the Empatica E4's EDA rate
EDA_BLOCK_S = 120.0  # seconds per condition block
EDA_WINDOW_S, EDA_STEP_S = 20.0, 10.0
EDA_CONDITIONS = ("baseline", "stress", "amusement")
# tonic drive (uS/s) and SCR impulses per minute of each condition; SAM-like (valence, arousal)
_TONIC = np.array([0.25, 0.80, 0.50])
_SCR_PER_MIN = np.array([1.5, 6.0, 3.5])
_REPORT = np.array([[0.5, 0.2], [0.2, 0.9], [0.8, 0.6]])
EDA_ALPHA0, EDA_GAMMA = 0.1, 2e-4  # 1/s: decay rate and its time scaling (linear-decay form)
EDA_CONTEXT = ("eda0", "scl_slope", "scr_count", "scr_amplitude_sum", "phasic_std")


def simulate_eda(n_subjects: int, n_blocks: int, seed: int):
    """EDA recordings (n_subjects, n_times) at 4 Hz, per-sample condition labels, self-reports.

    Each subject has ``n_blocks`` 2-min blocks, the three conditions equally often in random
    order. The drive of the ODE is the condition's tonic level plus SCR impulses (Bernoulli per
    sample at the condition's rate, 0.25 s long), both times a subject gain (log-normal, s.d.
    0.3) and the tonic level also times a block factor (s.d. 0.1). Self-reports are the
    condition's (valence, arousal) plus N(0, 0.3^2) per subject and condition.
    """
    from physioaffect.simulate.eda_ode import eda_ode

    if n_blocks % 3:
        raise ValueError("n_blocks must be a multiple of 3")
    rng = np.random.default_rng(seed)
    n_per = int(EDA_BLOCK_S * EDA_FS)
    drives, labels, reports = [], [], []
    for _ in range(n_subjects):
        order = rng.permutation(np.repeat(np.arange(3), n_blocks // 3))
        gain = np.exp(rng.normal(0.0, 0.3))
        tonic = np.repeat(_TONIC[order] * gain * np.exp(rng.normal(0.0, 0.1, n_blocks)), n_per)
        cond = np.repeat(order, n_per)
        impulses = rng.uniform(size=cond.size) < _SCR_PER_MIN[cond] / 60.0 / EDA_FS
        drives.append(tonic + impulses * rng.uniform(0.5, 2.0, cond.size) * gain)
        labels.append(cond)
        reports.append({c: _REPORT[c] + rng.normal(0.0, 0.3, 2) for c in range(3)})
    eda = eda_ode(np.stack(drives)[:, None, :], EDA_FS, alpha0=EDA_ALPHA0, beta=[1.0],
                  gamma=EDA_GAMMA, noise=0.01, random_state=seed + 1)
    return eda, labels, reports


def eda_windows(eda, labels, reports):
    """:func:`eda_inputs` of every subject, concatenated: dict of X, eda, y, features, groups."""
    from physioaffect.features.eda_inputs import eda_inputs

    parts = []
    with warnings.catch_warnings():  # NeuroKit2 does not low-pass a 4-Hz signal, and says so
        warnings.filterwarnings("ignore", message=".*sampled at very low frequency.*")
        for s, (x, lab, rep) in enumerate(zip(eda, labels, reports, strict=True)):
            parts.append(eda_inputs(x, EDA_FS, lab, window=EDA_WINDOW_S, step=EDA_STEP_S,
                                    conditions=[0, 1, 2], drives="self-report",
                                    self_reports=rep, context=EDA_CONTEXT, group=s))
    out = {k: np.concatenate([getattr(p, k) for p in parts])
           for k in ("X", "eda", "y", "features", "onsets", "groups")}
    out["y"] = out["y"].astype(np.int64)
    out["n_drives"] = parts[0].n_drives
    out["channels"] = parts[0].channels
    return out


def eda_baseline_features(W) -> np.ndarray:
    """Hand-made features of each window: the 8 SCR features (NaN -> 0) and the self-reports."""
    reports = W["X"][:, 1:1 + W["n_drives"], 0]
    return np.concatenate([np.nan_to_num(W["features"]), reports], axis=1)


def make_eda_data(n_subjects: int, n_blocks: int, n_test_subjects: int, seed: int):
    """Simulated EDA windows split by subject: (train dict, test dict, preparation seconds)."""
    eda, labels, reports = simulate_eda(n_subjects, n_blocks, seed)
    t0 = time.perf_counter()
    W = eda_windows(eda, labels, reports)
    prep_s = time.perf_counter() - t0
    test = W["groups"] >= n_subjects - n_test_subjects

    def take(mask):
        d = {k: (v[mask] if isinstance(v, np.ndarray) else v) for k, v in W.items()}
        d["baseline_X"] = eda_baseline_features(d)
        return d

    return take(~test), take(test), prep_s


# ---------------------------------------------------------------------------------------------
# PSG: simulation and hand-made features
# ---------------------------------------------------------------------------------------------
PSG_FS = 64.0
PSG_APNEA_FRACTION = 0.4

#: Published configuration: the estimator's defaults (patch 20, 256 wide, 6 blocks, 6 heads,
#: 2000-sample epochs, min-max scaling, AdamW 1e-4 with weight decay 0.004, batch 64).
VIT_PUBLISHED: dict = {}
#: The small configuration of tests/test_estimators_sleep.py.
VIT_SMALL = dict(n_times=480, patch_size=16, embed_dim=32, depth=2, n_heads=2, mlp_dim=64,
                 shared_dim=32, scaling="zscore", lr=2e-3, batch_size=32)


def make_psg_data(n_train: int, n_test: int, seed: int):
    """Two independent draws of :func:`psg_epochs` (4 channels, 64 Hz, 40 % apnea epochs)."""
    from physioaffect.simulate import psg_epochs

    train = psg_epochs(n_train, sfreq=PSG_FS, apnea_fraction=PSG_APNEA_FRACTION,
                       random_state=seed + 1)
    test = psg_epochs(n_test, sfreq=PSG_FS, apnea_fraction=PSG_APNEA_FRACTION,
                      random_state=seed + 2)
    return train, test


def psg_features(x, fs: float) -> np.ndarray:
    """20 numpy features per epoch of (ppg, flow, thorax, abdomen) signals, shape (n, 20).

    log variance of each channel; breathing rate (flow spectral peak in 0.1-0.6 Hz) and the
    spread of that band; heart rate (PPG peak in 0.7-2.5 Hz) and its spread; per channel, the
    smallest and the s.d. of the six 5-s RMS values relative to their median (event dips,
    amplitude variability); the smallest and mean 5-s flow / (thorax + abdomen) RMS ratio; the
    thorax-abdomen correlation over the epoch and its smallest 5-s value (paradoxical breathing).
    """
    x = np.asarray(x, dtype=np.float64)
    n, c, T = x.shape
    xc = x - x.mean(-1, keepdims=True)
    f = np.fft.rfftfreq(T, 1.0 / fs)
    power = np.abs(np.fft.rfft(xc, axis=-1)) ** 2

    def peak(p, lo, hi):
        band = (f >= lo) & (f <= hi)
        pb, fb = p[:, band], f[band]
        w = pb / pb.sum(-1, keepdims=True)
        mean = (w * fb).sum(-1)
        return fb[pb.argmax(-1)], np.sqrt((w * (fb - mean[:, None]) ** 2).sum(-1))

    breath, breath_spread = peak(power[:, 1], 0.1, 0.6)
    heart, heart_spread = peak(power[:, 0], 0.7, 2.5)
    seg = int(5 * fs)
    k = T // seg
    rms = np.sqrt((xc[..., :k * seg].reshape(n, c, k, seg) ** 2).mean(-1))  # (n, c, k)
    med = np.median(rms, -1) + 1e-12
    ratio = rms[:, 1] / (rms[:, 2] + rms[:, 3] + 1e-12)
    th = xc[:, 2, :k * seg].reshape(n, k, seg)
    ab = xc[:, 3, :k * seg].reshape(n, k, seg)
    th, ab = th - th.mean(-1, keepdims=True), ab - ab.mean(-1, keepdims=True)
    seg_corr = (th * ab).sum(-1) / np.sqrt((th ** 2).sum(-1) * (ab ** 2).sum(-1) + 1e-12)
    whole = (xc[:, 2] * xc[:, 3]).sum(-1) / np.sqrt(
        (xc[:, 2] ** 2).sum(-1) * (xc[:, 3] ** 2).sum(-1) + 1e-12)
    cols = [np.log(xc.var(-1) + 1e-12), breath[:, None], breath_spread[:, None], heart[:, None],
            heart_spread[:, None], rms.min(-1) / med, rms.std(-1) / med,
            ratio.min(-1, keepdims=True), ratio.mean(-1, keepdims=True), whole[:, None],
            seg_corr.min(-1, keepdims=True)]
    return np.concatenate(cols, axis=1)


# ---------------------------------------------------------------------------------------------
# models
# ---------------------------------------------------------------------------------------------
def logistic_regression():
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))


def lr_params(pipe) -> int:
    lr = pipe[-1]
    return int(lr.coef_.size + lr.intercept_.size)


def n_params(module) -> int:
    return sum(p.numel() for p in module.parameters())


def scores(y_true, y_pred) -> tuple[float, float, float]:
    from physioaffect.evaluation.metrics import accuracy, cohen_kappa, macro_f1

    return (float(accuracy(y_true, y_pred)), float(macro_f1(y_true, y_pred)),
            float(cohen_kappa(y_true, y_pred)))


class Route:
    """One model under test: a training callable returning (windows, loop seconds)."""

    def __init__(self, name, task, fit_round):
        self.name, self.task, self.fit_round = name, task, fit_round
        self.speeds: list[float] = []

    def measure(self):
        n, seconds = self.fit_round()
        self.speeds.append(n / seconds)

    @property
    def median(self) -> float:
        return statistics.median(self.speeds)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller data, fewer rounds and epochs")
    ap.add_argument("--threads", type=int, default=1, help="torch and BLAS threads (default 1)")
    ap.add_argument("--rounds", type=int, help="interleaved throughput rounds (default 5, quick 3)")
    ap.add_argument("--pinn-epochs", type=int,
                    help="epochs of the EDA PINN's scored fit (default 100, quick 20)")
    ap.add_argument("--vit-epochs", type=int,
                    help="epochs of the published ViT's scored fit (default 3, quick 1)")
    ap.add_argument("--small-epochs", type=int,
                    help="epochs of the small ViT's scored fit (default 30, quick 10)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    q = args.quick
    rounds = args.rounds or (3 if q else 5)
    pinn_epochs = args.pinn_epochs or (20 if q else 100)
    vit_epochs = args.vit_epochs or (1 if q else 3)
    small_epochs = args.small_epochs or (10 if q else 30)
    n_subjects, n_blocks, n_test_subjects = (5, 6, 2) if q else (10, 12, 3)
    n_psg_train, n_psg_test = (200, 100) if q else (600, 300)
    n_vit_round = 64 if q else 256  # training epochs per throughput round of the published ViT
    pinn_round_epochs, small_round_epochs = 5, 5

    import torch

    torch.set_num_threads(args.threads)
    _limiter = limit_blas_threads(args.threads)  # noqa: F841 - keep the limit alive
    from physioaffect.estimators.peripheral import EDAPINN
    from physioaffect.estimators.sleep import SleepApneaClassifier
    from physioaffect.features.psg_inputs import prepare_psg_epochs

    start = time.perf_counter()
    # ---- data --------------------------------------------------------------------------------
    log(f"EDA: {n_subjects} subjects x {n_blocks} blocks of {EDA_BLOCK_S:.0f} s, seed {args.seed}")
    eda_tr, eda_te, eda_prep_s = make_eda_data(n_subjects, n_blocks, n_test_subjects, args.seed)
    n_eda = len(eda_tr["y"])
    log(f"PSG: {n_psg_train} + {n_psg_test} epochs")
    psg_tr, psg_te = make_psg_data(n_psg_train, n_psg_test, args.seed)
    t0 = time.perf_counter()
    prepare_psg_epochs(psg_tr)  # what the published ViT's fit does before its loop
    psg_prep_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    F_tr = psg_features(psg_tr["signals"].values, PSG_FS)
    psg_feat_s = time.perf_counter() - t0
    F_te = psg_features(psg_te["signals"].values, PSG_FS)
    stage_tr, apnea_tr = psg_tr["stage"].values, psg_tr["apnea"].values
    psg_vit_round = psg_tr.isel(epoch=slice(0, n_vit_round))

    # ---- the routes --------------------------------------------------------------------------
    def pinn(epochs, device="cpu"):
        return EDAPINN(max_epochs=epochs, random_state=args.seed, device=device)

    def vit(cfg, epochs):
        return SleepApneaClassifier(**cfg, max_epochs=epochs, random_state=args.seed,
                                    device="cpu")

    def fit_pinn():
        est = pinn(pinn_round_epochs).fit(eda_tr["X"], eda_tr["y"], eda=eda_tr["eda"])
        return pinn_round_epochs * n_eda, est.history_.seconds

    def fit_eda_lr():
        t = time.perf_counter()
        logistic_regression().fit(eda_tr["baseline_X"], eda_tr["y"])
        return n_eda, time.perf_counter() - t

    def fit_vit_published():
        est = vit(VIT_PUBLISHED, 1).fit(psg_vit_round)
        return n_vit_round, est.history_.seconds

    def fit_vit_small():
        est = vit(VIT_SMALL, small_round_epochs).fit(psg_tr)
        return small_round_epochs * n_psg_train, est.history_.seconds

    def fit_psg_lr():
        t = time.perf_counter()
        logistic_regression().fit(F_tr, stage_tr)
        logistic_regression().fit(F_tr, apnea_tr)
        return n_psg_train, time.perf_counter() - t

    routes = [Route("EDAPINN (default config)", "eda", fit_pinn),
              Route("baseline: LogReg, SCR features + reports", "eda", fit_eda_lr),
              Route("SleepViT published (6x6, patch 20, T 2000)", "psg", fit_vit_published),
              Route("SleepViT small (test config)", "psg", fit_vit_small),
              Route("baseline: LogReg x 2 heads, PSG features", "psg", fit_psg_lr)]

    log("warm-up")  # allocators, first-call paths, imports inside fit
    pinn(1).fit(eda_tr["X"][:128], eda_tr["y"][:128], eda=eda_tr["eda"][:128])
    vit(VIT_PUBLISHED, 1).fit(psg_tr.isel(epoch=slice(0, 64)))
    vit(VIT_SMALL, 1).fit(psg_tr.isel(epoch=slice(0, 64)))
    fit_eda_lr()
    fit_psg_lr()
    for k in range(rounds):
        log(f"throughput round {k + 1}/{rounds}")
        for r in routes:
            r.measure()

    # ---- scored fits -------------------------------------------------------------------------
    log(f"scored fits: EDAPINN {pinn_epochs} epochs, published ViT {vit_epochs}, "
        f"small ViT {small_epochs}")
    results = {}
    est = pinn(pinn_epochs).fit(eda_tr["X"], eda_tr["y"], eda=eda_tr["eda"])
    s = est.scores(eda_te["X"], eda_te["y"], eda_te["eda"])
    results[routes[0].name] = dict(
        params=n_params(est.module_), epochs=pinn_epochs,
        rows=[("condition (3)",) + scores(eda_te["y"], est.predict(eda_te["X"]))],
        loop=pinn_epochs * n_eda / est.history_.seconds,
        extra=f"its EDA trajectories on the test windows: RMSE {s['rmse']:.3f} uS, "
              f"Pearson r {s['pearson_r']:.3f}")
    base = logistic_regression().fit(eda_tr["baseline_X"], eda_tr["y"])
    results[routes[1].name] = dict(
        params=lr_params(base), epochs=None,
        rows=[("condition (3)",) + scores(eda_te["y"], base.predict(eda_te["baseline_X"]))])
    for route, cfg, epochs in ((routes[2], VIT_PUBLISHED, vit_epochs),
                               (routes[3], VIT_SMALL, small_epochs)):
        log(f"  {route.name}")
        clf = vit(cfg, epochs).fit(psg_tr)
        ev = clf.evaluate(psg_te)
        results[route.name] = dict(
            params=n_params(clf.module_), epochs=epochs,
            rows=[(f"{h} ({n})", ev[h]["accuracy"], ev[h]["macro_f1"], ev[h]["cohen_kappa"])
                  for h, n in (("stage", 5), ("apnea", 4))],
            loop=epochs * n_psg_train / clf.history_.seconds)
    heads = [logistic_regression().fit(F_tr, stage_tr), logistic_regression().fit(F_tr, apnea_tr)]
    results[routes[4].name] = dict(
        params=sum(lr_params(m) for m in heads), epochs=None,
        rows=[(f"{h} ({n})",) + scores(psg_te[h].values, m.predict(F_te))
              for h, n, m in (("stage", 5, heads[0]), ("apnea", 4, heads[1]))])

    # ---- report ------------------------------------------------------------------------------
    anchor = {"eda": routes[1].median, "psg": routes[4].median}
    rows = []
    for r in routes:
        res = results[r.name]
        for i, (task, acc, f1, kappa) in enumerate(res["rows"]):
            first = i == 0
            rows.append([
                r.name if first else "", f"{res['params']:,}" if first else "",
                f"{r.median:,.1f}" if first else "",
                fmt_ratio(r.median / anchor[r.task]) if first else "",
                (str(res["epochs"]) if res["epochs"] else "-") if first else "",
                task, f"{acc:.3f}", f"{f1:.3f}", f"{kappa:.3f}"])
    print(f"Peripheral models: training throughput on CPU ({machine_line()}; torch "
          f"{torch.__version__}, {args.threads} thread(s){', --quick' if q else ''})")
    print(f"EDA: {n_subjects} simulated subjects x {n_blocks} blocks of {EDA_BLOCK_S:.0f} s at "
          f"{EDA_FS:g} Hz, {EDA_WINDOW_S:g}-s windows every {EDA_STEP_S:g} s: {n_eda} training "
          f"windows ({n_subjects - n_test_subjects} subjects), {len(eda_te['y'])} test windows "
          f"({n_test_subjects} other subjects)")
    print(f"PSG: {n_psg_train} training and {n_psg_test} test 30-s epochs (4 channels, "
          f"{PSG_FS:g} Hz, {PSG_APNEA_FRACTION:.0%} with an apnea event), independent draws")
    print(f"train windows/s: median over {rounds} interleaved rounds; each round trains a fresh "
          f"model: EDAPINN {pinn_round_epochs} epochs, published ViT 1 epoch on "
          f"{n_vit_round} epochs, small ViT {small_round_epochs} epochs, baselines one fit")
    print()
    print(table(["model", "params", "train windows/s", "vs baseline", "epochs", "task",
                 "accuracy", "macro-F1", "kappa"], rows, "lrrrrlrrr"))
    print()
    print("Scores: held-out data, after one fit of the stated epochs (the throughput rounds are "
          "separate fits).")
    for r in routes:
        res = results[r.name]
        if "loop" in res:
            print(f"  {r.name}: {res['loop']:,.1f} windows/s in the scored fit"
                  + (f"; {res['extra']}" if "extra" in res else ""))
    y_eda = eda_te["y"]
    majority = [np.bincount(v).max() / len(v)
                for v in (y_eda, psg_te["stage"].values, psg_te["apnea"].values)]
    print(f"  majority class of the test data: condition {majority[0]:.2f}, stage "
          f"{majority[1]:.2f}, apnea {majority[2]:.2f} (kappa 0 = chance)")
    print(f"Input preparation (outside every train column): eda_inputs "
          f"{(n_eda + len(y_eda)) / eda_prep_s:,.0f} windows/s (NeuroKit2 decomposition, SCR "
          f"features; needed by both EDA routes); "
          f"prepare_psg_epochs {n_psg_train / psg_prep_s:,.0f} epochs/s (ViT); psg_features "
          f"{n_psg_train / psg_feat_s:,.0f} epochs/s (baseline).")
    print("Ratios < 1x: slower to train than the baseline of the same task in this run. "
          "Absolute numbers on a shared machine move by tens of percent between runs. "
          f"Total {time.perf_counter() - start:.0f} s.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
