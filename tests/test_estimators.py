import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import make_blobs
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from physioaffect.errors import InvalidParameterError
from physioaffect.estimators import HiSTNClassifier, RBTransformerClassifier, TorchClassifierBase
from physioaffect.evaluation import WithinSubjectTrialKFold, make_groups
from physioaffect.features import DifferentialEntropy
from physioaffect.montage import Montage, get_montage
from physioaffect.nets import HiSTN, RBTransformer

SFREQ = 128.0
DREAMER = get_montage("dreamer").ch_names


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    # small networks on a shared machine: one intra-op thread is fastest and avoids oversubscription
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


# --------------------------------------------------------------------------------------------------
# scikit-learn conformance
# --------------------------------------------------------------------------------------------------

# scikit-learn's generic checks feed 2-D arrays of a few columns. HiSTN reads 2-D X as flattened
# epochs (n, n_chans * n_times), so it runs on a one-electrode montage: each row is a one-channel
# epoch of n_features samples. RBTransformer reads 2-D X as flattened tokens (n, n_chans * n_bands);
# with n_bands=1 each column is an electrode token of width 1. Both train in a fast configuration:
# full-batch steps, 8 epochs.
SINGLE = Montage(name="single", ch_names=("Cz",), positions=[[0.0, 0.0, 0.1]],
                 regions={"all": ("Cz",)}, sfreq_default=4.0)
FAST = dict(max_epochs=8, batch_size=512, lr=3e-2, schedule="constant", random_state=0)
CHECKED = [
    HiSTNClassifier(sfreq=4.0, montage=SINGLE, n_filters=4, kernel_length=2, depthwise_length=1,
                    separable_length=1, drop_prob=0.0, ordinal=False, **FAST),
    RBTransformerClassifier(n_bands=1, embed_dim=8, depth=1, n_heads=1, head_dim=8, ffn_dim=8,
                            drop_prob=0.0, **FAST),
]

_ROUNDOFF = ("float32 kernels of torch's CPU backend (oneDNN/BLAS) group rows differently for "
             "other batch sizes and orders, so a sample's logits change at the 1e-7 relative "
             "level; the check's tolerance is rtol=1e-7 (invariance at rtol=1e-5 is asserted in "
             "test_predictions_do_not_depend_on_the_batch)")
EXPECTED_FAILURES = {
    "HiSTNClassifier": {
        "check_classifiers_train": (
            "the check's 2-feature blobs become one-channel epochs of 2 samples; HiSTN's front "
            "end (valid convolution, pooling by 2) reduces each to a single time step, so the "
            "three blobs are separated along one learned direction only and training accuracy "
            "stays below the check's 0.83. Learning on EEG is tested in "
            "test_estimators_learning.py"),
        "check_methods_sample_order_invariance": _ROUNDOFF,
        "check_methods_subset_invariance": _ROUNDOFF,
    },
    "RBTransformerClassifier": {
        "check_classifiers_train": (
            "the fast configuration (8 full-batch steps, to keep the suite quick) does not "
            "reach the check's 0.83 training accuracy on make_blobs; with enough epochs it "
            "does (test_rbtransformer_learns_blobs)"),
        "check_methods_sample_order_invariance": _ROUNDOFF,
        "check_methods_subset_invariance": _ROUNDOFF,
    },
}


def _expected(estimator):
    return EXPECTED_FAILURES.get(type(estimator).__name__, {})


@parametrize_with_checks(CHECKED, expected_failed_checks=_expected)
def test_sklearn_compatible(estimator, check):
    check(estimator)


def test_rbtransformer_learns_blobs():
    # covers the expected failure of check_classifiers_train in the fast configuration
    X, y = make_blobs(n_samples=300, random_state=0)
    X = StandardScaler().fit_transform(X)
    clf = clone(CHECKED[1]).set_params(max_epochs=20, batch_size=64, lr=1e-2).fit(X, y)
    assert clf.score(X, y) > 0.83
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_array_equal(clf.classes_[proba.argmax(1)], clf.predict(X))
    np.testing.assert_allclose(np.exp(clf.predict_log_proba(X)), proba, rtol=1e-10)


def test_predictions_do_not_depend_on_the_batch(rng):
    X = rng.standard_normal((40, 14, 4))
    y = np.arange(40) % 3
    clf = RBTransformerClassifier(embed_dim=8, depth=1, n_heads=2, head_dim=4, ffn_dim=8,
                                  max_epochs=2, batch_size=16, random_state=0).fit(X, y)
    full = clf.predict_proba(X)
    order = rng.permutation(40)
    np.testing.assert_allclose(clf.predict_proba(X[order]), full[order], rtol=1e-5)
    np.testing.assert_allclose(clf.predict_proba(X[7:9]), full[7:9], rtol=1e-5)


# --------------------------------------------------------------------------------------------------
# published defaults (METHODS.md 1.7 and 2.4)
# --------------------------------------------------------------------------------------------------

def test_histn_defaults_follow_the_paper():
    clf = HiSTNClassifier(sfreq=SFREQ, random_state=3)
    cfg = clf.train_config()
    assert (cfg.optimizer, cfg.lr, cfg.epochs, cfg.batch_size) == ("adam", 1e-3, 50, 256)
    assert cfg.lr_at(29) == 1e-3 and cfg.lr_at(30) == 5e-4
    assert cfg.sampling == "balanced" and cfg.ordinal_sigma == 0.5 and cfg.seed == 3
    assert clf.get_params()["drop_prob"] == 0.5
    assert HiSTNClassifier(sfreq=SFREQ, ordinal=False).train_config().ordinal_sigma is None


def test_rbtransformer_defaults_follow_the_paper():
    cfg = RBTransformerClassifier().train_config()
    assert (cfg.optimizer, cfg.lr, cfg.weight_decay, cfg.epochs) == ("adamw", 1e-3, 1e-3, 300)
    assert cfg.label_smoothing == 0.12 and cfg.schedule == "cosine"
    assert cfg.lr_at(0) == pytest.approx(1e-3) and cfg.lr_at(300) == pytest.approx(1e-6)
    assert cfg.batch_size_at(149) == 256 and cfg.batch_size_at(150) == 64
    X = np.zeros((3, 14, 4))
    clf = RBTransformerClassifier(montage="dreamer", max_epochs=1, random_state=0)
    clf.fit(X, [0, 1, 2])
    assert isinstance(clf.module_, RBTransformer)
    assert clf.module_.count_parameters().total == 660_480 + 128 * 14 + 129 * 3


# --------------------------------------------------------------------------------------------------
# inputs: layouts, xarray, required sampling rate
# --------------------------------------------------------------------------------------------------

def _tiny_histn(**kw):
    params = dict(sfreq=SFREQ, n_filters=2, kernel_length=8, max_epochs=2, batch_size=16,
                  random_state=0)
    params.update(kw)
    return HiSTNClassifier(**params)


def _tiny_rbt(**kw):
    params = dict(embed_dim=8, depth=1, n_heads=2, head_dim=4, ffn_dim=8, max_epochs=2,
                  batch_size=16, random_state=0)
    params.update(kw)
    return RBTransformerClassifier(**params)


def test_histn_needs_sfreq(rng):
    X = rng.standard_normal((6, 14, 32))
    with pytest.raises(InvalidParameterError, match="sfreq"):
        HiSTNClassifier(max_epochs=1).fit(X, [0, 1] * 3)


def test_histn_reads_xarray_by_channel_name(rng):
    xr = pytest.importorskip("xarray")
    X = rng.standard_normal((12, 14, 32))
    y = np.arange(12) % 3
    clf = _tiny_histn().fit(X, y)
    assert isinstance(clf.module_, HiSTN) and clf.ch_names_ == DREAMER
    perm = rng.permutation(14)
    da = xr.DataArray(X[:, perm, :].transpose(2, 0, 1), dims=("time", "epoch", "channel"),
                      coords={"channel": [DREAMER[i].lower() for i in perm]},
                      attrs={"sfreq": SFREQ})
    np.testing.assert_allclose(clf.predict_proba(da), clf.predict_proba(X), rtol=1e-6)
    # fitted from xarray alone: the rate comes from its attrs
    clf2 = _tiny_histn(sfreq=None).fit(da, y)
    assert clf2.sfreq_ == SFREQ
    np.testing.assert_allclose(clf2.predict_proba(X), clf.predict_proba(X), rtol=1e-5)
    with pytest.raises(InvalidParameterError, match="missing"):
        clf.predict(da.isel(channel=slice(1, None)))
    with pytest.raises(InvalidParameterError, match="Hz"):
        clf.predict(da.assign_attrs(sfreq=256.0))


def test_histn_flattened_epochs_equal_3d(rng):
    X = rng.standard_normal((12, 14, 32))
    y = np.arange(12) % 2
    a = _tiny_histn().fit(X, y)
    b = _tiny_histn().fit(X.reshape(12, -1), y)
    np.testing.assert_allclose(b.predict_proba(X.reshape(12, -1)), a.predict_proba(X), rtol=1e-6)
    with pytest.raises(InvalidParameterError, match="14 channels"):
        _tiny_histn().fit(X[:, :13], y)
    with pytest.raises(InvalidParameterError, match="multiple of 14"):
        _tiny_histn().fit(X.reshape(12, -1)[:, :-1], y)


def test_rbtransformer_token_layouts(rng):
    X = rng.standard_normal((12, 14, 4))
    y = np.array(["lo", "hi", "mid"] * 4)
    a = _tiny_rbt().fit(X, y)
    b = _tiny_rbt().fit(X.reshape(12, -1), y)  # n_bands=None -> 4 for 2-D input
    assert a.input_shape_ == b.input_shape_ == (14, 4)
    np.testing.assert_allclose(b.predict_proba(X.reshape(12, -1)), a.predict_proba(X), rtol=1e-6)
    assert list(a.classes_) == ["hi", "lo", "mid"]
    assert set(a.predict(X)) <= {"hi", "lo", "mid"}
    c = _tiny_rbt(montage="dreamer").fit(X.reshape(12, -1)[:, :42], y)  # 42 / 14 -> 3 bands
    assert c.input_shape_ == (14, 3)
    with pytest.raises(InvalidParameterError, match="n_bands"):
        _tiny_rbt(n_bands=5).fit(X, y)
    with pytest.raises(ValueError, match="features"):
        a.predict(X[:, :13])


def test_rbtransformer_xarray_with_montage(rng):
    xr = pytest.importorskip("xarray")
    X = rng.standard_normal((12, 14, 4))
    y = np.arange(12) % 2
    clf = _tiny_rbt(montage="dreamer").fit(X, y)
    perm = rng.permutation(14)
    da = xr.DataArray(X[:, perm], dims=("window", "channel", "band"),
                      coords={"channel": [DREAMER[i] for i in perm]})
    np.testing.assert_allclose(clf.predict_proba(da), clf.predict_proba(X), rtol=1e-6)
    # without a montage, the order seen in fit is the reference
    free = _tiny_rbt().fit(da, y)
    assert free.ch_names_ == tuple(DREAMER[i] for i in perm)
    np.testing.assert_allclose(free.predict_proba(da.isel(channel=np.argsort(perm))),
                               free.predict_proba(da), rtol=1e-6)


def test_class_weight_dict_uses_labels(rng):
    X = rng.standard_normal((30, 14, 4))
    y = np.array(["a", "b", "c"] * 10)
    clf = _tiny_rbt(class_weight={"c": 4.0, "a": 0.5}).fit(X, y)
    assert clf.train_config().class_weight == [0.5, 1.0, 4.0]
    with pytest.raises(InvalidParameterError, match="2 classes"):
        _tiny_rbt().fit(X, ["a"] * 30)


# --------------------------------------------------------------------------------------------------
# partial_fit, persistence, pickling, grid search
# --------------------------------------------------------------------------------------------------

def test_partial_fit_continues(rng):
    X = rng.standard_normal((64, 14, 4))
    y = (X[:, 3, 1] > 0).astype(int)
    clf = _tiny_rbt(lr=1e-2)
    with pytest.raises(InvalidParameterError, match="classes"):
        clf.partial_fit(X, y)
    clf.partial_fit(X, y, classes=[0, 1])
    first = {k: v.clone() for k, v in clf.module_.state_dict().items()}
    for _ in range(14):
        clf.partial_fit(X, y)
    assert clf.n_epochs_ == 15 and len(clf.history_.loss) == 15
    assert clf.history_.epoch == list(range(15))
    assert np.mean(clf.history_.loss[-3:]) < np.mean(clf.history_.loss[:3])
    assert any(not torch.equal(first[k], v) for k, v in clf.module_.state_dict().items())
    with pytest.raises(InvalidParameterError, match="not among"):
        clf.partial_fit(X, np.full(64, 7))
    with pytest.raises(InvalidParameterError, match="differs"):
        clf.partial_fit(X, y, classes=[0, 1, 2])
    # partial_fit after fit continues from the fitted weights
    fitted = _tiny_rbt().fit(X, y)
    before = fitted.predict_proba(X)
    fitted.partial_fit(X, y)
    assert fitted.n_epochs_ == 3
    assert not np.allclose(fitted.predict_proba(X), before)


def test_partial_fit_follows_the_schedule(rng):
    X = rng.standard_normal((20, 14, 4))
    y = np.arange(20) % 2
    clf = _tiny_rbt(schedule="step", lr=1e-2, lr_steps=((2, 1e-3),))
    for _ in range(3):
        clf.partial_fit(X, y, classes=[0, 1])
    assert clf.history_.lr == [1e-2, 1e-2, 1e-3]


@pytest.mark.parametrize("kind", ["histn", "rbt"])
def test_save_load_round_trip(tmp_path, rng, kind):
    if kind == "histn":
        X = rng.standard_normal((12, 14, 32))
        clf = _tiny_histn(chs_info=[{"ch_name": c} for c in reversed(DREAMER)])
    else:
        X = rng.standard_normal((12, 14, 4))
        clf = _tiny_rbt(montage=SINGLE_14, class_weight={1: 2.0})
    y = np.array([10, 20, 30] * 4)
    clf.fit(X, y)
    path = clf.save(tmp_path / "model.pt")
    ckpt = torch.load(path, weights_only=True)  # plain values only
    assert ckpt["extra"]["estimator"].endswith(type(clf).__name__)
    loaded = TorchClassifierBase.load(path)
    assert type(loaded) is type(clf)
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    np.testing.assert_array_equal(loaded.classes_, clf.classes_)
    assert loaded.history_.loss == clf.history_.loss
    assert loaded.get_params().keys() == clf.get_params().keys()
    if kind == "rbt":
        assert loaded.montage == SINGLE_14
        with pytest.raises(InvalidParameterError, match="not a HiSTNClassifier"):
            HiSTNClassifier.load(path)
    else:
        assert loaded.sfreq_ == SFREQ
    # continue training the loaded estimator
    loaded.partial_fit(X, y)
    assert loaded.n_epochs_ == clf.n_epochs_ + 1


# A custom montage (an object, not a name) must survive a checkpoint.
SINGLE_14 = Montage(name="custom14", ch_names=DREAMER, positions=get_montage("dreamer").positions,
                    regions={"all": DREAMER}, sfreq_default=128.0)


def test_save_refuses_callables(tmp_path, rng):
    X = rng.standard_normal((8, 14, 4))
    clf = _tiny_rbt(optimizer=lambda params: torch.optim.SGD(params, lr=0.1)).fit(X, [0, 1] * 4)
    with pytest.raises(InvalidParameterError, match="optimizer"):
        clf.save(tmp_path / "m.pt")


def test_pickle_and_clone(rng):
    X = rng.standard_normal((12, 14, 32))
    y = np.arange(12) % 2
    clf = _tiny_histn().fit(X, y)
    again = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(again.predict_proba(X), clf.predict_proba(X))
    fresh = clone(clf)
    assert not hasattr(fresh, "module_") and fresh.get_params() == clf.get_params()


def _alpha_epochs(rng, n_trials=8, per_trial=4, n_times=512):
    """Raw 4-s epochs: class 1 trials carry a 10 Hz rhythm over the left frontal channels."""
    t = np.arange(n_times) / SFREQ
    X, y, trial = [], [], []
    for k in range(n_trials):
        label = k % 2
        for _ in range(per_trial):
            x = rng.standard_normal((14, n_times))
            if label:
                x[:4] += 2.0 * np.sin(2 * np.pi * 10 * t + rng.uniform(0, 2 * np.pi))
            X.append(x)
            y.append(label)
            trial.append(k)
    return np.array(X), np.array(y), np.array(trial)


def test_pipeline_in_grid_search_with_trial_groups(rng):
    X, y, trial = _alpha_epochs(rng)
    groups = make_groups(subject=np.zeros(len(y), dtype=int), trial=trial)
    pipe = make_pipeline(
        DifferentialEntropy(sfreq=SFREQ, preset="rbtransformer", flatten=True),
        StandardScaler(),
        _tiny_rbt(max_epochs=15, lr=1e-2, n_bands=4))
    search = GridSearchCV(pipe, {"rbtransformerclassifier__drop_prob": [0.0, 0.1]},
                          cv=WithinSubjectTrialKFold(n_splits=2), n_jobs=1)
    search.fit(X, y, groups=groups)
    assert search.best_score_ > 0.8
    assert search.best_estimator_[-1].input_shape_ == (14, 4)
    assert search.score(X, y) > 0.8
