"""The torch-estimator base: scikit-learn's classifier API over physioaffect's one training loop.

:class:`TorchClassifierBase` holds no model and no mathematics of its own. It validates inputs,
encodes labels, asks its subclass to build a network (:meth:`~TorchClassifierBase._build_module`),
trains it with :func:`physioaffect.training.train` under a :class:`~physioaffect.training.TrainConfig`
made from the estimator's parameters, and turns logits into labels and probabilities. A new
model becomes an estimator by writing ``__init__`` (keyword arguments stored unchanged),
``_input_layout`` and ``_build_module``.
"""

from __future__ import annotations

import dataclasses
import importlib
import numbers
import sys
from collections.abc import Mapping
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from ..errors import InvalidParameterError

__all__ = ["TorchClassifierBase"]

#: Estimator parameter -> field of physioaffect.training.TrainConfig, for the parameters a
#: subclass declares. ``ordinal``/``ordinal_sigma``, ``class_weight``, ``random_state`` and
#: ``verbose`` are translated separately.
_CONFIG_FIELDS = {
    "max_epochs": "epochs",
    "batch_size": "batch_size",
    "batch_size_steps": "batch_size_steps",
    "sampling": "sampling",
    "optimizer": "optimizer",
    "lr": "lr",
    "weight_decay": "weight_decay",
    "schedule": "schedule",
    "lr_steps": "lr_steps",
    "t_max": "t_max",
    "eta_min": "eta_min",
    "label_smoothing": "label_smoothing",
    "validation_split": "validation_split",
    "patience": "patience",
    "grad_clip": "grad_clip",
    "device": "device",
}

#: The parameter descriptions every torch estimator shares; subclasses insert them in their
#: docstrings with :func:`fill_training_doc`, so they never drift apart.
TRAINING_PARAMS_DOC = """\
    max_epochs : int
        Passes over the training data in :meth:`fit`.
    batch_size : int
        Samples per optimiser step (also the batch size of prediction, at least 256).
    batch_size_steps : dict of {int: int}, sequence of (int, int) pairs or None
        New batch sizes from given epochs on, e.g. ``((150, 64),)``.
    sampling : {"shuffle", "balanced"}
        ``"balanced"`` draws each sample's class uniformly among the classes present, then one of
        its samples (class-balanced batches, with replacement).
    optimizer : {"adam", "adamw", "sgd"} or callable
        A name, or ``callable(params) -> torch.optim.Optimizer``.
    lr : float
        Base learning rate.
    weight_decay : float
    schedule : {"constant", "step", "cosine"}
        Learning-rate schedule over epochs (see :class:`physioaffect.training.TrainConfig`).
    lr_steps : dict of {int: float}, sequence of (int, float) pairs or None
        For ``schedule="step"``: the rate from each given epoch on.
    t_max : int or None
        Period of the cosine schedule in epochs; None: ``max_epochs``.
    eta_min : float
        Final learning rate of the cosine schedule.
    class_weight : {"balanced", "max"}, dict of {label: float} or None
        Per-class weights of the loss; a dict is keyed by the original labels (missing classes
        weigh 1).
    validation_split : float or None
        Fraction of the training data held out to select the best epoch (whole groups when
        ``groups`` is passed to :meth:`fit`, so overlapping windows of one trial never straddle
        the split); None trains on everything and keeps the last epoch.
    patience : int or None
        Early stopping after this many epochs without improvement of the validation loss (needs
        ``validation_split``).
    device : {"auto", "cpu", "cuda"} or str
        Where to train and predict; ``"auto"`` takes CUDA when available.
    random_state : int, numpy.random.RandomState or None
        Seed of the initial weights and the batch order; None draws one from numpy's global
        generator.
    verbose : bool
        Show a progress bar while training."""


def fill_training_doc(cls):
    """Replace ``{training_params}`` in the class docstring by :data:`TRAINING_PARAMS_DOC`."""
    if cls.__doc__:
        cls.__doc__ = cls.__doc__.replace("    {training_params}", TRAINING_PARAMS_DOC)
    return cls


def _pairs(value, name):
    """A dict {int: number} from a dict or a sequence of pairs (None stays None)."""
    if value is None:
        return None
    if isinstance(value, Mapping):
        return dict(value)
    try:
        return {k: v for k, v in value}
    except (TypeError, ValueError):
        raise InvalidParameterError(
            f"`{name}` must be a dict {{epoch: value}} or a sequence of (epoch, value) pairs, "
            f"got {value!r}") from None


def _xarray_dataarray(X):
    xr = sys.modules.get("xarray")
    return xr is not None and isinstance(X, xr.DataArray)


def _channel_order(names, target, where):
    """Indices that put channels ``names`` in ``target`` order (case-insensitive)."""
    lookup = {str(n).lower(): i for i, n in enumerate(names)}
    if len(lookup) != len(names):
        raise InvalidParameterError(f"{where} has repeated channel names: {list(names)}")
    missing = [t for t in target if str(t).lower() not in lookup]
    if missing or len(names) != len(target):
        extra = sorted(set(lookup) - {str(t).lower() for t in target})
        raise InvalidParameterError(
            f"{where} has channels {list(names)}; expected exactly {list(target)} "
            f"(missing {missing}, unexpected {extra})")
    return np.array([lookup[str(t).lower()] for t in target], dtype=np.int64)


# --------------------------------------------------------------------------------------------------
# checkpoint encoding of parameters (plain types only: checkpoints load with weights_only=True)
# --------------------------------------------------------------------------------------------------

_MONTAGE_KEY = "__physioaffect_montage__"


def _encode(value, name):
    from ..montage import Montage

    if isinstance(value, Montage):
        return {_MONTAGE_KEY: {
            "name": value.name,
            "ch_names": list(value.ch_names),
            "positions": np.asarray(value.positions).tolist(),
            "regions": {k: list(v) for k, v in value.regions.items()},
            "sfreq_default": float(value.sfreq_default),
            "region_edges": {k: [list(e) for e in v] for k, v in value.region_edges.items()},
            "region_graph": [list(e) for e in value.region_graph],
        }}
    if name == "chs_info" and value is not None:
        from ..nets._common import names_from_chs_info

        return [{"ch_name": n} for n in names_from_chs_info(value)]
    if callable(value) and not isinstance(value, type):
        raise InvalidParameterError(
            f"parameter `{name}` is a callable ({value!r}); a checkpoint stores plain values "
            "only: set it to one of its named choices before saving")
    return value


def _decode(value):
    from ..montage import Montage

    if isinstance(value, Mapping) and set(value) == {_MONTAGE_KEY}:
        m = value[_MONTAGE_KEY]
        return Montage(
            name=m["name"], ch_names=tuple(m["ch_names"]), positions=np.asarray(m["positions"]),
            regions={k: tuple(v) for k, v in m["regions"].items()},
            sfreq_default=m["sfreq_default"],
            region_edges={k: tuple(tuple(e) for e in v) for k, v in m["region_edges"].items()},
            region_graph=tuple(tuple(e) for e in m["region_graph"]))
    return value


class TorchClassifierBase(ClassifierMixin, BaseEstimator):
    """Base of physioaffect's torch classifiers: scikit-learn's API over the one training loop.

    Subclasses store their keyword arguments unchanged in ``__init__`` and implement:

    - ``_input_layout(X) -> (n_chans, length)``: how a validated 2-D or 3-D training array maps
      to the network's per-sample shape (3-D arrays keep theirs; 2-D arrays are flattened
      ``(n_samples, n_chans * length)`` rows, C order);
    - ``_build_module(n_chans, length, n_classes) -> (module, config)``: the network and the
      keyword arguments that rebuild it (for checkpoints);
    - ``_module_class()``: the network's class;
    - optionally ``_declared_ch_names()`` (the channel order the network expects, or None),
      ``_check_attrs(attrs, reset)`` (read e.g. ``sfreq`` from an xarray input) and the class
      attribute ``_last_dim`` (name of the xarray dim of the last axis: ``"time"``,
      ``"band"``).

    Inputs
    ------
    ``X`` is a numpy array (n_samples, n_chans, length) or its flattened 2-D form, or an
    :class:`xarray.DataArray` with a ``channel`` dim: its channels are put in the estimator's
    order by name (the montage's or ``chs_info``'s order, else the order seen in ``fit``), so a
    recording whose channels come in another order is read correctly.

    Training
    --------
    Every fit goes through :func:`physioaffect.training.train`, with a
    :class:`~physioaffect.training.TrainConfig` made of the estimator's parameters (see
    :meth:`train_config`). Labels are encoded as indices into ``classes_`` (sorted); ordinal
    smoothing, where a subclass offers it, treats the rank of a class in ``classes_`` as its
    position on the ordinal scale. After training the network is kept on the CPU and in eval
    mode; where the subclass asks for it (``recalibrate_batchnorm``), the running statistics
    of its batch-norm layers are re-estimated on the training data first.

    Attributes
    ----------
    module_ : torch.nn.Module
        The trained network (on the CPU, eval mode).
    module_config_ : dict
        Keyword arguments that rebuild ``module_``.
    classes_ : ndarray, shape (n_classes,)
        Class labels, sorted.
    n_features_in_ : int
        ``X.shape[1]`` seen in ``fit``: channels for 3-D input, columns for 2-D input.
    input_shape_ : tuple of int
        ``(n_chans, length)`` of one sample as the network reads it.
    ch_names_ : tuple of str or None
        Channel order of the network's input, when known.
    history_ : physioaffect.training.History
        Per-epoch training record (appended to by :meth:`partial_fit`).
    n_epochs_ : int
        Epochs trained so far.
    """

    _last_dim = "time"

    # ---------------------------------------------------------------------------------------------
    # subclass hooks
    # ---------------------------------------------------------------------------------------------

    def _input_layout(self, X):  # pragma: no cover - abstract
        raise NotImplementedError

    def _build_module(self, n_chans, length, n_classes):  # pragma: no cover - abstract
        raise NotImplementedError

    @classmethod
    def _module_class(cls):  # pragma: no cover - abstract
        raise NotImplementedError

    def _declared_ch_names(self):
        return None

    def _check_attrs(self, attrs, reset):
        return None

    # ---------------------------------------------------------------------------------------------
    # input handling
    # ---------------------------------------------------------------------------------------------

    def _unpack(self, X, reset):
        """numpy data in the network's channel order, and the xarray attrs (empty for arrays)."""
        if not _xarray_dataarray(X):
            if reset:
                declared = self._declared_ch_names()
                self.ch_names_ = None if declared is None else tuple(declared)
            return X, {}
        attrs = dict(X.attrs)
        if "channel" not in X.dims:
            if reset:
                declared = self._declared_ch_names()
                self.ch_names_ = None if declared is None else tuple(declared)
            return X.values, attrs
        others = [d for d in X.dims if d != "channel"]
        if len(others) != 2:
            raise InvalidParameterError(
                f"{type(self).__name__} reads a DataArray with dims (sample, 'channel', "
                f"{self._last_dim!r}); got dims {X.dims}. Stack the sample dims into one first, "
                "e.g. X.stack(sample=('trial', 'window')).transpose('sample', ...)")
        last = self._last_dim if self._last_dim in others else others[-1]
        sample = others[0] if others[1] == last else others[1]
        X = X.transpose(sample, "channel", last)
        values = X.values
        names = None
        if "channel" in X.coords:
            names = [str(c) for c in np.asarray(X["channel"].values)]
        if reset:
            target = self._declared_ch_names()
            if target is None:
                target = names
            self.ch_names_ = None if target is None else tuple(target)
        target = self.ch_names_
        if names is not None and target is not None:
            values = values[:, _channel_order(names, target, "X"), :]
        return values, attrs

    def _validate(self, X, y=None, *, reset):
        """Validated float32 network input (n_samples, n_chans, length), and encoded ``y``."""
        X, attrs = self._unpack(X, reset)
        if y is None:
            X = validate_data(self, X, reset=reset, allow_nd=True, dtype=np.float32)
        else:
            X, y = validate_data(self, X, y, reset=reset, allow_nd=True, dtype=np.float32)
        if X.ndim > 3:
            raise InvalidParameterError(
                f"{type(self).__name__} takes X of shape (n_samples, n_chans, "
                f"{'n_' + self._last_dim + 's' if self._last_dim == 'time' else 'n_bands'}) or its "
                f"2-D flattened form, got shape {X.shape}")
        self._check_attrs(attrs, reset)
        if reset:
            self.input_ndim_ = X.ndim
            self.input_shape_ = tuple(int(v) for v in self._input_layout(X))
        elif X.ndim != self.input_ndim_:
            raise InvalidParameterError(
                f"X has {X.ndim} dimensions, but {type(self).__name__} was fitted on "
                f"{self.input_ndim_}-D input")
        n_chans, length = self.input_shape_
        if X[0].size != n_chans * length:
            raise InvalidParameterError(
                f"X has samples of shape {X.shape[1:]}, but {type(self).__name__} reads samples "
                f"of {n_chans} channels x {length} values ({n_chans * length} in all)")
        X = np.require(X.reshape(len(X), n_chans, length), dtype=np.float32,
                       requirements=["C_CONTIGUOUS", "WRITEABLE"])
        return X, y

    def _encode_targets(self, y, classes=None):
        check_classification_targets(y)
        y = np.asarray(y)
        if classes is None:
            self.classes_, y_enc = np.unique(y, return_inverse=True)
        else:
            self.classes_ = np.unique(np.asarray(classes))
            y_enc = self._known_targets(y)
        if len(self.classes_) < 2:
            raise InvalidParameterError(
                f"{type(self).__name__} needs at least 2 classes to learn from; got 1 class "
                f"({self.classes_.tolist()})")
        return np.asarray(y_enc, dtype=np.int64).ravel()

    def _known_targets(self, y):
        check_classification_targets(y)
        y = np.asarray(y)
        idx = np.searchsorted(self.classes_, y)
        idx = np.clip(idx, 0, len(self.classes_) - 1)
        unknown = self.classes_[idx] != y
        if np.any(unknown):
            raise InvalidParameterError(
                f"y holds labels {np.unique(y[unknown]).tolist()} not among `classes` "
                f"{self.classes_.tolist()}")
        return idx.astype(np.int64)

    # ---------------------------------------------------------------------------------------------
    # training configuration
    # ---------------------------------------------------------------------------------------------

    def _seed(self):
        rs = self.get_params(deep=False).get("random_state")
        if isinstance(rs, numbers.Integral) and not isinstance(rs, bool) and rs >= 0:
            return int(rs)
        return int(check_random_state(rs).randint(np.iinfo(np.int32).max))

    def _class_weight(self, params):
        cw = params.get("class_weight")
        if cw is None or isinstance(cw, str):
            return cw
        if isinstance(cw, Mapping):
            weights = np.ones(len(self.classes_))
            for label, w in cw.items():
                hit = np.flatnonzero(self.classes_ == label)
                if hit.size:  # weights of absent classes are ignored, as in scikit-learn
                    weights[hit[0]] = float(w)
            return weights.tolist()
        arr = np.asarray(cw, dtype=np.float64)
        if arr.shape != (len(self.classes_),):
            raise InvalidParameterError(
                f"`class_weight` must be 'balanced', 'max', a dict {{label: weight}} or one "
                f"weight per class ({len(self.classes_)}), got {cw!r}")
        return arr.tolist()

    def train_config(self, seed=None):
        """The :class:`~physioaffect.training.TrainConfig` that :meth:`fit` trains with.

        Parameters
        ----------
        seed : int or None, default=None
            Seed of the run; None derives it from ``random_state``.

        Returns
        -------
        TrainConfig
            Validated; class weights given as a dict need ``classes_`` (a fitted estimator).
        """
        from ..training import TrainConfig

        params = self.get_params(deep=False)
        kw = {field: params[p] for p, field in _CONFIG_FIELDS.items() if p in params}
        for key in ("lr_steps", "batch_size_steps"):
            if key in kw:
                kw[key] = _pairs(kw[key], key)
        if params.get("ordinal"):
            kw["ordinal_sigma"] = params.get("ordinal_sigma", 0.5)
        if "class_weight" in params:
            if isinstance(params["class_weight"], Mapping) and not hasattr(self, "classes_"):
                raise InvalidParameterError("a dict `class_weight` needs the classes: fit first")
            kw["class_weight"] = self._class_weight(params)
        kw["seed"] = self._seed() if seed is None else seed
        kw["progress"] = bool(params.get("verbose", False))
        return TrainConfig(**kw).validate()

    # ---------------------------------------------------------------------------------------------
    # fitting
    # ---------------------------------------------------------------------------------------------

    def _new_module(self, seed):
        import torch

        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            module, config = self._build_module(*self.input_shape_, len(self.classes_))
        self.module_config_ = dict(config)
        return module

    def _finish(self, module, X):
        """After training: constraints, batch-norm statistics, CPU, eval mode."""
        constrain = getattr(module, "apply_constraints", None)
        if callable(constrain):
            constrain()
        if self.get_params(deep=False).get("recalibrate_batchnorm", False):
            self._recalibrate_batchnorm(module, X)
        module.cpu().eval()
        for p in module.parameters():
            p.grad = None
        self.module_ = module

    def _recalibrate_batchnorm(self, module, X):
        """Replace the running statistics of every batch-norm layer by their exact averages over
        ``X`` (all other layers in eval mode, so dropout is off as at prediction)."""
        import torch

        from ..training import resolve_device

        norms = [m for m in module.modules()
                 if isinstance(m, torch.nn.modules.batchnorm._BatchNorm) and m.track_running_stats]
        if not norms:
            return
        device = resolve_device(self.get_params(deep=False).get("device", "auto"))
        module.to(device).eval()
        momenta = [m.momentum for m in norms]
        for m in norms:
            m.reset_running_stats()
            m.momentum = None  # cumulative average over the batches
            m.train()
        bs = max(int(self.get_params(deep=False).get("batch_size", 256)), 2)
        n_batches = max(1, -(-len(X) // bs))
        try:
            with torch.no_grad():
                for idx in np.array_split(np.arange(len(X)), n_batches):
                    module(torch.from_numpy(X[idx]).to(device))
        finally:
            for m, mom in zip(norms, momenta, strict=True):
                m.momentum = mom
            module.eval()

    def fit(self, X, y, *, groups=None):
        """Train a new network on ``(X, y)``.

        Parameters
        ----------
        X : array-like or xarray.DataArray, shape (n_samples, n_chans, length) or (n_samples, n_chans * length)
            Training samples; see the class documentation for the layouts.
        y : array-like, shape (n_samples,)
            Class labels.
        groups : array-like or None, default=None
            Group (e.g. trial) of each sample, or :func:`physioaffect.evaluation.make_groups`
            output: with ``validation_split``, whole groups are held out.

        Returns
        -------
        self
        """
        from ..training import History, train

        Xm, y = self._validate(X, y, reset=True)
        y_enc = self._encode_targets(y)
        seed = self._seed()
        config = self.train_config(seed)
        module = self._new_module(seed)
        self._optimizer = None
        self._seed_base = seed
        history = train(module, Xm, y_enc, config=config, groups=groups)
        self.history_ = history if isinstance(history, History) else History(**history)
        self.n_epochs_ = len(self.history_.epoch)
        self._finish(module, Xm)
        return self

    def partial_fit(self, X, y, classes=None):
        """Train one more epoch on ``(X, y)``, continuing from the current weights.

        The first call (on an unfitted estimator) builds the network and needs ``classes``,
        every label that will ever be seen, as in scikit-learn. Each call runs one epoch at the
        learning rate and batch size the schedule gives to the next epoch (``n_epochs_``), with
        an optimizer whose state (e.g. Adam's moments) carries over between calls. No validation
        split or early stopping is applied.

        Parameters
        ----------
        X : array-like or xarray.DataArray
            As in :meth:`fit`.
        y : array-like, shape (n_samples,)
        classes : array-like or None, default=None
            All class labels; required on the first call, optional (and checked) later.

        Returns
        -------
        self
        """
        import torch

        from ..training import History, _make_optimizer, train

        first = not hasattr(self, "module_")
        if first and classes is None:
            raise InvalidParameterError(
                f"the first call of {type(self).__name__}.partial_fit needs `classes`, every "
                "label the estimator will see (e.g. classes=np.unique(y_all))")
        if not first and classes is not None and not np.array_equal(
                np.unique(np.asarray(classes)), self.classes_):
            raise InvalidParameterError(
                f"`classes`={np.unique(np.asarray(classes)).tolist()} differs from the classes of "
                f"the first call {self.classes_.tolist()}")
        Xm, y = self._validate(X, y, reset=first)
        if first:
            y_enc = self._encode_targets(y, classes)
            seed = self._seed()
            self._seed_base = seed
            self.module_ = self._new_module(seed)
            self.history_ = History()
            self.n_epochs_ = 0
            self._optimizer = None
        else:
            y_enc = self._known_targets(y)
        base = self.train_config(getattr(self, "_seed_base", 0))
        epoch = self.n_epochs_

        def optimizer(params):
            if getattr(self, "_optimizer", None) is None:
                self._optimizer = _make_optimizer(base, params)
            return self._optimizer

        config = dataclasses.replace(
            base, epochs=1, schedule="constant", lr=base.lr_at(epoch), lr_steps=None,
            batch_size=base.batch_size_at(epoch), batch_size_steps=None, validation_split=None,
            patience=None, optimizer=optimizer, seed=(base.seed or 0) + epoch)
        module = self.module_
        module.train()
        with torch.enable_grad():
            hist = train(module, Xm, y_enc, config=config)
        for f in ("loss", "metric", "val_loss", "val_metric", "lr", "batch_size"):
            getattr(self.history_, f).extend(getattr(hist, f))
        self.history_.epoch.append(epoch)
        self.history_.seconds += hist.seconds
        self.n_epochs_ = epoch + 1
        self._finish(module, Xm)
        return self

    # ---------------------------------------------------------------------------------------------
    # prediction
    # ---------------------------------------------------------------------------------------------

    def _logits(self, X):
        from ..training import predict

        check_is_fitted(self)
        Xm, _ = self._validate(X, reset=False)
        params = self.get_params(deep=False)
        bs = max(int(params.get("batch_size", 256)), 256)
        logits = predict(self.module_, Xm, batch_size=bs, device=params.get("device", "auto"))
        self.module_.cpu()
        return np.asarray(logits, dtype=np.float64)

    def predict_proba(self, X):
        """Class probabilities: the softmax of the network's logits.

        Parameters
        ----------
        X : array-like or xarray.DataArray
            As in :meth:`fit`.

        Returns
        -------
        proba : ndarray of float64, shape (n_samples, n_classes)
            Columns in ``classes_`` order; rows sum to 1.
        """
        from scipy.special import softmax

        return softmax(self._logits(X), axis=1)

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba` (a log-softmax of the logits)."""
        from scipy.special import log_softmax

        return log_softmax(self._logits(X), axis=1)

    def predict(self, X):
        """Most probable class of each sample.

        Parameters
        ----------
        X : array-like or xarray.DataArray
            As in :meth:`fit`.

        Returns
        -------
        y_pred : ndarray, shape (n_samples,)
            Labels from ``classes_``.
        """
        logits = self._logits(X)
        return self.classes_[np.argmax(logits, axis=1)]

    # ---------------------------------------------------------------------------------------------
    # persistence
    # ---------------------------------------------------------------------------------------------

    def save(self, path):
        """Write the fitted estimator to a physioaffect checkpoint.

        The file holds the network's weights and constructor arguments, the estimator's
        parameters and fitted state, and the training history, all as plain values: it loads
        with ``torch.load(weights_only=True)`` (see :meth:`load`).

        Parameters
        ----------
        path : str or Path
            Target file (written atomically); its folder must exist.

        Returns
        -------
        path : Path

        Raises
        ------
        InvalidParameterError
            If a parameter is not a plain value (e.g. a callable optimizer).
        """
        from ..training import save_checkpoint

        check_is_fitted(self)
        params = {k: _encode(v, k) for k, v in self.get_params(deep=False).items()}
        config = {k: _encode(v, k) for k, v in self.module_config_.items()}
        classes = self.classes_
        fitted = {
            "classes": classes.tolist(),
            "classes_dtype": "object" if classes.dtype == object else classes.dtype.str,
            "n_features_in": int(self.n_features_in_),
            "input_ndim": int(self.input_ndim_),
            "input_shape": list(self.input_shape_),
            "ch_names": None if self.ch_names_ is None else list(self.ch_names_),
            "n_epochs": int(self.n_epochs_),
            "state": {k: v for k, v in self._fitted_extra().items()},
        }
        cls = type(self)
        extra = {"estimator": f"{cls.__module__}.{cls.__qualname__}", "params": params,
                 "fitted": fitted}
        return save_checkpoint(path, self.module_, config, history=self.history_, extra=extra)

    def _fitted_extra(self):
        """Further fitted attributes (plain values) a subclass stores in checkpoints."""
        return {}

    def _restore_extra(self, state):
        for k, v in state.items():
            setattr(self, k, v)

    @classmethod
    def load(cls, path, *, map_location="cpu"):
        """Rebuild a fitted estimator written by :meth:`save`.

        Parameters
        ----------
        path : str or Path
        map_location : str or torch.device, default="cpu"

        Returns
        -------
        estimator : TorchClassifierBase
            Of the class that was saved (which must be ``cls`` or a subclass of it).
        """
        from ..training import History, read_checkpoint

        ckpt = read_checkpoint(Path(path), map_location=map_location)
        extra = ckpt.get("extra") or {}
        name = extra.get("estimator")
        if not isinstance(name, str) or not name.startswith("physioaffect."):
            raise InvalidParameterError(
                f"{str(path)!r} is a checkpoint of a network, not of a physioaffect estimator; "
                "load it with physioaffect.training.load_checkpoint")
        module_name, _, qual = name.rpartition(".")
        est_cls = getattr(importlib.import_module(module_name), qual)
        if not (isinstance(est_cls, type) and issubclass(est_cls, cls)):
            raise InvalidParameterError(f"{str(path)!r} holds a {name}, not a {cls.__name__}")
        est = est_cls(**{k: _decode(v) for k, v in extra["params"].items()})
        fitted = extra["fitted"]
        dtype = np.dtype(object if fitted["classes_dtype"] == "object" else fitted["classes_dtype"])
        est.classes_ = np.asarray(fitted["classes"], dtype=dtype)
        est.n_features_in_ = fitted["n_features_in"]
        est.input_ndim_ = fitted["input_ndim"]
        est.input_shape_ = tuple(fitted["input_shape"])
        est.ch_names_ = None if fitted["ch_names"] is None else tuple(fitted["ch_names"])
        est.n_epochs_ = fitted["n_epochs"]
        est._restore_extra(fitted.get("state") or {})
        config = {k: _decode(v) for k, v in ckpt["model_config"].items()}
        module = est._module_class()(**config)
        module.load_state_dict(ckpt["state_dict"])
        est.module_ = module.cpu().eval()
        est.module_config_ = config
        est.history_ = History(**ckpt["history"]) if ckpt.get("history") else History()
        return est

    # ---------------------------------------------------------------------------------------------
    # scikit-learn plumbing
    # ---------------------------------------------------------------------------------------------

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.non_deterministic = False
        return tags
