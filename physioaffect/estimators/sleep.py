"""Sleep staging and sleep apnea from cardio-respiratory epochs: the multitask sleep ViT."""

from __future__ import annotations

import dataclasses
import sys

import numpy as np
from sklearn.utils.validation import check_is_fitted

from ..errors import InvalidParameterError
from .base import TorchClassifierBase

__all__ = ["SleepApneaClassifier"]

HEADS = ("stage", "apnea")


def _mean_head_accuracy(outputs, targets):
    """Mean over the two heads of the batch accuracy (progress-bar metric)."""
    acc = [float((outputs[h].argmax(dim=1) == targets[h].reshape(-1)).float().mean())
           for h in HEADS]
    return sum(acc) / len(acc)


def _is_xarray(X):
    xr = sys.modules.get("xarray")
    return xr is not None and isinstance(X, (xr.DataArray, xr.Dataset))


class SleepApneaClassifier(TorchClassifierBase):
    """Sleep stage and apnea type of 30-s cardio-respiratory epochs (METHODS.md section 4).

    Wraps :class:`physioaffect.nets.sleep_vit.SleepViT`, a 1D vision transformer with two
    outputs (five sleep stages; apnea classes), behind scikit-learn's API. ``fit`` and
    ``predict`` take raw epochs: each is resampled to ``n_times`` samples and scaled per channel
    (:func:`physioaffect.features.psg_inputs.prepare_psg_epochs`, section 4.1); channels flat
    in every training epoch are dropped, and training epochs with a flat channel are left out
    with their labels, each with a warning naming the channel. The two cross-entropies are
    weighted 1 (stage) and 2 (apnea), and training defaults are the reference's: AdamW at
    1e-4 (weight decay 0.004), batches of 64, 35 epochs.

    The estimator is multi-output: ``y`` has two columns ``(stage, apnea)``, ``predict``
    returns both, ``predict_proba`` one array per head, and :meth:`evaluate` gives accuracy,
    macro-F1 and Cohen's kappa per head.

    Parameters
    ----------
    sfreq : float or None, default=None
        Sampling rate of the epochs in Hz; required for numpy input. None reads the ``sfreq``
        attribute of an xarray input.
    channels : sequence of str or None, default=None
        xarray input: the channels to use, in this order (default all). numpy input: the names
        of its channels (default ``ch0, ch1, ...``).
    n_apnea : int or None, default=None
        Apnea classes (labels 0..n_apnea - 1); None takes the largest training label + 1, as the
        reference does.
    n_times : int, default=2000
        Samples per prepared epoch (2000 in the reference code; 1920 is 64 Hz).
    resample : {"fft", "linear"}, default="fft"
    scaling : {"minmax", "zscore"}, default="minmax"
        Per epoch and channel: min-max to [0, 1] (reference code) or z-score (paper).
    patch_size : int, default=20
    embed_dim : int, default=256
    depth : int, default=6
    n_heads : int, default=6
    head_dim : int or None, default=None
        None: ``embed_dim // n_heads`` (42 for the published 256 / 6).
    mlp_dim : int, default=128
    shared_dim : int, default=128
    survival_prob : float, default=0.7
        Stochastic-depth survival of the last block (the first block's is 1.0).
    drop_prob : float, default=0.0
        See :class:`~physioaffect.nets.sleep_vit.SleepViT`.
    loss_weights : (float, float), default=(1.0, 2.0)
        Weights of the stage and apnea losses.
    max_epochs : int, default=35
    batch_size : int, default=64
        Samples per optimiser step (prediction uses at least 256).
    batch_size_steps : dict of {int: int}, sequence of (int, int) pairs or None, default=None
        New batch sizes from given epochs on.
    optimizer : {"adam", "adamw", "sgd"} or callable, default="adamw"
    lr : float, default=1e-4
    weight_decay : float, default=0.004
        Keras' AdamW default, as the reference trained with.
    schedule : {"constant", "step", "cosine"}, default="constant"
    lr_steps : dict of {int: float}, sequence of (int, float) pairs or None, default=None
        For ``schedule="step"``.
    class_weight : {"balanced", "max"} or None, default=None
        Per-class loss weights, computed for each head from its training labels.
    validation_split : float or None, default=None
        Fraction held out (whole groups with ``groups``) to select the epoch of lowest
        validation loss.
    patience : int or None, default=None
        Early stopping (needs ``validation_split``).
    device : {"auto", "cpu", "cuda"} or str, default="auto"
    random_state : int, numpy.random.RandomState or None, default=None
    verbose : bool, default=False

    Attributes
    ----------
    module_ : SleepViT
        The trained network (CPU, eval mode).
    classes_ : list of two ndarrays
        ``[array([0, 1, 2, 3, 4]), array([0, ..., n_apnea - 1])]``: stage labels (W, N1, N2,
        N3, REM) and apnea labels.
    stage_names_ : tuple of str
        ``("W", "N1", "N2", "N3", "REM")``.
    n_apnea_ : int
    ch_names_ : tuple of str
        Channels the network reads (after dropping flat ones).
    dropped_channels_ : list of str
        Channels dropped in ``fit`` for being flat.
    sfreq_ : float
        Rate of the raw epochs seen in ``fit``.
    model_sfreq_ : float
        Rate of the prepared epochs (``n_times`` / epoch length).
    history_ : physioaffect.training.History

    Notes
    -----
    Training runs through :func:`physioaffect.training.train` with
    ``loss={"stage": "cross_entropy", "apnea": "cross_entropy"}`` and ``loss_weights``; the
    progress metric is the mean of the two heads' accuracies. :meth:`score` is that mean too
    (scikit-learn's default accuracy is not defined for several outputs).

    Examples
    --------
    >>> from physioaffect.simulate import psg_epochs
    >>> ds = psg_epochs(40, random_state=0)
    >>> clf = SleepApneaClassifier(n_times=480, patch_size=16, embed_dim=16, depth=1,
    ...                            n_heads=2, max_epochs=1, random_state=0).fit(ds)
    >>> clf.predict(ds).shape
    (40, 2)
    """

    _last_dim = "time"

    def __init__(self, sfreq=None, *, channels=None, n_apnea=None, n_times=2000, resample="fft",
                 scaling="minmax", patch_size=20, embed_dim=256, depth=6, n_heads=6,
                 head_dim=None, mlp_dim=128, shared_dim=128, survival_prob=0.7, drop_prob=0.0,
                 loss_weights=(1.0, 2.0), max_epochs=35, batch_size=64, batch_size_steps=None,
                 optimizer="adamw", lr=1e-4, weight_decay=0.004, schedule="constant",
                 lr_steps=None, class_weight=None, validation_split=None, patience=None,
                 device="auto", random_state=None, verbose=False):
        self.sfreq = sfreq
        self.channels = channels
        self.n_apnea = n_apnea
        self.n_times = n_times
        self.resample = resample
        self.scaling = scaling
        self.patch_size = patch_size
        self.embed_dim = embed_dim
        self.depth = depth
        self.n_heads = n_heads
        self.head_dim = head_dim
        self.mlp_dim = mlp_dim
        self.shared_dim = shared_dim
        self.survival_prob = survival_prob
        self.drop_prob = drop_prob
        self.loss_weights = loss_weights
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.batch_size_steps = batch_size_steps
        self.optimizer = optimizer
        self.lr = lr
        self.weight_decay = weight_decay
        self.schedule = schedule
        self.lr_steps = lr_steps
        self.class_weight = class_weight
        self.validation_split = validation_split
        self.patience = patience
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    # ---------------------------------------------------------------------------------------------
    # inputs and targets
    # ---------------------------------------------------------------------------------------------

    @classmethod
    def _module_class(cls):
        from ..nets.sleep_vit import SleepViT

        return SleepViT

    def _labelled(self, X):
        """X as a DataArray (epoch, channel, time) with an sfreq attribute."""
        import xarray as xr

        from .._validation import check_sfreq, check_signal

        if _is_xarray(X):
            if isinstance(X, xr.Dataset):
                if "signals" not in X:
                    raise InvalidParameterError(
                        "a Dataset X needs a 'signals' variable (as physioaffect.simulate."
                        "psg_epochs gives)")
                X = X["signals"].assign_attrs({**X.attrs, **X["signals"].attrs})
            if set(X.dims) != {"epoch", "channel", "time"}:
                raise InvalidParameterError(
                    f"{type(self).__name__} reads a DataArray with dims ('epoch', 'channel', "
                    f"'time'), got {X.dims}")
            X = X.transpose("epoch", "channel", "time")
            seen = X.attrs.get("sfreq")
            if self.sfreq is None and seen is None:
                check_sfreq(None)
            sfreq = check_sfreq(self.sfreq if self.sfreq is not None else seen)
            if seen is not None and abs(float(seen) - sfreq) > 1e-6 * sfreq:
                raise InvalidParameterError(
                    f"`sfreq`={sfreq:g} Hz but X.attrs['sfreq'] is {float(seen):g} Hz")
            return X.assign_attrs(sfreq=sfreq)
        sfreq = check_sfreq(self.sfreq)
        x = check_signal(X, name="X", min_ndim=3, max_ndim=3, real_dtype=True)
        names = ([f"ch{i}" for i in range(x.shape[1])] if self.channels is None
                 else [str(c) for c in self.channels])
        if len(names) != x.shape[1]:
            raise InvalidParameterError(
                f"`channels` names {len(names)} channels; X has {x.shape[1]} (axis 1)")
        return xr.DataArray(x, dims=("epoch", "channel", "time"),
                            coords={"channel": names}, attrs={"sfreq": sfreq})

    def _targets(self, X, y, n):
        """(n, 2) int64 array of (stage 0..4, apnea >= 0) labels."""
        from ..features.psg_inputs import stage_codes

        if y is None:
            if not _is_xarray(X):
                raise InvalidParameterError(
                    "`y` is required for numpy X: an (n_epochs, 2) array of (stage, apnea) "
                    "labels or a dict {'stage': ..., 'apnea': ...}")
            stage_key = "label" if "label" in X.coords else "stage"
            if stage_key not in X.coords or "apnea" not in X.coords:
                raise InvalidParameterError(
                    "without `y`, X needs 'stage' (or 'label') and 'apnea' coords over epoch")
            stage, apnea = X.coords[stage_key].values, X.coords["apnea"].values
        elif isinstance(y, dict):
            missing = [h for h in HEADS if h not in y]
            if missing:
                raise InvalidParameterError(f"`y` dict lacks {missing}; expected keys {HEADS}")
            stage, apnea = y["stage"], y["apnea"]
        else:
            arr = np.asarray(y, dtype=object)
            if arr.ndim != 2 or arr.shape[1] != 2:
                raise InvalidParameterError(
                    f"`y` must have shape (n_epochs, 2): (stage, apnea) per epoch; got "
                    f"{arr.shape}")
            stage, apnea = arr[:, 0], arr[:, 1]
        stage = stage_codes(np.asarray(stage, dtype=object))
        if (stage < 0).any():
            raise InvalidParameterError(
                f"{int((stage < 0).sum())} stage label(s) are no sleep stage; expected 0..4 or "
                "W, N1, N2, N3, REM (AASM or R&K names)")
        apnea = np.asarray(apnea)
        if apnea.dtype == object:
            apnea = np.asarray(apnea.tolist())
        if apnea.dtype.kind == "f" and np.all(apnea == np.round(apnea)):
            apnea = apnea.astype(np.int64)
        if apnea.dtype.kind not in "iu" or (apnea.size and apnea.min() < 0):
            raise InvalidParameterError(
                f"apnea labels must be integers >= 0, got dtype {apnea.dtype}")
        if len(stage) != n or len(apnea) != n:
            raise InvalidParameterError(
                f"`y` has {len(stage)} stage and {len(apnea)} apnea labels for {n} epochs")
        return np.stack([stage, apnea.astype(np.int64)], axis=1)

    def _prepare(self, X, *, fit):
        from ..features.psg_inputs import prepare_psg_epochs

        da = self._labelled(X)
        if fit:
            channels = None if self.channels is None or not _is_xarray(X) else list(self.channels)
            return prepare_psg_epochs(da, channels=channels, n_times=self.n_times,
                                      resample=self.resample, scaling=self.scaling, flat="drop")
        check_is_fitted(self)
        if abs(float(da.attrs["sfreq"]) - self.sfreq_) > 1e-6 * self.sfreq_:
            raise InvalidParameterError(
                f"X is at {float(da.attrs['sfreq']):g} Hz, but {type(self).__name__} was "
                f"fitted at {self.sfreq_:g} Hz")
        names = [str(c) for c in da["channel"].values]
        missing = [c for c in self.ch_names_ if c not in names]
        if missing:
            raise InvalidParameterError(f"X lacks channels {missing} (it holds {names}); "
                                        f"{type(self).__name__} reads {list(self.ch_names_)}")
        return prepare_psg_epochs(da, channels=list(self.ch_names_), n_times=self.n_times,
                                  resample=self.resample, scaling=self.scaling, flat="keep")

    def _validate(self, X, y=None, *, reset):
        Xm, _ = super()._validate(X, None, reset=reset)
        return Xm, y

    def _input_layout(self, X):
        if X.ndim != 3:
            raise InvalidParameterError(
                f"{type(self).__name__} takes epochs (n_epochs, n_chans, n_times), got shape "
                f"{X.shape}")
        return X.shape[1], X.shape[2]

    def _encode_targets(self, y, classes=None):
        y = np.asarray(y, dtype=np.int64)
        n_apnea = int(y[:, 1].max()) + 1 if self.n_apnea is None else int(self.n_apnea)
        if n_apnea < 2:
            raise InvalidParameterError(
                f"the apnea head needs at least 2 classes; got n_apnea={n_apnea}")
        if y[:, 1].max() >= n_apnea:
            raise InvalidParameterError(
                f"apnea labels reach {int(y[:, 1].max())}, beyond n_apnea={n_apnea}")
        self.n_apnea_ = n_apnea
        self.classes_ = [np.arange(5), np.arange(n_apnea)]
        return {"stage": y[:, 0].copy(), "apnea": y[:, 1].copy()}

    def _build_module(self, n_chans, length, n_classes):
        config = dict(n_chans=n_chans, n_outputs=5, n_apnea=self.n_apnea_, n_times=length,
                      sfreq=self.model_sfreq_, chs_info=list(self.ch_names_),
                      patch_size=self.patch_size, embed_dim=self.embed_dim, depth=self.depth,
                      n_heads=self.n_heads, head_dim=self.head_dim, mlp_dim=self.mlp_dim,
                      shared_dim=self.shared_dim, survival_prob=self.survival_prob,
                      drop_prob=self.drop_prob)
        return self._module_class()(**config), config

    def train_config(self, seed=None):
        """The :class:`~physioaffect.training.TrainConfig` of :meth:`fit`: the estimator's
        training parameters with one cross-entropy per head, weighted by ``loss_weights``."""
        if self.class_weight is not None and not isinstance(self.class_weight, str):
            raise InvalidParameterError(
                f"`class_weight` must be None, 'balanced' or 'max' (computed per head), got "
                f"{self.class_weight!r}")
        try:
            w_stage, w_apnea = (float(w) for w in self.loss_weights)
        except (TypeError, ValueError):
            raise InvalidParameterError(
                f"`loss_weights` must be two numbers (stage, apnea), got {self.loss_weights!r}"
            ) from None
        cfg = super().train_config(seed)
        return dataclasses.replace(
            cfg, loss={"stage": "cross_entropy", "apnea": "cross_entropy"},
            loss_weights={"stage": w_stage, "apnea": w_apnea},
            metric=_mean_head_accuracy).validate()

    # ---------------------------------------------------------------------------------------------
    # fitting
    # ---------------------------------------------------------------------------------------------

    def fit(self, X, y=None, *, groups=None):
        """Prepare the epochs and train a new network on both heads.

        Parameters
        ----------
        X : array-like, xarray.DataArray or xarray.Dataset
            Raw epochs (n_epochs, n_chans, n_samples) at ``sfreq``; a DataArray with dims
            (epoch, channel, time) (e.g. :func:`physioaffect.features.psg_inputs.read_psg_epochs`);
            or the Dataset of :func:`physioaffect.simulate.psg_epochs`.
        y : array-like of shape (n_epochs, 2), dict or None, default=None
            ``(stage, apnea)`` per epoch, or ``{"stage": ..., "apnea": ...}``. Stages are labels
            0..4 or names (W, N1, N2, N3, REM/R, AASM or R&K descriptions); apnea labels are
            integers. None reads the ``label`` (or ``stage``) and ``apnea`` coords of X.
        groups : array-like or None, default=None
            Group (e.g. subject) per epoch, for ``validation_split``.

        Returns
        -------
        self
        """
        y_all = self._targets(X, y, self._labelled(X).sizes["epoch"])
        Xp = self._prepare(X, fit=True)
        keep = Xp["source_epoch"].values
        self.sfreq_ = float(Xp.attrs["source_sfreq"])
        self.model_sfreq_ = float(Xp.attrs["sfreq"])
        self.dropped_channels_ = list(Xp.attrs["dropped_channels"])
        self.stage_names_ = ("W", "N1", "N2", "N3", "REM")
        if groups is not None:
            groups = np.asarray(groups)[keep]
        return super().fit(Xp.drop_vars([c for c in Xp.coords if c not in
                                         ("channel", "time")]),
                           y_all[keep], groups=groups)

    def partial_fit(self, X, y, classes=None):
        """Not offered: the multitask network trains with :meth:`fit` only."""
        raise NotImplementedError(f"{type(self).__name__} trains with fit() only")

    # ---------------------------------------------------------------------------------------------
    # prediction
    # ---------------------------------------------------------------------------------------------

    def _logits(self, X):
        from ..training import predict

        check_is_fitted(self)
        Xp = self._prepare(X, fit=False)
        Xm, _ = self._validate(Xp, reset=False)
        bs = max(int(self.batch_size), 256)
        out = predict(self.module_, Xm, batch_size=bs, device=self.device)
        self.module_.cpu()
        return {h: np.asarray(out[h], dtype=np.float64) for h in HEADS}

    def predict_proba(self, X):
        """Class probabilities of each head.

        Parameters
        ----------
        X : array-like or xarray
            As in :meth:`fit`; every epoch gets an answer (flat channels are scaled to 0, with
            a warning).

        Returns
        -------
        list of two ndarrays
            ``(n_epochs, 5)`` stage and ``(n_epochs, n_apnea_)`` apnea probabilities.
        """
        from scipy.special import softmax

        logits = self._logits(X)
        return [softmax(logits[h], axis=1) for h in HEADS]

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`, per head."""
        from scipy.special import log_softmax

        logits = self._logits(X)
        return [log_softmax(logits[h], axis=1) for h in HEADS]

    def predict(self, X):
        """Stage and apnea class of each epoch.

        Returns
        -------
        ndarray of int64, shape (n_epochs, 2)
            Column 0 the stage (0 W, 1 N1, 2 N2, 3 N3, 4 REM), column 1 the apnea label.
        """
        logits = self._logits(X)
        return np.stack([logits[h].argmax(axis=1) for h in HEADS], axis=1).astype(np.int64)

    def evaluate(self, X, y=None) -> dict:
        """Accuracy, macro-F1 and Cohen's kappa of each head.

        Parameters
        ----------
        X : array-like or xarray
        y : array-like of shape (n_epochs, 2), dict or None
            As in :meth:`fit`.

        Returns
        -------
        dict
            ``{"stage": {"accuracy", "macro_f1", "cohen_kappa"}, "apnea": {...}}`` of floats
            (unweighted kappa; macro-F1 over the classes of the head present in y or the
            predictions, :func:`physioaffect.evaluation.metrics.macro_f1`).
        """
        from ..evaluation.metrics import accuracy, cohen_kappa, macro_f1

        y_true = self._targets(X, y, self._labelled(X).sizes["epoch"])
        y_pred = self.predict(X)
        out = {}
        for i, h in enumerate(HEADS):
            t, p = y_true[:, i], y_pred[:, i]
            out[h] = {"accuracy": float(accuracy(t, p)), "macro_f1": float(macro_f1(t, p)),
                      "cohen_kappa": float(cohen_kappa(t, p))}
        return out

    def score(self, X, y=None, sample_weight=None):
        """Mean over the two heads of the accuracy (``sample_weight`` is not supported)."""
        if sample_weight is not None:
            raise InvalidParameterError(f"{type(self).__name__}.score takes no sample_weight")
        res = self.evaluate(X, y)
        return float(np.mean([res[h]["accuracy"] for h in HEADS]))

    def relevance(self, X, *, method="rollout"):
        """Relevance over time of each epoch's decision, from the CLS attention.

        See :mod:`physioaffect.nets.sleep_relevance` for the aggregation (attention rollout by
        default) and the mapping from patches to samples.

        Parameters
        ----------
        X : array-like or xarray
            As in :meth:`fit`.
        method : {"rollout", "last"}, default="rollout"

        Returns
        -------
        xarray.DataArray
            Dims (epoch, time) on the prepared time axis (``model_sfreq_``), each row
            non-negative and summing to 1; coord ``time`` in seconds. :meth:`prepared` gives
            the signals on the same time axis.
        """
        import xarray as xr

        from ..nets.sleep_relevance import relevance_over_time

        Xp = self._prepare(X, fit=False)
        Xm, _ = self._validate(Xp, reset=False)
        r = relevance_over_time(self.module_, Xm, method=method)
        return xr.DataArray(r, dims=("epoch", "time"), name="relevance",
                            coords={"time": Xp["time"].values},
                            attrs={"method": method, "sfreq": self.model_sfreq_})

    def prepared(self, X):
        """The epochs as the network reads them (resampled, scaled, fitted channels).

        Returns
        -------
        xarray.DataArray
            Dims (epoch, channel, time), float32; see
            :func:`physioaffect.features.psg_inputs.prepare_psg_epochs`.
        """
        return self._prepare(X, fit=False)

    # ---------------------------------------------------------------------------------------------
    # persistence and scikit-learn plumbing
    # ---------------------------------------------------------------------------------------------

    def save(self, path):
        """Write the fitted estimator to a checkpoint (see :meth:`TorchClassifierBase.save`)."""
        check_is_fitted(self)
        classes = self.classes_
        # The base stores one label array; the heads' labels travel in _fitted_extra instead.
        self.classes_ = np.arange(len(HEADS))
        try:
            return super().save(path)
        finally:
            self.classes_ = classes

    def _fitted_extra(self):
        return {"n_apnea_": int(self.n_apnea_), "sfreq_": float(self.sfreq_),
                "model_sfreq_": float(self.model_sfreq_),
                "dropped_channels_": list(self.dropped_channels_),
                "stage_names_": list(self.stage_names_)}

    def _restore_extra(self, state):
        super()._restore_extra(state)
        self.stage_names_ = tuple(self.stage_names_)
        self.classes_ = [np.arange(5), np.arange(int(self.n_apnea_))]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = False
        return tags
