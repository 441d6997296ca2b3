"""Training throughput and inference latency of HiSTN, RBTransformer and TorchEEG's DGCNN on CPU;
with ``--accuracy``, their cross-validated accuracy on a simulated DREAMER-like study.

Run from the repository root::

    .venv/bin/python benchmarks/bench_models.py            # full run (a few minutes)
    .venv/bin/python benchmarks/bench_models.py --quick    # fewer windows and rounds (~1 min)
    .venv/bin/python benchmarks/bench_models.py --threads 2
    .venv/bin/python benchmarks/bench_models.py --accuracy --no-throughput   # about 4 min

All models see the same seeded data in the same process: 1-s windows of 14-channel 128-Hz pink
noise (DREAMER's layout) for HiSTN, and the band-DE tokens of those same windows (14 channels x
4 bands, theta..gamma, :func:`physioaffect.features.tokens.band_de_tokens`) for RBTransformer and
DGCNN. Every model trains through the one loop of :mod:`physioaffect.training` (Adam, batch 256,
cross-entropy) and runs inference on batches of 256 in eval mode without gradients. Rounds are
interleaved (A B C, A B C, ...) and the report gives medians, with ratios against DGCNN measured
in the same run.

The accuracy table (``--accuracy``) simulates, per seed, one subject of the DREAMER-like study
(14 electrodes, 1-5 valence ratings, the default effect size) and cross-validates every model
with folds grouped by trial within the subject, then RBTransformer again under the published
random-window protocol, which leaks. See benchmarks/README.md.
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


# --------------------------------------------------------------------------------------------
# accuracy on the simulated study
# --------------------------------------------------------------------------------------------
#: The study of each seed: one subject, 16 rated trials of 20 s after 30-s rest baselines.
STUDY = dict(n_subjects=1, n_trials=16, trial_duration=20.0, baseline_duration=30.0,
             effect_size=1.0)
N_FOLDS = 4
STEP = 0.5  # s between the starts of consecutive windows (HiSTN and RBTransformer alike)


def _groups(ds, n_windows: int, step: float):
    from physioaffect.evaluation import make_groups

    n_sub, n_tri = ds.sizes["subject"], ds.sizes["trial"]
    return make_groups(
        subject=np.repeat(ds["subject"].values, n_tri * n_windows),
        trial=np.tile(np.repeat(ds["trial"].values, n_windows), n_sub),
        onset=np.tile(np.arange(n_windows) * step, n_sub * n_tri))


def study_inputs(seed: int) -> dict:
    """The simulated study of one seed, as each model reads it.

    Returns
    -------
    dict
        ``"raw"``: 1-s windows every ``STEP`` s, z-scored per trial and channel by the trial's
        baseline (HiSTN's input); ``"tokens"``: band-DE tokens (theta..gamma) of 4-s windows
        every ``STEP`` s minus the baseline's (RBTransformer's); ``"de_1s"``: DE in five
        bands of the raw windows. Each value is ``(X, y, groups)``.
    """
    from physioaffect.features import differential_entropy
    from physioaffect.features.tokens import band_de_tokens
    from physioaffect.simulate import study

    ds = study("dreamer", random_state=seed, **STUDY)
    sfreq = float(ds.attrs["sfreq"])
    eeg, base = ds["eeg"].values, ds["baseline"].values
    valence = ds["valence"].values.ravel()

    z = (eeg - base.mean(-1, keepdims=True)) / base.std(-1, keepdims=True)
    n, hop = int(sfreq), int(STEP * sfreq)
    starts = np.arange(0, z.shape[-1] - n + 1, hop)
    raw = np.stack([z[..., s:s + n] for s in starts], axis=2)  # (subject, trial, window, ch, n)
    raw = raw.reshape(-1, *raw.shape[-2:]).astype(np.float32)
    y_raw = np.repeat(valence, len(starts))
    de = differential_entropy(raw, sfreq, window=1.0, n_jobs=1)  # (sample, 1, channel, band)
    de = de.reshape(len(raw), -1)

    tok = band_de_tokens(eeg, sfreq, baseline=base, window=4.0, step=STEP, n_jobs=1)
    n_tok = tok.shape[2]
    tokens = tok.reshape(-1, *tok.shape[-2:]).astype(np.float32)
    groups_raw = _groups(ds, len(starts), STEP)
    return {"raw": (raw, y_raw, groups_raw), "de_1s": (de, y_raw, groups_raw),
            "tokens": (tokens, np.repeat(valence, n_tok), _groups(ds, n_tok, STEP))}


def accuracy_models(seed: int) -> dict:
    """name -> (estimator, input key, protocol); the nets in small, fast configurations."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, StandardScaler

    from physioaffect.estimators import HiSTNClassifier, RBTransformerClassifier

    def plain():
        return make_pipeline(FunctionTransformer(_flatten), StandardScaler(),
                             LogisticRegression(max_iter=2000))

    def rbt():
        return RBTransformerClassifier(embed_dim=32, depth=1, n_heads=2, head_dim=16, ffn_dim=32,
                                       max_epochs=30, batch_size=64, lr=1e-2, device="cpu",
                                       random_state=seed)

    histn = HiSTNClassifier(sfreq=SFREQ, max_epochs=30, batch_size=64, lr=3e-2,
                            lr_steps=((20, 3e-3),), device="cpu", random_state=seed)
    return {
        "HiSTN": (histn, "raw", "grouped"),
        "RBTransformer": (rbt(), "tokens", "grouped"),
        "DE + LogisticRegression (4-s tokens)": (plain(), "tokens", "grouped"),
        "DE + LogisticRegression (1-s windows)": (plain(), "de_1s", "grouped"),
        "RBTransformer, random windows (leaks)": (rbt(), "tokens", "leaky"),
    }


def _flatten(x):
    return x.reshape(len(x), -1)


def run_accuracy(seeds) -> tuple[dict, list, dict]:
    """Cross-validated accuracy of every model on the study of every seed.

    Returns
    -------
    scores : dict of {str: list of float}
        Per model, the mean accuracy over the folds, one value per seed.
    chance : list of float
        Per seed, 1 / the number of valence classes present.
    seconds : dict of {str: float}
        Per model, the wall time summed over seeds.
    """
    from sklearn.model_selection import cross_val_score

    from physioaffect.evaluation import LeakageWarning, RandomWindowKFold, WithinSubjectTrialKFold

    scores, chance, seconds = {}, [], {}
    for seed in seeds:
        log(f"    accuracy, seed {seed}: simulating")
        inputs = study_inputs(seed)
        chance.append(1.0 / len(np.unique(inputs["raw"][1])))
        for name, (est, key, protocol) in accuracy_models(seed).items():
            X, y, groups = inputs[key]
            if protocol == "grouped":
                cv = WithinSubjectTrialKFold(n_splits=N_FOLDS)
            else:
                cv = RandomWindowKFold("rbtransformer")
            log(f"    accuracy, seed {seed}: {name}")
            t0 = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", LeakageWarning)
                acc = cross_val_score(est, X, y, groups=groups, cv=cv).mean()
            seconds[name] = seconds.get(name, 0.0) + time.perf_counter() - t0
            scores.setdefault(name, []).append(float(acc))
    return scores, chance, seconds


def accuracy_report(seeds, threads: int) -> str:
    """The accuracy table, as printed."""
    import torch

    scores, chance, seconds = run_accuracy(seeds)
    inputs = {"HiSTN": "raw 1-s windows", "RBTransformer": "DE tokens, 4-s windows",
              "DE + LogisticRegression (4-s tokens)": "DE tokens, 4-s windows",
              "DE + LogisticRegression (1-s windows)": "DE of the 1-s windows",
              "RBTransformer, random windows (leaks)": "DE tokens, 4-s windows"}
    rows = []
    for name, values in scores.items():
        protocol = "random windows" if "leaks" in name else "trial-grouped"
        rows.append([name, inputs[name], protocol, *(f"{v:.3f}" for v in values),
                     f"{np.mean(values):.3f} +- {np.std(values):.3f}",
                     f"{seconds[name] / len(seeds):.0f}"])
    rows.append(["chance", "", "", *(f"{c:.3f}" for c in chance),
                 f"{np.mean(chance):.3f}", ""])
    header = ["model", "input", "folds", *(f"seed {s}" for s in seeds), "mean +- std",
              "s/seed"]
    lines = [
        f"Valence accuracy on the simulated DREAMER-like study ({machine_line()}; torch "
        f"{torch.__version__}, {threads} thread(s))",
        f"per seed: one subject, {STUDY['n_trials']} trials of {STUDY['trial_duration']:g} s "
        f"(30-s baselines), 14 electrodes, ratings 1-5, effect size {STUDY['effect_size']:g}; "
        f"windows every {STEP:g} s",
        f"trial-grouped: {N_FOLDS} folds within the subject, no trial on both sides; random "
        "windows: the published RBTransformer protocol (5 shuffled folds over windows)",
        "the study never draws the mid-scale rating (3), so 4 of the 5 classes occur; chance = "
        "1 / classes present",
        "",
        table(header, rows, "lll" + "r" * (len(seeds) + 2)),
        "",
        "mean +- std: over seeds (population std); each seed's value is the mean over its "
        "folds. s/seed: wall time of the cross-validation.",
    ]
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer windows and rounds")
    ap.add_argument("--threads", type=int, default=1, help="torch and BLAS threads (default 1)")
    ap.add_argument("--windows", type=int, help="training windows (default 2048, quick 512)")
    ap.add_argument("--rounds", type=int, help="interleaved rounds (default 5, quick 3)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--accuracy", action="store_true",
                    help="also cross-validate the models on the simulated study (about 4 min)")
    ap.add_argument("--accuracy-seeds", type=int, default=5, metavar="N",
                    help="seeds of the accuracy table: 0..N-1 (default 5)")
    ap.add_argument("--no-throughput", action="store_true",
                    help="skip the throughput table (with --accuracy: the accuracy table only)")
    args = ap.parse_args(argv)
    if args.accuracy_seeds < 1:
        ap.error("--accuracy-seeds must be at least 1")
    if args.no_throughput and not args.accuracy:
        ap.error("--no-throughput leaves nothing to run without --accuracy")
    n_windows = args.windows or (512 if args.quick else 2048)
    rounds = args.rounds or (3 if args.quick else 5)
    if n_windows < BATCH:
        ap.error(f"--windows must be at least one batch ({BATCH})")

    import torch

    torch.set_num_threads(args.threads)
    _limiter = limit_blas_threads(args.threads)  # noqa: F841 - keep the limit alive
    if not args.no_throughput:
        throughput(args, n_windows, rounds)
    if args.accuracy:
        if not args.no_throughput:
            print()
        print(accuracy_report(list(range(args.accuracy_seeds)), args.threads), flush=True)
    return 0


def throughput(args, n_windows: int, rounds: int) -> None:
    """Measure and print the throughput table."""
    import torch

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
          "Absolute numbers on a shared machine move by tens of percent between runs.",
          flush=True)


if __name__ == "__main__":
    sys.exit(main())
