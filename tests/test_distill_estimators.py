"""FaceStudent, AudioStudent and TopomapTeacher: fit/predict contracts, losses wired as documented."""

import numpy as np
import pytest
import torch

from physioaffect.errors import InvalidParameterError
from physioaffect.estimators.distill import (
    AudioStudent,
    FaceStudent,
    TopomapTeacher,
    _EpochClock,
    _FaceLoss,
)
from physioaffect.nets.distill import PrototypeGrid
from physioaffect.simulate.affect_media import affect_states, faces, sounds

TINY = dict(width=4, layers=(1, 1, 1, 1), stem="imagenet", proj_hidden=8, max_epochs=2,
            batch_size=16, device="cpu")


def _grid(d=6):
    rng = np.random.default_rng(0)
    return PrototypeGrid.from_embeddings(rng.standard_normal((100, d)), rng.uniform(-1, 1, 100),
                                         rng.uniform(-1, 1, 100), value_range=(-1, 1))


def test_face_student_fit_predict_evaluate_and_save(tmp_path):
    y, v, a = affect_states(32, random_state=0)
    X = faces(v, a, random_state=0)
    est = FaceStudent(random_state=0, **TINY).fit(X, y, prototypes=_grid())
    assert est.classes_.tolist() == list(range(8))
    assert est.module_.proto_dim == 6 and est.class_cells_.tolist()[1] == 23
    assert est.predict(X).shape == (32,) and est.predict_proba(X).sum(1) == pytest.approx(1.0)
    assert est.project(X).shape == (32, 6)
    m = est.evaluate(X, y)
    assert set(m) == {"accuracy", "macro_f1", "present_only_macro_f1", "balanced_accuracy"}
    path = est.save(tmp_path / "face.pt")
    back = FaceStudent.load(path)
    assert np.array_equal(back.predict(X), est.predict(X))
    assert back.class_cells_.tolist() == est.class_cells_.tolist()
    # string labels are class names; teacher logits switch logit KD on
    names = np.array(["happiness", "sadness"])[np.arange(32) % 2]
    est2 = FaceStudent(random_state=0, **TINY).fit(X, names, teacher_logits=np.zeros((32, 2)))
    assert est2.predict(X[:3]).dtype.kind == "U"
    assert est2.class_cells_.tolist() == [23, 5]
    with pytest.raises(InvalidParameterError):
        est.predict(X[:, :, :16])
    with pytest.raises(InvalidParameterError):
        FaceStudent(**TINY).fit(X[:, 0], y)


def test_face_student_is_deterministic_per_seed():
    y, v, a = affect_states(24, random_state=1)
    X = faces(v, a, random_state=1)
    p1 = FaceStudent(random_state=3, **TINY).fit(X, y).predict_proba(X)
    p2 = FaceStudent(random_state=3, **TINY).fit(X, y).predict_proba(X)
    assert p1 == pytest.approx(p2)


def test_face_loss_terms_by_hand():
    P = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]])
    clock = _EpochClock(steps_per_epoch=1)
    loss = _FaceLoss(cells=[0, 1], prototypes=P, grid_shape=(2, 2), class_weight=None,
                     label_smoothing=0.0, proto_mode="cos", proto_weight=0.5,
                     proto_temperature=1.0, proto_tau=1.0, dgeo_classes=[1], dgeo_weight=2.0,
                     dgeo_start=1, dgeo_end=1, dgeo_gate=0.0, kd_weight=0.0, kd_temperature=1.0,
                     clock=clock)
    logits = torch.zeros(3, 2)
    proj = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])
    y = torch.tensor([0, 1, 1])
    ce = np.log(2.0)
    # epoch 0: no D-Geo. Proto: cos 1, 1, 0 -> (0 + 0 + 1) / 3
    with torch.enable_grad():
        first = float(loss({"logits": logits, "proj": proj}, {"label": y}))
        assert first == pytest.approx(ce + 0.5 / 3, abs=1e-6)
        # epoch 1: D-Geo at full weight 2: class 1 has (0, 1) and (1, 0): 2 * 0.5 / 2
        second = float(loss({"logits": logits, "proj": proj}, {"label": y}))
    assert second == pytest.approx(ce + 0.5 / 3 + 2.0 * 0.5, abs=1e-6)
    with torch.no_grad():  # validation calls do not advance the clock
        loss({"logits": logits, "proj": proj}, {"label": y})
    assert clock.steps == 2


def test_audio_student_partial_targets_labels_and_kd():
    _, v, a = affect_states(24, random_state=0)
    X = sounds(v, a, duration=0.25, random_state=0)
    kw = dict(n_fft=128, n_mels=16, width=4, max_epochs=2, batch_size=8, device="cpu", random_state=0)
    y = np.stack([v, a], 1)
    y_part = y.copy()
    y_part[12:] = np.nan
    teacher = y + 0.1
    teacher[:6] = np.nan
    labels = (v > 0).astype(int)
    labels[::3] = -1
    est = AudioStudent(8000.0, **kw).fit(X, y_part, labels=labels, teacher=teacher,
                                         teacher_logits=np.zeros((24, 2)))
    assert est.predict(X).shape == (24, 2) and est.predict_classes(X).shape == (24,)
    m = est.evaluate(X, y, labels=(v > 0).astype(int))
    assert len(m["ccc"]) == 2 and -1 <= m["ccc_mean"] <= 1 and "macro_f1" in m
    # teacher only (no labels at all) and the CCC / KL variants train
    AudioStudent(8000.0, loss="ccc", kd_mode="kl", **kw).fit(X, teacher=teacher)
    with pytest.raises(InvalidParameterError):
        AudioStudent(8000.0, **kw).fit(X)
    with pytest.raises(InvalidParameterError):
        AudioStudent(8000.0, kd_mode="bogus", **kw).fit(X, y)


def test_topomap_teacher_learns_a_spatial_field():
    rng = np.random.default_rng(0)
    from physioaffect.nets.distill import scalp_coordinates

    xy = scalp_coordinates("dreamer")
    target = rng.uniform(-1, 1, (160, 2))
    # DE whose left-right gradient carries the first target and whose level the second
    X = (target[:, None, None, 0] * xy[None, :, 0, None] + target[:, None, None, 1]
         + 0.05 * rng.standard_normal((160, 14, 3)))
    est = TopomapTeacher(size=8, width=4, embed_dim=8, max_epochs=40, lr=1e-2, device="cpu",
                         random_state=0).fit(X[:120], target[:120])
    from physioaffect.evaluation.metrics import ccc

    assert ccc(target[120:], est.predict(X[120:])) > 0.6
    grid = est.prototype_grid(X[120:], target[120:, 0], target[120:, 1], value_range=(-1, 1), n_bins=3)
    assert grid.shape == (3, 3) and grid.n_features == 8
    assert est.topomaps(X[:2]).shape == (2, 3, 8, 8)
    with pytest.raises(InvalidParameterError):
        est.fit(X[:, :10], target)
