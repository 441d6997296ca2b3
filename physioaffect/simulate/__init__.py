"""Seeded simulators of EEG, peripheral and sleep signals with known ground truth.

Every function takes ``random_state`` (int, :class:`numpy.random.Generator` or None); equal seeds
give identical output. EEG is in volts; skin conductance in microsiemens; PPG, respiration and
sleep signals in arbitrary units.

- :func:`eeg`: one EEG recording with alpha, line noise, blinks and valence/arousal effects.
- :func:`study`: subjects x trials of baseline and rated stimulus EEG, as an xarray.Dataset.
- :func:`eda`, :func:`ppg`, :func:`respiration`: peripheral signals (``sfreq`` required).
- :func:`eda_ode`: skin conductance from the EDA PINN's first-order dynamics, known parameters.
- :func:`affect_states`, :func:`faces`, :func:`sounds`, :func:`paired_eeg`: images, sounds and
  EEG sharing known latent valence and arousal (for the distillation bridge).
- :func:`psg_epochs`: 30-s cardio-respiratory epochs with sleep stages and apnea events.
- :func:`write_edf`, :func:`write_study`: EDF+/BDF+ files with annotations.
"""

from .affect_media import affect_states, faces, paired_eeg, sounds
from .eda_ode import eda_ode
from .edf import write_edf, write_study
from .eeg import eeg
from .peripheral import eda, ppg, respiration
from .psg import APNEA_NAMES, PSG_CHANNELS, STAGE_NAMES, psg_epochs
from .study import RATING_SCALES, study

__all__ = [
    "eeg",
    "study",
    "eda",
    "eda_ode",
    "affect_states",
    "faces",
    "sounds",
    "paired_eeg",
    "ppg",
    "respiration",
    "psg_epochs",
    "write_edf",
    "write_study",
    "STAGE_NAMES",
    "APNEA_NAMES",
    "PSG_CHANNELS",
    "RATING_SCALES",
]
