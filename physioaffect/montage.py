"""Electrode sets of the affective EEG datasets: names, positions, regions and region graphs.

Three montages are built in:

``"dreamer"``
    The 14 Emotiv EPOC channels of DREAMER, in the order of ``DREAMER.mat``, with the 4-region
    hierarchy of HiSTN (METHODS.md section 1.2): the regions, their within-region edges and the
    ring over the regions are the published ones.
``"deap"``
    The 32 BioSemi channels of DEAP, in the order of ``data_preprocessed_python``.
``"seed"``
    The 62 Neuroscan Quik-Cap channels of SEED, in the order of its ``channel_62_pos.locs``.

Positions come from MNE's template 10-05 montage (``colin27_1005``, called ``standard_1005`` before
MNE 1.13); names are matched case-insensitively. For DEAP and SEED the regions are anatomical
groupings defined here (see :func:`get_montage`), and their edges are derived from distances.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from .errors import InvalidParameterError

__all__ = ["Montage", "get_montage", "MONTAGE_NAMES"]

_DREAMER = ("AF3", "F7", "F3", "FC5", "T7", "P7", "O1", "O2", "P8", "T8", "FC6", "F4", "F8", "AF4")

_DEAP = (
    "Fp1", "AF3", "F3", "F7", "FC5", "FC1", "C3", "T7", "CP5", "CP1", "P3", "P7", "PO3", "O1",
    "Oz", "Pz", "Fp2", "AF4", "Fz", "F4", "F8", "FC6", "FC2", "Cz", "C4", "T8", "CP6", "CP2",
    "P4", "P8", "PO4", "O2",
)

_SEED = (
    "FP1", "FPZ", "FP2", "AF3", "AF4", "F7", "F5", "F3", "F1", "FZ", "F2", "F4", "F6", "F8",
    "FT7", "FC5", "FC3", "FC1", "FCZ", "FC2", "FC4", "FC6", "FT8", "T7", "C5", "C3", "C1", "CZ",
    "C2", "C4", "C6", "T8", "TP7", "CP5", "CP3", "CP1", "CPZ", "CP2", "CP4", "CP6", "TP8", "P7",
    "P5", "P3", "P1", "PZ", "P2", "P4", "P6", "P8", "PO7", "PO5", "PO3", "POZ", "PO4", "PO6",
    "PO8", "CB1", "O1", "OZ", "O2", "CB2",
)

# HiSTN regions and within-region edges (METHODS.md 1.2, `Dreamer_10cv.py::create_adj`).
_DREAMER_REGIONS = {
    "left_frontal": ("AF3", "F7", "F3", "FC5"),
    "left_posterior": ("T7", "P7", "O1"),
    "right_posterior": ("O2", "P8", "T8"),
    "right_frontal": ("FC6", "F4", "F8", "AF4"),
}
_DREAMER_EDGES = {
    "left_frontal": (("AF3", "F3"), ("F7", "F3"), ("F7", "FC5"), ("F3", "FC5")),
    "left_posterior": (("T7", "P7"), ("P7", "O1")),
    "right_posterior": (("O2", "P8"), ("P8", "T8")),
    "right_frontal": (("AF4", "F4"), ("F8", "F4"), ("F8", "FC6"), ("F4", "FC6")),
}
_DREAMER_RING = (
    ("left_frontal", "left_posterior"),
    ("left_posterior", "right_posterior"),
    ("right_posterior", "right_frontal"),
    ("right_frontal", "left_frontal"),
)

_DEAP_REGIONS = {
    "left_frontal": ("Fp1", "AF3", "F3", "F7", "FC5", "FC1"),
    "midline_frontal": ("Fz",),
    "right_frontal": ("Fp2", "AF4", "F4", "F8", "FC6", "FC2"),
    "left_temporal": ("T7", "CP5"),
    "central": ("C3", "Cz", "C4"),
    "right_temporal": ("T8", "CP6"),
    "parietal": ("CP1", "P3", "P7", "Pz", "CP2", "P4", "P8"),
    "occipital": ("PO3", "O1", "Oz", "PO4", "O2"),
}

_SEED_REGIONS = {
    "left_frontal": ("FP1", "AF3", "F7", "F5", "F3", "F1", "FC5", "FC3", "FC1"),
    "midline_frontal": ("FPZ", "FZ", "FCZ"),
    "right_frontal": ("FP2", "AF4", "F2", "F4", "F6", "F8", "FC2", "FC4", "FC6"),
    "left_temporal": ("FT7", "T7", "TP7"),
    "central": ("C5", "C3", "C1", "CZ", "C2", "C4", "C6"),
    "right_temporal": ("FT8", "T8", "TP8"),
    "parietal": (
        "CP5", "CP3", "CP1", "CPZ", "CP2", "CP4", "CP6",
        "P7", "P5", "P3", "P1", "PZ", "P2", "P4", "P6", "P8",
    ),
    "occipital": ("PO7", "PO5", "PO3", "POZ", "PO4", "PO6", "PO8", "CB1", "O1", "OZ", "O2", "CB2"),
}

# Channels of the Neuroscan Quik-Cap that the 10-05 system does not name, placed at the 10-05
# position one row (10 % of the nasion-inion distance) below O1 / O2, over the cerebellum.
_EXTRA_POSITIONS = {"CB1": "I1", "CB2": "I2"}

_SPECS = {
    "dreamer": (_DREAMER, _DREAMER_REGIONS, 128.0),
    "deap": (_DEAP, _DEAP_REGIONS, 128.0),
    "seed": (_SEED, _SEED_REGIONS, 200.0),
}

MONTAGE_NAMES = tuple(_SPECS)

# Prefixes of the frontal rows whose left/right homologues make the frontal pairs.
_FRONTAL_PREFIXES = ("fp", "af", "f", "fc")
_NAME_RE = re.compile(r"^([a-z]+)(\d+)$")


@dataclass(frozen=True, eq=False)
class Montage:
    """A named electrode set with 3-D positions and a region partition.

    Build one with :func:`get_montage`.

    Parameters
    ----------
    name : str
        Montage name, e.g. ``"dreamer"``.
    ch_names : tuple of str, length n_channels
        Channel names in the dataset's order and spelling.
    positions : ndarray, shape (n_channels, 3)
        Electrode positions in metres, in the coordinate frame of MNE's template montage
        (x towards the right ear, y towards the nasion, z up).
    regions : dict of str to tuple of str
        Region name to its channels, regions in a fixed order; every channel is in exactly one.
    sfreq_default : float
        Sampling rate of the dataset's distributed (preprocessed) EEG, in Hz.
    region_edges : dict of str to tuple of (str, str)
        Undirected edges between the channels of each region (no self loops).
    region_graph : tuple of (str, str)
        Undirected edges between regions.

    Attributes
    ----------
    n_channels : int
        Number of channels.
    frontal_pairs : tuple of (str, str)
        Homologous (left, right) frontal channel pairs present in the montage.
    """

    name: str
    ch_names: tuple[str, ...]
    positions: np.ndarray
    regions: dict[str, tuple[str, ...]]
    sfreq_default: float
    region_edges: dict[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)
    region_graph: tuple[tuple[str, str], ...] = ()

    def __post_init__(self):
        positions = np.array(self.positions, dtype=np.float64)
        if positions.shape != (len(self.ch_names), 3):
            raise InvalidParameterError(
                f"`positions` must have shape ({len(self.ch_names)}, 3) for {len(self.ch_names)} "
                f"channels, got {positions.shape}")
        positions.setflags(write=False)
        object.__setattr__(self, "positions", positions)
        object.__setattr__(self, "ch_names", tuple(self.ch_names))
        in_regions = [ch for chans in self.regions.values() for ch in chans]
        if sorted(in_regions) != sorted(self.ch_names):
            raise InvalidParameterError(
                f"`regions` must hold every channel exactly once; got {sorted(in_regions)} "
                f"for channels {sorted(self.ch_names)}")

    def __repr__(self) -> str:
        return (f"<Montage {self.name!r}: {self.n_channels} channels, "
                f"{len(self.regions)} regions>")

    def __eq__(self, other):
        if not isinstance(other, Montage):
            return NotImplemented
        return (self.name == other.name and self.ch_names == other.ch_names
                and np.array_equal(self.positions, other.positions)
                and self.regions == other.regions)

    def __hash__(self):
        return hash((self.name, self.ch_names))

    @property
    def n_channels(self) -> int:
        return len(self.ch_names)

    def indices(self, names: Iterable[str]) -> np.ndarray:
        """Indices of channels, matched case-insensitively.

        Parameters
        ----------
        names : iterable of str
            Channel names.

        Returns
        -------
        ndarray of int, shape (n_names,)
        """
        lookup = {ch.lower(): i for i, ch in enumerate(self.ch_names)}
        out = []
        for name in names:
            if name.lower() not in lookup:
                raise InvalidParameterError(
                    f"channel {name!r} is not in montage {self.name!r}; "
                    f"expected one of {list(self.ch_names)}")
            out.append(lookup[name.lower()])
        return np.asarray(out, dtype=np.intp)

    def region_index(self) -> np.ndarray:
        """Region number of each channel, shape (n_channels,), in the order of ``regions``."""
        out = np.empty(self.n_channels, dtype=np.intp)
        for r, chans in enumerate(self.regions.values()):
            out[self.indices(chans)] = r
        return out

    @property
    def frontal_pairs(self) -> tuple[tuple[str, str], ...]:
        """Homologous (left, right) frontal pairs, e.g. ``("F3", "F4")``.

        A left channel of the Fp, AF, F or FC rows with odd number k pairs with the channel of the
        same row numbered k + 1. Pairs are ordered as the left channels appear in ``ch_names``.
        """
        lookup = {ch.lower(): ch for ch in self.ch_names}
        pairs = []
        for ch in self.ch_names:
            match = _NAME_RE.match(ch.lower())
            if not match or match.group(1) not in _FRONTAL_PREFIXES:
                continue
            number = int(match.group(2))
            right = f"{match.group(1)}{number + 1}"
            if number % 2 == 1 and right in lookup:
                pairs.append((ch, lookup[right]))
        return tuple(pairs)

    def to_mne(self):
        """The montage as an :class:`mne.channels.DigMontage` with the template's fiducials.

        Returns
        -------
        mne.channels.DigMontage
            Channel positions (metres) under this montage's channel names.
        """
        import mne

        template = _template_positions()
        ch_pos = {ch: pos.copy() for ch, pos in zip(self.ch_names, self.positions, strict=True)}
        return mne.channels.make_dig_montage(
            ch_pos=ch_pos, nasion=template["nasion"], lpa=template["lpa"], rpa=template["rpa"],
            coord_frame=template["coord_frame"])


@functools.lru_cache(maxsize=1)
def _template_positions() -> dict:
    """MNE's template 10-05 positions, keyed by lower-case name (cached, read-only arrays)."""
    import mne

    builtin = mne.channels.get_builtin_montages()
    kind = "colin27_1005" if "colin27_1005" in builtin else "standard_1005"
    positions = mne.channels.make_standard_montage(kind).get_positions()
    ch_pos = {name.lower(): np.asarray(pos, dtype=np.float64)
              for name, pos in positions["ch_pos"].items()}
    for arr in ch_pos.values():
        arr.setflags(write=False)
    return {
        "ch_pos": ch_pos,
        "nasion": np.asarray(positions["nasion"], dtype=np.float64),
        "lpa": np.asarray(positions["lpa"], dtype=np.float64),
        "rpa": np.asarray(positions["rpa"], dtype=np.float64),
        "coord_frame": positions["coord_frame"] or "unknown",
        "kind": kind,
    }


def _lookup_positions(ch_names) -> np.ndarray:
    ch_pos = _template_positions()["ch_pos"]
    out = np.empty((len(ch_names), 3))
    for i, ch in enumerate(ch_names):
        key = _EXTRA_POSITIONS.get(ch.upper(), ch).lower()
        out[i] = ch_pos[key]
    return out


def _distance_edges(ch_names, positions, regions):
    """Within-region edges and region graph from inter-electrode distances.

    Two channels are neighbours when their distance is at most 1.5 times the median, over channels,
    of the distance to the nearest other channel; the minimum spanning tree of each region is added
    so that every region is connected. Two regions are adjacent when any of their channels are
    neighbours.
    """
    dist = np.linalg.norm(positions[:, None, :] - positions[None, :, :], axis=-1)
    np.fill_diagonal(dist, np.inf)
    threshold = 1.5 * np.median(dist.min(axis=1))
    index = {ch: i for i, ch in enumerate(ch_names)}
    edges = {}
    for region, chans in regions.items():
        idx = [index[ch] for ch in chans]
        sub = dist[np.ix_(idx, idx)]
        linked = sub <= threshold
        # Add the minimum spanning tree so that every region is connected.
        in_tree = [0]
        while len(in_tree) < len(idx):
            rest = [j for j in range(len(idx)) if j not in in_tree]
            block = sub[np.ix_(in_tree, rest)]
            a, b = np.unravel_index(np.argmin(block), block.shape)
            linked[in_tree[a], rest[b]] = linked[rest[b], in_tree[a]] = True
            in_tree.append(rest[b])
        edges[region] = tuple((chans[a], chans[b]) for a in range(len(chans))
                              for b in range(a + 1, len(chans)) if linked[a, b])
    names = list(regions)
    graph = []
    for a in range(len(names)):
        ia = [index[ch] for ch in regions[names[a]]]
        for b in range(a + 1, len(names)):
            ib = [index[ch] for ch in regions[names[b]]]
            if (dist[np.ix_(ia, ib)] <= threshold).any():
                graph.append((names[a], names[b]))
    return edges, tuple(graph)


def get_montage(name) -> Montage:
    """Electrode set of a dataset: channel names, positions, regions and region graph.

    Parameters
    ----------
    name : {"dreamer", "deap", "seed"} or Montage
        Montage name (case-insensitive). A :class:`Montage` is returned unchanged.

    Returns
    -------
    Montage
        ``positions`` has shape (n_channels, 3), in metres; n_channels is 14, 32 or 62.

    Raises
    ------
    InvalidParameterError
        If ``name`` is not a known montage.

    Notes
    -----
    **dreamer** regions, edges and ring are those of HiSTN (METHODS.md 1.2): left_frontal (AF3, F7,
    F3, FC5), left_posterior (T7, P7, O1), right_posterior (O2, P8, T8), right_frontal (FC6, F4,
    F8, AF4), ring left_frontal - left_posterior - right_posterior - right_frontal - left_frontal.

    **deap** and **seed** use eight anatomical regions, defined here: left_frontal,
    midline_frontal, right_frontal (Fp, AF, F and FC rows), left_temporal and right_temporal
    (T7/T8 with FT7/TP7, FT8/TP8 for SEED, and with CP5/CP6 for DEAP, which has no FT/TP
    channels), central (C row), parietal (CP and P rows) and occipital (PO, O and, for SEED,
    CB rows). Their within-region edges and region graph are derived from distances: channels
    within 1.5 times the median nearest-neighbour distance are neighbours, and each region's
    minimum spanning tree is added so that every region is connected.

    SEED's CB1 and CB2 (cerebellar electrodes of the Neuroscan Quik-Cap) have no 10-05 name;
    they are placed at the 10-05 positions I1 and I2, one row below O1 and O2.

    Examples
    --------
    >>> m = get_montage("dreamer")
    >>> m.n_channels, list(m.regions)[0], m.frontal_pairs[0]
    (14, 'left_frontal', ('AF3', 'AF4'))
    """
    if isinstance(name, Montage):
        return name
    key = name.lower() if isinstance(name, str) else None
    if key not in _SPECS:
        raise InvalidParameterError(
            f"`montage` must be a Montage or one of {list(MONTAGE_NAMES)}, got {name!r}")
    ch_names, regions, sfreq = _SPECS[key]
    positions = _lookup_positions(ch_names)
    if key == "dreamer":
        edges, graph = dict(_DREAMER_EDGES), _DREAMER_RING
    else:
        edges, graph = _distance_edges(ch_names, positions, regions)
    return Montage(name=key, ch_names=ch_names, positions=positions, regions=dict(regions),
                   sfreq_default=sfreq, region_edges=edges, region_graph=graph)
