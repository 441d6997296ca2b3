"""SleepApneaClassifier (METHODS.md section 4): both heads learn on simulated PSG epochs, the
relevance lands on the apnea events, figures, persistence."""

import time

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from physioaffect.errors import InvalidParameterError  # noqa: E402
from physioaffect.estimators.sleep import SleepApneaClassifier  # noqa: E402
from physioaffect.simulate import psg_epochs  # noqa: E402

# A small configuration of the published architecture, for CPU tests (the published one is
# asserted by construction in test_nets_sleep_vit.py): 16 Hz epochs of 480 samples, 1-s patches.
SMALL = dict(n_times=480, patch_size=16, embed_dim=32, depth=2, n_heads=2, mlp_dim=64,
             shared_dim=32, scaling="zscore", lr=2e-3, max_epochs=30, batch_size=32,
             random_state=0)


@pytest.fixture(scope="module")
def fitted():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    train = psg_epochs(600, random_state=1, apnea_fraction=0.4)
    test = psg_epochs(300, random_state=2, apnea_fraction=0.4)
    start = time.perf_counter()
    clf = SleepApneaClassifier(**SMALL).fit(train)
    seconds = time.perf_counter() - start
    yield clf, test, seconds
    torch.set_num_threads(before)


def test_both_heads_learn_well_above_chance(fitted):
    clf, test, seconds = fitted
    res = clf.evaluate(test)
    print(f"fit {seconds:.1f} s;", res)
    stage, apnea = res["stage"], res["apnea"]
    # 5 stages: chance kappa 0, chance macro-F1 about 0.2, majority class (N2) 0.44 of epochs.
    # Seen: accuracy 0.59, macro-F1 0.45, kappa 0.39.
    assert stage["cohen_kappa"] > 0.2 and stage["macro_f1"] > 0.3 and stage["accuracy"] > 0.45
    # 4 apnea classes: majority ("none") 0.6 of epochs. Seen: 0.89, 0.87, 0.81.
    assert apnea["cohen_kappa"] > 0.6 and apnea["macro_f1"] > 0.7 and apnea["accuracy"] > 0.8
    assert clf.score(test) == pytest.approx((stage["accuracy"] + apnea["accuracy"]) / 2)
    assert clf.n_apnea_ == 4 and [c.tolist() for c in clf.classes_] == [[0, 1, 2, 3, 4],
                                                                        [0, 1, 2, 3]]
    assert clf.ch_names_ == ("ppg", "flow", "thorax", "abdomen")
    assert clf.module_.n_times == 480 and clf.model_sfreq_ == 16.0 and clf.sfreq_ == 64.0
    assert len(clf.history_.loss) == 30 and clf.history_.loss[-1] < clf.history_.loss[0]


def test_relevance_lands_on_the_apnea_events(fitted):
    clf, test, _ = fitted
    rel = clf.relevance(test)
    assert rel.dims == ("epoch", "time") and rel.shape == (300, 480)
    np.testing.assert_allclose(rel.sum("time"), 1.0)
    t = rel["time"].values
    events = np.flatnonzero(test["apnea"].values > 0)
    onset = test["apnea_onset"].values[events]
    duration = test["apnea_duration"].values[events]
    inside = np.array([rel.values[i][(t >= a) & (t < a + d)].sum()
                       for i, a, d in zip(events, onset, duration, strict=True)])
    share = duration / 30.0
    # more relevance inside the event than its share of the epoch (seen: 0.75 vs 0.67, in
    # 88 % of events)
    assert inside.mean() > 1.05 * share.mean()
    assert np.mean(inside > share) > 0.7
    last = clf.relevance(test.isel(epoch=events[:5]), method="last")
    np.testing.assert_allclose(last.sum("time"), 1.0)


def test_predictions_numpy_input_and_figures(fitted, tmp_path):
    from physioaffect.plotting_sleep import plot_hypnogram, plot_relevance

    clf, test, _ = fitted
    sub = test.isel(epoch=slice(0, 60))
    pred = clf.predict(sub)
    assert pred.shape == (60, 2) and pred.dtype == np.int64
    proba = clf.predict_proba(sub)
    assert [p.shape for p in proba] == [(60, 5), (60, 4)]
    for p in proba:
        np.testing.assert_allclose(p.sum(1), 1.0)
    np.testing.assert_array_equal(pred, np.stack([p.argmax(1) for p in proba], 1))
    # numpy epochs + sfreq give the same answers
    x = sub["signals"].values
    clf_np = clf.set_params(sfreq=64.0, channels=["ppg", "flow", "thorax", "abdomen"])
    try:
        np.testing.assert_array_equal(clf_np.predict(x), pred)
    finally:
        clf.set_params(sfreq=None, channels=None)
    with pytest.raises(InvalidParameterError, match="sfreq"):
        clf.predict(x)
    with pytest.raises(InvalidParameterError, match="lacks channels"):
        clf.predict(sub.sel(channel=["ppg", "flow"]))

    fig = plot_hypnogram(sub["stage"].values, pred[:, 0], path=tmp_path / "hyp.png")
    assert (tmp_path / "hyp.png").stat().st_size > 1000
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["W", "REM", "N1", "N2", "N3"]
    assert "agreement" in ax.get_title()
    rel = clf.relevance(sub.isel(epoch=[0]))
    inputs = clf.prepared(sub.isel(epoch=[0]))
    fig = plot_relevance(inputs.values[0], rel.values[0], sfreq=clf.model_sfreq_,
                         ch_names=clf.ch_names_, path=tmp_path / "rel.png")
    assert len(fig.axes) == 5 and (tmp_path / "rel.png").stat().st_size > 1000
    with pytest.raises(InvalidParameterError, match="epochs"):
        plot_hypnogram([0, 1, 2], [0, 1])
    with pytest.raises(InvalidParameterError, match="no sleep stage"):
        plot_hypnogram(["W", "X"])


def test_save_and_load_round_trip(fitted, tmp_path):
    clf, test, _ = fitted
    sub = test.isel(epoch=slice(0, 20))
    path = clf.save(tmp_path / "sleep.pt")
    again = SleepApneaClassifier.load(path)
    assert [c.tolist() for c in again.classes_] == [c.tolist() for c in clf.classes_]
    assert again.model_sfreq_ == clf.model_sfreq_ and again.ch_names_ == clf.ch_names_
    np.testing.assert_array_equal(again.predict(sub), clf.predict(sub))


def test_fit_inputs_labels_and_flat_channels():
    torch.set_num_threads(1)
    ds = psg_epochs(24, random_state=3, apnea_fraction=0.5)
    tiny = dict(SMALL, embed_dim=8, depth=1, mlp_dim=8, shared_dim=8, max_epochs=1)
    x = ds["signals"].values.copy()
    x[:, 3] = 0.0                                              # abdomen belt off
    x[4, 1] = 1.0                                              # flow flat in epoch 4
    names = ["R", "Sleep stage 2", "W", "N3", 1, 4] * 4        # any stage vocabulary
    y = np.stack([np.array(names, dtype=object), ds["apnea"].values.astype(object)], axis=1)
    with pytest.warns(UserWarning) as record:
        clf = SleepApneaClassifier(sfreq=64.0, n_apnea=5, **tiny).fit(x, y)
    text = " ".join(str(w.message) for w in record)
    assert "'ch3'" in text and "'ch1' in 1" in text
    assert clf.ch_names_ == ("ch0", "ch1", "ch2") and clf.dropped_channels_ == ["ch3"]
    assert clf.module_.n_apnea == 5 and clf.module_.n_chans == 3
    with pytest.warns(UserWarning, match="kept"):
        assert clf.predict(x).shape == (24, 2)                  # every epoch answered
    with pytest.raises(InvalidParameterError, match="no sleep stage"):
        SleepApneaClassifier(sfreq=64.0, **tiny).fit(ds["signals"].values,
                                                     {"stage": ["Q"] * 24, "apnea": [0] * 24})
    with pytest.raises(InvalidParameterError, match="y"):
        SleepApneaClassifier(sfreq=64.0, **tiny).fit(ds["signals"].values)
    with pytest.raises(InvalidParameterError, match="class_weight"):
        SleepApneaClassifier(class_weight={0: 2.0}, **tiny).fit(ds)
    cfg = SleepApneaClassifier(**tiny).train_config(0)
    assert cfg.loss == {"stage": "cross_entropy", "apnea": "cross_entropy"}
    assert cfg.loss_weights == {"stage": 1.0, "apnea": 2.0}
    published = SleepApneaClassifier()
    assert (published.max_epochs, published.batch_size, published.optimizer, published.lr,
            published.weight_decay, published.loss_weights) == (35, 64, "adamw", 1e-4, 0.004,
                                                                (1.0, 2.0))
