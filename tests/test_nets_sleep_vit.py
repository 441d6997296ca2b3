"""Multitask sleep ViT (METHODS.md section 4): parameter counts, stochastic depth, attention,
relevance over time."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from physioaffect.errors import InvalidParameterError, InvalidSignalError  # noqa: E402
from physioaffect.nets import count_parameters  # noqa: E402
from physioaffect.nets.sleep_relevance import (  # noqa: E402
    cls_relevance,
    patch_to_samples,
    relevance_over_time,
)
from physioaffect.nets.sleep_vit import (  # noqa: E402
    SleepViT,
    StochasticDepth,
    survival_probabilities,
)


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _small(**kw):
    args = dict(n_chans=3, n_apnea=4, n_times=200, patch_size=20, embed_dim=24, depth=3,
                n_heads=2, mlp_dim=16, shared_dim=8)
    args.update(kw)
    return SleepViT(**args)


# --------------------------------------------------------------------------- published config

@pytest.mark.parametrize("n_chans, n_times, n_apnea, expected", [
    (5, 2000, 4, 2_036_489),   # reference training script: 5 channels, 2000 samples
    (4, 1920, 4, 2_030_345),   # paper: PPG, flow, thorax, abdomen at 64 Hz
    (5, 2000, 2, 2_036_231),
    (4, 2000, 3, 2_031_240),
])
def test_published_parameter_counts(n_chans, n_times, n_apnea, expected):
    n_patches = n_times // 20
    assert expected == 1_984_773 + 5120 * n_chans + 256 * n_patches + 129 * n_apnea
    model = SleepViT(n_chans=n_chans, n_apnea=n_apnea, n_times=n_times)
    assert model.count_parameters() == (expected, expected)
    assert count_parameters(model) == (expected, expected)


def test_published_structure():
    model = SleepViT(n_chans=5, n_apnea=4)
    assert model.n_patches == 100 and model.patch_size == 20
    conv = model.patch_embedding
    assert conv.kernel_size == (20,) and conv.stride == (20,) and conv.out_channels == 256
    assert model.cls_token.shape == (1, 1, 256) and model.pos_embedding.shape == (1, 101, 256)
    assert len(model.blocks) == 6
    block = model.blocks[0]
    assert block.n_heads == 6 and block.head_dim == 42            # Keras key_dim = 256 // 6
    for lin in (block.query, block.key, block.value):
        assert lin.bias is None and lin.weight.shape == (252, 256)
    assert block.out.bias is None and block.out.weight.shape == (256, 252)
    assert [m.out_features for m in block.mlp if isinstance(m, torch.nn.Linear)] == [128, 256]
    assert sum(p.numel() for p in block.parameters()) == 324_992
    assert model.shared.out_features == 128
    assert model.stage_head.out_features == 5 and model.apnea_head.out_features == 4
    assert SleepViT.LOSS_WEIGHTS == {"stage": 1.0, "apnea": 2.0}
    assert "survival_probs" in repr(model)


def test_stochastic_depth_rates_are_linear_from_1_to_0_7():
    expected = [1.0, 0.94, 0.88, 0.82, 0.76, 0.7]
    np.testing.assert_allclose(survival_probabilities(6), expected)
    model = SleepViT(n_chans=4, n_apnea=4, n_times=1920)
    np.testing.assert_allclose(model.survival_probs, expected)
    got = [(b.drop_path1.survival_prob, b.drop_path2.survival_prob) for b in model.blocks]
    np.testing.assert_allclose(got, np.repeat(np.array(expected)[:, None], 2, axis=1))
    assert survival_probabilities(1) == [1.0]
    with pytest.raises(InvalidParameterError, match="survival"):
        survival_probabilities(6, last=0.0)


def test_stochastic_depth_semantics():
    torch.manual_seed(0)
    sd = StochasticDepth(0.7)
    r = torch.ones(4000, 3, 2)
    sd.train()
    out = sd(r)
    per_sample = out[:, 0, 0]
    assert set(per_sample.unique().tolist()) <= {0.0, 1.0}     # whole samples kept or dropped
    assert (out == per_sample[:, None, None]).all()
    assert abs(float(per_sample.mean()) - 0.7) < 0.03
    sd.eval()
    torch.testing.assert_close(sd(r), 0.7 * r)                 # scaled, not inverted
    keep = StochasticDepth(1.0).train()
    assert keep(r) is r


def test_block_in_eval_is_the_residual_formula():
    torch.manual_seed(0)
    model = _small(depth=6).eval()
    block = model.blocks[-1]                                   # survival 0.7
    x = torch.randn(2, 11, 24)
    h = block.norm1(x)
    B, N, _ = x.shape
    q, k, v = (t.view(B, N, 2, 12).transpose(1, 2)
               for t in (block.query(h), block.key(h), block.value(h)))
    a = ((q @ k.transpose(-2, -1)) / np.sqrt(12)).softmax(-1) @ v
    a = block.out(a.transpose(1, 2).reshape(B, N, 24))
    mid = x + 0.7 * a
    expected = mid + 0.7 * block.mlp(block.norm2(mid))
    torch.testing.assert_close(block(x), expected, atol=1e-5, rtol=1e-5)


# --------------------------------------------------------------------------- outputs, attention

def test_outputs_and_attention_rows():
    torch.manual_seed(0)
    model = _small().eval()
    x = torch.randn(3, 3, 200)
    out = model(x, return_attention=True)
    assert set(out) == {"stage", "apnea", "attention"}
    assert out["stage"].shape == (3, 5) and out["apnea"].shape == (3, 4)
    attn = out["attention"]
    assert attn.shape == (3, 3, 2, 11, 11)
    assert (attn >= 0).all()
    torch.testing.assert_close(attn.sum(-1), torch.ones(3, 3, 2, 11), atol=1e-6, rtol=0)
    fused = model(x)
    assert set(fused) == {"stage", "apnea"}
    for h in ("stage", "apnea"):
        torch.testing.assert_close(fused[h], out[h], atol=1e-5, rtol=1e-5)


def test_training_mode_is_stochastic_and_eval_deterministic():
    torch.manual_seed(0)
    model = _small(depth=6, survival_prob=0.2)
    x = torch.randn(8, 3, 200)
    model.train()
    a, b = model(x)["stage"], model(x)["stage"]
    assert not torch.allclose(a, b)
    model.eval()
    torch.testing.assert_close(model(x)["stage"], model(x)["stage"])


def test_trailing_samples_are_ignored_and_inputs_checked():
    torch.manual_seed(0)
    model = _small(n_times=215).eval()                         # 10 patches, 15 samples unused
    assert model.n_patches == 10 and model.patch_spans()[-1] == (180, 200)
    x = torch.randn(2, 3, 215)
    y = x.clone()
    y[..., 200:] = 5.0
    torch.testing.assert_close(model(x)["stage"], model(y)["stage"])
    with pytest.raises(InvalidSignalError, match="n_times=215"):
        model(torch.randn(2, 3, 200))
    with pytest.raises(InvalidParameterError, match="patch_size"):
        SleepViT(n_chans=3, n_apnea=2, n_times=10, patch_size=20)
    with pytest.raises(InvalidParameterError, match="n_chans"):
        SleepViT(n_apnea=2)
    with pytest.raises(TypeError):
        SleepViT(n_chans=3)                                    # n_apnea is required


def test_config_rebuilds_the_model():
    model = _small(chs_info=["ppg", "flow", "thorax"])
    clone = SleepViT(**model.get_config())
    clone.load_state_dict(model.state_dict())
    assert clone.ch_names == ("ppg", "flow", "thorax")
    x = torch.randn(2, 3, 200)
    torch.testing.assert_close(clone.eval()(x)["apnea"], model.eval()(x)["apnea"])


# --------------------------------------------------------------------------- relevance

def test_last_layer_relevance_known_answer():
    A = np.full((1, 2, 2, 4, 4), 0.25)
    A[0, -1, 0, 0] = [0.1, 0.6, 0.2, 0.1]                     # head 0: CLS -> patch 0
    A[0, -1, 1, 0] = [0.1, 0.2, 0.2, 0.5]                     # head 1: CLS -> patch 2
    r = cls_relevance(A, method="last")
    # head mean over patches: [0.4, 0.2, 0.3], renormalised without the CLS self-attention
    np.testing.assert_allclose(r, [[0.4 / 0.9, 0.2 / 0.9, 0.3 / 0.9]])


def test_rollout_relevance_known_answer():
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((2, 3, 2, 5, 5))
    A = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    r = cls_relevance(A, method="rollout")
    for b in range(2):
        R = np.eye(5)
        for layer in range(3):
            R = 0.5 * (A[b, layer].mean(0) + np.eye(5)) @ R
        expected = R[0, 1:] / R[0, 1:].sum()
        np.testing.assert_allclose(r[b], expected, rtol=1e-10)
    np.testing.assert_allclose(r.sum(1), 1.0)
    # uniform attention everywhere: every patch equally relevant
    np.testing.assert_allclose(cls_relevance(np.full((1, 4, 3, 6, 6), 1 / 6)), np.full((1, 5), 0.2))
    with pytest.raises(InvalidParameterError, match="method"):
        cls_relevance(A, method="gradcam")
    with pytest.raises(InvalidParameterError, match="shape"):
        cls_relevance(A[0])


def test_relevance_maps_patches_to_their_time_spans():
    n_patches, P, T = 10, 20, 215
    A = np.full((1, 2, 3, n_patches + 1, n_patches + 1), 1.0 / (n_patches + 1))
    A[0, :, :, 0] = 0.0
    A[0, :, :, 0, 1 + 7] = 1.0                                 # CLS reads patch 7 only
    for method in ("last", "rollout"):
        rel = patch_to_samples(cls_relevance(A, method=method), P, T)[0]
        assert rel.shape == (T,)
        np.testing.assert_allclose(rel.sum(), 1.0)
        assert int(np.argmax(rel)) == 140
        if method == "last":
            np.testing.assert_allclose(rel[140:160], 1 / 20)
            assert rel[:140].sum() == 0 and rel[160:].sum() == 0
        assert (rel[200:] == 0).all()                           # trailing samples: no patch
    with pytest.raises(InvalidParameterError, match="fit"):
        patch_to_samples(np.ones((1, 11)), 20, 215)


def test_relevance_over_time_from_a_model():
    torch.manual_seed(0)
    model = _small().train()
    x = torch.randn(5, 3, 200)
    rel = relevance_over_time(model, x, batch_size=2)
    assert model.training                                       # mode restored
    assert rel.shape == (5, 200) and (rel >= 0).all()
    np.testing.assert_allclose(rel.sum(1), 1.0)
    attn = model.eval()(x, return_attention=True)["attention"]
    np.testing.assert_allclose(rel, patch_to_samples(cls_relevance(attn), 20, 200), rtol=1e-6)
