"""Load the pickles of DEAP and WESAD without running code from the file.

A pickle names the functions and classes it needs to rebuild its objects, and :func:`pickle.load`
imports and calls whatever it names: a crafted file can run ``os.system``. :func:`safe_load` reads
with an unpickler that admits only the names listed in :data:`DEFAULT_ALLOWED` (what NumPy needs to
rebuild arrays, dtypes and scalars, and a few builtin containers) and refuses every other name with
:class:`UnsafePickleError` before importing it.

The pickles these loaders are written for:

* DEAP ``data_preprocessed_python/sXX.dat``: a dict ``{"data": array (40, 40, 8064),
  "labels": (40, 4)}`` saved by Python 2 NumPy, so it needs ``encoding="latin1"`` (the default);
* WESAD ``SX/SX.pkl``: a dict ``{"signal": {"chest": {...}, "wrist": {...}}, "label": array,
  "subject": "SX"}`` of arrays and strings, also saved by Python 2.
"""

from __future__ import annotations

import _compat_pickle
import codecs
import importlib
import os
import pickle
import warnings

from physioaffect.errors import InvalidParameterError, RecordingError

__all__ = ["safe_load", "UnsafePickleError", "DEFAULT_ALLOWED"]

#: Names (``"module.name"``) that :func:`safe_load` admits by default. ``numpy.core`` and
#: ``numpy._core`` are listed both: NumPy 1 writes the first, NumPy 2 the second, and either is
#: resolved on the NumPy installed.
DEFAULT_ALLOWED = frozenset(
    {
        # Array, dtype and scalar reconstruction, as written by NumPy 1 (Python 2 or 3) and NumPy 2.
        "numpy.ndarray",
        "numpy.dtype",
        "numpy.core.multiarray._reconstruct",
        "numpy.core.multiarray.scalar",
        "numpy.core.numeric._frombuffer",
        "numpy._core.multiarray._reconstruct",
        "numpy._core.multiarray.scalar",
        "numpy._core.numeric._frombuffer",
        # Builtin containers and values that protocols 0 to 2 rebuild by calling the type.
        "builtins.set",
        "builtins.frozenset",
        "builtins.complex",
        "builtins.bytearray",
        # Protocols 0 to 2 written by Python 3 store bytes as _codecs.encode(str, "latin1");
        # only that encoding is admitted (see _latin1_encode).
        "_codecs.encode",
    }
)


class UnsafePickleError(RecordingError):
    """A pickle names a function or class that :func:`safe_load` does not admit."""


def _latin1_encode(obj, encoding="utf-8", errors="strict"):
    # Stands in for _codecs.encode: any other codec (zlib, bz2, ...) is refused.
    if not isinstance(obj, str) or codecs.lookup(encoding).name != "iso8859-1":
        raise pickle.UnpicklingError(
            f"_codecs.encode is admitted only for str with encoding 'latin1', got "
            f"{type(obj).__name__} with encoding {encoding!r}"
        )
    return obj.encode("latin1", errors)


def _normalise(module, name):
    # The Python 2 names that Python 3 maps on read (__builtin__ -> builtins, copy_reg -> copyreg).
    if (module, name) in _compat_pickle.NAME_MAPPING:
        return _compat_pickle.NAME_MAPPING[(module, name)]
    return _compat_pickle.IMPORT_MAPPING.get(module, module), name


def _resolve(module, name):
    if (module, name) == ("_codecs", "encode"):
        return _latin1_encode
    candidates = [module]
    # numpy.core became numpy._core in NumPy 2; try the installed spelling first.
    if module.startswith("numpy.core."):
        candidates.insert(0, "numpy._core." + module[len("numpy.core."):])
    elif module.startswith("numpy._core."):
        candidates.append("numpy.core." + module[len("numpy._core."):])
    for candidate in candidates:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                return getattr(importlib.import_module(candidate), name)
        except (ImportError, AttributeError):
            continue
    raise pickle.UnpicklingError(f"cannot find {module}.{name}")


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, file, *, allowed, source, encoding):
        super().__init__(file, encoding=encoding, fix_imports=True)
        self._allowed = allowed
        self._source = source

    def find_class(self, module, name):
        module, name = _normalise(module, name)
        qualified = f"{module}.{name}"
        if qualified not in self._allowed:
            raise UnsafePickleError(
                f"{self._source}: the pickle asks for {qualified!r}, which is not allowed; "
                f"expected only NumPy array reconstruction and builtin containers "
                f"(pass allowed=... to admit more)"
            )
        return _resolve(module, name)

    def persistent_load(self, pid):
        raise UnsafePickleError(
            f"{self._source}: the pickle holds a persistent id, which is not allowed"
        )


def safe_load(path_or_file, *, allowed=None, encoding="latin1"):
    """Load a pickle, admitting only NumPy arrays and builtin containers.

    Parameters
    ----------
    path_or_file : str, os.PathLike or binary file object
        The pickle file, e.g. DEAP ``s01.dat`` or WESAD ``S2.pkl``, or a file opened in binary mode.
    allowed : collection of str or None, default=None
        Names ``"module.name"`` that the pickle may use; None admits :data:`DEFAULT_ALLOWED`.
        The collection replaces the default: to add a name, pass
        ``DEFAULT_ALLOWED | {"collections.OrderedDict"}``. Python 2 names are mapped to their
        Python 3 spelling before the check (``__builtin__.set`` is ``builtins.set``).
    encoding : str, default="latin1"
        How Python 2 ``str`` objects are decoded. ``"latin1"`` is what NumPy arrays pickled by
        Python 2 (DEAP, WESAD) need; pickles written by Python 3 are unaffected.

    Returns
    -------
    object
        The unpickled object.

    Raises
    ------
    UnsafePickleError
        The pickle names a function or class outside ``allowed``; the message names it and the
        file. Nothing named is imported or called.
    RecordingError
        The file is missing, truncated or not a pickle.

    Examples
    --------
    >>> import io, pickle
    >>> import numpy as np
    >>> buffer = io.BytesIO(pickle.dumps({"labels": np.ones((2, 4))}, protocol=2))
    >>> safe_load(buffer)["labels"].shape
    (2, 4)
    """
    if allowed is None:
        allowed = DEFAULT_ALLOWED
    elif isinstance(allowed, str):
        raise InvalidParameterError(
            f"allowed must be a collection of 'module.name' strings, got the string {allowed!r}"
        )
    else:
        allowed = frozenset(allowed)
    if isinstance(path_or_file, (str, os.PathLike)):
        source = os.fspath(path_or_file)
        try:
            with open(source, "rb") as file:
                return _load(file, allowed=allowed, source=source, encoding=encoding)
        except OSError as exc:
            if isinstance(exc, RecordingError):
                raise
            raise RecordingError(f"{source}: cannot read the pickle: {exc}") from exc
    if not hasattr(path_or_file, "read"):
        raise InvalidParameterError(
            f"path_or_file must be a path or a binary file object, got "
            f"{type(path_or_file).__name__}"
        )
    source = str(getattr(path_or_file, "name", "<file object>"))
    return _load(path_or_file, allowed=allowed, source=source, encoding=encoding)


def _load(file, *, allowed, source, encoding):
    unpickler = _RestrictedUnpickler(file, allowed=allowed, source=source, encoding=encoding)
    try:
        return unpickler.load()
    except RecordingError:
        raise
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError,
            IndexError, KeyError, UnicodeDecodeError) as exc:
        raise RecordingError(
            f"{source}: not a readable pickle of arrays and containers ({type(exc).__name__}: "
            f"{exc})"
        ) from exc
