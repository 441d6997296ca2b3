"""Plots: valid PNG files of the requested pixel size, showing the data they were given."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from physioaffect import plotting
from physioaffect.errors import InvalidParameterError

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(path):
    """(width, height) from the IHDR chunk of a PNG file, after checking the signature."""
    data = path.read_bytes()
    assert len(data) > 100
    assert data[:8] == PNG_SIGNATURE
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_confusion_matrix_png(tmp_path):
    cm = np.array([[5, 2, 0], [1, 7, 1], [0, 3, 9]])
    fig = plotting.plot_confusion_matrix(cm, ["low", "mid", "high"], path=tmp_path / "cm.png",
                                         figsize=(4, 3), dpi=50)
    assert png_size(tmp_path / "cm.png") == (200, 150)
    ax = fig.axes[0]
    np.testing.assert_array_equal(ax.images[0].get_array(), cm)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["low", "mid", "high"]
    cells = [t.get_text() for t in ax.texts]
    assert cells == [str(v) for v in cm.ravel()]


def test_confusion_matrix_normalised_rows():
    cm = np.array([[3, 1], [0, 4]])
    fig = plotting.plot_confusion_matrix(cm, normalize="true")
    np.testing.assert_allclose(fig.axes[0].images[0].get_array(), [[0.75, 0.25], [0.0, 1.0]])
    assert [t.get_text() for t in fig.axes[0].texts] == ["0.75", "0.25", "0.00", "1.00"]


def test_confusion_matrix_from_cv_result(tmp_path, rng):
    from sklearn.linear_model import LogisticRegression

    from physioaffect.evaluation import cross_validate, make_groups

    y = np.tile(np.repeat([0, 1], 5), 4)
    X = rng.normal(size=(40, 2)) + y[:, None]
    groups = make_groups(subject=np.repeat(["a", "b"], 20), trial=np.repeat(np.arange(8), 5))
    res = cross_validate(LogisticRegression(), X, y=y, groups=groups, n_splits=2)
    fig = plotting.plot_confusion_matrix(res, path=tmp_path / "cm.png")
    assert png_size(tmp_path / "cm.png") == (500, 450)
    assert res.protocol in fig.axes[0].get_title()
    np.testing.assert_array_equal(fig.axes[0].images[0].get_array(), res.confusion_matrix)


def test_learning_curves_from_training_history(tmp_path):
    import torch

    from physioaffect.training import train

    X = torch.randn(64, 3)
    y = (X[:, 0] > 0).long()
    hist = train(torch.nn.Linear(3, 2), X, y, epochs=4, batch_size=16, progress=False,
                 validation_split=0.25, seed=0)
    fig = plotting.plot_learning_curves(hist, path=tmp_path / "lc.png", figsize=(6, 3), dpi=80)
    assert png_size(tmp_path / "lc.png") == (480, 240)
    loss_ax, metric_ax = fig.axes
    lines = {line.get_label(): line for line in loss_ax.get_lines()}
    np.testing.assert_allclose(lines["training"].get_ydata(), hist.loss)
    np.testing.assert_allclose(lines["validation"].get_ydata(), hist.val_loss)
    assert metric_ax.get_ylabel() == "metric"


class _Fitted:
    history_ = {"loss": [1.0, 0.6, 0.4], "val_loss": [1.1, 0.8, 0.7]}


def test_learning_curves_one_line_per_fold(tmp_path):
    runs = [_Fitted(), {"loss": [0.9, 0.5], "metric": [0.5, 0.7]}]
    fig = plotting.plot_learning_curves(runs, path=tmp_path / "lc.png")
    assert png_size(tmp_path / "lc.png") == (800, 350)
    assert len(fig.axes[0].get_lines()) == 3  # two training curves, one validation
    assert "2 folds" in fig._suptitle.get_text()


def test_learning_curves_errors():
    with pytest.raises(InvalidParameterError, match="loss"):
        plotting.plot_learning_curves({"val_loss": [1.0]})
    with pytest.raises(InvalidParameterError, match="history"):
        plotting.plot_learning_curves(42)
    with pytest.raises(InvalidParameterError, match="no history"):
        plotting.plot_learning_curves([])


def test_attention_map_of_rbtransformer(tmp_path):
    import torch

    from physioaffect.nets import RBTransformer

    torch.manual_seed(0)
    names = ["AF3", "F7", "F3", "FC5", "T7", "P7", "O1", "O2", "P8", "T8", "FC6", "F4", "F8",
             "AF4"]
    model = RBTransformer(n_chans=14, n_outputs=2, depth=2, embed_dim=16, n_heads=2,
                          head_dim=8, ffn_dim=16)
    X = np.random.default_rng(0).normal(size=(10, 14, 4)).astype(np.float32)
    attn = plotting.attention_maps(model, X, batch_size=4)
    assert attn.shape == (2, 2, 14, 14)
    np.testing.assert_allclose(attn.sum(axis=-1), 1.0, rtol=1e-5)
    with torch.no_grad():
        _, full = model.eval()(torch.from_numpy(X), return_attention=True)
    np.testing.assert_allclose(attn, full.mean(0).numpy(), rtol=1e-4, atol=1e-6)

    fig = plotting.plot_attention(attn, names, path=tmp_path / "attn.png", figsize=(5, 5), dpi=60)
    assert png_size(tmp_path / "attn.png") == (300, 300)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == names
    assert [t.get_text() for t in ax.get_yticklabels()] == names
    np.testing.assert_allclose(ax.images[0].get_array(), attn.mean(axis=(0, 1)), rtol=1e-6)
    one = plotting.plot_attention(attn, names, layer=1, head=0)
    np.testing.assert_allclose(one.axes[0].images[0].get_array(), attn[1, 0], rtol=1e-6)
    assert "block 1, head 0" in one.axes[0].get_title()


def test_attention_errors():
    a = np.full((2, 3, 4, 4), 0.25)
    with pytest.raises(InvalidParameterError, match="ch_names"):
        plotting.plot_attention(a, ["a", "b"])
    with pytest.raises(InvalidParameterError, match="square"):
        plotting.plot_attention(np.zeros((3, 4)))
    with pytest.raises(InvalidParameterError, match="head"):
        plotting.plot_attention(a, head=3)
    with pytest.raises(InvalidParameterError, match="layer"):
        plotting.plot_attention(a, layer=2)
    with pytest.raises(InvalidParameterError, match="RBTransformer"):
        plotting.attention_maps(object(), np.zeros((1, 4, 4)))


def test_bad_figure_arguments(tmp_path):
    with pytest.raises(InvalidParameterError, match="square"):
        plotting.plot_confusion_matrix(np.zeros((2, 3)))
    with pytest.raises(InvalidParameterError, match="classes"):
        plotting.plot_confusion_matrix(np.eye(2), ["a"])
    with pytest.raises(InvalidParameterError, match="figsize"):
        plotting.plot_confusion_matrix(np.eye(2), figsize=(0, 3))
    with pytest.raises(InvalidParameterError, match="does not exist"):
        plotting.plot_confusion_matrix(np.eye(2), path=tmp_path / "missing" / "cm.png")
