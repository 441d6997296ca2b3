"""Cache of loaded datasets under an explicit folder, keyed by the sources and every parameter.

A cache entry is one NetCDF file written by :func:`physioaffect.io.store.save_features` (atomically:
a reader never sees a partial file). Its name holds the SHA-256 of the canonical JSON of

* the loader's name,
* the identity of every source file read: name, size in bytes, modification time in nanoseconds and
  the SHA-256 of its first :data:`HEADER_BYTES` bytes (:func:`source_identity`),
* every parameter of the call that changes the result,
* ``physioaffect.__version__``,

so that a changed file, a changed parameter or a new version of the package never reuses a stale
entry: it gives another key, hence another file. There is no default folder: ``cache_dir=None``
means no caching.
"""

from __future__ import annotations

import hashlib
import os
import warnings
from pathlib import Path

from physioaffect.errors import InvalidParameterError, RecordingError

__all__ = ["HEADER_BYTES", "source_identity", "cache_key", "cache_path", "cached"]

#: Bytes at the start of each source file that are hashed into its identity.
HEADER_BYTES = 1 << 16


def source_identity(path):
    """Identity of a source file: name, size, modification time and hash of its header.

    Parameters
    ----------
    path : str or os.PathLike
        A regular file.

    Returns
    -------
    dict
        ``{"name": str, "size": int (bytes), "mtime_ns": int, "header_sha256": str}``; the hash
        covers the first :data:`HEADER_BYTES` bytes, so identifying a large file stays cheap.

    Raises
    ------
    RecordingError
        The file is missing or unreadable.
    """
    path = Path(path)
    try:
        with open(path, "rb") as file:
            stat = os.fstat(file.fileno())
            head = file.read(HEADER_BYTES)
    except OSError as exc:
        raise RecordingError(f"{path}: cannot read the file to identify it: {exc}") from exc
    return {
        "name": path.name,
        "size": int(stat.st_size),
        "mtime_ns": int(stat.st_mtime_ns),
        "header_sha256": hashlib.sha256(head).hexdigest(),
    }


def cache_key(loader, sources, params):
    """SHA-256 hex digest naming one cache entry.

    Parameters
    ----------
    loader : str
        Name of the loader or preset, e.g. ``"deap"``.
    sources : sequence of path-like
        The files the result is read from.
    params : mapping
        Every parameter that changes the result (JSON-serialisable values).

    Returns
    -------
    str
        64 hex characters; equal for equal inputs, different when a source file, a parameter or
        the package version differs.
    """
    import physioaffect
    from physioaffect.io.store import canonical_json

    payload = {
        "loader": str(loader),
        "sources": [source_identity(p) for p in sources],
        "params": dict(params),
        "version": physioaffect.__version__,
    }
    text = canonical_json(payload, what=f"parameters of {loader}")
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def cache_path(cache_dir, loader, key):
    """The file of one entry: ``cache_dir / f"{loader}-{key}.nc"``."""
    return Path(cache_dir) / f"{loader}-{key}.nc"


def _check_cache_dir(cache_dir):
    if isinstance(cache_dir, bool) or not isinstance(cache_dir, (str, os.PathLike)):
        raise InvalidParameterError(
            f"`cache_dir` must be a folder path or None (no caching), got {cache_dir!r}")
    path = Path(cache_dir)
    if path.exists() and not path.is_dir():
        raise InvalidParameterError(f"`cache_dir` {path} exists and is not a folder")
    path.mkdir(parents=True, exist_ok=True)
    return path


def cached(loader, sources, params, cache_dir, build):
    """Return the cached result for these sources and parameters, or build and cache it.

    Parameters
    ----------
    loader : str
        Name of the loader, part of the key and of the file name.
    sources : sequence of path-like
        The files ``build`` reads.
    params : mapping
        Every parameter that changes the result.
    cache_dir : path-like or None
        Folder of the cache (created if missing); None calls ``build`` and caches nothing.
    build : callable
        ``build() -> xarray.DataArray or xarray.Dataset``.

    Returns
    -------
    xarray.DataArray or xarray.Dataset
        Built or read back from the cache; ``attrs["cache_file"]`` names the entry when
        ``cache_dir`` is given. An unreadable entry is rebuilt with a warning.
    """
    if cache_dir is None:
        return build()
    from physioaffect.io.store import load_features, save_features

    folder = _check_cache_dir(cache_dir)
    key = cache_key(loader, sources, params)
    path = cache_path(folder, loader, key)
    if path.is_file():
        try:
            result = load_features(path)
        except RecordingError as exc:
            warnings.warn(f"{path}: unreadable cache entry, rebuilding it ({exc})",
                          RuntimeWarning, stacklevel=3)
        else:
            result.attrs["cache_file"] = str(path)
            return result
    result = build()
    provenance = {
        "loader": str(loader),
        "cache_key": key,
        "sources": {"files": [source_identity(p) for p in sources]},
        "parameters": dict(params),
    }
    save_features(result, path, provenance=provenance, overwrite=True)
    result.attrs["cache_file"] = str(path)
    return result
