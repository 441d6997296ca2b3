"""Lazy public names for the subpackages: a name's module is imported when the name is first used."""

from __future__ import annotations

import importlib


def lazy_exports(package: str, namespace: dict, exports: dict):
    """``__getattr__`` and ``__dir__`` for a package whose names load on first use.

    Parameters
    ----------
    package : str
        The package's ``__name__``.
    namespace : dict
        The package's ``globals()``: a loaded name is stored there, so it loads once.
    exports : dict of str to str
        Public name -> submodule (relative to ``package``) that defines it.

    Returns
    -------
    __getattr__, __dir__ : callable
        Assign them to the package's module-level names of the same name.
    """

    def __getattr__(name: str):
        if name in exports:
            value = getattr(importlib.import_module(f"{package}.{exports[name]}"), name)
            namespace[name] = value
            return value
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__():
        return sorted(set(namespace) | set(exports))

    return __getattr__, __dir__
