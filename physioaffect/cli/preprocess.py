"""``physioaffect preprocess``: EDF/BDF/GDF recordings to one NetCDF feature file each.

Every recording is read and filtered in chunks (filter state carried across chunks), features are
computed per window, and the result is written under a temporary name and renamed, with its
provenance (source name, size and SHA-256, every parameter, the package version). ``index.csv``
in the output folder lists what happened to every input. A bad file is reported with its name and
the reason; the others still complete; the exit status is 1 when any input failed.
"""

from __future__ import annotations

import sys

__all__ = ["add_parser", "run"]


def _floats(text, name, count):
    parts = [p for p in str(text).replace(",", " ").split() if p]
    try:
        values = [float(p) for p in parts]
    except ValueError:
        values = []
    if len(values) != count:
        from physioaffect.errors import InvalidParameterError

        raise InvalidParameterError(
            f"`--{name}` must be {count} number(s) in seconds separated by a comma, got {text!r}")
    return values


def add_parser(subparsers, parents=()):
    """Register the ``preprocess`` command (see :func:`physioaffect.cli.info.add_parser`)."""
    parser = subparsers.add_parser(
        "preprocess", parents=list(parents),
        help="recordings (EDF/BDF/GDF) to feature files (NetCDF), on one machine or a Dask "
             "cluster",
        description="Read recordings in chunks, filter with state carried across chunks, compute "
        "features per window, and write one NetCDF file per recording plus index.csv. Inputs are "
        "files, folders (searched recursively) and glob patterns. Annotation-only EDF+/BDF+ "
        "files (hypnograms) are paired with their recording by name (Sleep-EDF's "
        "SC4001E0-PSG.edf with SC4001EC-Hypnogram.edf; x.edf with x-hypnogram.edf or "
        "x-annotations.edf) or given with --annotations. A re-run skips outputs that exist with "
        "identical parameters. Exit status 1 when any input failed, else 0.")
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="files, folders or globs")
    parser.add_argument("-o", "--outdir", required=True, help="output folder (created)")
    sel = parser.add_argument_group("channels and filters")
    sel.add_argument("--picks", default="eeg",
                     help="comma-separated channel types (eeg, eog, ecg, emg, resp, gsr, misc) "
                          "or names (default: eeg)")
    sel.add_argument("--reference", default="none",
                     help="'none' (default), 'average', or comma-separated reference channels")
    sel.add_argument("--notch", type=float, help="line frequency in Hz (notches at harmonics too)")
    sel.add_argument("--l-freq", type=float, help="high-pass edge in Hz")
    sel.add_argument("--h-freq", type=float, help="low-pass edge in Hz")
    sel.add_argument("--resample", type=float, help="output sampling rate in Hz")
    feat = parser.add_argument_group("features")
    feat.add_argument("--window", type=float, default=4.0, help="window length in s (default 4)")
    feat.add_argument("--step", type=float, help="hop between windows in s (default: window)")
    feat.add_argument("--features", default="de",
                      help="comma-separated: de, bandpower, bde, peripheral (default: de)")
    feat.add_argument("--bands", help="e.g. 'theta:4-8,alpha:8-14' (default: delta 1-4, theta "
                                      "4-8, alpha 8-14, beta 14-31, gamma 31-49)")
    feat.add_argument("--causal", action="store_true",
                      help="causal band filters for DE (default: zero-phase)")
    feat.add_argument("--baseline", help="START,STOP in s: rest segment whose DE is subtracted")
    lab = parser.add_argument_group("labels")
    lab.add_argument("--annotations", help="annotation file (e.g. hypnogram) for the one "
                                           "recording given")
    lab.add_argument("--labels", default="auto", choices=("auto", "none", "annotations", "events"),
                     help="window labels from annotations (covering the window centre) or "
                          "trigger events (last code at or before the window start)")
    lab.add_argument("--label-map",
                     help="description=label pairs, e.g. 'Sleep stage W=W,Sleep stage 1=N1'")
    lab.add_argument("--drop-unlabelled", action="store_true", help="drop windows with no label")
    run_ = parser.add_argument_group("execution")
    run_.add_argument("--jobs", type=int, default=1, help="local worker processes (default 1)")
    run_.add_argument("--scheduler", help="Dask scheduler address, e.g. tcp://10.0.0.1:8786")
    run_.add_argument("--overwrite", action="store_true",
                      help="recompute outputs that exist with identical parameters")
    run_.add_argument("--chunk", type=float, default=60.0,
                      help="seconds read and filtered at a time (default 60)")
    run_.add_argument("--no-progress", action="store_true", help="no progress bars")
    return parser


def _params(args):
    from physioaffect.preprocess import PreprocessParams

    reference = args.reference
    if reference not in ("none", "average"):
        reference = tuple(r.strip() for r in reference.split(",") if r.strip())
    return PreprocessParams(
        picks=tuple(p.strip() for p in args.picks.split(",") if p.strip()),
        reference=reference, notch=args.notch, l_freq=args.l_freq, h_freq=args.h_freq,
        resample=args.resample, window=args.window, step=args.step,
        features=tuple(f.strip() for f in args.features.split(",") if f.strip()),
        bands=args.bands, zero_phase=not args.causal,
        baseline=None if args.baseline is None else tuple(_floats(args.baseline, "baseline", 2)),
        labels=args.labels, label_map=args.label_map, drop_unlabelled=args.drop_unlabelled,
        chunk_duration=args.chunk)


def run(args) -> int:
    """Preprocess ``args.inputs`` into ``args.outdir``; 1 when any input failed, else 0."""
    from physioaffect.preprocess.batch import INDEX_NAME, run_batch

    params = _params(args)
    debug = getattr(args, "debug", False)
    progress = not args.no_progress and sys.stderr.isatty()
    failed = []

    def report(row):
        if row["status"] == "failed":
            failed.append(row)
            message = row["reason"] if debug else " ".join(row["reason"].split())
            print(f"physioaffect preprocess: error: {message}"
                  if row["input"] in row["reason"] else
                  f"physioaffect preprocess: error: {row['input']}: {message}", file=sys.stderr)

    import warnings

    def show(message, category, filename, lineno, file=None, line=None):
        print(f"physioaffect preprocess: warning: {' '.join(str(message).split())}",
              file=sys.stderr)

    with warnings.catch_warnings():  # restores the warning display on exit
        warnings.showwarning = show
        rows = run_batch(args.inputs, args.outdir, params, annotations=args.annotations,
                         jobs=args.jobs, scheduler=args.scheduler, overwrite=args.overwrite,
                         progress=progress, debug=debug, on_row=report)
    counts = {}
    for row in rows:
        counts[row["status"]] = counts.get(row["status"], 0) + 1
    summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    print(f"{len(rows)} input(s): {summary}; index: {args.outdir}/{INDEX_NAME}")
    return 1 if failed else 0
