import math

import numpy as np
import pytest
import torch

from physioaffect.errors import InvalidParameterError
from physioaffect.evaluation import gaussian_ordinal_smoothing
from physioaffect.training import (
    TrainConfig,
    Trainer,
    class_weights,
    deterministic_mode,
    load_checkpoint,
    make_loss,
    predict,
    read_checkpoint,
    save_checkpoint,
    seed_everything,
    train,
)

torch.set_num_threads(1)
QUIET = {"progress": False}


class MLP(torch.nn.Module):
    def __init__(self, n_in, n_out, hidden=16, dropout=0.0):
        super().__init__()
        self.n_in, self.n_out, self.hidden, self.dropout = n_in, n_out, hidden, dropout
        self.net = torch.nn.Sequential(torch.nn.Linear(n_in, hidden), torch.nn.ReLU(),
                                       torch.nn.Dropout(dropout), torch.nn.Linear(hidden, n_out))

    def get_config(self):
        return {"n_in": self.n_in, "n_out": self.n_out, "hidden": self.hidden,
                "dropout": self.dropout}

    def forward(self, x):
        return self.net(x)


class Scalar(torch.nn.Module):
    """Predicts one learnable number for every sample."""

    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(1))

    def forward(self, x):
        return self.w.expand(len(x))


def blobs(n=200, n_features=4, n_classes=2, seed=0, spread=0.5):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, n_classes, n)
    centres = 3.0 * rng.normal(size=(n_classes, n_features))
    X = centres[y] + spread * rng.normal(size=(n, n_features))
    return X.astype(np.float32), y


def test_logistic_regression_learns_separable_data():
    X, y = blobs(300)
    model = torch.nn.Linear(4, 2)
    hist = train(model, X[:200], y[:200], epochs=30, batch_size=32, lr=0.05,
                 validation_data=(X[200:], y[200:]), **QUIET)
    assert hist.metric[-1] > 0.97 and hist.val_metric[hist.best_epoch] > 0.97
    pred = predict(model, X[200:]).argmax(axis=1)
    assert np.mean(pred == y[200:]) > 0.97
    assert hist.loss[-1] < hist.loss[0]


def test_mlp_multiclass_with_ordinal_smoothing_and_cosine_reaches_high_accuracy():
    X, y = blobs(400, n_classes=5, seed=1, spread=0.3)
    model = MLP(4, 5)
    hist = train(model, X[:300], y[:300], epochs=40, batch_size=64, lr=1e-2, optimizer="adamw",
                 schedule="cosine", ordinal_sigma=0.5, validation_data=(X[300:], y[300:]), **QUIET)
    assert np.mean(predict(model, X[300:]).argmax(1) == y[300:]) > 0.95
    assert hist.best_epoch is not None


def test_early_stopping_restores_best_weights_by_construction():
    # MSE pulls w toward 1 (train); validation targets are 0.3. Full-batch SGD, lr = 0.1:
    # w_{e+1} = w_e + 0.1 * 2 * (1 - w_e) -> 0.2, 0.36, 0.488, 0.5904 ...
    # val loss (w - 0.3)^2 = 0.01, 0.0036, 0.0353, ... -> best epoch 1 (w = 0.36)
    X = np.zeros((8, 1), np.float32)
    model = Scalar()
    hist = train(model, X, np.ones(8, np.float32), epochs=20, batch_size=8, lr=0.1,
                 optimizer="sgd", momentum=0.0, loss="mse", patience=3,
                 validation_data=(X, np.full(8, 0.3, np.float32)), **QUIET)
    w = [0.0]
    for _ in range(5):
        w.append(w[-1] + 0.2 * (1 - w[-1]))
    np.testing.assert_allclose(hist.val_loss, [(v - 0.3) ** 2 for v in w[1:]], rtol=1e-5)
    assert hist.best_epoch == 1 and hist.stopped_early and hist.epoch == [0, 1, 2, 3, 4]
    assert float(model.w.detach()) == pytest.approx(0.36, rel=1e-6)
    # without restore, the last weights stay
    model = Scalar()
    train(model, X, np.ones(8, np.float32), epochs=5, batch_size=8, lr=0.1, optimizer="sgd",
          momentum=0.0, loss="mse", restore_best=False,
          validation_data=(X, np.full(8, 0.3, np.float32)), **QUIET)
    assert float(model.w.detach()) == pytest.approx(w[5], rel=1e-5)


def test_checkpoint_round_trip_reproduces_predictions(tmp_path):
    X, y = blobs(120)
    torch.manual_seed(0)
    model = MLP(4, 2, hidden=8, dropout=0.2)
    path = tmp_path / "mlp.pt"
    hist = train(model, X, y, epochs=3, batch_size=32, checkpoint_path=path, **QUIET)
    raw = torch.load(path, weights_only=True)  # plain types and tensors only
    assert raw["model_config"] == {"n_in": 4, "n_out": 2, "hidden": 8, "dropout": 0.2}
    assert raw["history"]["loss"] == pytest.approx(hist.loss)
    assert raw["train_config"]["epochs"] == 3
    loaded = load_checkpoint(path, model_factory=MLP)
    assert not loaded.training
    np.testing.assert_array_equal(predict(loaded, X), predict(model, X))
    # an explicit config and extra data; a non-physioaffect class needs a factory
    save_checkpoint(tmp_path / "b.pt", torch.nn.Linear(3, 2),
                    {"in_features": 3, "out_features": 2}, extra={"protocol": "loso"})
    assert read_checkpoint(tmp_path / "b.pt")["extra"] == {"protocol": "loso"}
    with pytest.raises(InvalidParameterError, match="model_factory"):
        load_checkpoint(tmp_path / "b.pt")
    lin = load_checkpoint(tmp_path / "b.pt", model_factory=torch.nn.Linear)
    assert lin.weight.shape == (2, 3)


def test_checkpoint_refuses_configs_that_weights_only_cannot_load(tmp_path):
    with pytest.raises(InvalidParameterError, match="constructor arguments"):
        save_checkpoint(tmp_path / "c.pt", torch.nn.Linear(2, 2))
    with pytest.raises(InvalidParameterError, match="weights_only"):
        save_checkpoint(tmp_path / "c.pt", torch.nn.Linear(2, 2), {"act": torch.nn.ReLU()})
    with pytest.raises(InvalidParameterError, match="constructor arguments"):  # fails before training
        train(torch.nn.Linear(4, 2), *blobs(20), epochs=1, checkpoint_path=tmp_path / "d.pt", **QUIET)
    torch.save({"weights": torch.zeros(1)}, tmp_path / "other.pt")
    with pytest.raises(InvalidParameterError, match="not a physioaffect checkpoint"):
        read_checkpoint(tmp_path / "other.pt")


def _state(seed, train_seed, deterministic=False):
    X, y = blobs(96)
    seed_everything(seed)
    model = MLP(4, 3, dropout=0.3)
    hist = train(model, X, y, epochs=3, batch_size=16, seed=train_seed,
                 deterministic=deterministic, **QUIET)
    return model.state_dict(), hist


def test_seeding_gives_identical_runs():
    a, ha = _state(0, 7)
    b, hb = _state(0, 7)
    c, _ = _state(0, 8)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert ha.loss == hb.loss
    assert not all(torch.equal(a[k], c[k]) for k in a)


def test_deterministic_mode_is_scoped_and_repeats():
    assert not torch.are_deterministic_algorithms_enabled()
    with deterministic_mode():
        assert torch.are_deterministic_algorithms_enabled()
        assert torch.backends.cudnn.deterministic and not torch.backends.cudnn.benchmark
    assert not torch.are_deterministic_algorithms_enabled()
    a, _ = _state(1, 2, deterministic=True)
    b, _ = _state(1, 2, deterministic=True)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.are_deterministic_algorithms_enabled()


def _first_loss(model, X, y, **kw):
    """Loss of the first (only) batch at the initial weights: lr is negligible."""
    hist = train(model, X, y, epochs=1, batch_size=len(X), lr=1e-30, optimizer="sgd",
                 momentum=0.0, **QUIET, **kw)
    return hist


def test_class_weights_change_the_loss_as_computed_by_hand():
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 3)
    X = np.random.default_rng(0).normal(size=(7, 3)).astype(np.float32)
    y = np.array([0, 0, 0, 0, 1, 1, 2])
    with torch.no_grad():
        logp = torch.log_softmax(model(torch.from_numpy(X)), 1).numpy()
    nll = -logp[np.arange(7), y]
    assert _first_loss(model, X, y).loss[0] == pytest.approx(nll.mean(), rel=1e-5)
    w = np.array([1.0, 2.0, 4.0])
    assert _first_loss(model, X, y, class_weight=w).loss[0] == pytest.approx(
        (w[y] * nll).mean(), rel=1e-5)
    balanced = 7 / (3 * np.array([4, 2, 1]))
    np.testing.assert_allclose(class_weights(y, "balanced"), balanced)
    np.testing.assert_allclose(class_weights(y, "max"), [1, 2, 4])
    h = _first_loss(model, X, y, class_weight="balanced", validation_data=(X, y))
    assert h.loss[0] == pytest.approx((balanced[y] * nll).mean(), rel=1e-5)
    assert h.val_loss[0] == pytest.approx(nll.mean(), rel=1e-5)  # validation is unweighted


def test_smoothed_and_soft_targets_by_hand():
    torch.manual_seed(1)
    model = torch.nn.Linear(3, 5)
    X = np.random.default_rng(1).normal(size=(6, 3)).astype(np.float32)
    y = np.array([0, 1, 2, 3, 4, 2])
    with torch.no_grad():
        logp = torch.log_softmax(model(torch.from_numpy(X)), 1).numpy()
    q = gaussian_ordinal_smoothing(y, 5, sigma=0.5)
    h = _first_loss(model, X, y, ordinal_sigma=0.5, validation_data=(X, y))
    assert h.loss[0] == pytest.approx(-(q * logp).sum(1).mean(), rel=1e-5)
    assert h.val_loss[0] == pytest.approx(-logp[np.arange(6), y].mean(), rel=1e-5)  # one-hot
    # soft targets passed directly
    assert _first_loss(model, X, q.astype(np.float32)).loss[0] == pytest.approx(
        -(q * logp).sum(1).mean(), rel=1e-5)
    # uniform label smoothing 0.12
    qs = 0.88 * np.eye(5)[y] + 0.12 / 5
    assert _first_loss(model, X, y, label_smoothing=0.12).loss[0] == pytest.approx(
        -(qs * logp).sum(1).mean(), rel=1e-5)


def test_cosine_and_step_schedules_match_their_formulas():
    X, y = blobs(32)
    hist = train(torch.nn.Linear(4, 2), X, y, epochs=7, batch_size=32, lr=1e-3, schedule="cosine",
                 t_max=6, eta_min=1e-6, **QUIET)
    expected = [1e-6 + (1e-3 - 1e-6) * (1 + math.cos(math.pi * min(e, 6) / 6)) / 2 for e in range(7)]
    assert hist.lr == pytest.approx(expected, rel=1e-12)
    assert hist.lr[6] == pytest.approx(1e-6)
    hist = train(torch.nn.Linear(4, 2), X, y, epochs=5, batch_size=8, lr=1e-3, schedule="step",
                 lr_steps={2: 5e-4, 4: 1e-4}, batch_size_steps={3: 4}, **QUIET)
    assert hist.lr == [1e-3, 1e-3, 5e-4, 5e-4, 1e-4]
    assert hist.batch_size == [8, 8, 8, 4, 4]
    # torch's CosineAnnealingLR agrees within a period
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=6, eta_min=1e-6)
    ref = []
    for _ in range(7):
        ref.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert expected == pytest.approx(ref, rel=1e-9)


def test_multitask_dict_outputs_with_weighted_head_losses():
    class TwoHeads(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.cls = torch.nn.Linear(3, 4)
            self.reg = torch.nn.Linear(3, 1)

        def forward(self, x):
            return {"stage": self.cls(x), "eda": self.reg(x)[:, 0]}

    torch.manual_seed(2)
    model = TwoHeads()
    X = np.random.default_rng(2).normal(size=(5, 3)).astype(np.float32)
    y = {"stage": np.array([0, 1, 2, 3, 1]), "eda": np.linspace(0, 1, 5).astype(np.float32)}
    with torch.no_grad():
        out = model(torch.from_numpy(X))
    ce = -torch.log_softmax(out["stage"], 1).numpy()[np.arange(5), y["stage"]].mean()
    mse = ((out["eda"].numpy() - y["eda"]) ** 2).mean()
    h = _first_loss(model, X, y, loss={"stage": "cross_entropy", "eda": "mse"},
                    loss_weights={"eda": 2.0})
    assert h.loss[0] == pytest.approx(ce + 2 * mse, rel=1e-5)
    # the generic hook: any (outputs, targets) -> scalar
    seen = {}

    def loss_fn(outputs, targets):
        seen["keys"] = (sorted(outputs), sorted(targets))
        return outputs["eda"].pow(2).mean()

    train(model, X, y, epochs=1, loss_fn=loss_fn, **QUIET)
    assert seen["keys"] == (["eda", "stage"], ["eda", "stage"])


def test_tuple_and_dict_inputs_reach_the_model():
    class Add(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = torch.nn.Linear(2, 2)

        def forward(self, a, b):
            return self.lin(a + b)

    X, y = blobs(40, n_features=2)
    half = X / 2
    train(Add(), (half, half), y, epochs=1, **QUIET)
    hist = train(Add(), {"a": half, "b": half}, y, epochs=1, **QUIET)
    assert len(hist.loss) == 1
    out = predict(Add(), {"a": half, "b": half}, batch_size=7)
    assert out.shape == (40, 2)


def test_validation_split_holds_out_whole_groups_and_balanced_sampling():
    X, y = blobs(60)
    groups = np.repeat(np.arange(6), 10)
    seen = []

    def metric(outputs, targets):
        seen.append(len(targets))
        return 0.0

    hist = train(torch.nn.Linear(4, 2), X, y, epochs=2, batch_size=64, validation_split=0.34,
                 groups=groups, metric_fn=metric, sampling="balanced", **QUIET)
    assert len(hist.val_loss) == 2
    assert seen[-1] in (10, 20)  # whole groups of 10 were held out
    with pytest.raises(InvalidParameterError, match="balanced"):
        train(torch.nn.Linear(4, 1), X, y.astype(np.float32), loss="mse", sampling="balanced",
              epochs=1, **QUIET)


def test_make_loss_and_config_errors():
    fn = make_loss("cross_entropy", class_weight=[1.0, 3.0])
    assert float(fn(torch.zeros(2, 2), torch.tensor([0, 1]))) == pytest.approx(2 * math.log(2))
    with pytest.raises(InvalidParameterError, match="loss"):
        make_loss("hinge")
    with pytest.raises(InvalidParameterError, match="lr_steps"):
        TrainConfig(schedule="step").validate()
    with pytest.raises(InvalidParameterError, match="device"):
        Trainer(device="tpu").fit(torch.nn.Linear(4, 2), *blobs(10))
    with pytest.raises(InvalidParameterError, match="unknown training setting"):
        Trainer(epoch=3)
    if not torch.cuda.is_available():
        with pytest.raises(InvalidParameterError, match="no CUDA"):
            train(torch.nn.Linear(4, 2), *blobs(10), device="cuda", **QUIET)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_mixed_precision_trains():
    X, y = blobs(256)
    model = MLP(4, 2)
    hist = train(model, X, y, epochs=10, batch_size=64, lr=1e-2, device="cuda", amp=True, **QUIET)
    assert next(model.parameters()).is_cuda and hist.metric[-1] > 0.95
