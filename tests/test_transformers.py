import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.utils.estimator_checks import parametrize_with_checks

from physioaffect.errors import InvalidParameterError
from physioaffect.features import BandPower, DifferentialEntropy, band_power, differential_entropy

SFREQ = 128.0

# sklearn's generic checks feed 2-D arrays of a few columns: read as single-channel epochs of a
# few samples. Causal DE is defined for any length; zero-phase needs more samples than its padding.
# Band power needs at least one frequency bin strictly inside a band.
EXPECTED_FAILURES = {
    "BandPower": {
        "check_fit_idempotent": "epochs of 2 samples hold no frequency bin strictly between 0 Hz "
                                "and Nyquist, so band power is undefined",
    },
}


def _expected(est):
    return EXPECTED_FAILURES.get(type(est).__name__, {})


@parametrize_with_checks(
    [DifferentialEntropy(sfreq=SFREQ, zero_phase=False),
     DifferentialEntropy(sfreq=SFREQ, preset="torcheeg"),
     BandPower(sfreq=4.0, bands={"slow": (0.5, 1.9)})],
    expected_failed_checks=_expected,
)
def test_sklearn_compatible(estimator, check):
    check(estimator)


def test_transform_equals_function(rng):
    X = rng.standard_normal((5, 14, 384))
    out = DifferentialEntropy(sfreq=SFREQ).fit_transform(X)
    np.testing.assert_allclose(out, differential_entropy(X, SFREQ))
    flat = DifferentialEntropy(sfreq=SFREQ, flatten=True).fit(X)
    assert flat.transform(X).shape == (5, 70)
    names = flat.get_feature_names_out()
    assert names[0] == "ch0_delta" and names[-1] == "ch13_gamma"
    bp = BandPower(sfreq=SFREQ, log=True).fit_transform(X)
    np.testing.assert_allclose(bp, np.log10(band_power(X, SFREQ)))


def test_fit_checks_sfreq_and_shape(rng):
    X = rng.standard_normal((3, 2, 256))
    with pytest.raises(InvalidParameterError, match="sfreq"):
        DifferentialEntropy().fit(X)
    t = DifferentialEntropy(sfreq=SFREQ).fit(X)
    with pytest.raises(ValueError, match="256 samples"):
        t.transform(rng.standard_normal((3, 2, 300)))


def test_pipeline_in_grid_search_learns_alpha_effect(rng):
    # class 1 epochs carry a 10 Hz rhythm on channel 0: DE of alpha separates the classes
    n, n_ch, n_t = 60, 3, 256
    t = np.arange(n_t) / SFREQ
    y = np.repeat([0, 1], n // 2)
    X = rng.standard_normal((n, n_ch, n_t))
    X[y == 1, 0] += 1.5 * np.sin(2 * np.pi * 10 * t + rng.uniform(0, 2 * np.pi, (n // 2, 1)))
    pipe = make_pipeline(DifferentialEntropy(sfreq=SFREQ, flatten=True), LogisticRegression())
    grid = GridSearchCV(pipe, {"differentialentropy__zero_phase": [True, False],
                               "logisticregression__C": [0.1, 1.0]}, cv=3)
    grid.fit(X, y)
    assert grid.best_score_ > 0.9
