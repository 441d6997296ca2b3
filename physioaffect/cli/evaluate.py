"""``physioaffect evaluate``: cross-validate a model on feature files or a dataset, by protocol.

The inputs are NetCDF feature files written by ``physioaffect preprocess`` (their windows are
concatenated), or a dataset read by :mod:`physioaffect.datasets` (``--dataset NAME --path PATH``:
RBTransformer's band-DE tokens, or for HiSTN on DREAMER its 1-s raw segments). Every window needs
a subject, a trial and an onset:

- subject: the file's ``subject`` coordinate, else ``--subject-regex`` applied to the file name
  (its first group, or the whole match);
- trial: the ``trial`` coordinate, else ``--trial-regex`` on the file name, else the file itself
  (one recording, one trial);
- onset: the ``onset`` coordinate (window start in seconds).

The target is the ``--target`` coordinate (``label`` by default). ``--target-pattern`` keeps the
windows whose target matches a regular expression and takes its first group (e.g.
``'valence=(\\d+)'`` on ``stimulus valence=4 arousal=2``); ``--threshold T`` then makes numeric
targets binary (``>= T`` -> 1). Windows with an empty target are dropped.

The command prints the data summary and the per-subject table under the protocol's name, and
writes to ``--out``: ``per_subject.csv``, ``folds.csv``, ``confusion_matrix.png``, and for the
neural models ``learning_curves.png`` (and ``attention.png`` for RBTransformer).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

__all__ = ["add_parser", "run", "MODELS"]

#: Models by name: what they read.
MODELS = {
    "logreg": "StandardScaler + LogisticRegression on the flattened features",
    "rbtransformer": "RBTransformerClassifier on (channel, band) tokens",
    "histn": "HiSTNClassifier on raw (channel, time) segments (datasets only)",
}
_PROTOCOLS = ("within-subject", "time-blocks", "loso", "rbtransformer")
_DATASETS = ("deap", "dreamer", "seed")
_PROG = "physioaffect evaluate"


def add_parser(subparsers, parents=()):
    """Register the ``evaluate`` command (see :func:`physioaffect.cli.info.add_parser`)."""
    parser = subparsers.add_parser(
        "evaluate", parents=list(parents),
        help="cross-validate a model on feature files or a dataset under a named protocol",
        description="Cross-validate a model on NetCDF feature files from `physioaffect "
        "preprocess` (files, folders searched for *.nc, or globs; windows concatenated) or on a "
        "dataset (--dataset NAME --path PATH). Prints a per-subject table with mean ± std under "
        "the protocol's name; writes per_subject.csv, folds.csv and PNG plots (confusion "
        "matrix, learning curves, RBTransformer attention) to --out. Protocols: within-subject "
        "(trial-grouped K-fold per subject), time-blocks (HiSTN's within-trial blocks), loso "
        "(leave one subject out, --calibration S for HiSTN's calibration), and the published "
        "random-window preset 'rbtransformer', which leaks and warns.")
    parser.add_argument("features", nargs="*", metavar="FEATURES",
                        help="feature files (.nc), folders or globs")
    src = parser.add_argument_group("dataset instead of feature files")
    src.add_argument("--dataset", choices=_DATASETS, help="dataset read by physioaffect.datasets")
    src.add_argument("--path", help="the dataset's file or folder")
    src.add_argument("--rating", help="rating the label encodes (default: valence; SEED: emotion)")
    src.add_argument("--scheme", choices=("binary", "multiclass"),
                     help="label scheme (default: binary; SEED and HiSTN: multiclass)")
    src.add_argument("--subjects", help="comma-separated subject numbers (default: all)")
    data = parser.add_argument_group("features, target and groups")
    data.add_argument("--variable", help="data variable of the feature files (default: de, or the "
                                         "only one)")
    data.add_argument("--target", default="label",
                      help="coordinate holding the target (default: label)")
    data.add_argument("--target-pattern", metavar="REGEX",
                      help="keep windows whose target matches; use the first group")
    data.add_argument("--threshold", type=float,
                      help="binarise a numeric target: >= THRESHOLD -> 1, else 0")
    data.add_argument("--subject-regex", metavar="REGEX",
                      help="subject from the file name (first group), e.g. '^(S\\d+)_'")
    data.add_argument("--trial-regex", metavar="REGEX",
                      help="trial from the file name (first group); default: one trial per file")
    proto = parser.add_argument_group("protocol")
    proto.add_argument("--protocol", default="within-subject", choices=_PROTOCOLS,
                       help="default: within-subject")
    proto.add_argument("--n-splits", type=int, help="folds (per subject for within-subject)")
    proto.add_argument("--calibration", type=float, default=0.0, metavar="S",
                       help="loso: seconds of each test-subject trial used for training")
    proto.add_argument("--label-correction", action="store_true",
                       help="loso: HiSTN's label-mode correction of the training subjects")
    proto.add_argument("--gap", type=float, default=0.0, metavar="S",
                       help="time-blocks: guard around the test block (s)")
    proto.add_argument("--metrics", default="accuracy,macro_f1",
                       help="comma-separated metrics (default: accuracy,macro_f1)")
    model = parser.add_argument_group("model")
    model.add_argument("--model", default="logreg", choices=tuple(MODELS),
                       help="default: logreg")
    model.add_argument("--epochs", type=int, help="training epochs of a neural model")
    model.add_argument("--batch-size", type=int, help="batch size of a neural model")
    model.add_argument("--device", default="cpu", help="cpu, cuda or auto (default: cpu)")
    model.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    model.add_argument("--model-param", action="append", default=[], metavar="NAME=VALUE",
                       help="set an estimator parameter (repeatable), e.g. embed_dim=64; "
                            "VALUE is read as a Python literal, else as text")
    parser.add_argument("-o", "--out", required=True, help="output folder (created)")
    return parser


# --------------------------------------------------------------------------------------------------
# inputs
# --------------------------------------------------------------------------------------------------

def _fail(message):
    from physioaffect.errors import InvalidParameterError

    raise InvalidParameterError(message)


def _regex(text, option):
    if text is None:
        return None
    try:
        return re.compile(text)
    except re.error as exc:
        _fail(f"{option} {text!r} is not a valid regular expression: {exc}")


def _expand(inputs):
    import glob

    from physioaffect.errors import RecordingError

    files = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            found = sorted(path.rglob("*.nc"))
            if not found:
                raise RecordingError(f"{item}: folder holds no .nc feature file")
            files.extend(found)
        elif path.is_file():
            files.append(path)
        elif any(c in item for c in "*?["):
            found = sorted(Path(p) for p in glob.glob(item, recursive=True))
            if not found:
                raise RecordingError(f"{item}: no file matches this pattern")
            files.extend(found)
        else:
            raise RecordingError(f"{item}: no such file or folder")
    seen, out = set(), []
    for f in files:
        key = f.resolve()
        if key not in seen:
            seen.add(key)
            out.append(f)
    return out


def _from_name(regex, name, option):
    m = regex.search(name)
    if m is None:
        _fail(f"{option} {regex.pattern!r} does not match the file name {name!r}")
    return m.group(1) if m.groups() else m.group(0)


def _pick_variable(ds, variable, path):
    if variable is not None:
        if variable not in ds.data_vars:
            _fail(f"{path}: no data variable {variable!r}; it holds {sorted(ds.data_vars)}")
        return variable
    if "de" in ds.data_vars:
        return "de"
    candidates = [k for k in ds.data_vars if "window" in ds[k].dims]
    if len(candidates) != 1:
        _fail(f"{path}: name the feature variable with --variable (candidates: "
              f"{sorted(candidates or ds.data_vars)})")
    return candidates[0]


def _read_files(files, args):
    """Concatenate the windows of every file into one DataArray (window, ...)."""
    import numpy as np
    import xarray as xr

    from physioaffect.io.store import load_features

    subject_re = _regex(args.subject_regex, "--subject-regex")
    trial_re = _regex(args.trial_regex, "--trial-regex")
    pieces, ref, window_length = [], None, None
    for path in files:
        ds = load_features(path)
        if isinstance(ds, xr.DataArray):
            ds = ds.to_dataset(name=ds.name or "features")
        var = _pick_variable(ds, args.variable, path)
        da = ds[var]
        dim = da.dims[0]
        n = da.sizes[dim]
        if n == 0:
            continue
        if args.target not in ds.coords and args.target not in ds.data_vars:
            _fail(f"{path}: no target {args.target!r} (coords: {sorted(ds.coords)}); choose "
                  "one with --target")
        if "onset" not in ds.coords:
            _fail(f"{path}: no 'onset' coordinate; expected a feature file from `physioaffect "
                  "preprocess`")
        if "subject" in ds.coords:
            subject = np.asarray(ds["subject"].values).astype(str)
        elif subject_re is not None:
            subject = np.full(n, _from_name(subject_re, path.name, "--subject-regex"))
        else:
            subject = None
        if "trial" in ds.coords:
            trial = np.asarray(ds["trial"].values).astype(str)
        elif trial_re is not None:
            trial = np.full(n, _from_name(trial_re, path.name, "--trial-regex"))
        else:
            trial = np.full(n, path.stem)
        other = {d: da[d].values for d in da.dims[1:] if d in da.coords}
        if ref is None:
            ref = (da.dims[1:], da.shape[1:], other, path)
        elif da.dims[1:] != ref[0] or da.shape[1:] != ref[1] or any(
                not np.array_equal(other.get(d), v) for d, v in ref[2].items()):
            mine = dict(zip(da.dims[1:], da.shape[1:], strict=True))
            first = dict(zip(ref[0], ref[1], strict=True))
            _fail(f"{path}: features {mine} differ from those of {ref[3].name} {first} (dims, "
                  "sizes or coords); evaluate files made with the same channels and bands")
        w = ds.attrs.get("window", da.attrs.get("window"))
        if w is not None:
            window_length = float(w) if window_length is None else window_length
        pieces.append({
            "x": np.asarray(da.values), "target": np.asarray(ds[args.target].values),
            "subject": subject, "trial": trial, "onset": np.asarray(ds["onset"].values, float),
            "file": np.full(n, path.name)})
    if not pieces:
        _fail("the feature files hold no window")
    if any(p["subject"] is None for p in pieces):
        if args.protocol in ("within-subject", "loso") or any(
                p["subject"] is not None for p in pieces):
            _fail("the feature files carry no 'subject' coordinate; give --subject-regex to take "
                  "the subject from the file name, e.g. --subject-regex '^(S\\d+)_'")
        for p in pieces:
            p["subject"] = np.full(len(p["x"]), "all")
    cat = {k: np.concatenate([p[k] for p in pieces]) for k in pieces[0]}
    dims = ("window", *ref[0])
    coords = {d: ref[2][d] for d in ref[0] if d in ref[2]}
    for key in ("subject", "trial", "onset", "file"):
        coords[key] = ("window", cat[key])
    coords["target"] = ("window", cat["target"])
    attrs = {} if window_length is None else {"window": window_length}
    return xr.DataArray(cat["x"], dims=dims, coords=coords, attrs=attrs), len(files)


def _read_dataset(args):
    import numpy as np
    import xarray as xr

    from physioaffect.datasets import histn_dreamer, rbtransformer

    if args.path is None:
        _fail("--dataset needs --path, the dataset's file or folder")
    subjects = None
    if args.subjects:
        try:
            subjects = [int(s) for s in args.subjects.split(",") if s.strip()]
        except ValueError:
            _fail(f"--subjects must be comma-separated subject numbers, got {args.subjects!r}")
    if args.model == "histn":
        if args.dataset != "dreamer":
            _fail(f"--model histn reads DREAMER (HiSTN's preparation), got --dataset "
                  f"{args.dataset}")
        da = histn_dreamer(args.path, subjects=subjects, target=args.rating or "valence",
                           scheme=args.scheme or "multiclass")
        sfreq = float(da.attrs["sfreq"])
        step = int(round(sfreq))
        s, t, c, n = da.shape
        k = n // step
        x = da.values[..., :k * step].reshape(s, t, c, k, step).transpose(0, 1, 3, 2, 4)
        x = x.reshape(s * t * k, c, step)
        sub = np.repeat(da["subject"].values, t * k)
        tri = np.tile(np.repeat(da["trial"].values, k), s)
        onset = np.tile(np.arange(k, dtype=float), s * t)
        lab = np.repeat(da["label"].values.reshape(-1), k)
        return xr.DataArray(
            x, dims=("window", "channel", "time"),
            coords={"channel": da["channel"].values, "subject": ("window", sub),
                    "trial": ("window", tri), "onset": ("window", onset),
                    "target": ("window", lab)},
            attrs={"window": 1.0, "sfreq": sfreq}), 1
    da = rbtransformer(args.path, args.dataset, target=args.rating, scheme=args.scheme,
                       subjects=subjects)
    da = da.assign_coords(target=("sample", da["label"].values))
    return da.rename(sample="window"), 1


def _prepare_target(da, args):
    import numpy as np

    raw = np.asarray(da["target"].values)
    keep = np.array([str(v).strip() != "" for v in raw]) if raw.dtype.kind in "OUS" else (
        np.isfinite(raw.astype(float)) if raw.dtype.kind == "f" else np.ones(len(raw), bool))
    values = raw
    if args.target_pattern is not None:
        regex = _regex(args.target_pattern, "--target-pattern")
        found = [regex.search(str(v)) for v in raw]
        keep &= np.array([m is not None for m in found])
        values = np.array([(m.group(1) if m.groups() else m.group(0)) if m else ""
                           for m in found], dtype=object)
    values = values[keep]
    if len(values) == 0:
        _fail(f"no window has a target{' matching --target-pattern ' + repr(args.target_pattern) if args.target_pattern else ''}"
              f" (first targets: {list(map(str, raw[:3]))})")
    numeric = None
    try:
        numeric = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        pass
    if args.threshold is not None:
        if numeric is None:
            _fail(f"--threshold needs numeric targets, got {list(map(str, values[:3]))}; "
                  "extract numbers with --target-pattern")
        from physioaffect.evaluation import binarise

        values = binarise(numeric, args.threshold)
    elif numeric is not None and np.all(numeric == np.round(numeric)):
        values = numeric.astype(np.int64)
    else:
        values = np.asarray(values).astype(str)
    da = da.isel(window=np.flatnonzero(keep))
    return da.assign_coords(target=("window", values))


# --------------------------------------------------------------------------------------------------
# models
# --------------------------------------------------------------------------------------------------

def _flatten(X):
    return X.reshape(len(X), -1)


def _estimator(args, da):
    from physioaffect.errors import InvalidParameterError

    if args.model == "logreg":
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import FunctionTransformer, StandardScaler

        clf = LogisticRegression(max_iter=1000)
        clf.set_params(**_model_params(args.model_param, clf.get_params(), "LogisticRegression"))
        return make_pipeline(FunctionTransformer(_flatten), StandardScaler(), clf)
    name = {"rbtransformer": "RBTransformerClassifier", "histn": "HiSTNClassifier"}[args.model]
    try:
        import physioaffect.estimators as estimators

        cls = getattr(estimators, name)
    except (ImportError, AttributeError):
        raise InvalidParameterError(
            f"--model {args.model} needs physioaffect.estimators.{name}, which this "
            "installation lacks") from None
    if args.model == "rbtransformer" and da.ndim != 3:
        _fail(f"--model rbtransformer reads (window, channel, band) tokens, got dims {da.dims}")
    if args.model == "histn" and "time" not in da.dims:
        _fail("--model histn reads raw (channel, time) segments; feature files hold features "
              f"{da.dims}: use --dataset dreamer --path DREAMER.mat")
    est = cls()
    params = est.get_params()
    wanted = {"max_epochs": args.epochs, "epochs": args.epochs, "batch_size": args.batch_size,
              "device": args.device, "random_state": args.seed, "seed": args.seed,
              "verbose": False, "sfreq": da.attrs.get("sfreq")}
    if "chs_info" in params and "channel" in da.coords:
        wanted["chs_info"] = [{"ch_name": str(c)} for c in da["channel"].values]
    set_ = {k: v for k, v in wanted.items() if k in params and v is not None}
    set_.update(_model_params(args.model_param, params, type(est).__name__))
    return est.set_params(**set_)


def _model_params(items, params, name):
    import ast

    out = {}
    for item in items:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            _fail(f"--model-param must be NAME=VALUE, got {item!r}")
        if key not in params:
            _fail(f"--model-param {key!r}: {name} has no such parameter; expected one of "
                  f"{sorted(params)}")
        try:
            out[key] = ast.literal_eval(text.strip())
        except (ValueError, SyntaxError):
            out[key] = text.strip()
    return out


# --------------------------------------------------------------------------------------------------
# run
# --------------------------------------------------------------------------------------------------

def _check(args):
    if args.dataset is None and not args.features:
        _fail("give feature files (FEATURES...) or --dataset NAME --path PATH")
    if args.dataset is not None and args.features:
        _fail("give either feature files or --dataset, not both")
    if args.dataset is None and (args.path or args.rating or args.scheme or args.subjects):
        _fail("--path, --rating, --scheme and --subjects go with --dataset")
    if args.n_splits is not None and args.n_splits < 2:
        _fail(f"--n-splits must be an integer >= 2, got {args.n_splits}")
    if args.epochs is not None and args.epochs < 1:
        _fail(f"--epochs must be an integer >= 1, got {args.epochs}")
    if args.batch_size is not None and args.batch_size < 1:
        _fail(f"--batch-size must be an integer >= 1, got {args.batch_size}")
    if args.calibration and args.protocol != "loso":
        _fail("--calibration applies to --protocol loso only")
    if args.label_correction and args.protocol != "loso":
        _fail("--label-correction applies to --protocol loso only")
    if args.gap and args.protocol != "time-blocks":
        _fail("--gap applies to --protocol time-blocks only")
    if args.model == "histn" and args.dataset is None:
        _fail("--model histn reads raw segments: use --dataset dreamer --path DREAMER.mat")
    metrics = tuple(m.strip() for m in args.metrics.split(",") if m.strip())
    if not metrics:
        _fail("--metrics names no metric")
    return metrics


def _summary(da, n_files, args, source):
    import numpy as np

    classes, counts = np.unique(da["target"].values, return_counts=True)
    shape = " x ".join(f"{d} {n}" for d, n in zip(da.dims[1:], da.shape[1:], strict=True))
    n_trials = len({(s, t) for s, t in zip(da["subject"].values, da["trial"].values,
                                          strict=True)})
    return "\n".join([
        f"{_PROG}: {args.model} ({MODELS[args.model]})",
        f"  data      {source}: {da.sizes['window']} windows ({shape} each), "
        f"{len(np.unique(da['subject'].values))} subject(s), {n_trials} trial(s)",
        f"  target    {args.target}" + (f" ~ {args.target_pattern!r}" if args.target_pattern
                                        else "")
        + (f", >= {args.threshold:g} -> 1" if args.threshold is not None else "") + ": "
        + ", ".join(f"{c}: {n}" for c, n in zip(classes, counts, strict=True)),
        f"  chance    {counts.max() / counts.sum():.3f} (majority class)",
        ""])


def _write_folds(result, path):
    import csv

    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["protocol", result.protocol])
        writer.writerow(["fold", "n_train", "n_test", "subjects", *result.metrics])
        for f in result.folds:
            writer.writerow([f["fold"], f["n_train"], f["n_test"],
                             " ".join(map(str, f["subjects"])),
                             *(f"{f[m]:.6g}" for m in result.metrics)])


def run(args) -> int:
    """Evaluate, print the table and write the outputs; 0 on success.

    Parameters
    ----------
    args : argparse.Namespace
        The options of ``physioaffect evaluate``.

    Returns
    -------
    int
        0.

    Raises
    ------
    physioaffect.errors.PhysioAffectError
        Bad options or inputs (reported in one line by :func:`physioaffect.cli.main.main`).
    """
    import warnings

    metrics = _check(args)
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        _fail(f"--out {out} exists and is not a folder")
    if args.dataset is None:
        files = _expand(args.features)
        da, n_files = _read_files(files, args)
        source = f"{n_files} feature file(s)"
    else:
        da, n_files = _read_dataset(args)
        source = f"{args.dataset} at {args.path}"
    da = _prepare_target(da, args)
    estimator = _estimator(args, da)

    from physioaffect.evaluation.protocols import cross_validate

    def show(message, category, filename, lineno, file=None, line=None):
        print(f"{_PROG}: warning: {' '.join(str(message).split())}", file=sys.stderr)

    with warnings.catch_warnings():
        warnings.showwarning = show
        warnings.simplefilter("once", UserWarning)
        result = cross_validate(
            estimator, da, protocol=args.protocol, target="target", metrics=metrics,
            n_splits=args.n_splits, calibration_seconds=args.calibration, gap=args.gap,
            label_correction=args.label_correction,
            random_state=args.seed if args.protocol == "rbtransformer" else None,
            return_estimators=args.model == "rbtransformer")
    print(_summary(da, n_files, args, source))
    print(result.table())

    from physioaffect import plotting

    out.mkdir(parents=True, exist_ok=True)
    result.to_csv(out / "per_subject.csv")
    _write_folds(result, out / "folds.csv")
    written = ["per_subject.csv", "folds.csv"]
    plotting.plot_confusion_matrix(result, path=out / "confusion_matrix.png")
    written.append("confusion_matrix.png")
    if result.histories:
        plotting.plot_learning_curves(result, path=out / "learning_curves.png")
        written.append("learning_curves.png")
    if args.model == "rbtransformer" and result.estimators:
        last = result.fold_of == result.fold_of.max()
        test = result.test_index[last]
        attn = plotting.attention_maps(result.estimators[-1], da.values[test])
        names = da["channel"].values if "channel" in da.coords else None
        plotting.plot_attention(
            attn, names, path=out / "attention.png",
            title=f"RBTransformer attention, last fold's test windows\n{result.protocol}")
        written.append("attention.png")
    print(f"\nwritten to {out}: {', '.join(written)}")
    return 0
