"""Shared pieces of the dataset loaders: file checks, MATLAB struct access, padding, labels."""

from __future__ import annotations

import numbers
from pathlib import Path

import numpy as np

from physioaffect.errors import InvalidParameterError, RecordingError


def existing_folder(path, dataset, expected):
    """``path`` as a Path to an existing folder, or raise naming what was expected there."""
    if isinstance(path, bool) or path is None:
        raise InvalidParameterError(f"`path` must be the {dataset} folder, got {path!r}")
    path = Path(path)
    if not path.is_dir():
        raise RecordingError(f"{path}: no such folder; expected the {dataset} folder holding "
                             f"{expected}")
    return path


def existing_file(path, dataset, expected):
    path = Path(path)
    if not path.is_file():
        raise RecordingError(f"{path}: no such file; expected {expected} of {dataset}")
    return path


def subject_numbers(subjects, dataset):
    """A sorted tuple of distinct positive subject numbers, or None."""
    if subjects is None:
        return None
    if isinstance(subjects, (numbers.Integral, str)):
        subjects = [subjects]
    out = []
    for s in subjects:
        if isinstance(s, str) and s.strip().lstrip("sS").isdigit():
            s = int(s.strip().lstrip("sS"))
        if isinstance(s, bool) or not isinstance(s, numbers.Integral) or s < 1:
            raise InvalidParameterError(
                f"`subjects` of {dataset} must be subject numbers >= 1, got {s!r}")
        out.append(int(s))
    if not out:
        raise InvalidParameterError(f"`subjects` of {dataset} is empty; pass None for all")
    return tuple(sorted(set(out)))


def load_mat(path, dataset):
    """Read a MATLAB v5 file with scipy, keeping MATLAB's 2-D shapes (no squeezing)."""
    from scipy import io as sio

    try:
        return sio.loadmat(path, squeeze_me=False, struct_as_record=True,
                           verify_compressed_data_integrity=False)
    except NotImplementedError as exc:  # MATLAB v7.3 (HDF5)
        raise RecordingError(f"{path}: a MATLAB v7.3 file; {dataset} is distributed as MATLAB "
                             f"v5 files, which scipy.io.loadmat reads ({exc})") from exc
    except Exception as exc:
        raise RecordingError(f"{path}: cannot read it as a MATLAB file "
                             f"({type(exc).__name__}: {exc})") from exc


def unbox(value):
    """Strip MATLAB's 1x1 wrappers: a 1x1 cell or struct array becomes its only element."""
    while isinstance(value, np.ndarray) and value.dtype == object and value.size == 1:
        value = value.reshape(-1)[0]
    if isinstance(value, np.ndarray) and value.dtype.names is not None and value.size == 1:
        value = value.reshape(-1)[0]
    return value


def field(struct, name, path, where):
    """Field ``name`` of a MATLAB struct (a 1x1 struct array or a record), as stored.

    The value is not unboxed, so that a 1x1 cell stays a cell; raise a RecordingError naming the
    file and the place when ``struct`` is no struct or lacks the field.
    """
    struct = unbox(struct)
    names = getattr(getattr(struct, "dtype", None), "names", None)
    if names is None:
        raise RecordingError(f"{path}: {where} is not a MATLAB struct (got "
                             f"{type(struct).__name__}); expected a struct with field {name!r}")
    if name not in names:
        raise RecordingError(f"{path}: {where} has no field {name!r}; its fields are "
                             f"{list(names)}")
    return struct[name]


def cell_items(cell, path, where, count=None):
    """Elements of a MATLAB cell array (any 2-D orientation), in MATLAB's linear order."""
    if not (isinstance(cell, np.ndarray) and cell.dtype == object):
        raise RecordingError(f"{path}: {where} is not a cell array (got "
                             f"{type(cell).__name__}); expected a cell of {count or 'n'} items")
    items = list(cell.reshape(-1, order="F"))
    if count is not None and len(items) != count:
        raise RecordingError(f"{path}: {where} holds {len(items)} items, expected {count}")
    return items


def matrix(value, path, where, *, ndim=2, columns=None):
    """A real numeric array of ``ndim`` dims (and ``columns`` columns), as float64."""
    value = unbox(value)
    arr = np.asarray(value)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number)
                                   or arr.dtype == np.bool_):
        raise RecordingError(f"{path}: {where} is not a numeric array (dtype {arr.dtype})")
    if arr.ndim != ndim or (columns is not None and arr.shape[-1] != columns):
        shape = f"(n_times, {columns})" if columns is not None else f"{ndim} dims"
        raise RecordingError(f"{path}: {where} has shape {arr.shape}, expected {shape}")
    return arr.astype(np.float64, copy=False)


def scalar(value, path, where):
    arr = np.asarray(unbox(value))
    if arr.size != 1 or not np.issubdtype(arr.dtype, np.number):
        raise RecordingError(f"{path}: {where} must be one number, got {arr!r}")
    return float(arr.reshape(-1)[0])


def pad_stack(arrays, fill=np.nan, dtype=np.float64):
    """Stack (..., n_i) arrays into (k, ..., max n_i), right-padded with ``fill``; and the n_i."""
    lengths = np.array([a.shape[-1] for a in arrays], dtype=np.int64)
    longest = int(lengths.max()) if len(lengths) else 0
    out = np.full((len(arrays), *arrays[0].shape[:-1], longest), fill, dtype=dtype)
    for i, a in enumerate(arrays):
        out[i, ..., :a.shape[-1]] = a
    return out, lengths


def time_coord(n_times, sfreq, start=0.0):
    """Seconds of each sample: ``start + arange(n_times) / sfreq``."""
    return start + np.arange(n_times, dtype=np.float64) / float(sfreq)


def check_target(target, dataset, ratings):
    if target not in ratings:
        raise InvalidParameterError(
            f"`target` for {dataset} must be one of {list(ratings)}, got {target!r}")
    return target
