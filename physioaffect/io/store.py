"""Save and load labelled features as NetCDF4, atomically, with their provenance.

Files are NetCDF4 written through the ``h5netcdf`` engine, so anyone can open them with
``xarray.open_dataset(path)`` without physioaffect installed.

Besides xarray objects, :func:`save_features` takes a :class:`FeatureArrays` (named NumPy arrays
with dims and attributes, as ``physioaffect preprocess`` computes them) and writes it with
h5netcdf directly, in the layout xarray gives the equal Dataset, without importing xarray.

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
import threading
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from physioaffect.errors import InvalidParameterError, RecordingError

__all__ = ["FeatureArrays", "save_features", "load_features", "file_identity", "same_parameters",
           "BackgroundIdentity"]

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


class FeatureArrays:
    """A Dataset's variables as NumPy arrays, which :func:`save_features` writes without xarray.

    The file is the one xarray writes for the equal :class:`xarray.Dataset` (:meth:`to_xarray`)
    with ``to_netcdf(engine="h5netcdf")``: the same variables in the same order, NaN
    ``_FillValue`` on floating-point variables, strings as variable-length UTF-8, CF
    ``coordinates`` attributes. Only h5netcdf is imported: xarray, and the pandas and (where it is
    installed) dask that xarray imports, take about a second to import, which a command-line run
    writing one file need not pay. Variables that this direct writer does not cover (dtypes other
    than float, int and str; names or attributes that xarray's CF encoding treats specially) are
    written through xarray instead, so the file is the same either way.

    Parameters
    ----------
    data_vars : mapping of str to tuple
        Name -> ``(dims, values)`` or ``(dims, values, attrs)``, as :class:`xarray.Dataset`
        takes them; ``dims`` is a str or a tuple of str.
    coords : mapping of str to array_like or tuple, optional
        Name -> the values of a dimension coordinate (1-D, named after its dimension), or
        ``(dims, values)`` or ``(dims, values, attrs)``.
    attrs : mapping, optional
        Global attributes.

    Attributes
    ----------
    data_vars, coords : dict of str to tuple
        Name -> ``(dims, values, attrs)``: a tuple of str, a :class:`numpy.ndarray` and a dict.
    attrs : dict
        Global attributes.

    Raises
    ------
    InvalidParameterError
        A variable's dims do not match its values, or two variables give a dimension different
        lengths.

    Examples
    --------
    >>> import numpy as np
    >>> fa = FeatureArrays({"de": (("window", "band"), np.zeros((3, 2)), {"units": "nats"})},
    ...                    coords={"band": ["alpha", "beta"], "onset": ("window", [0., 1., 2.])})
    >>> fa.sizes
    {'window': 3, 'band': 2}
    >>> fa.isel("window", [0, 2]).sizes["window"]
    2
    """

    def __init__(self, data_vars, coords=None, attrs=None):
        self.data_vars = {name: self._entry(name, value, False)
                          for name, value in dict(data_vars).items()}
        self.coords = {name: self._entry(name, value, True)
                       for name, value in dict(coords or {}).items()}
        self.attrs = dict(attrs or {})
        self._sizes()  # the dimensions must agree

    @staticmethod
    def _entry(name, value, is_coord):
        if isinstance(value, tuple):
            if len(value) not in (2, 3):
                raise InvalidParameterError(
                    f"variable {name!r}: expected (dims, values) or (dims, values, attrs), got a "
                    f"tuple of {len(value)}")
            dims, values = value[0], value[1]
            attrs = dict(value[2]) if len(value) == 3 and value[2] is not None else {}
        elif is_coord:
            dims, values, attrs = (name,), value, {}
        else:
            raise InvalidParameterError(
                f"variable {name!r}: expected (dims, values) or (dims, values, attrs), got "
                f"{type(value).__name__}")
        dims = (dims,) if isinstance(dims, str) else tuple(dims)
        values = np.asarray(values)
        if values.ndim != len(dims):
            raise InvalidParameterError(
                f"variable {name!r}: {len(dims)} dims {dims} for values of shape {values.shape}")
        return dims, values, attrs

    def _variables(self):
        # Data variables first, then coordinates: the order of xarray.Dataset(data_vars, coords).
        return [(name, *entry) for name, entry in self.data_vars.items()] + \
            [(name, *entry) for name, entry in self.coords.items()]

    @property
    def sizes(self):
        """dict of str to int: the length of each dimension, in order of first use."""
        return self._sizes()

    def _sizes(self):
        sizes = {}
        for name, dims, values, _ in self._variables():
            for dim, n in zip(dims, values.shape, strict=True):
                if sizes.setdefault(dim, n) != n:
                    raise InvalidParameterError(
                        f"variable {name!r} gives dimension {dim!r} length {n}, another variable "
                        f"gives it length {sizes[dim]}")
        return sizes

    def isel(self, dim, indices):
        """The same arrays with only ``indices`` along ``dim`` (as ``Dataset.isel``).

        Parameters
        ----------
        dim : str
        indices : array_like of int

        Returns
        -------
        FeatureArrays
            A new object; the attribute dicts are copied, arrays without ``dim`` shared.
        """
        indices = np.asarray(indices, dtype=np.intp)

        def take(entries):
            return {name: (dims, np.take(values, indices, axis=dims.index(dim))
                           if dim in dims else values, dict(attrs))
                    for name, (dims, values, attrs) in entries.items()}

        return FeatureArrays(take(self.data_vars), take(self.coords), self.attrs)

    def to_xarray(self):
        """The equal :class:`xarray.Dataset` (its arrays are shared, its attribute dicts copied).

        Returns
        -------
        xarray.Dataset
        """
        import xarray as xr

        return xr.Dataset(
            {name: (dims, values, dict(attrs))
             for name, (dims, values, attrs) in self.data_vars.items()},
            coords={name: (dims, values, dict(attrs))
                    for name, (dims, values, attrs) in self.coords.items()},
            attrs=dict(self.attrs))

    def __repr__(self):
        return (f"<FeatureArrays {self.sizes}: data {list(self.data_vars)}, "
                f"coords {list(self.coords)}>")


# Attributes that xarray's CF encoding reads or writes itself: FeatureArrays holding them are
# written through xarray.
_CF_ATTRS = frozenset({
    "coordinates", "_FillValue", "missing_value", "scale_factor", "add_offset", "_Unsigned",
    "_Encoding", "dtype", "calendar", "bounds", "grid_mapping", "cell_measures", "climatology",
    "formula_terms", "geometry", "node_coordinates", "node_count", "part_node_count",
    "interior_ring", "ancillary_variables", "cell_methods"})
_ATTR_TYPES = (str, numbers.Number, np.ndarray, np.number, list, tuple)


def _plain_attrs(attrs):
    # Attributes xarray writes as they are (it refuses or re-encodes anything else).
    return all(isinstance(k, str) and k and k not in _CF_ATTRS
               and isinstance(v, _ATTR_TYPES) and not isinstance(v, (bool, np.bool_))
               for k, v in attrs.items())


def _direct_writable(arrays):
    """Whether :func:`_write_arrays` writes ``arrays`` as xarray would."""
    sizes = arrays.sizes
    if set(arrays.data_vars) & set(arrays.coords) or set(arrays.data_vars) & set(sizes):
        return False
    for name, dims, values, attrs in arrays._variables():
        if not isinstance(name, str) or not name or "/" in name or " " in name:
            return False
        if name in sizes and dims != (name,):
            return False
        if values.dtype.kind not in "fiuU" or not _plain_attrs(attrs):
            return False
    return _plain_attrs(arrays.attrs)


def _write_arrays(arrays, path):
    """Write a :class:`FeatureArrays` with h5netcdf, in the layout of xarray's ``to_netcdf``.

    xarray's steps for a Dataset of NumPy arrays, in its order: the global attributes (and a
    global ``coordinates`` attribute naming coordinates no variable lists), the dimensions in
    order of first use, then each variable (data variables first) created with its dtype (str as
    variable-length UTF-8) and a NaN fill value if floating-point, its attributes, a
    ``coordinates`` attribute listing the non-dimension coordinates whose dims it spans, and its
    values.
    """
    import h5netcdf
    import h5py

    variables = arrays._variables()
    sizes = arrays.sizes
    non_dim = {name for name in arrays.coords if name not in sizes}
    listed = {}
    for coord in non_dim:
        target = set(arrays.coords[coord][0])
        for name, dims, _, _ in variables:
            if name not in non_dim and name not in dims and target <= set(dims):
                listed.setdefault(name, set()).add(coord)
    attrs = dict(arrays.attrs)
    unlisted = non_dim.difference(*listed.values())
    if unlisted:
        attrs["coordinates"] = " ".join(sorted(unlisted))
    with h5netcdf.File(path, "w", invalid_netcdf=None, decode_vlen_strings=True) as file:
        for key, value in attrs.items():
            file.attrs[key] = value
        for dim, n in sizes.items():
            file.dimensions[dim] = n
        for name, dims, values, var_attrs in variables:
            if values.dtype.kind == "U":
                dtype, fill = h5py.special_dtype(vlen=str), None
            else:
                dtype = values.dtype
                fill = dtype.type(np.nan) if dtype.kind == "f" else None
            variable = file.create_variable(name, dimensions=dims, dtype=dtype, fillvalue=fill,
                                            chunks=None)
            for key, value in var_attrs.items():
                variable.attrs[key] = value
            if name in listed:
                variable.attrs["coordinates"] = " ".join(sorted(listed[name]))
            variable[...] = values


def _to_dataset(obj):
    # A Dataset ready to write, sharing data with obj but never its attrs dicts.
    if isinstance(obj, FeatureArrays):
        attrs = _strip_reserved(obj.attrs)
        attrs[OBJECT_ATTR] = "Dataset"
        return FeatureArrays(obj.data_vars, obj.coords, attrs)

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
        f"obj must be an xarray.DataArray or xarray.Dataset (or a FeatureArrays), got "
        f"{type(obj).__name__}"
    )


def _write_netcdf(ds, path):
    if isinstance(ds, FeatureArrays):
        if _direct_writable(ds):
            _write_arrays(ds, path)
            return
        ds = ds.to_xarray()
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
    """Write a DataArray, Dataset or FeatureArrays to NetCDF4, atomically, with provenance.

    The data go to a temporary file beside ``path`` (``.<name>.tmp-<random>``), which is flushed
    to disk and then renamed onto ``path``: readers never see a partial file, and when writing
    fails the temporary file is removed and ``path`` is left as it was.

    Parameters
    ----------
    obj : xarray.DataArray, xarray.Dataset or FeatureArrays
        What to save. It is not modified. A :class:`FeatureArrays` gives the file of the equal
        Dataset, written without importing xarray.
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
        ``obj`` is not a DataArray, Dataset or FeatureArrays, or ``provenance`` holds a value
        that cannot be stored.

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
    return _identity(Path(path))


def _identity(path, stop=None):
    # file_identity; None if the event ``stop`` is set before the whole file is read.
    if not path.is_file():
        raise RecordingError(f"{path}: no such file; expected a regular file to identify")
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as file:
            stat = os.fstat(file.fileno())
            for chunk in iter(lambda: file.read(_HASH_CHUNK), b""):
                if stop is not None and stop.is_set():
                    return None
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


class BackgroundIdentity:
    """:func:`file_identity` of a file, computed on a thread while the caller does other work.

    Reading the file and SHA-256 release the GIL, so the hash of a recording costs no time where
    a second core is free: ``physioaffect preprocess`` hashes the source while it reads and
    filters it. The result is the same dict as :func:`file_identity` gives.

    Parameters
    ----------
    path : str or os.PathLike
        Any regular file.

    Examples
    --------
    >>> with BackgroundIdentity("night.edf") as identity:  # doctest: +SKIP
    ...     features = compute(...)
    ...     provenance = {"source": identity.result()}
    """

    def __init__(self, path):
        self.path = Path(path)
        self._stop = threading.Event()
        self._value = None
        self._error = None
        self._thread = threading.Thread(target=self._run, name=f"sha256 {self.path.name}",
                                        daemon=True)
        self._thread.start()

    def _run(self):
        try:
            self._value = _identity(self.path, self._stop)
        except BaseException as exc:  # handed to the caller by result()
            self._error = exc

    def result(self):
        """Wait for the hash and return :func:`file_identity`'s dict.

        Returns
        -------
        dict
            ``{"name", "size", "mtime", "sha256"}``.

        Raises
        ------
        RecordingError
            As :func:`file_identity`.
        RuntimeError
            :meth:`cancel` was called first.
        """
        self._thread.join()
        if self._error is not None:
            raise self._error
        if self._value is None:
            raise RuntimeError(f"{self.path}: hashing was cancelled")
        return self._value

    def cancel(self):
        """Stop hashing (within one 1-MiB read) and wait for the thread; no-op once finished."""
        self._stop.set()
        self._thread.join()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.cancel()
        return False


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
