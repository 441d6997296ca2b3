"""Recordings to feature files: the streaming engine and the batch runner behind the CLI."""

from physioaffect.preprocess.engine import compute_features, preprocess_recording, settling_time
from physioaffect.preprocess.params import FEATURES, PreprocessParams, parse_bands, parse_label_map

__all__ = ["FEATURES", "PreprocessParams", "compute_features", "parse_bands", "parse_label_map",
           "preprocess_recording", "settling_time"]
