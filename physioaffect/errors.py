"""One exception hierarchy for physioaffect.

Every error raised on bad user input derives from :class:`PhysioAffectError` and names the parameter,
file or channel at fault, the value seen and the value expected.
"""

from __future__ import annotations

__all__ = ["PhysioAffectError", "InvalidParameterError", "InvalidSignalError", "RecordingError"]


class PhysioAffectError(Exception):
    """Base class of every error raised by physioaffect."""


class InvalidParameterError(PhysioAffectError, ValueError):
    """A parameter has a value outside what the function accepts."""


class InvalidSignalError(PhysioAffectError, ValueError):
    """Signal data are unusable: wrong shape, too short, or holding NaN or inf."""


class RecordingError(PhysioAffectError, OSError):
    """A recording file cannot be read or written."""
