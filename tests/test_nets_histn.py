"""HiSTN (METHODS.md section 1): parameter counts, graph filters, hierarchy, errors, learning."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("torch_geometric")

from physioaffect.errors import InvalidParameterError, InvalidSignalError  # noqa: E402
from physioaffect.montage import get_montage  # noqa: E402
from physioaffect.nets import ChebGraphFilter, HiSTN, count_parameters  # noqa: E402
from physioaffect.nets.histn import _RegionAttention  # noqa: E402

DREAMER_KW = dict(n_chans=14, n_outputs=5, n_times=128, sfreq=128.0)


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _dense_chebyshev(adj, weights):
    """P = sum_k w_k T_k(2 L / lambda_max - I), L = D - A, computed with numpy."""
    adj = np.asarray(adj, dtype=float)
    lap = np.diag(adj.sum(1)) - adj
    lam = np.abs(np.linalg.eigvalsh(lap)).max()
    n = len(adj)
    scaled = 2 * lap / lam - np.eye(n) if lam > 0 else -np.eye(n)
    terms = [np.eye(n), scaled]
    while len(terms) < len(weights):
        terms.append(2 * scaled @ terms[-1] - terms[-2])
    return sum(w * t for w, t in zip(weights, terms[:len(weights)], strict=True)), lam


def _adjacency(names, edges):
    idx = {c: i for i, c in enumerate(names)}
    adj = np.zeros((len(names), len(names)))
    for a, b in edges:
        adj[idx[a], idx[b]] = adj[idx[b], idx[a]] = 1
    return adj


# --------------------------------------------------------------------------- parameter counts

def test_published_parameter_count():
    model = HiSTN(**DREAMER_KW)
    assert model.count_parameters() == (1265, 1181)
    assert count_parameters(model) == (1265, 1181)
    assert sum(p.numel() for p in model.parameters()) == 1181
    assert all(p.requires_grad for p in model.parameters())


def test_parameter_count_per_block_matches_methods_table():
    model = HiSTN(**DREAMER_KW)

    def n(*modules):
        return sum(p.numel() for m in modules for p in m.parameters())

    assert n(model.temporal_conv) == 512
    assert n(model.electrode_mix) == 112
    assert n(model.electrode_conv) == 70
    assert n(model.bn1, model.bn2, model.node_bn) == 84  # + 84 running statistics
    assert n(*model.node_filters, model.region_filter) == 15
    assert n(model.node_depthwise, model.node_pointwise) == 120
    assert n(model.region_fusion_a, model.region_fusion_b) == 128
    assert n(model.global_collapse_a, model.global_collapse_b) == 40
    assert n(model.head) == 100


def test_freezing_the_temporal_conv_changes_only_the_trainable_count():
    model = HiSTN(**DREAMER_KW)
    model.temporal_conv.requires_grad_(False)
    assert model.count_parameters() == (1265, 1181 - 512)


def test_short_kernel_count():
    # METHODS 1.4: "with ksize = 5 instead of 64 the total would be 793"
    assert HiSTN(**DREAMER_KW, kernel_length=5).count_parameters().total == 793


# --------------------------------------------------------------------------- graph filter

def test_dreamer_region_graphs_are_the_published_ones():
    model = HiSTN(**DREAMER_KW)
    assert model.region_sizes == (4, 3, 3, 4)
    assert model.hierarchy_ch_names == get_montage("dreamer").ch_names
    # Laplacian spectra of METHODS 1.2: lambda_max 4, 3, 3, 4 and 4 for the ring.
    assert [f.lambda_max for f in model.node_filters] == pytest.approx([4, 3, 3, 4])
    assert model.region_filter.lambda_max == pytest.approx(4)
    ring = model.region_filter.graph
    assert ring.num_nodes == 4 and ring.edge_index.shape[1] == 8  # 4 undirected edges


def test_filter_matches_a_hand_computed_path_graph():
    # Path 0-1-2: L = [[1,-1,0],[-1,2,-1],[0,-1,1]], eigenvalues 0, 1, 3.
    f = ChebGraphFilter(torch.tensor([[0, 1], [1, 2]]), 3)
    lt = 2 / 3 * np.array([[1, -1, 0], [-1, 2, -1], [0, -1, 1]]) - np.eye(3)
    t2 = 2 * lt @ lt - np.eye(3)
    with torch.no_grad():
        f.weight.copy_(torch.tensor([0.5, -0.25, 2.0]))
    expected = 0.5 * np.eye(3) - 0.25 * lt + 2.0 * t2
    np.testing.assert_allclose(f.matrix().detach().numpy(), expected, atol=1e-6)
    assert f.lambda_max == pytest.approx(3.0)


@pytest.mark.parametrize("montage", ["dreamer", "deap", "seed"])
def test_every_filter_equals_the_dense_reference(montage):
    torch.manual_seed(0)
    mont = get_montage(montage)
    kw = dict(n_chans=mont.n_channels, n_outputs=3, n_times=128, sfreq=128.0, montage=montage)
    model = HiSTN(**kw)
    start = 0
    blocks = []
    for name, f in zip(model.region_names, model.node_filters, strict=True):
        names = model.hierarchy_ch_names[start:start + f.num_nodes]
        start += f.num_nodes
        adj = _adjacency(names, mont.region_edges[name])
        ref, lam = _dense_chebyshev(adj, f.weight.detach().double().numpy())
        assert f.lambda_max == pytest.approx(lam)
        np.testing.assert_allclose(f.matrix().detach().numpy(), ref, atol=1e-5)
        x = torch.randn(2, f.num_nodes, 7)
        np.testing.assert_allclose(f(x).detach().numpy(),
                                   np.einsum("ij,bit->bjt", ref, x.numpy()), atol=1e-5)
        blocks.append(ref)
    # The node level applies all regions at once as one block-diagonal matrix.
    from scipy.linalg import block_diag
    np.testing.assert_allclose(model.node_filter_matrix().detach().numpy(), block_diag(*blocks),
                               atol=1e-5)
    adj = _adjacency(model.region_names, mont.region_graph)
    ref, _ = _dense_chebyshev(adj, model.region_filter.weight.detach().double().numpy())
    np.testing.assert_allclose(model.region_filter.matrix().detach().numpy(), ref, atol=1e-5)


def test_single_electrode_region_is_a_scaled_identity():
    model = HiSTN(n_outputs=2, n_times=128, sfreq=128.0, montage="deap")
    i = model.region_names.index("midline_frontal")
    f = model.node_filters[i]
    w = f.weight.detach()
    assert f.num_nodes == 1 and f.lambda_max == 0.0
    assert f.matrix().item() == pytest.approx(float(w[0] - w[1] + w[2]))


def test_filter_is_equivariant_to_node_relabelling():
    torch.manual_seed(1)
    edges = torch.tensor([[0, 1], [1, 2], [2, 3], [3, 0], [0, 2]]).T
    perm = torch.tensor([2, 0, 3, 1])  # new node j is old node perm[j]
    inv = torch.argsort(perm)
    f = ChebGraphFilter(edges, 4)
    g = ChebGraphFilter(inv[edges], 4)
    g.load_state_dict(f.state_dict())
    x = torch.randn(3, 4, 10)
    torch.testing.assert_close(g(x[:, perm]), f(x)[:, perm])


def test_pyg_chebconv_matches_only_when_configured_like_histn():
    """PyG's ChebConv reproduces the filter only with normalization=None, the exact lambda_max,
    one input and output channel and time folded into the batch; its defaults (symmetric
    normalised Laplacian, lambda_max = 2) give a different operator."""
    from torch_geometric.nn import ChebConv

    torch.manual_seed(2)
    f = ChebGraphFilter(torch.tensor([[0, 1], [1, 2], [2, 3], [0, 2]]).T, 4)
    x = torch.randn(5, 4, 16)  # (batch, nodes, time)
    expected = f(x)
    folded = x.transpose(1, 2).reshape(-1, 4, 1)  # (batch * time, nodes, 1)

    conv = ChebConv(1, 1, K=3, normalization=None, bias=False)
    with torch.no_grad():
        for lin, w in zip(conv.lins, f.weight, strict=True):
            lin.weight.fill_(w)
    out = conv(folded, f.edge_index, lambda_max=f.lambda_max)
    torch.testing.assert_close(out.reshape(5, 16, 4).transpose(1, 2), expected)

    default = ChebConv(1, 1, K=3, bias=False)  # normalization="sym", lambda_max=2
    default.load_state_dict(conv.state_dict())
    out = default(folded, f.edge_index).reshape(5, 16, 4).transpose(1, 2)
    assert not torch.allclose(out, expected, atol=1e-3)


def test_region_attention_weights_are_a_softmax_per_region():
    torch.manual_seed(3)
    att = _RegionAttention((4, 3, 3, 4))
    with torch.no_grad():
        for b in att.blocks:
            b.normal_()
    x = torch.randn(2, 14, 20)
    out, w = att(x, return_weights=True)
    assert out.shape == (2, 4, 20)
    sums = torch.stack([g.sum(-1) for g in w.split((4, 3, 3, 4), dim=-1)], -1)
    torch.testing.assert_close(sums, torch.ones(2, 4))
    # region 2 (channels 7..9) is its weighted sum
    torch.testing.assert_close(out[:, 2], (x[:, 7:10] * w[:, 7:10, None]).sum(1))


# --------------------------------------------------------------------------- hierarchy / shapes

@pytest.mark.parametrize("montage, n_chans, sfreq, n_times, kernel",
                         [("dreamer", 14, 128.0, 128, 64), ("deap", 32, 128.0, 128, 64),
                          ("seed", 62, 200.0, 200, 100)])
def test_output_shapes_for_each_montage(montage, n_chans, sfreq, n_times, kernel):
    model = HiSTN(n_chans=n_chans, n_outputs=3, n_times=n_times, sfreq=sfreq, montage=montage)
    assert model.kernel_length == kernel
    assert sorted(model.hierarchy_ch_names) == sorted(get_montage(montage).ch_names)
    assert model.n_times_out == (n_times - 4) // 2
    R = len(model.region_names)
    assert model.head.in_features == n_chans + R + 1
    out = model(torch.randn(3, n_chans, n_times))
    assert out.shape == (3, 3) and torch.isfinite(out).all()
    out.sum().backward()
    assert all(p.grad is not None for p in model.parameters())


def test_chs_info_order_gives_the_same_model():
    torch.manual_seed(4)
    ref = HiSTN(n_outputs=3, n_times=128, sfreq=128.0, montage="deap").eval()
    names = list(get_montage("deap").ch_names)
    perm = np.random.default_rng(0).permutation(len(names))
    chs_info = [{"ch_name": names[i].upper()} for i in perm]  # names match case-insensitively
    other = HiSTN(n_outputs=3, n_times=128, sfreq=128.0, chs_info=chs_info).eval()
    assert other.montage_name == "deap"  # inferred from the channel set
    other.load_state_dict(ref.state_dict())
    x = torch.randn(4, 32, 128)
    torch.testing.assert_close(other(x[:, perm]), ref(x))


def test_max_norm_is_enforced_on_forward():
    model = HiSTN(**DREAMER_KW)
    with torch.no_grad():
        model.electrode_mix.weight.mul_(50)
        model.electrode_conv.weight.mul_(50)
        for b in model.node_pointwise.blocks:
            b.mul_(50)
    model(torch.randn(2, 14, 128))
    assert model.electrode_mix.weight.abs().max() <= 1 + 1e-6
    norms = model.electrode_conv.weight.flatten(1).norm(dim=1)
    assert (norms <= 1 + 1e-5).all()
    assert max(b.abs().max() for b in model.node_pointwise.blocks) <= 1 + 1e-6
    free = HiSTN(**DREAMER_KW, max_norm=None)
    with torch.no_grad():
        free.electrode_mix.weight.fill_(3.0)
    free(torch.randn(2, 14, 128))
    assert free.electrode_mix.weight.max() == 3.0


def test_temporal_padding_is_tensorflow_same():
    # A 4-tap kernel: TF pads 1 sample on the left and 2 on the right.
    model = HiSTN(**DREAMER_KW, kernel_length=4)
    assert model._same_pad == (1, 2)
    assert HiSTN(**DREAMER_KW)._same_pad == (31, 32)


def _front_reference(model, x):
    """The front end's first two layers as published, in float64 numpy: F shared filters with
    TensorFlow 'same' padding (cross-correlation, as Keras and PyTorch convolve), then each
    electrode's weighted sum of its F filtered signals."""
    h = model.temporal_conv.weight.detach().double().numpy().reshape(model.n_filters, -1)
    mix = model.electrode_mix.weight.detach().double().numpy().reshape(model.n_chans, -1)
    xp = np.pad(x, ((0, 0), (0, 0), model._same_pad))
    filtered = np.stack([np.apply_along_axis(np.correlate, -1, xp, f, mode="valid") for f in h],
                        axis=2)  # (batch, channel, filter, time)
    return np.einsum("cf,bcft->bct", mix, filtered)


@pytest.mark.parametrize("kw", [DREAMER_KW, {**DREAMER_KW, "kernel_length": 4},
                                dict(n_outputs=3, n_times=200, sfreq=200.0, montage="seed"),
                                {**DREAMER_KW, "n_times": 37}])
def test_front_filter_equals_shared_filters_then_electrode_mix(kw):
    torch.manual_seed(5)
    model = HiSTN(**kw)
    x = np.random.default_rng(1).standard_normal((3, model.n_chans, model.n_times))
    out = model.front_filter(torch.tensor(x, dtype=torch.float32)).detach().double().numpy()
    np.testing.assert_allclose(out, _front_reference(model, x), atol=2e-6 * np.abs(out).max())


def test_front_filter_gradients_equal_the_layer_by_layer_route():
    torch.manual_seed(6)
    model = HiSTN(**DREAMER_KW).double()
    x = torch.randn(4, 14, 128, dtype=torch.float64)
    target = torch.randn(4, 14, 128, dtype=torch.float64)

    def grads(out):
        model.zero_grad()
        (out * target).sum().backward()
        return model.temporal_conv.weight.grad.clone(), model.electrode_mix.weight.grad.clone()

    fast = grads(model.front_filter(x))
    h = model.temporal_conv(torch.nn.functional.pad(x, model._same_pad).unsqueeze(1))
    slow = grads(model.electrode_mix(h.transpose(1, 2).reshape(4, 14 * 8, 128)))
    for a, b in zip(fast, slow, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-12)


# --------------------------------------------------------------------------- errors

def test_n_chans_mismatch_names_the_parameter():
    with pytest.raises(InvalidParameterError, match=r"`n_chans`=32 .*montage 'dreamer'.*14.*'deap'"):
        HiSTN(n_chans=32, n_outputs=5, n_times=128, sfreq=128.0)


def test_n_times_too_short():
    with pytest.raises(InvalidParameterError, match=r"`n_times` must be an integer >= 6"):
        HiSTN(n_chans=14, n_outputs=5, n_times=5, sfreq=128.0)


@pytest.mark.parametrize("kw, match", [
    (dict(sfreq=None), "`sfreq` is required"),
    (dict(n_outputs=0), "`n_outputs`"),
    (dict(drop_prob=1.5), "`drop_prob`"),
    (dict(montage="nope"), "`montage`"),
    (dict(chs_info=[{"ch_name": "AF3"}, {"ch_name": "Cz"}], n_chans=None),
     r"`chs_info` must name exactly the 14 channels"),
    (dict(chs_info=[{"name": "AF3"}], n_chans=None), r"`chs_info\[0\]`"),
])
def test_bad_parameters(kw, match):
    with pytest.raises(InvalidParameterError, match=match):
        HiSTN(**{**DREAMER_KW, **kw})


def test_wrong_input_shape():
    model = HiSTN(**DREAMER_KW)
    with pytest.raises(InvalidSignalError, match=r"n_chans=14, n_times=128\), got \(2, 128, 14\)"):
        model(torch.randn(2, 128, 14))


# --------------------------------------------------------------------------- behaviour

def test_repr():
    text = repr(HiSTN(**DREAMER_KW))
    assert text.startswith("HiSTN(") and "montage='dreamer'" in text
    assert "ChebGraphFilter(num_nodes=4, num_edges=4, order=2, lambda_max=4)" in text


def test_deterministic_under_manual_seed():
    x = torch.randn(4, 14, 128)
    outs = []
    for _ in range(2):
        torch.manual_seed(7)
        model = HiSTN(**DREAMER_KW)
        torch.manual_seed(8)
        outs.append(model.train()(x))  # dropout draws from the seeded generator
    torch.testing.assert_close(outs[0], outs[1], rtol=0, atol=0)


def test_dtype_moves_consistently():
    model = HiSTN(**DREAMER_KW).double().eval()
    assert all(t.dtype == torch.float64 for t in model.parameters())
    assert all(t.dtype == torch.float64 for t in model.buffers() if t.is_floating_point())
    assert model.node_filters[0].edge_index.dtype == torch.long
    out = model(torch.randn(2, 14, 128, dtype=torch.float64))
    assert out.dtype == torch.float64


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_smoke():
    model = HiSTN(n_outputs=3, n_times=128, sfreq=128.0, montage="deap").cuda()
    names = list(get_montage("deap").ch_names)[::-1]
    model_perm = HiSTN(n_outputs=3, n_times=128, sfreq=128.0,
                       chs_info=[{"ch_name": c} for c in names]).cuda()
    assert all(b.is_cuda for b in model_perm.buffers())
    out = model(torch.randn(8, 32, 128, device="cuda"))
    out.sum().backward()
    assert out.is_cuda and model.temporal_conv.weight.grad.is_cuda
    assert model_perm(torch.randn(8, 32, 128, device="cuda")).shape == (8, 3)


def _band_power_problem(n, rng, sfreq=128.0):
    """Class 1 carries a 10 Hz rhythm over the posterior electrodes (T7..T8), class 0 does not."""
    t = np.arange(128) / sfreq
    x = rng.standard_normal((n, 14, 128))
    y = rng.integers(0, 2, n)
    phase = rng.uniform(0, 2 * np.pi, (n, 1, 1))
    x[:, 4:10] += 2.0 * y[:, None, None] * np.sin(2 * np.pi * 10 * t + phase)
    x /= np.abs(x).max(axis=-1, keepdims=True)  # per segment and channel max-abs, as published
    return torch.tensor(x, dtype=torch.float32), torch.tensor(y)


def test_learns_a_separable_band_power_problem():
    rng = np.random.default_rng(0)
    x_train, y_train = _band_power_problem(512, rng)
    x_test, y_test = _band_power_problem(256, rng)
    torch.manual_seed(0)
    model = HiSTN(n_chans=14, n_outputs=2, n_times=128, sfreq=128.0, drop_prob=0.2)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(60):
        idx = torch.as_tensor(rng.integers(0, 512, 64))
        loss = torch.nn.functional.cross_entropy(model(x_train[idx]), y_train[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        # Keras' batch-norm momentum (0.99, PyTorch 0.01) leaves the running statistics far from
        # converged after 60 steps; re-estimate them on the training set before evaluating.
        for bn in (model.bn1, model.bn2, model.node_bn):
            bn.reset_running_stats()
            bn.momentum = None  # cumulative average
        model.train()(x_train)
        model.eval()
        acc = (model(x_test).argmax(1) == y_test).float().mean().item()
    assert acc > 0.85, acc
