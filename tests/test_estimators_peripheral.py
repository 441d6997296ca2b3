"""EDAPINN: parameter recovery on EDA simulated from the ODE, ablations, classification, metrics."""

import numpy as np
import pytest
import torch

from physioaffect.errors import InvalidParameterError
from physioaffect.estimators.peripheral import EDAPINN, eda_pinn_scores
from physioaffect.simulate.eda_ode import eda_ode

ALPHA0, GAMMA, BETA = 0.05, 0.005, np.array([0.5, 0.2])
INIT = {"alpha0_init": 0.15, "gamma_init": 0.015, "beta_init": 0.0}


@pytest.fixture(autouse=True)
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _ode_windows(seed=0, n_blocks=30, block=20.0, fs=1.0, noise=0.02):
    """One recording of blocks with random drives; one window per block (aligned)."""
    rng = np.random.default_rng(seed)
    n_per = int(block * fs)
    levels = rng.uniform(0, 1, (n_blocks, 2))
    levels[::2] *= 0.2  # alternate low and high drive, so that every block starts a transient
    drives = np.repeat(levels, n_per, axis=0).T
    eda, clean = eda_ode(drives, fs, alpha0=ALPHA0, beta=BETA, gamma=GAMMA, eda0=2.0,
                         noise=noise, random_state=seed + 1, return_clean=True)
    t = (np.arange(eda.size) / fs).reshape(n_blocks, n_per)
    d = drives.reshape(2, n_blocks, n_per).transpose(1, 0, 2)
    e = eda.reshape(n_blocks, n_per)
    X = np.concatenate([t[:, None], d, np.repeat(e[:, :1, None], n_per, axis=2)], axis=1)
    y = (levels[:, 0] > 0.3).astype(int)
    return X, y, e, clean.reshape(n_blocks, n_per)


def _fit(lambda_p, seed=0, **kw):
    X, y, e, clean = _ode_windows(seed)
    params = {"max_epochs": 500, **INIT, **kw}
    est = EDAPINN(n_drives=2, lambda_c=0.0, lambda_p=lambda_p, batch_size=30, lr=1e-2,
                  random_state=seed, device="cpu", **params)
    return est.fit(X, y, eda=e), X, e, clean


@pytest.fixture(scope="module")
def physics_fit():
    torch.set_num_threads(1)
    return _fit(0.01)


def test_physics_recovers_alpha0_gamma_and_each_beta_within_10_percent(physics_fit):
    est, X, e, clean = physics_fit
    p = est.physical_params_
    assert abs(p["alpha0"] / ALPHA0 - 1) < 0.10, p
    assert abs(p["gamma"] / GAMMA - 1) < 0.10, p
    np.testing.assert_array_less(np.abs(p["beta"] / BETA - 1), 0.10)
    # the trajectory itself is fitted: error well below the signal's spread
    rmse = np.sqrt(np.mean((est.predict_eda(X) - clean) ** 2))
    assert rmse < 0.1 * clean.std()


def test_without_physics_the_parameters_are_not_constrained():
    # lambda_p = 0: the data still train the network, but nothing reaches alpha0, gamma, beta:
    # they end where they started, whatever the start, far from the truth.
    ends = []
    for alpha0_init, gamma_init in ((0.15, 0.015), (0.02, 0.05)):
        est, X, e, clean = _fit(0.0, max_epochs=150, alpha0_init=alpha0_init,
                                gamma_init=gamma_init, beta_init=1.0)
        p = est.physical_params_
        assert p["alpha0"] == pytest.approx(alpha0_init, rel=1e-5)
        assert p["gamma"] == pytest.approx(gamma_init, rel=1e-5)
        np.testing.assert_allclose(p["beta"], 1.0, rtol=1e-5)
        assert abs(p["alpha0"] / ALPHA0 - 1) > 0.5 and abs(p["gamma"] / GAMMA - 1) > 0.5
        assert np.sqrt(np.mean((est.predict_eda(X) - clean) ** 2)) < 0.3 * clean.std()
        ends.append(p["alpha0"])
    assert abs(ends[0] - ends[1]) > 0.1  # two starts, two answers: not determined by the data


def test_classification_well_above_chance_where_the_class_drives_the_eda():
    # three classes, each with its own true drive level; the net sees only noisy self-reports
    # and the EDA at the window's start and end, so the class must be read from the EDA response.
    rng = np.random.default_rng(3)
    n_blocks, n_per = 90, 20
    y = rng.integers(0, 3, n_blocks)
    true_drive = np.array([0.1, 0.5, 1.0])[y]
    eda = eda_ode(np.repeat(true_drive, n_per)[None], 1.0, alpha0=0.08, beta=[0.3], gamma=0.0,
                  eda0=1.0, noise=0.02, random_state=4).reshape(n_blocks, n_per)
    t = np.arange(n_blocks * n_per, dtype=float).reshape(n_blocks, n_per)
    report = true_drive + rng.normal(0, 0.6, n_blocks)  # weak on its own
    ctx = np.stack([eda[:, 0], eda[:, -1] - eda[:, 0]], axis=1)
    X = np.concatenate([t[:, None], np.repeat(report[:, None, None], n_per, axis=2),
                        np.repeat(ctx[:, :, None], n_per, axis=2)], axis=1)
    train, test = np.arange(60), np.arange(60, 90)
    est = EDAPINN(n_drives=1, lambda_p=0.01, max_epochs=300, batch_size=60, random_state=0,
                  device="cpu").fit(X[train], y[train], eda=eda[train])
    scores = est.scores(X[test], y[test], eda[test])
    assert scores["accuracy"] > 0.7 and scores["f1_macro"] > 0.65, scores  # chance: 1/3
    assert scores["pearson_r"] > 0.9
    assert est.predict(X[test]).shape == (30,)
    assert set(est.predict(X[test])) <= {0, 1, 2}


def test_scores_by_hand():
    s = eda_pinn_scores([0, 0, 1, 1], [0, 1, 1, 1], [[1.0, 2.0], [3.0, 4.0]], [[1.0, 2.0], [3.0, 6.0]])
    assert s["rmse"] == pytest.approx(1.0)  # sqrt(4 / 4)
    # r of (1, 2, 3, 4) and (1, 2, 3, 6): sum dx dy = 8, sum dx^2 = 5, sum dy^2 = 14
    assert s["pearson_r"] == pytest.approx(8 / np.sqrt(5.0 * 14.0))
    assert s["f1_macro"] == pytest.approx((2 / 3 + 4 / 5) / 2)
    assert s["f1_weighted"] == pytest.approx((2 / 3 + 4 / 5) / 2)
    s = eda_pinn_scores([0, 0, 0, 1], [0, 0, 1, 1], [0.0, 1.0], [0.0, 1.0])
    assert s["f1_weighted"] == pytest.approx(0.75 * 0.8 + 0.25 * 2 / 3)
    assert s["rmse"] == 0.0 and s["pearson_r"] == pytest.approx(1.0) and s["accuracy"] == 0.75


def test_exponential_form_save_load_and_errors(tmp_path):
    X, y, e, _ = _ode_windows(1, n_blocks=8)
    est = EDAPINN(n_drives=2, form="exponential", max_epochs=3, random_state=0, device="cpu")
    est.fit(X, y, eda=e)
    assert est.module_.form == "exponential" and est.module_.initial_value == 0
    assert set(est.physical_params_) == {"alpha0", "beta", "gamma"}
    assert est.physical_params_["beta"].shape == (2,)
    path = est.save(tmp_path / "pinn.pt")
    back = EDAPINN.load(path)
    np.testing.assert_allclose(back.predict_eda(X), est.predict_eda(X), rtol=1e-6)
    np.testing.assert_allclose(back.physical_params_["beta"], est.physical_params_["beta"])
    with pytest.raises(InvalidParameterError, match="eda"):
        EDAPINN(max_epochs=1).fit(X, y)
    with pytest.raises(InvalidParameterError, match="lambda_p"):
        EDAPINN(max_epochs=1, lambda_p=-1.0).fit(X, y, eda=e)
    with pytest.raises(InvalidParameterError, match="n_drives"):
        EDAPINN(n_drives=9, max_epochs=1).fit(X, y, eda=e)
