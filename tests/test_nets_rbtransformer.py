"""RBTransformer (METHODS.md section 2): parameter counts, attention maps, equivariance, learning."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from physioaffect.errors import InvalidParameterError, InvalidSignalError  # noqa: E402
from physioaffect.montage import get_montage  # noqa: E402
from physioaffect.nets import RBTransformer, count_parameters  # noqa: E402


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


# --------------------------------------------------------------------------- parameter counts

@pytest.mark.parametrize("n_chans, n_outputs, expected", [
    (14, 5, 662_917), (14, 2, 662_530),        # DREAMER 5-class / binary
    (32, 2, 664_834), (32, 9, 665_737),        # DEAP binary / 9-class
    (62, 3, 668_803),                          # SEED
])
def test_published_parameter_counts(n_chans, n_outputs, expected):
    model = RBTransformer(n_chans=n_chans, n_outputs=n_outputs)
    assert expected == 660_480 + 128 * n_chans + 129 * n_outputs
    assert model.count_parameters() == (expected, expected)
    assert count_parameters(model) == (expected, expected)
    assert sum(p.numel() for p in model.parameters() if p.requires_grad) == expected


def test_block_structure():
    model = RBTransformer(n_chans=14, n_outputs=5)
    assert len(model.blocks) == 4
    block = model.blocks[0]
    assert block.qkv.bias is None and block.qkv.weight.shape == (3 * 6 * 32, 128)
    assert block.proj.weight.shape == (128, 192)
    assert sum(p.numel() for p in block.parameters()) == 131_968
    assert model.electrode_embedding.shape == (1, 14, 128)
    assert [m.out_features for m in model.head if isinstance(m, torch.nn.Linear)] == \
        [256, 256, 128, 5]


# --------------------------------------------------------------------------- attention maps

def test_attention_maps_shape_and_rows():
    torch.manual_seed(0)
    model = RBTransformer(n_chans=14, n_outputs=5).eval()
    x = torch.randn(3, 14, 4)
    logits, attn = model(x, return_attention=True)
    assert logits.shape == (3, 5)
    assert attn.shape == (3, 4, 6, 14, 14)
    assert (attn >= 0).all()
    torch.testing.assert_close(attn.sum(-1), torch.ones(3, 4, 6, 14))
    # the fused path gives the same logits in eval mode
    torch.testing.assert_close(model(x), logits, atol=1e-5, rtol=1e-5)


def test_attention_rows_sum_to_one_in_training_mode_too():
    model = RBTransformer(n_chans=14, n_outputs=2).train()
    _, attn = model(torch.randn(2, 14, 4), return_attention=True)
    torch.testing.assert_close(attn.sum(-1), torch.ones(2, 4, 6, 14))


def test_attention_matches_a_manual_computation():
    torch.manual_seed(1)
    model = RBTransformer(n_chans=5, n_outputs=2, depth=1).eval()
    x = torch.randn(2, 5, 4)
    _, attn = model(x, return_attention=True)
    z = model.token_projection(x) + model.electrode_embedding
    block = model.blocks[0]
    q, k, _ = block.qkv(block.norm1(z)).split(192, dim=-1)
    q = q.view(2, 5, 6, 32).transpose(1, 2)
    k = k.view(2, 5, 6, 32).transpose(1, 2)
    expected = torch.softmax(q @ k.transpose(-1, -2) / 32 ** 0.5, dim=-1)
    torch.testing.assert_close(attn[:, 0], expected)


# --------------------------------------------------------------------------- equivariance

def test_permuting_electrodes_and_their_embeddings_leaves_logits_unchanged():
    torch.manual_seed(2)
    model = RBTransformer(n_chans=14, n_outputs=5).eval()
    x = torch.randn(4, 14, 4)
    perm = torch.randperm(14)
    logits, attn = model(x, return_attention=True)
    permuted = RBTransformer(n_chans=14, n_outputs=5).eval()
    state = model.state_dict()
    state["electrode_embedding"] = state["electrode_embedding"][:, perm]
    permuted.load_state_dict(state)
    logits_p, attn_p = permuted(x[:, perm], return_attention=True)
    torch.testing.assert_close(logits_p, logits, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(attn_p, attn[..., perm, :][..., perm], atol=1e-5, rtol=1e-5)


def test_electrode_embedding_breaks_permutation_invariance():
    torch.manual_seed(3)
    model = RBTransformer(n_chans=14, n_outputs=5).eval()
    x = torch.randn(4, 14, 4)
    perm = torch.arange(13, -1, -1)
    assert not torch.allclose(model(x[:, perm]), model(x), atol=1e-4)
    with torch.no_grad():
        model.electrode_embedding.zero_()
    torch.testing.assert_close(model(x[:, perm]), model(x), atol=1e-5, rtol=1e-5)


def test_chs_info_order_keeps_each_electrodes_identity():
    torch.manual_seed(4)
    ref = RBTransformer(montage="deap", n_outputs=2).eval()
    names = list(get_montage("deap").ch_names)
    perm = np.random.default_rng(1).permutation(32)
    other = RBTransformer(montage="deap", n_outputs=2,
                          chs_info=[{"ch_name": names[i]} for i in perm]).eval()
    other.load_state_dict(ref.state_dict())
    x = torch.randn(3, 32, 4)
    logits, attn = ref(x, return_attention=True)
    logits_p, attn_p = other(x[:, perm], return_attention=True)
    torch.testing.assert_close(logits_p, logits, atol=1e-5, rtol=1e-5)
    # maps come back in the caller's (input) order
    torch.testing.assert_close(attn_p, attn[..., perm, :][..., perm], atol=1e-5, rtol=1e-5)
    assert other.ch_names == tuple(names[i] for i in perm)


@pytest.mark.parametrize("montage, n", [("dreamer", 14), ("deap", 32), ("seed", 62)])
def test_shapes_for_each_montage(montage, n):
    model = RBTransformer(montage=montage, n_outputs=3)
    assert model.n_chans == n
    logits, attn = model(torch.randn(2, n, 4), return_attention=True)
    assert logits.shape == (2, 3) and attn.shape == (2, 4, 6, n, n)


# --------------------------------------------------------------------------- errors

def test_n_chans_mismatch_names_the_parameter():
    with pytest.raises(InvalidParameterError, match=r"`n_chans`=32 .*montage 'dreamer'.*14"):
        RBTransformer(n_chans=32, n_outputs=2, montage="dreamer")


@pytest.mark.parametrize("kw, match", [
    (dict(), "pass `n_chans`, `chs_info` or `montage`"),
    (dict(n_chans=14, n_outputs=0), "`n_outputs`"),
    (dict(n_chans=0), "`n_chans`"),
    (dict(n_chans=14, sfreq=-1), "`sfreq`"),
    (dict(n_chans=2, chs_info=[{"ch_name": "A"}, {"ch_name": "B"}, {"ch_name": "C"}]),
     r"`n_chans`=2 does not match `chs_info`"),
])
def test_bad_parameters(kw, match):
    with pytest.raises(InvalidParameterError, match=match):
        RBTransformer(**{"n_outputs": 2, **kw})


def test_wrong_input_shape():
    model = RBTransformer(n_chans=14, n_outputs=2)
    with pytest.raises(InvalidSignalError, match=r"n_chans=14, n_bands=4\), got \(2, 14, 5\)"):
        model(torch.randn(2, 14, 5))


def test_free_channel_names_without_montage():
    model = RBTransformer(n_outputs=2, chs_info=[{"ch_name": c} for c in ("A", "B", "C")])
    assert model.n_chans == 3 and model.ch_names == ("A", "B", "C") and model.montage_name is None
    assert model(torch.randn(1, 3, 4)).shape == (1, 2)


# --------------------------------------------------------------------------- behaviour

def test_repr():
    text = repr(RBTransformer(n_chans=14, n_outputs=5, montage="dreamer"))
    assert text.startswith("RBTransformer(") and "montage='dreamer'" in text
    assert "InterCorticalAttentionBlock" in text


def test_deterministic_under_manual_seed():
    x = torch.randn(4, 14, 4)
    outs = []
    for _ in range(2):
        torch.manual_seed(7)
        model = RBTransformer(n_chans=14, n_outputs=5)
        torch.manual_seed(8)
        outs.append(model.train()(x, return_attention=True))
    torch.testing.assert_close(outs[0][0], outs[1][0], rtol=0, atol=0)
    torch.testing.assert_close(outs[0][1], outs[1][1], rtol=0, atol=0)


def test_dtype_moves_consistently():
    model = RBTransformer(n_chans=14, n_outputs=5, montage="dreamer",
                          chs_info=[{"ch_name": c} for c in get_montage("dreamer").ch_names[::-1]])
    model = model.to(torch.float64).eval()
    assert all(p.dtype == torch.float64 for p in model.parameters())
    assert model.input_order.dtype == torch.long
    logits, attn = model(torch.randn(2, 14, 4, dtype=torch.float64), return_attention=True)
    assert logits.dtype == attn.dtype == torch.float64


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_smoke():
    model = RBTransformer(montage="seed", n_outputs=3).cuda()
    x = torch.randn(16, 62, 4, device="cuda")
    logits = model(x)
    logits.sum().backward()
    assert logits.is_cuda and model.electrode_embedding.grad.is_cuda
    model.eval()
    with torch.no_grad():
        fused = model(x)
        explicit, attn = model(x, return_attention=True)
    torch.testing.assert_close(fused, explicit, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(attn.sum(-1), torch.ones_like(attn.sum(-1)))


def _token_problem(n, rng):
    """Three classes; class k raises band k's DE on electrodes 0..3 by 1.5 (unit-noise tokens)."""
    x = rng.standard_normal((n, 14, 4))
    y = rng.integers(0, 3, n)
    x[np.arange(n), :4, y] += 1.5
    return torch.tensor(x, dtype=torch.float32), torch.tensor(y)


def test_learns_a_separable_token_problem():
    rng = np.random.default_rng(0)
    x_train, y_train = _token_problem(512, rng)
    x_test, y_test = _token_problem(256, rng)
    torch.manual_seed(0)
    model = RBTransformer(n_chans=14, n_outputs=3)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    for _ in range(40):
        idx = torch.as_tensor(rng.integers(0, 512, 64))
        loss = torch.nn.functional.cross_entropy(model(x_train[idx]), y_train[idx],
                                                 label_smoothing=0.12)
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        acc = (model(x_test).argmax(1) == y_test).float().mean().item()
    assert acc > 0.8, acc  # chance is 1/3
