"""Dataset loaders: DEAP, SEED, DREAMER, WESAD and Sleep-EDF as labelled xarray objects.

Each loader reads the layout its owners distribute and returns xarray with subject, trial, rating
and label coordinates. With ``cache_dir`` given, results are cached there, keyed by the source
files' identity, every parameter and the package version (:mod:`physioaffect.datasets.cache`).
Pickled datasets (DEAP, WESAD) are read with :func:`physioaffect.io.safe_pickle.safe_load`, which
refuses a pickle that would run code. The published preparations live in
:mod:`physioaffect.datasets.presets`.
"""

from .cache import cache_key, source_identity
from .deap import DEAP_CHANNELS, load_deap
from .dreamer import DREAMER_CHANNELS, load_dreamer, read_dreamer_mat
from .labels import make_labels, n_classes
from .presets import histn_dreamer, rbtransformer
from .seed import load_seed
from .sleep_edf import SLEEP_STAGES, load_sleep_edf, pair_sleep_edf, read_sleep_edf
from .wesad import WESAD_CONDITIONS, load_wesad, read_wesad_pickle

__all__ = [
    "DEAP_CHANNELS",
    "DREAMER_CHANNELS",
    "SLEEP_STAGES",
    "WESAD_CONDITIONS",
    "cache_key",
    "histn_dreamer",
    "load_deap",
    "load_dreamer",
    "load_seed",
    "load_sleep_edf",
    "load_wesad",
    "make_labels",
    "n_classes",
    "pair_sleep_edf",
    "rbtransformer",
    "read_dreamer_mat",
    "read_sleep_edf",
    "read_wesad_pickle",
    "source_identity",
]
