"""Reading recordings: EDF, EDF+, BDF, BDF+ and GDF through MNE, with explicit checks."""

from physioaffect.io.events import BIOSEMI_TRIGGER_MASK, find_events
from physioaffect.io.recording import (
    SUFFIXES,
    infer_channel_type,
    read_annotations,
    read_recording,
    recording_info,
)

__all__ = ["BIOSEMI_TRIGGER_MASK", "SUFFIXES", "find_events", "infer_channel_type", "read_annotations", "read_recording",
           "recording_info"]
