"""``physioaffect evaluate`` over feature files written by ``physioaffect preprocess``."""

from __future__ import annotations

import csv
import struct

import numpy as np
import pytest

from physioaffect.cli.main import main

SUBJECT_RE = r"^(S\d+)_"
VALENCE = r"valence=(\d+)"


@pytest.fixture(scope="module")
def features(tmp_path_factory):
    """Feature files of a tiny simulated study: 3 subjects x 4 trials x 4 s, 2-s DE windows."""
    from physioaffect.preprocess import PreprocessParams
    from physioaffect.preprocess.batch import run_batch
    from physioaffect.simulate.edf import write_study
    from physioaffect.simulate.study import study

    folder = tmp_path_factory.mktemp("evaluate")
    # seed 4: every subject has one low- and one high-valence trial among trials 1-2 and 3-4
    ds = study("dreamer", n_subjects=3, n_trials=4, trial_duration=4.0, baseline_duration=4.0,
               random_state=4)
    high = ds["valence"].values >= 3
    assert (high[:, :2].sum(axis=1) == 1).all() and (high[:, 2:].sum(axis=1) == 1).all()
    write_study(ds, folder / "edf")
    params = PreprocessParams(window=2.0, baseline=(0.0, 4.0), labels="annotations")
    rows = run_batch([folder / "edf"], folder / "features", params, threads=1)
    assert all(r["status"] == "done" for r in rows)
    return folder / "features", ds


def _run(capsys, *argv):
    code = main(["evaluate", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


def _png_size(path):
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_within_subject_table_matches_cross_validate(features, capsys, tmp_path):
    folder, ds = features
    code, out, err = _run(capsys, folder, "--subject-regex", SUBJECT_RE, "--target-pattern",
                          VALENCE, "--threshold", 3, "--n-splits", 2, "-o", tmp_path / "out")
    assert code == 0, err
    lines = out.splitlines()
    assert "protocol: within-subject trial 2-fold" in lines
    rows = [line.split() for line in lines if line.startswith("S0")]
    assert [r[0] for r in rows] == ["S01", "S02", "S03"]
    assert [r[1:3] for r in rows] == [["2", "8"]] * 3  # 2 folds, 4 trials x 2 stimulus windows
    assert any(line.startswith("mean ± std (3 subj.)") for line in lines)
    assert "12 feature file(s): 24 windows" in out  # baseline windows left out by the pattern

    # the same numbers by hand: read the files, label, group, cross-validate
    import xarray as xr
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from physioaffect.evaluation import cross_validate, make_groups

    X, y, subject, trial = [], [], [], []
    for path in sorted(folder.glob("*.nc")):
        with xr.open_dataset(path) as f:
            keep = np.char.startswith(f["label"].values.astype(str), "stimulus")
            X.append(f["de"].values[keep].reshape(int(keep.sum()), -1))
            y += [int(str(v).split("valence=")[1].split()[0]) >= 3
                  for v in f["label"].values[keep]]
            subject += [path.name[:3]] * int(keep.sum())
            trial += [path.stem] * int(keep.sum())
    res = cross_validate(make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)),
                         np.concatenate(X), y=np.array(y, dtype=int), n_splits=2,
                         groups=make_groups(subject=subject, trial=trial))
    with open(tmp_path / "out" / "per_subject.csv") as fh:
        table = list(csv.reader(fh))
    assert table[0] == ["protocol", "within-subject trial 2-fold"]
    assert table[1] == ["subject", "n_folds", "n_test", "accuracy", "macro_f1"]
    np.testing.assert_allclose([float(r[3]) for r in table[2:5]],
                               res.subject_scores["accuracy"], atol=1e-5)
    np.testing.assert_allclose([float(r[4]) for r in table[2:5]],
                               res.subject_scores["macro_f1"], atol=1e-5)
    assert _png_size(tmp_path / "out" / "confusion_matrix.png") == (500, 450)
    assert (tmp_path / "out" / "folds.csv").read_text().count("\n") == 2 + 6


def test_loso_and_published_preset(features, capsys, tmp_path):
    folder, _ = features
    common = [folder, "--subject-regex", SUBJECT_RE, "--target-pattern", VALENCE,
              "--threshold", 3, "-o", tmp_path]
    code, out, err = _run(capsys, *common, "--protocol", "loso")
    assert code == 0, err
    assert "protocol: leave-one-subject-out" in out
    code, out, err = _run(capsys, *common, "--protocol", "rbtransformer", "--n-splits", 3)
    assert code == 0, err
    assert "protocol: rbtransformer random-window 3-fold (published; windows of one trial on " \
           "both sides: leaks)" in out
    warnings = err.splitlines()
    assert len(warnings) == 1 and warnings[0].startswith("physioaffect evaluate: warning:")
    assert "overstates generalisation" in warnings[0]


def test_multiclass_target_and_glob(features, capsys, tmp_path):
    folder, _ = features
    code, out, err = _run(capsys, f"{folder}/S0*_trial0*.nc", "--subject-regex", SUBJECT_RE,
                          "--target-pattern", VALENCE, "--protocol", "loso", "--metrics",
                          "accuracy,balanced_accuracy", "-o", tmp_path)
    assert code == 0, err
    assert "balanced_accuracy" in out
    assert "target    label ~ 'valence=(\\\\d+)': 1:" in out  # ratings as classes


@pytest.mark.parametrize("argv, message", [
    ([], "give feature files"),
    (["{missing}"], "no such file or folder"),
    (["{folder}"], "--subject-regex"),
    (["{folder}", "--subject-regex", "(["], "not a valid regular expression"),
    (["{folder}", "--subject-regex", "^(X\\d+)_"], "does not match the file name"),
    (["{folder}", "--subject-regex", SUBJECT_RE, "--target-pattern", "nothing=(\\d)"],
     "no window has a target"),
    (["{folder}", "--subject-regex", SUBJECT_RE, "--threshold", "3"], "numeric targets"),
    (["{folder}", "--subject-regex", SUBJECT_RE, "--target", "mood"], "no target 'mood'"),
    (["{folder}", "--subject-regex", SUBJECT_RE, "--variable", "bandpower"],
     "no data variable 'bandpower'"),
    (["{folder}", "--calibration", "2"], "--calibration applies to --protocol loso"),
    (["{folder}", "--n-splits", "1"], "--n-splits must be"),
    (["{folder}", "--model", "histn"], "--model histn reads raw segments"),
    (["{folder}", "--subject-regex", SUBJECT_RE, "--target-pattern", VALENCE, "--threshold",
      "3", "--model-param", "C"], "NAME=VALUE"),
    (["{folder}", "--subject-regex", SUBJECT_RE, "--target-pattern", VALENCE, "--threshold",
      "3", "--model-param", "depth=2"], "no such parameter"),
    (["{folder}", "--subject-regex", SUBJECT_RE, "--target-pattern", VALENCE, "--threshold",
      "3", "--n-splits", "5"], "needs at least that many trials"),
    (["{folder}", "--dataset", "dreamer"], "either feature files or --dataset"),
    (["--dataset", "dreamer"], "--dataset needs --path"),
    (["--dataset", "dreamer", "--path", "{missing}"], "DREAMER"),
])
def test_bad_inputs_one_line_exit_2(features, capsys, tmp_path, argv, message):
    folder, _ = features
    argv = [a.format(folder=folder, missing=tmp_path / "nope.mat") for a in argv]
    code, out, err = _run(capsys, *argv, "-o", tmp_path / "out")
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("physioaffect evaluate: error:")
    assert message in lines[0]
    assert not (tmp_path / "out").exists()


def test_unknown_choice_is_a_usage_error(capsys, tmp_path):
    code, _, err = _run(capsys, "x.nc", "--model", "svm", "-o", tmp_path)
    assert code == 2 and "invalid choice" in err


def test_rbtransformer_small(features, capsys, tmp_path):
    pytest.importorskip("torch")
    try:
        from physioaffect.estimators import RBTransformerClassifier  # noqa: F401
    except (ImportError, AttributeError):
        pytest.skip("physioaffect.estimators.RBTransformerClassifier is not available")
    import torch

    folder, _ = features
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a tiny model: threads only add overhead
    try:
        code, out, err = _run(
            capsys, folder, "--subject-regex", SUBJECT_RE, "--target-pattern", VALENCE,
            "--threshold", 3, "--protocol", "loso", "--model", "rbtransformer", "--epochs", 2,
            "--model-param", "embed_dim=16", "--model-param", "depth=1", "--model-param",
            "n_heads=2", "--model-param", "head_dim=8", "--model-param", "ffn_dim=16",
            "-o", tmp_path)
    finally:
        torch.set_num_threads(threads)
    assert code == 0, err
    assert "protocol: leave-one-subject-out" in out
    assert _png_size(tmp_path / "attention.png") == (600, 500)
    assert _png_size(tmp_path / "learning_curves.png") == (800, 350)


def test_histn_dataset_windows(monkeypatch):
    """--dataset dreamer --model histn cuts HiSTN's prepared trials into 1-s windows."""
    import argparse

    import xarray as xr

    import physioaffect.datasets as datasets
    from physioaffect.cli import evaluate

    s, t, c, n = 2, 3, 14, 3 * 128 + 5  # 3 whole seconds and a remainder
    values = np.arange(s * t * c * n, dtype=float).reshape(s, t, c, n)
    fake = xr.DataArray(values, dims=("subject", "trial", "channel", "time"),
                        coords={"subject": [1, 2], "trial": [1, 2, 3],
                                "channel": [f"c{i}" for i in range(c)],
                                "label": (("subject", "trial"), [[0, 1, 2], [3, 4, 0]])},
                        attrs={"sfreq": 128.0})
    monkeypatch.setattr(datasets, "histn_dreamer", lambda *a, **k: fake)
    args = argparse.Namespace(path="DREAMER.mat", subjects=None, model="histn",
                              dataset="dreamer", rating=None, scheme=None)
    da, _ = evaluate._read_dataset(args)
    assert da.dims == ("window", "channel", "time") and da.shape == (s * t * 3, c, 128)
    # window 10: subject 2 (index 1), trial 1 (index 0), second 1
    np.testing.assert_array_equal(da.values[10], values[1, 0, :, 128:256])
    assert (da["subject"].values[10], da["trial"].values[10]) == (2, 1)
    assert da["onset"].values[10] == 1.0 and da["target"].values[10] == 3
    assert da.attrs["window"] == 1.0
