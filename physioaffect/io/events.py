"""Trigger and status channels decoded to events."""

from __future__ import annotations

import numpy as np

from physioaffect.errors import InvalidParameterError, RecordingError

__all__ = ["find_events", "BIOSEMI_TRIGGER_MASK"]

#: BioSemi's Status channel: bits 0-15 carry the trigger inputs; bits 16-23 carry system state
#: (new epoch, CMS in range, battery low, speed mode, ActiveTwo MK2), which change independently of
#: any trigger and are masked out by default.
BIOSEMI_TRIGGER_MASK = 0xFFFF


def _source_suffix(raw):
    filenames = getattr(raw, "filenames", None) or ()
    name = str(filenames[0]) if filenames and filenames[0] is not None else ""
    return name.lower().rsplit(".", 1)[-1] if "." in name else ""


def find_events(raw, *, stim_channel=None, mask="auto", consecutive="increasing",
                shortest_event=1):
    """Decode trigger/status channels into events.

    Parameters
    ----------
    raw : mne.io.BaseRaw
        A recording, e.g. from :func:`physioaffect.io.read_recording` (which reads channels
        labelled as triggers unscaled, as integers).
    stim_channel : str or list of str, optional
        Channel(s) to decode; default every channel of type ``"stim"``.
    mask : "auto", int or None, default="auto"
        Bits to keep (bitwise and) before decoding. ``"auto"`` keeps bits 0-15 of a BDF file's
        ``Status`` channel (:data:`BIOSEMI_TRIGGER_MASK`: its upper bits are BioSemi system
        flags, not triggers) and everything otherwise; None keeps every bit.
    consecutive : bool or "increasing", default="increasing"
        As :func:`mne.find_events`: which changes of value count as events.
    shortest_event : int, default=1
        Fewest samples a value must last to count.

    Returns
    -------
    events : ndarray of int64, shape (n_events, 3)
        MNE's layout: sample index (from the first sample of the recording), previous value,
        new value (the event code).

    Raises
    ------
    RecordingError
        The recording has no stim channel, or one asked for is missing.
    InvalidParameterError
        A bad ``mask``.
    """
    import mne

    stim_types = [name for name, kind in zip(raw.ch_names, raw.get_channel_types(), strict=True)
                  if kind == "stim"]
    where = _source_suffix(raw)
    source = raw.filenames[0] if getattr(raw, "filenames", None) else "the recording"
    if stim_channel is None:
        if not stim_types:
            raise RecordingError(
                f"{source}: no trigger/status channel (type 'stim') to decode events from; "
                f"channels are {', '.join(raw.ch_names)}")
        channels = stim_types
    else:
        channels = [stim_channel] if isinstance(stim_channel, str) else list(stim_channel)
        missing = [c for c in channels if c not in raw.ch_names]
        if missing:
            raise RecordingError(f"{source}: no channel named {', '.join(map(repr, missing))}; "
                                 f"channels are {', '.join(raw.ch_names)}")
    if isinstance(mask, str):
        if mask != "auto":
            raise InvalidParameterError(f"`mask` must be 'auto', an int or None, got {mask!r}")
        mask = (BIOSEMI_TRIGGER_MASK if where == "bdf"
                and any(c.lower() == "status" for c in channels) else None)
    elif mask is not None and (isinstance(mask, bool) or not isinstance(mask, (int, np.integer))
                               or mask <= 0):
        raise InvalidParameterError(f"`mask` must be a positive int, 'auto' or None, got {mask!r}")
    events = mne.find_events(raw, stim_channel=channels, consecutive=consecutive,
                             shortest_event=shortest_event, mask=mask,
                             mask_type="and", initial_event=False, verbose="error")
    events = np.asarray(events, dtype=np.int64).reshape(-1, 3)
    events[:, 0] -= raw.first_samp
    return events
