"""Distillation losses against hand computations on tiny tensors."""

import math

import numpy as np
import pytest
import torch

from physioaffect.errors import InvalidParameterError
from physioaffect.nets.distill import losses as L


def test_proto_kd_cosine_by_hand():
    P = torch.tensor([[1.0, 0.0], [0.0, 2.0], [-1.0, 0.0]])
    z = torch.tensor([[3.0, 0.0], [1.0, 1.0], [0.0, -1.0]])
    cells = torch.tensor([0, 1, 2])
    # cosines: 1, 1/sqrt(2), 0
    expected = ((1 - 1) + (1 - 1 / math.sqrt(2)) + (1 - 0)) / 3
    assert float(L.proto_kd_cosine(z, P, cells)) == pytest.approx(expected, abs=1e-6)


def test_proto_kd_cosine_gradient_flows_to_z_only():
    P = torch.tensor([[1.0, 0.0], [0.0, 1.0]], requires_grad=False)
    z = torch.tensor([[1.0, 1.0]], requires_grad=True)
    L.proto_kd_cosine(z, P, torch.tensor([0])).backward()
    # d(1 - x / sqrt(x^2 + y^2)) at (1, 1): (-(y^2)/r^3, x y / r^3) = (-1, 1) / 2^1.5
    assert z.grad.numpy() == pytest.approx(np.array([[-1, 1]]) / 2**1.5, abs=1e-6)


def test_proto_kd_soft_hard_and_soft_targets_by_hand():
    P = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    z = torch.tensor([[2.0, 0.0]])
    T = 0.5
    logits = np.array([1.0, 0.0, -1.0]) / T
    logp = logits - np.log(np.exp(logits).sum())
    assert float(L.proto_kd_soft(z, P, torch.tensor([1]), T)) == pytest.approx(-logp[1], abs=1e-5)
    q = torch.tensor([[0.5, 0.25, 0.25]])
    expected = -(0.5 * logp[0] + 0.25 * logp[1] + 0.25 * logp[2])
    assert float(L.proto_kd_soft(z, P, q, T)) == pytest.approx(expected, abs=1e-5)


def test_cell_targets_by_hand():
    q = L.cell_targets([0, 4], (3, 3), tau=0.6).numpy()
    # cell 0 (corner) has neighbours 1 and 3; cell 4 (centre) has 1, 3, 5, 7
    expected0 = np.zeros(9)
    expected0[[0, 1, 3]] = [0.6, 0.2, 0.2]
    expected4 = np.zeros(9)
    expected4[[4, 1, 3, 5, 7]] = [0.6, 0.1, 0.1, 0.1, 0.1]
    assert q[0] == pytest.approx(expected0)
    assert q[1] == pytest.approx(expected4)
    assert L.cell_targets([2], (2, 2), tau=1.0).numpy()[0] == pytest.approx([0, 0, 1, 0])


def test_dgeo_loss_by_hand_with_gate():
    z = torch.tensor([[1.0, 0.0], [0.0, 3.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    labels = torch.tensor([1, 1, 2, 2, 0])
    scores = torch.tensor([0.9, 0.5, 0.9, 0.1, 0.9])
    # gated positives: rows 0, 1 (class 1) and row 2 (class 2); row 3 fails the gate, row 4 is not
    # a positive class. Class 1: unit vectors (1, 0), (0, 1), centroid (.5, .5): 2 * 0.5.
    # Class 2: one sample, 0. Mean over the 3 gated samples: 1 / 3.
    out = L.dgeo_loss(z, labels, [1, 2], scores=scores, gate=0.2)
    assert float(out) == pytest.approx(1.0 / 3.0, abs=1e-6)
    # without scores every positive counts: class 2 then has (1, 0), (0, 1): another 1.0
    assert float(L.dgeo_loss(z, labels, [1, 2])) == pytest.approx(2.0 / 4.0, abs=1e-6)
    # nothing gated: 0 with a gradient path
    zz = z.clone().requires_grad_(True)
    zero = L.dgeo_loss(zz, labels, [3])
    zero.backward()
    assert float(zero) == 0.0 and zz.grad is not None


def test_dgeo_weight_schedule():
    assert L.dgeo_weight(0, 0.012, 20, 60) == 0.0
    assert L.dgeo_weight(19.9, 0.012, 20, 60) == 0.0
    assert L.dgeo_weight(20, 0.012, 20, 60) == pytest.approx(0.0)
    assert L.dgeo_weight(30, 0.012, 20, 60) == pytest.approx(0.006 * (1 - math.cos(math.pi / 4)))
    assert L.dgeo_weight(40, 0.012, 20, 60) == pytest.approx(0.006)
    assert L.dgeo_weight(60, 0.012, 20, 60) == 0.012
    assert L.dgeo_weight(99, 0.012, 20, 60) == 0.012
    assert L.dgeo_weight(5, 1.0, 5, 5) == 1.0
    with pytest.raises(InvalidParameterError):
        L.dgeo_weight(1, 1.0, 10, 5)


def test_logit_kd_by_hand_and_against_kldivloss():
    s = torch.tensor([[1.0, 0.0, -1.0], [0.5, 0.5, 0.0]])
    t = torch.tensor([[0.0, 1.0, 0.0], [2.0, 0.0, 0.0]])
    T = 2.0
    p = np.exp(s.numpy() / T)
    p /= p.sum(1, keepdims=True)
    q = np.exp(t.numpy() / T)
    q /= q.sum(1, keepdims=True)
    expected = float(np.mean(np.sum(q * (np.log(q) - np.log(p)), axis=1)))
    assert float(L.logit_kd_loss(s, t, T)) == pytest.approx(expected, abs=1e-6)
    ref = torch.nn.KLDivLoss(reduction="batchmean")(torch.log_softmax(s / T, 1), torch.softmax(t / T, 1))
    assert float(L.logit_kd_loss(s, t, T)) == pytest.approx(float(ref), abs=1e-6)
    assert float(L.logit_kd_loss(s, t, T, t_squared=True)) == pytest.approx(4 * expected, abs=1e-6)
    assert float(L.logit_kd_loss(s, s, 1.0)) == pytest.approx(0.0, abs=1e-7)


def test_music2emo_two_value_softmax_quirk():
    # 2-d valence/arousal outputs through a softmax over the two values: only v - a matters
    s = torch.tensor([[0.3, 0.1]])
    t = torch.tensor([[0.9, 0.7]])  # same difference: zero KL
    assert float(L.logit_kd_loss(s, t)) == pytest.approx(0.0, abs=1e-7)


def test_mix_kd_by_hand():
    assert float(L.mix_kd(torch.tensor(2.0), torch.tensor(10.0), 0.8)) == pytest.approx(3.6)
    with pytest.raises(InvalidParameterError):
        L.mix_kd(torch.tensor(1.0), torch.tensor(1.0), 1.5)


def test_ccc_and_loss_by_hand():
    x = torch.tensor([[1.0, 0.0], [2.0, 1.0], [3.0, 2.0]])
    y = torch.tensor([[2.0, 0.0], [3.0, 1.0], [4.0, 2.0]])
    # column 0: 2 * (2/3) / (2/3 + 2/3 + 1) = 4/7; column 1: identical, 1
    assert L.ccc(x, y).numpy() == pytest.approx([4 / 7, 1.0], abs=1e-6)
    assert float(L.ccc_loss(x, y)) == pytest.approx(1 - (4 / 7 + 1) / 2, abs=1e-6)
    from physioaffect.evaluation.metrics import ccc as np_ccc

    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((2, 50, 3))
    assert L.ccc(torch.tensor(a), torch.tensor(b)).numpy() == pytest.approx(
        np_ccc(a, b, multioutput="raw_values"), abs=1e-5)
