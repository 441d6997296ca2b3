"""Reading recordings: EDF, EDF+, BDF, BDF+ and GDF through MNE, with explicit checks."""

from physioaffect.io.recording import (
    SUFFIXES,
    infer_channel_type,
    read_annotations,
    read_recording,
    recording_info,
)

__all__ = ["SUFFIXES", "infer_channel_type", "read_annotations", "read_recording",
           "recording_info"]
