"""Save and load labelled features as NetCDF4, atomically, with their provenance.

Files are NetCDF4 written through the ``h5netcdf`` engine, so anyone can open them with
``xarray.open_dataset(path)`` without physioaffect installed.

File layout
-----------
A :class:`xarray.Dataset` is written as is. A :class:`xarray.DataArray` is written as the one data
variable of a Dataset, named after the DataArray; an unnamed DataArray, or one whose name is also
the name of one of its coordinates, is stored under ``"__xarray_dataarray_variable__"`` (xarray's
own convention, so ``xarray.open_dataarray`` reads it too) and its name, if any, kept in the
``physioaffect_name`` attribute. The global attribute ``physioaffect_object`` records which of the
two was saved, so that :func:`load_features` returns the same type.

Provenance
----------
:func:`save_features` adds these global attributes:

``physioaffect_version``
    Version of physioaffect that wrote the file.
``physioaffect_created``
    Creation time, ISO 8601 in UTC (e.g. ``"2026-01-31T12:00:00+00:00"``).
``provenance_<key>``
    One per entry of the ``provenance`` mapping, made netCDF-safe: str, int and float are kept;
    bool becomes int (0 or 1); None becomes the string ``"none"``; ``os.PathLike`` becomes str;
    a list, tuple or 1-D array of numbers (bools as ints) or of strings becomes an array (xarray
    reads an array of strings back as a list).
``provenance_<key>_json``
    A nested mapping (or a sequence that cannot be an array: mixed, nested, empty or holding None)
    is stored as canonical JSON (sorted keys, no spaces) under the key with ``_json`` appended.
    ``provenance["parameters"]`` is always stored this way, as ``provenance_parameters_json``,
    which :func:`same_parameters` compares.

Attribute names starting with ``physioaffect_`` or ``provenance_`` are reserved: those already on
the object being saved (from an earlier :func:`load_features`) are dropped and replaced.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import numbers
import os
import secrets
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from physioaffect.errors import InvalidParameterError, RecordingError

__all__ = ["save_features", "load_features", "file_identity", "same_parameters"]

ENGINE = "h5netcdf"
DATAARRAY_VARIABLE = "__xarray_dataarray_variable__"
VERSION_ATTR = "physioaffect_version"
CREATED_ATTR = "physioaffect_created"
OBJECT_ATTR = "physioaffect_object"
NAME_ATTR = "physioaffect_name"
PROVENANCE_PREFIX = "provenance_"
JSON_SUFFIX = "_json"
PARAMETERS_ATTR = PROVENANCE_PREFIX + "parameters" + JSON_SUFFIX
_RESERVED_PREFIXES = ("physioaffect_", PROVENANCE_PREFIX)
_INTERNAL_ATTRS = (OBJECT_ATTR, NAME_ATTR)
_HASH_CHUNK = 1 << 20


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=repr)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def canonical_json(value, *, what="provenance"):
    """Canonical JSON text of a value: sorted keys, no spaces, NumPy values as Python values.

    Parameters
    ----------
    value : object
        Mappings, sequences, str, numbers, bool, None, NumPy scalars and arrays, paths.
    what : str, default="provenance"
        Named in the error message.

    Returns
    -------
    str
        Two values give the same text exactly when they hold the same data. Tuples and lists give
        the same text; ``1`` and ``1.0`` do not.
    """
    try:
        return json.dumps(value, sort_keys=True, separators=(",", ":"), default=_json_default)
    except (TypeError, ValueError) as exc:
        raise InvalidParameterError(
            f"{what} must hold only JSON-serialisable values (str, numbers, bool, None, lists, "
            f"dicts with str keys, NumPy values, paths): {exc}"
        ) from exc


def _as_attr_array(value):
    # A 1-D array of numbers or strings, or None when the sequence cannot be one.
    items = list(value)
    if not items:
        return None
    if all(isinstance(v, (str, np.str_)) for v in items):
        # Variable-length strings: HDF5 cannot store NumPy's fixed-width unicode.
        return np.array([str(v) for v in items], dtype=object)
    if all(isinstance(v, (bool, np.bool_)) for v in items):
        return np.array([int(v) for v in items], dtype=np.int64)
    if all(isinstance(v, (numbers.Integral, np.integer)) and not isinstance(v, (bool, np.bool_))
           for v in items):
        return np.array(items, dtype=np.int64)
    if all(isinstance(v, (numbers.Real, np.floating, np.integer))
           and not isinstance(v, (bool, np.bool_)) for v in items):
        return np.array(items, dtype=np.float64)
    return None


def flatten_provenance(provenance):
    """netCDF-safe attributes from a provenance mapping.

    Parameters
    ----------
    provenance : mapping of str to object or None
        E.g. ``{"source": file_identity(path), "parameters": {...}}``.

    Returns
    -------
    dict
        ``{"provenance_<key>": value}`` and ``{"provenance_<key>_json": text}``, following the
        rules in the module docstring.

    Examples
    --------
    >>> flatten_provenance({"zero_phase": True, "notch": None, "bands": {"alpha": [8, 13]}})
    {'provenance_zero_phase': 1, 'provenance_notch': 'none', 'provenance_bands_json': '{"alpha":[8,13]}'}
    """
    if provenance is None:
        return {}
    if not isinstance(provenance, Mapping):
        raise InvalidParameterError(
            f"provenance must be a mapping of str to values or None, got "
            f"{type(provenance).__name__}"
        )
    attrs = {}
    for key, value in provenance.items():
        if not isinstance(key, str) or not key:
            raise InvalidParameterError(f"provenance keys must be non-empty str, got {key!r}")
        name = PROVENANCE_PREFIX + key
        if key == "parameters" or isinstance(value, Mapping):
            attrs[name + JSON_SUFFIX] = canonical_json(value, what=f"provenance[{key!r}]")
        elif value is None:
            attrs[name] = "none"
        elif isinstance(value, (bool, np.bool_)):
            attrs[name] = int(value)
        elif isinstance(value, (str, np.str_)):
            attrs[name] = str(value)
        elif isinstance(value, (numbers.Integral, np.integer)):
            attrs[name] = int(value)
        elif isinstance(value, (numbers.Real, np.floating)):
            attrs[name] = float(value)
        elif isinstance(value, os.PathLike):
            attrs[name] = os.fspath(value)
        elif isinstance(value, (list, tuple, np.ndarray)):
            array = _as_attr_array(value) if np.ndim(value) == 1 else None
            if array is None:
                attrs[name + JSON_SUFFIX] = canonical_json(value, what=f"provenance[{key!r}]")
            else:
                attrs[name] = array
        else:
            raise InvalidParameterError(
                f"provenance[{key!r}] has type {type(value).__name__}; expected str, int, float, "
                f"bool, None, a path, a sequence or a mapping"
            )
    return attrs


def _strip_reserved(attrs):
    return {k: v for k, v in attrs.items() if not str(k).startswith(_RESERVED_PREFIXES)}


def _to_dataset(obj):
    # A Dataset ready to write, sharing data with obj but never its attrs dicts.
    import xarray as xr

    if isinstance(obj, xr.Dataset):
        ds = obj.copy(deep=False)
        ds.attrs = _strip_reserved(obj.attrs)
        ds.attrs[OBJECT_ATTR] = "Dataset"
        return ds
    if isinstance(obj, xr.DataArray):
        name = obj.name
        if name is not None and not isinstance(name, str):
            raise InvalidParameterError(
                f"a DataArray to save must have a str name or None, got {name!r}"
            )
        da = obj.copy(deep=False)
        da.attrs = _strip_reserved(obj.attrs)
        variable = name if name is not None and name not in obj.coords else DATAARRAY_VARIABLE
        ds = da.to_dataset(name=variable, promote_attrs=False)
        ds.attrs = {OBJECT_ATTR: "DataArray"}
        if name is not None and variable != name:
            ds.attrs[NAME_ATTR] = name
        return ds
    raise InvalidParameterError(
        f"obj must be an xarray.DataArray or xarray.Dataset, got {type(obj).__name__}"
    )


def _write_netcdf(ds, path):
    ds.to_netcdf(path, engine=ENGINE)


def _fsync_file(path):
    with open(path, "rb+") as file:
        os.fsync(file.fileno())


def _fsync_directory(directory):
    # Makes the rename durable on POSIX; not possible (nor needed) everywhere.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def save_features(obj, path, *, provenance=None, overwrite=False):
    """Write a DataArray or Dataset to NetCDF4, atomically, with provenance attributes.

    The data go to a temporary file beside ``path`` (``.<name>.tmp-<random>``), which is flushed
    to disk and then renamed onto ``path``: readers never see a partial file, and when writing
    fails the temporary file is removed and ``path`` is left as it was.

    Parameters
    ----------
    obj : xarray.DataArray or xarray.Dataset
        What to save. It is not modified.
    path : str or os.PathLike
        Output file, conventionally ``*.nc``. Its directory must exist.
    provenance : mapping of str to object or None, default=None
        Where the data come from and how they were computed, e.g.
        ``{"source": file_identity(edf_path), "parameters": {"sfreq": 128.0, ...}}``. Stored as
        ``provenance_*`` global attributes, flattened as the module docstring describes.
    overwrite : bool, default=False
        Whether to replace an existing file at ``path``.

    Returns
    -------
    pathlib.Path
        The written file.

    Raises
    ------
    RecordingError
        ``path`` exists and ``overwrite`` is False, its directory does not exist, or writing
        failed (the message names the file and the cause).
    InvalidParameterError
        ``obj`` is not a DataArray or Dataset, or ``provenance`` holds a value that cannot be
        stored.

    See Also
    --------
    load_features, file_identity, same_parameters
    """
    import physioaffect

    path = Path(path)
    directory = path.parent
    if not directory.is_dir():
        raise RecordingError(f"{path}: cannot save, the directory {directory} does not exist")
    if path.exists() and not overwrite:
        raise RecordingError(f"{path}: the file exists; pass overwrite=True to replace it")
    ds = _to_dataset(obj)
    ds.attrs[VERSION_ATTR] = physioaffect.__version__
    ds.attrs[CREATED_ATTR] = datetime.datetime.now(datetime.timezone.utc).isoformat(
        timespec="seconds"
    )
    ds.attrs.update(flatten_provenance(provenance))

    temporary = directory / f".{path.name}.tmp-{secrets.token_hex(8)}"
    try:
        _write_netcdf(ds, temporary)
        _fsync_file(temporary)
        if overwrite:
            os.replace(temporary, path)
        else:
            _link_exclusive(temporary, path)
    except BaseException as exc:
        try:
            temporary.unlink()
        except FileNotFoundError:
            pass
        if isinstance(exc, RecordingError) or not isinstance(exc, Exception):
            raise
        raise RecordingError(f"{path}: could not write the file ({type(exc).__name__}: {exc})") \
            from exc
    _fsync_directory(directory)
    return path


def _link_exclusive(temporary, path):
    # Renames temporary onto path only if path does not exist, even if it appeared meanwhile.
    try:
        os.link(temporary, path)
    except FileExistsError:
        raise RecordingError(
            f"{path}: the file exists; pass overwrite=True to replace it"
        ) from None
    except OSError:
        # File systems without hard links: check, then rename.
        if path.exists():
            raise RecordingError(
                f"{path}: the file exists; pass overwrite=True to replace it"
            ) from None
        os.replace(temporary, path)
        return
    temporary.unlink()


def load_features(path):
    """Read a file written by :func:`save_features`, fully into memory.

    Parameters
    ----------
    path : str or os.PathLike
        A NetCDF4 file.

    Returns
    -------
    xarray.DataArray or xarray.Dataset
        A DataArray if one was saved (its name restored, its attributes followed by the file's
        provenance attributes), otherwise a Dataset with the provenance among its attributes.
        Files not written by physioaffect are returned as a Dataset. The file is closed.

    Raises
    ------
    RecordingError
        The file is missing or is not readable NetCDF.

    See Also
    --------
    save_features
    """
    import xarray as xr

    path = Path(path)
    if not path.is_file():
        raise RecordingError(f"{path}: no such file; expected a NetCDF file from save_features")
    try:
        with xr.open_dataset(path, engine=ENGINE) as opened:
            ds = opened.load()
    except Exception as exc:
        raise RecordingError(
            f"{path}: cannot read it as NetCDF4 ({type(exc).__name__}: {exc})"
        ) from exc
    kind = ds.attrs.get(OBJECT_ATTR)
    global_attrs = {k: v for k, v in ds.attrs.items() if k not in _INTERNAL_ATTRS}
    if kind != "DataArray":
        ds.attrs = global_attrs
        return ds
    if len(ds.data_vars) != 1:
        raise RecordingError(
            f"{path}: marked as a saved DataArray but holds {len(ds.data_vars)} data variables; "
            f"expected 1"
        )
    (variable,) = ds.data_vars
    da = ds[variable]
    if variable == DATAARRAY_VARIABLE:
        da.name = ds.attrs.get(NAME_ATTR)
    da.attrs = {**da.attrs, **global_attrs}
    return da


def file_identity(path):
    """Name, size, modification time and SHA-256 of a file, for provenance and cache keys.

    Parameters
    ----------
    path : str or os.PathLike
        Any regular file; it is read in chunks, never whole into memory.

    Returns
    -------
    dict
        ``{"name": str, "size": int (bytes), "mtime": str (ISO 8601, UTC),
        "sha256": str (hex digest)}``.

    Raises
    ------
    RecordingError
        The file is missing, not a regular file, or unreadable.
    """
    path = Path(path)
    if not path.is_file():
        raise RecordingError(f"{path}: no such file; expected a regular file to identify")
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as file:
            stat = os.fstat(file.fileno())
            for chunk in iter(lambda: file.read(_HASH_CHUNK), b""):
                digest.update(chunk)
    except OSError as exc:
        raise RecordingError(f"{path}: cannot read the file: {exc}") from exc
    mtime = datetime.datetime.fromtimestamp(stat.st_mtime, tz=datetime.timezone.utc)
    return {
        "name": path.name,
        "size": int(stat.st_size),
        "mtime": mtime.isoformat(timespec="microseconds"),
        "sha256": digest.hexdigest(),
    }


def same_parameters(path, params):
    """Whether an existing output was written with these parameters.

    For resumable batches: skip an output whose parameters match, recompute it otherwise.

    Parameters
    ----------
    path : str or os.PathLike
        An output of :func:`save_features`; it may not exist.
    params : mapping
        The parameters, as passed in ``provenance["parameters"]`` when saving.

    Returns
    -------
    bool
        True when ``path`` exists and its ``provenance_parameters_json`` attribute equals the
        canonical JSON of ``params``; False when the file is missing, has no such attribute, or
        differs.

    Raises
    ------
    RecordingError
        ``path`` exists but is not readable NetCDF.
    InvalidParameterError
        ``params`` is not a mapping or holds values JSON cannot hold.
    """
    import h5netcdf

    if not isinstance(params, Mapping):
        raise InvalidParameterError(f"params must be a mapping, got {type(params).__name__}")
    expected = canonical_json(params, what="params")
    path = Path(path)
    if not path.exists():
        return False
    try:
        with h5netcdf.File(path, "r") as file:
            stored = file.attrs.get(PARAMETERS_ATTR)
    except Exception as exc:
        raise RecordingError(
            f"{path}: cannot read it as NetCDF4 ({type(exc).__name__}: {exc})"
        ) from exc
    if isinstance(stored, bytes):
        stored = stored.decode("utf-8")
    return stored == expected
