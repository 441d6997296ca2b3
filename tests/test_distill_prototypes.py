"""Prototype grid: binning, averaging, normalisation and neighbour fill by hand; NetCDF round
trip; embeddings of any trained model; topomap interpolation."""

import numpy as np
import pytest
import torch

from physioaffect.errors import InvalidParameterError
from physioaffect.nets.distill import PrototypeGrid, Topomap, TopomapCNN, embed, scalp_coordinates


def _grid_3x3():
    # edges 0, 1, 2, 3 on both axes; windows in cells (0, 0) x2, (2, 2), (0, 2)
    emb = np.array([[2.0, 0.0, 0.0], [4.0, 0.0, 0.0], [0.0, 0.0, 5.0], [0.0, 3.0, 0.0]])
    v = np.array([0.5, 0.1, 2.5, 0.2])
    a = np.array([0.5, 0.9, 3.0, 2.1])  # 3.0 is the last edge: it belongs to the last bin
    return PrototypeGrid.from_embeddings(emb, v, a, n_bins=3, value_range=(0, 3), center=False)


def test_binning_averaging_normalisation_by_hand():
    g = _grid_3x3()
    assert g.shape == (3, 3)
    assert g.counts.tolist() == [[2, 0, 1], [0, 0, 0], [0, 0, 1]]
    assert g.prototypes[0, 0] == pytest.approx([1, 0, 0])  # mean (3, 0, 0), normalised
    assert g.prototypes[0, 2] == pytest.approx([0, 1, 0])
    assert g.prototypes[2, 2] == pytest.approx([0, 0, 1])
    assert g.cell_index([0.5, 2.5, -7.0, 99.0], [2.5, 0.5, -1.0, 99.0]).tolist() == [2, 6, 0, 8]


def test_neighbour_fill_by_hand():
    g = _grid_3x3()
    e = np.eye(3)
    r2 = 1 / np.sqrt(2)
    # pass 1: cells with a filled 8-neighbour, from the original three
    assert g.prototypes[0, 1] == pytest.approx((e[0] + e[1]) / np.linalg.norm(e[0] + e[1]))
    assert g.prototypes[1, 0] == pytest.approx(e[0])
    c11 = (e[0] + e[1] + e[2]) / np.sqrt(3)
    assert g.prototypes[1, 1] == pytest.approx(c11)
    assert g.prototypes[1, 2] == pytest.approx((e[1] + e[2]) * r2)
    assert g.prototypes[2, 1] == pytest.approx(e[2])
    # pass 2: (2, 0) sees (1, 0), (1, 1), (2, 1), all filled in pass 1
    m = e[0] + c11 + e[2]
    assert g.prototypes[2, 0] == pytest.approx(m / np.linalg.norm(m))
    assert g.filled.tolist() == [[False, True, False], [True, True, True], [True, True, False]]
    assert np.linalg.norm(g.flat, axis=1) == pytest.approx(np.ones(9))


def test_centering_and_edges():
    emb = np.array([[1.0, 1.0], [3.0, 1.0]])
    g = PrototypeGrid.from_embeddings(emb, [0.1, 0.9], [0.5, 0.5], v_edges=[0, 0.5, 1],
                                      a_edges=[0, 1])
    assert g.center == pytest.approx([2.0, 1.0])
    assert g.prototypes[0, 0] == pytest.approx([-1, 0])
    assert g.prototypes[1, 0] == pytest.approx([1, 0])
    assert g.normalize([[5.0, 1.0]]) == pytest.approx(np.array([[1.0, 0.0]]))
    assert g.nearest_cell([[0.0, 1.0], [9.0, 1.0]]).tolist() == [0, 1]
    with pytest.raises(InvalidParameterError):
        PrototypeGrid.from_embeddings(emb, [0.1, 0.9], [0.5, 0.5], v_edges=[0, 0, 1])


def test_netcdf_round_trip_with_provenance(tmp_path):
    rng = np.random.default_rng(0)
    emb = rng.standard_normal((60, 6))
    g = PrototypeGrid.from_embeddings(emb, rng.uniform(1, 5, 60), rng.uniform(1, 5, 60))
    path = g.save(tmp_path / "grid.nc", provenance={"teacher": "TopomapCNN", "seed": 3})
    back = PrototypeGrid.load(path)
    assert back.prototypes == pytest.approx(g.prototypes)
    assert back.counts.tolist() == g.counts.tolist()
    assert back.v_edges == pytest.approx(g.v_edges) and back.a_edges == pytest.approx(g.a_edges)
    assert back.center == pytest.approx(g.center)
    assert back.provenance["teacher"] == "TopomapCNN" and back.provenance["seed"] == 3
    import json

    params = json.loads(back.provenance["parameters_json"])
    assert params["grid_shape"] == [5, 5]
    assert params["v_edges"] == pytest.approx([1.0, 1.8, 2.6, 3.4, 4.2, 5.0])
    assert "physioaffect_version" in back.provenance
    import xarray as xr

    with xr.open_dataset(path, engine="h5netcdf") as ds:  # readable without physioaffect
        assert ds["prototypes"].dims == ("valence", "arousal", "feature")
    from physioaffect.errors import RecordingError

    with pytest.raises(RecordingError):
        g.save(path)  # no silent overwrite


def test_embed_any_trained_model():
    from physioaffect.nets import HiSTN, RBTransformer

    torch.manual_seed(0)
    histn = HiSTN(n_chans=14, n_outputs=5, n_times=128, sfreq=128.0).eval()
    x = torch.randn(3, 14, 128)
    e = embed(histn, x.numpy(), device="cpu")
    assert e.shape == (3, histn.head.in_features)
    expected = histn.head(torch.as_tensor(e))
    assert expected.detach().numpy() == pytest.approx(histn(x).detach().numpy(), abs=1e-4)
    rbt = RBTransformer(n_chans=14, n_outputs=2, n_bands=4, embed_dim=16, depth=1).eval()
    tok = torch.randn(4, 14, 4)
    e = embed(rbt, tok.numpy(), device="cpu")
    assert rbt.head(torch.as_tensor(e)).detach().numpy() == pytest.approx(
        rbt(tok).detach().numpy(), abs=1e-4)
    with pytest.raises(InvalidParameterError):
        embed(rbt, tok.numpy(), layer="nope")


def test_topomap_reproduces_a_linear_field():
    topo = Topomap("dreamer", size=24)
    xy = topo.coords
    field = lambda p: 0.7 * p[:, 0] - 1.3 * p[:, 1] + 0.25  # noqa: E731
    values = field(xy)
    # at the electrode positions
    W = topo.interpolation_matrix(xy)
    assert W @ values == pytest.approx(values, abs=1e-9)
    # at every grid point inside the electrodes' convex hull
    from scipy.spatial import Delaunay

    inside = Delaunay(xy).find_simplex(topo.grid) >= 0
    assert inside.sum() > 100
    maps = topo(values[None, :, None])  # (1, 1, size, size)
    assert maps[0, 0].ravel()[inside] == pytest.approx(field(topo.grid[inside]), abs=1e-5)
    # constants everywhere in the head disc, zero outside
    ones = topo(np.ones((14, 1)))[0]
    assert ones[topo.mask] == pytest.approx(1.0) and np.all(ones[~topo.mask] == 0)
    # tensors in, tensors out
    assert isinstance(topo(torch.ones(2, 14, 5)), torch.Tensor)
    with pytest.raises(InvalidParameterError):
        topo(np.ones((2, 13, 5)))


def test_scalp_coordinates_layout():
    xy = scalp_coordinates("dreamer")
    from physioaffect.montage import get_montage

    names = get_montage("dreamer").ch_names
    pos = dict(zip(names, xy, strict=True))
    assert np.max(np.linalg.norm(xy, axis=1)) == pytest.approx(0.9)
    assert pos["F3"][0] < 0 < pos["F4"][0]  # left negative x
    assert pos["AF3"][1] > pos["O1"][1]  # nose up


def test_topomap_cnn_embed_is_head_input():
    torch.manual_seed(0)
    net = TopomapCNN(5, 2, size=16, width=4, embed_dim=8).eval()
    x = torch.randn(3, 5, 16, 16)
    assert net.head(net.embed(x)).detach().numpy() == pytest.approx(net(x).detach().numpy(), abs=1e-6)
    assert embed(net, x.numpy(), device="cpu") == pytest.approx(net.embed(x).detach().numpy(), abs=1e-6)
    assert net.get_config()["embed_dim"] == 8
