"""Trigger and status channels decoded to events, on real files."""

import numpy as np
import pytest

from physioaffect.errors import RecordingError
from physioaffect.io import BIOSEMI_TRIGGER_MASK, find_events, read_recording


def test_biosemi_status_bits_are_masked(real_data_dir):
    raw = read_recording(real_data_dir / "biosemi-bdf-bdfjl" / "Newtest17-256.bdf")
    events = find_events(raw)
    # BioSemi's example: 40 triggers (bit 16 of Status, a system flag, is masked off)
    assert events.shape == (40, 3) and set(events[:, 2]) == {255}
    status = raw.get_data(picks="Status")[0].astype(np.int64) & BIOSEMI_TRIGGER_MASK
    onsets = np.flatnonzero((status[1:] == 255) & (status[:-1] != 255)) + 1
    np.testing.assert_array_equal(events[:, 0], onsets)


def test_edf_trigger_channel_matches_reference_values(real_data_dir):
    folder = real_data_dir / "mne-python-edf-testdata"
    raw = read_recording(folder / "test_edf_stim_channel.edf")
    assert raw.get_channel_types()[-1] == "stim"  # "DIG DTRIG", read unscaled
    reference = np.loadtxt(folder / "test_edf_stim_channel.txt")[:, -1]
    np.testing.assert_array_equal(np.unique(raw.get_data(picks="stim")), np.unique(reference))
    events = find_events(raw)
    rising = np.flatnonzero((reference[1:] > 0) & (reference[:-1] == 0)) + 1
    np.testing.assert_array_equal(events[:len(rising), 0], rising)
    assert set(events[:, 2]) == {100}


def test_no_stim_channel_is_a_clear_error(real_data_dir):
    raw = read_recording(real_data_dir / "edfio-testdata" / "test_subsecond.edf")
    with pytest.raises(RecordingError, match="no trigger/status channel"):
        find_events(raw)
    with pytest.raises(RecordingError, match="no channel named 'Foo'"):
        find_events(raw, stim_channel="Foo")
