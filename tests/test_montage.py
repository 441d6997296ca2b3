"""Tests of physioaffect.montage."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from physioaffect.errors import InvalidParameterError
from physioaffect.montage import MONTAGE_NAMES, Montage, get_montage

DREAMER_ORDER = ["AF3", "F7", "F3", "FC5", "T7", "P7", "O1", "O2", "P8", "T8", "FC6", "F4", "F8",
                 "AF4"]


def _edge_set(edges):
    return {frozenset(e) for e in edges}


@pytest.mark.parametrize("name, n", [("dreamer", 14), ("deap", 32), ("seed", 62)])
def test_channel_counts_and_positions(name, n):
    m = get_montage(name)
    assert m.n_channels == n == len(set(m.ch_names))
    assert m.positions.shape == (n, 3)
    assert np.isfinite(m.positions).all()
    # All electrodes lie near one head-sized sphere (metres).
    design = np.c_[2 * m.positions, np.ones(n)]
    sol = np.linalg.lstsq(design, (m.positions**2).sum(axis=1), rcond=None)[0]
    radius = np.sqrt(sol[3] + sol[:3] @ sol[:3])
    assert 0.07 < radius < 0.12
    distance = np.linalg.norm(m.positions - sol[:3], axis=1)
    assert np.all(np.abs(distance - radius) < 0.2 * radius)
    # Each channel in exactly one region.
    in_regions = [ch for chans in m.regions.values() for ch in chans]
    assert sorted(in_regions) == sorted(m.ch_names)


def test_dreamer_order_regions_edges_and_ring():
    m = get_montage("dreamer")
    assert list(m.ch_names) == DREAMER_ORDER
    assert m.sfreq_default == 128.0
    assert list(m.regions) == ["left_frontal", "left_posterior", "right_posterior",
                               "right_frontal"]
    assert m.regions["left_frontal"] == ("AF3", "F7", "F3", "FC5")
    assert m.regions["left_posterior"] == ("T7", "P7", "O1")
    assert m.regions["right_posterior"] == ("O2", "P8", "T8")
    assert m.regions["right_frontal"] == ("FC6", "F4", "F8", "AF4")
    # Regions are the contiguous index ranges loc = [0, 4, 7, 10, 14].
    assert list(m.region_index()) == [0] * 4 + [1] * 3 + [2] * 3 + [3] * 4
    edges = {k: _edge_set(v) for k, v in m.region_edges.items()}
    assert edges["left_frontal"] == _edge_set(
        [("AF3", "F3"), ("F7", "F3"), ("F7", "FC5"), ("F3", "FC5")])
    assert edges["left_posterior"] == _edge_set([("T7", "P7"), ("P7", "O1")])
    assert edges["right_posterior"] == _edge_set([("O2", "P8"), ("P8", "T8")])
    assert edges["right_frontal"] == _edge_set(
        [("AF4", "F4"), ("F8", "F4"), ("F8", "FC6"), ("F4", "FC6")])
    assert _edge_set(m.region_graph) == _edge_set([
        ("left_frontal", "left_posterior"), ("left_posterior", "right_posterior"),
        ("right_posterior", "right_frontal"), ("right_frontal", "left_frontal")])
    # Combinatorial Laplacian spectra of METHODS.md 1.2.
    for region, expected in [("left_frontal", [0, 1, 3, 4]), ("left_posterior", [0, 1, 3])]:
        chans = m.regions[region]
        adj = np.zeros((len(chans), len(chans)))
        for a, b in m.region_edges[region]:
            adj[chans.index(a), chans.index(b)] = adj[chans.index(b), chans.index(a)] = 1
        eig = np.linalg.eigvalsh(np.diag(adj.sum(1)) - adj)
        np.testing.assert_allclose(eig, expected, atol=1e-9)


def test_deap_and_seed_orders():
    deap = get_montage("deap")
    assert deap.ch_names[:4] == ("Fp1", "AF3", "F3", "F7")
    assert deap.ch_names[-3:] == ("P8", "PO4", "O2")
    seed = get_montage("seed")
    assert seed.ch_names[:3] == ("FP1", "FPZ", "FP2")
    assert seed.ch_names[-5:] == ("CB1", "O1", "OZ", "O2", "CB2")
    assert seed.sfreq_default == 200.0


@pytest.mark.parametrize("name", ["deap", "seed"])
def test_derived_regions_are_anatomical_and_connected(name):
    m = get_montage(name)
    x = {ch: p[0] for ch, p in zip(m.ch_names, m.positions, strict=True)}
    y = {ch: p[1] for ch, p in zip(m.ch_names, m.positions, strict=True)}
    assert all(x[ch] < 0 for ch in m.regions["left_frontal"] + m.regions["left_temporal"])
    assert all(x[ch] > 0 for ch in m.regions["right_frontal"] + m.regions["right_temporal"])
    assert min(y[ch] for ch in m.regions["left_frontal"]) > max(
        y[ch] for ch in m.regions["occipital"])
    for region, chans in m.regions.items():
        edges = m.region_edges[region]
        assert all(a in chans and b in chans and a != b for a, b in edges)
        # Connected: a walk from the first channel reaches every channel.
        reached, frontier = {chans[0]}, [chans[0]]
        while frontier:
            node = frontier.pop()
            for a, b in edges:
                for u, v in ((a, b), (b, a)):
                    if u == node and v not in reached:
                        reached.add(v)
                        frontier.append(v)
        assert reached == set(chans)
    assert all(a in m.regions and b in m.regions for a, b in m.region_graph)


def test_case_insensitive_positions_and_cerebellar_channels():
    deap, seed = get_montage("DEAP"), get_montage("seed")
    np.testing.assert_array_equal(deap.positions[deap.indices(["Fp1", "Oz"])],
                                  seed.positions[seed.indices(["FP1", "OZ"])])
    assert list(seed.indices(["fp1", "cb2"])) == [0, 61]
    cb1, o1, cb2, o2 = seed.positions[seed.indices(["CB1", "O1", "CB2", "O2"])]
    assert cb1[2] < o1[2] - 0.02 and cb2[2] < o2[2] - 0.02   # below O1 / O2
    assert cb1[0] < 0 < cb2[0]
    assert abs(cb1[1] - o1[1]) < 0.02                          # same antero-posterior level


def test_frontal_pairs():
    pairs = get_montage("dreamer").frontal_pairs
    assert set(pairs) >= {("F3", "F4"), ("AF3", "AF4"), ("F7", "F8")}
    for name in MONTAGE_NAMES:
        m = get_montage(name)
        for left, right in m.frontal_pairs:
            xl, xr = m.positions[m.indices([left, right]), 0]
            assert xl < 0 < xr
            assert abs(xl + xr) < 0.01
    assert ("FP1", "FP2") in get_montage("seed").frontal_pairs


def test_to_mne_roundtrip():
    m = get_montage("dreamer")
    dig = m.to_mne()
    assert dig.ch_names == list(m.ch_names)
    pos = dig.get_positions()["ch_pos"]
    np.testing.assert_allclose(np.array([pos[ch] for ch in m.ch_names]), m.positions)


def test_errors_and_instances():
    with pytest.raises(InvalidParameterError, match="dreamer.*deap.*seed.*'emotiv'"):
        get_montage("emotiv")
    with pytest.raises(InvalidParameterError):
        get_montage(14)
    m = get_montage("dreamer")
    assert get_montage(m) is m
    assert m == get_montage("dreamer") and m != get_montage("deap")
    with pytest.raises(InvalidParameterError, match="'Cz'"):
        m.indices(["Cz"])
    with pytest.raises(dataclasses.FrozenInstanceError):
        m.name = "other"
    with pytest.raises(ValueError):
        m.positions[0, 0] = 1.0
    with pytest.raises(InvalidParameterError, match="positions"):
        Montage("x", ("A", "B"), np.zeros((3, 3)), {"r": ("A", "B")}, 100.0)
    with pytest.raises(InvalidParameterError, match="regions"):
        Montage("x", ("A", "B"), np.zeros((2, 3)), {"r": ("A",)}, 100.0)
    assert "14 channels" in repr(m)
