"""Many recordings: input discovery, annotation pairing, local or Dask execution, batch index.

Every recording is one task that writes one NetCDF file (atomically, through
:func:`physioaffect.io.store.save_features`) and returns one row of the batch index; a task never
raises for a bad file, so a batch always finishes its good files and reports every bad one.
"""

from __future__ import annotations

import csv
import glob
import io
import os
import re
import secrets
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InvalidParameterError, PhysioAffectError, RecordingError
from .params import PreprocessParams

__all__ = ["Task", "discover_inputs", "plan_batch", "run_task", "run_batch", "INDEX_NAME",
           "INDEX_COLUMNS"]

INDEX_NAME = "index.csv"
INDEX_COLUMNS = ("input", "output", "status", "reason", "annotations", "n_windows", "n_channels",
                 "duration_s", "seconds")
_SUFFIXES = (".edf", ".bdf", ".gdf")
# Sleep-EDF: SC4001E0-PSG.edf goes with SC4001EC-Hypnogram.edf (same first seven characters).
_SLEEP_EDF = re.compile(r"^(?P<key>[A-Za-z]{2}\d{4}[A-Za-z])[A-Za-z0-9]-(?P<kind>PSG|Hypnogram)$",
                        re.IGNORECASE)
_ANNOTATION_SUFFIXES = ("-hypnogram", "_hypnogram", ".hypnogram", "-annotations", "_annotations",
                        "-events", "_events")


@dataclass
class Task:
    """One recording to process."""

    input: str
    output: str
    annotations: str | None = None
    refusal: str | None = None  # set when the input is known bad before processing
    kind: str = "recording"  # or "annotations" (an annotation-only file paired to a recording)
    paired_with: str | None = None
    extra: dict = field(default_factory=dict)


def discover_inputs(inputs):
    """Expand files, folders (recursively) and glob patterns into recording paths.

    Returns
    -------
    paths : list of pathlib.Path
        Sorted, without duplicates.
    missing : list of str
        Inputs that matched nothing.
    """
    found, missing = [], []
    for item in inputs:
        text = os.fspath(item)
        path = Path(text)
        if path.is_dir():
            hits = sorted(p for p in path.rglob("*") if p.is_file()
                          and p.suffix.lower() in _SUFFIXES)
            if not hits:
                missing.append(f"{text}: folder holds no .edf, .bdf or .gdf file")
            found.extend(hits)
        elif path.is_file():
            found.append(path)
        elif any(ch in text for ch in "*?["):
            hits = sorted(Path(p) for p in glob.glob(text, recursive=True) if Path(p).is_file())
            if not hits:
                missing.append(f"{text}: pattern matches no file")
            found.extend(hits)
        else:
            missing.append(f"{text}: no such file or folder")
    unique = list(dict.fromkeys(p.resolve() for p in found))
    return unique, missing


def _is_annotation_only(path):
    from ..io.recording import SUFFIXES, _read_header

    kind = SUFFIXES.get(path.suffix.lower())
    if kind not in ("EDF", "BDF"):
        return False
    try:
        return _read_header(path, kind).annotation_only
    except RecordingError:
        return False


def _pair_key(path):
    stem = path.stem
    match = _SLEEP_EDF.match(stem)
    if match:
        return ("sleep-edf", match["key"].upper(), match["kind"].lower() == "hypnogram")
    lowered = stem.lower()
    for suffix in _ANNOTATION_SUFFIXES:
        if lowered.endswith(suffix):
            return ("stem", stem[:-len(suffix)].lower(), True)
    return ("stem", lowered, False)


def _output_names(paths):
    """Output file name per recording: its stem, prefixed by folders where stems collide."""
    names = {}
    by_stem = {}
    for p in paths:
        by_stem.setdefault(p.stem, []).append(p)
    for stem, group in by_stem.items():
        if len(group) == 1:
            names[group[0]] = f"{stem}.nc"
            continue
        common = Path(os.path.commonpath([str(p.parent) for p in group]))
        for p in group:
            parts = p.relative_to(common).parts
            # keep the format in the name: x.edf and x.bdf become x_edf.nc and x_bdf.nc
            names[p] = "__".join(parts[:-1] + (p.stem + "_" + p.suffix.lstrip(".").lower(),)) \
                + ".nc"
    return names


def plan_batch(inputs, outdir, *, annotations=None):
    """The tasks of a batch: recordings with their paired annotation files and output names.

    Parameters
    ----------
    inputs : list of path-like or str
        Files, folders and glob patterns.
    outdir : path-like
    annotations : path-like, optional
        An annotation file for the single recording among the inputs.

    Returns
    -------
    list of Task
        One per recording; annotation-only files appear as tasks of kind ``"annotations"``
        (paired or refused), and inputs that matched nothing as refused tasks.
    """
    outdir = Path(outdir)
    paths, missing = discover_inputs(inputs)
    tasks = [Task(input=m.split(": ", 1)[0], output="", refusal=m.split(": ", 1)[1])
             for m in missing]
    ann_paths = [p for p in paths if _is_annotation_only(p)]
    recordings = [p for p in paths if p not in set(ann_paths)]
    if annotations is not None:
        annotations = Path(annotations)
        if not annotations.is_file():
            raise InvalidParameterError(f"`--annotations` {annotations}: no such file")
        if len(recordings) != 1:
            raise InvalidParameterError(
                f"`--annotations` names one file for one recording, but the inputs hold "
                f"{len(recordings)} recordings; name them one per run, or let annotation files "
                "be paired by name (e.g. SC4001E0-PSG.edf with SC4001EC-Hypnogram.edf)")
    pairs = {}
    by_key = {}
    for p in ann_paths:
        scheme, key, _ = _pair_key(p)
        by_key.setdefault((scheme, key), []).append(p)
    names = _output_names(recordings)
    for p in recordings:
        ann = annotations
        if ann is None:
            scheme, key, _ = _pair_key(p)
            candidates = by_key.get((scheme, key), [])
            if len(candidates) == 1:
                ann = candidates[0]
                pairs[candidates[0]] = p
        tasks.append(Task(input=str(p), output=str(outdir / names[p]),
                          annotations=None if ann is None else str(ann)))
    for p in ann_paths:
        if annotations is not None and p.resolve() == annotations.resolve():
            tasks.append(Task(input=str(p), output="", kind="annotations",
                              paired_with=str(recordings[0])))
        elif p in pairs:
            tasks.append(Task(input=str(p), output="", kind="annotations",
                              paired_with=str(pairs[p])))
        else:
            tasks.append(Task(input=str(p), output="", kind="annotations",
                              refusal="annotation-only file (no data signals) and no recording "
                                      "among the inputs to pair it with; give it with "
                                      "--annotations next to its recording"))
    return tasks


def _parameters_for(task, params):
    """What an output's parameters are compared on: the settings and the source's identity."""
    from .. import __version__

    source = Path(task.input)
    stat = source.stat()
    ann = None
    if task.annotations:
        ann_stat = Path(task.annotations).stat()
        ann = {"name": Path(task.annotations).name, "size": ann_stat.st_size,
               "mtime_ns": ann_stat.st_mtime_ns}
    return {"settings": params.to_dict(), "version": __version__,
            "source": {"name": source.name, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns},
            "annotations": ann}


def _row(task, status, reason="", **values):
    row = {c: "" for c in INDEX_COLUMNS}
    row.update({"input": task.input, "output": task.output if status in ("done", "skipped")
                else "", "status": status, "reason": reason,
                "annotations": task.annotations or task.paired_with or ""})
    row.update({k: v for k, v in values.items() if k in row})
    return row


def run_task(task, params, *, overwrite=False, n_jobs=None, debug=False, progress=False):
    """Process one task; never raises for a bad input.

    Returns
    -------
    dict
        The task's row of the batch index (see :data:`INDEX_COLUMNS`); ``status`` is ``"done"``,
        ``"skipped"`` (an output with the same parameters exists), ``"paired"`` (an annotation
        file used by a recording) or ``"failed"`` (``reason`` says why; with ``debug`` the
        traceback is appended).
    """
    from ..io.store import BackgroundIdentity, file_identity, same_parameters, save_features

    t0 = time.perf_counter()
    if task.refusal:
        return _row(task, "failed", task.refusal)
    if task.kind == "annotations":
        return _row(task, "paired", f"annotations of {Path(task.paired_with).name}")
    try:
        parameters = _parameters_for(task, params)
        output = Path(task.output)
        if not overwrite and same_parameters(output, parameters):
            return _row(task, "skipped", "output exists with identical parameters")
        from .engine import compute_features

        _remove_stale_temporaries(output)
        # The source's SHA-256 is computed on a thread while the recording is processed; the
        # features stay NumPy arrays, written without importing xarray.
        with BackgroundIdentity(task.input) as source_identity:
            features = compute_features(task.input, params, annotations=task.annotations,
                                        n_jobs=n_jobs, progress=progress)
            provenance = {"source": source_identity.result(), "parameters": parameters}
        if task.annotations:
            provenance["annotations"] = file_identity(task.annotations)
        save_features(features, output, provenance=provenance, overwrite=True)
        sizes = features.sizes
        return _row(task, "done", n_windows=int(sizes.get("window", 0)),
                    n_channels=int(sizes.get("channel", 0)),
                    duration_s=f"{features.attrs['duration']:g}",
                    seconds=f"{time.perf_counter() - t0:.3f}")
    except PhysioAffectError as exc:
        reason = str(exc)
    except (MemoryError, KeyboardInterrupt):
        raise
    except Exception as exc:  # an unexpected failure of one file must not end the batch
        reason = f"unexpected error: {type(exc).__name__}: {exc}"
    if debug:
        reason += "\n" + traceback.format_exc()
    return _row(task, "failed", reason, seconds=f"{time.perf_counter() - t0:.3f}")


def _remove_stale_temporaries(output):
    """Delete what a killed earlier run left of this output (its temporary files)."""
    for stale in output.parent.glob(f".{output.name}.tmp-*"):
        try:
            stale.unlink()
        except FileNotFoundError:
            pass


def _write_index(rows, outdir):
    path = Path(outdir) / INDEX_NAME
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=INDEX_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: (v.splitlines()[0] if k == "reason" and isinstance(v, str) and v
                             else v) for k, v in row.items()})
    temporary = path.parent / f".{path.name}.tmp-{secrets.token_hex(8)}"
    try:
        temporary.write_text(buffer.getvalue(), encoding="utf-8")
        os.replace(temporary, path)
    finally:
        if temporary.exists():
            temporary.unlink()
    return path


def _threads_per_task(jobs):
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, (cpus or 1) // max(jobs, 1))


def run_batch(inputs, outdir, params=None, *, annotations=None, jobs=1, scheduler=None,
              overwrite=False, progress=False, debug=False, on_row=None, threads=None):
    """Preprocess a batch of recordings into one NetCDF file each plus ``index.csv``.

    Parameters
    ----------
    inputs : list of path-like or str
        Files, folders (searched recursively for .edf/.bdf/.gdf) and glob patterns.
    outdir : path-like
        Created if missing.
    params : PreprocessParams, optional
    annotations : path-like, optional
        Annotation file for the single recording of the batch.
    jobs : int, default=1
        Local worker processes (ignored with ``scheduler``).
    scheduler : str or dask.distributed.Client, optional
        Address of a Dask distributed scheduler (``"tcp://host:8786"``) or a Client: the tasks
        run on its workers, which must see ``outdir`` and the inputs at the same paths.
    overwrite : bool, default=False
        Recompute outputs that exist with identical parameters.
    progress : bool, default=False
        Progress bar over the batch (and over the chunks of a file when ``jobs == 1``).
    debug : bool, default=False
        Keep tracebacks in the reasons of failed files.
    on_row : callable, optional
        Called with each row as it completes.
    threads : int, optional
        Threads per task for the DE kernel; default: the cores divided among the ``jobs``
        processes (one per task on a Dask cluster).

    Returns
    -------
    rows : list of dict
        The batch index rows, in input order (also written to ``outdir/index.csv``).
    """
    if params is None:
        params = PreprocessParams()
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise InvalidParameterError(f"`jobs` must be a positive integer, got {jobs!r}")
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    tasks = plan_batch(inputs, outdir, annotations=annotations)
    if not tasks:
        raise InvalidParameterError("no input given")
    rows = [None] * len(tasks)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(tasks), unit="file", desc="preprocess")

    def done(i, row):
        rows[i] = row
        if bar is not None:
            bar.update(1)
        if on_row is not None:
            on_row(row)

    try:
        if scheduler is not None:
            _run_dask(tasks, params, scheduler, overwrite, debug, done)
        elif jobs == 1:
            for i, task in enumerate(tasks):
                done(i, run_task(task, params, overwrite=overwrite, debug=debug,
                                 progress=progress, n_jobs=threads))
        else:
            _run_processes(tasks, params, jobs, overwrite, debug, done, threads)
    finally:
        if bar is not None:
            bar.close()
    finished = [r for r in rows if r is not None]
    _write_index(finished, outdir)
    return finished


def _run_processes(tasks, params, jobs, overwrite, debug, done, threads=None):
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    threads = threads or _threads_per_task(jobs)
    context = multiprocessing.get_context("spawn")  # worker threads make fork unsafe
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        futures = {pool.submit(run_task, task, params, overwrite=overwrite, n_jobs=threads,
                               debug=debug): i for i, task in enumerate(tasks)}
        for future in as_completed(futures):
            done(futures[future], future.result())


def _run_dask(tasks, params, scheduler, overwrite, debug, done):
    try:
        from dask.distributed import Client, as_completed
    except ImportError:
        raise InvalidParameterError(
            "`--scheduler` needs dask.distributed: pip install 'physioaffect[dask]'") from None
    own = not isinstance(scheduler, Client)
    client = Client(scheduler, timeout="30s") if own else scheduler
    try:
        futures = [client.submit(run_task, task, params, overwrite=overwrite, n_jobs=1,
                                 debug=debug, pure=False, key=f"preprocess-{i}-{secrets.token_hex(4)}")
                   for i, task in enumerate(tasks)]
        index = {f.key: i for i, f in enumerate(futures)}
        for future in as_completed(futures):
            done(index[future.key], future.result())
    finally:
        if own:
            client.close()
