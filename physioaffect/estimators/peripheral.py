"""Estimators on peripheral signals: the multitask EDA PINN (METHODS.md section 3).

:class:`EDAPINN` predicts the emotion class of a window and its EDA trajectory with one network
(:class:`physioaffect.nets.eda_pinn.EDAPINNet`) trained under the physics residual of the EDA
dynamics; after ``fit`` it reports the learned decay rate, time scaling and emotion weights.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from sklearn.utils.validation import check_is_fitted

from ..errors import InvalidParameterError
from .base import TorchClassifierBase, fill_training_doc

__all__ = ["EDAPINN", "eda_pinn_scores"]


def eda_pinn_scores(y_true, y_pred, eda_true, eda_pred) -> dict:
    r"""The metrics of the multitask PINN, each named.

    .. math::

        \mathrm{RMSE} = \sqrt{\tfrac{1}{N}\textstyle\sum_i (\hat x_i - x_i)^2}, \qquad
        r = \frac{\sum_i (x_i - \bar x)(\hat x_i - \bar{\hat x})}
                 {\sqrt{\sum_i (x_i - \bar x)^2 \sum_i (\hat x_i - \bar{\hat x})^2}}

    over every EDA sample of every window, and the macro and weighted F1 of the classes
    (:func:`physioaffect.evaluation.macro_f1`, :func:`physioaffect.evaluation.weighted_f1`).

    Parameters
    ----------
    y_true, y_pred : array-like, shape (n_windows,)
        True and predicted classes.
    eda_true, eda_pred : array-like, shape (n_windows, n_times) or (n_samples,)
        Measured and predicted EDA.

    Returns
    -------
    scores : dict
        ``{"rmse", "pearson_r", "f1_macro", "f1_weighted", "accuracy"}`` as floats (fractions,
        not percent; RMSE in EDA units).

    Examples
    --------
    >>> s = eda_pinn_scores([0, 0, 1, 1], [0, 1, 1, 1], [1.0, 2.0, 3.0], [1.0, 2.0, 5.0])
    >>> round(s["rmse"], 4), round(s["f1_macro"], 4)  # sqrt(4 / 3); (2/3 + 4/5) / 2
    (1.1547, 0.7333)
    """
    from ..evaluation.metrics import accuracy, macro_f1, weighted_f1

    a = np.asarray(eda_true, dtype=np.float64).ravel()
    b = np.asarray(eda_pred, dtype=np.float64).ravel()
    if a.shape != b.shape or a.size < 2:
        raise InvalidParameterError(
            f"`eda_true` and `eda_pred` must have one shape and at least 2 values, got "
            f"{np.shape(eda_true)} and {np.shape(eda_pred)}")
    da, db = a - a.mean(), b - b.mean()
    denom = np.sqrt(np.sum(da * da) * np.sum(db * db))
    return {
        "rmse": float(np.sqrt(np.mean((b - a) ** 2))),
        "pearson_r": float(np.sum(da * db) / denom) if denom > 0 else float("nan"),
        "f1_macro": macro_f1(y_true, y_pred),
        "f1_weighted": weighted_f1(y_true, y_pred),
        "accuracy": accuracy(y_true, y_pred),
    }


def _scaled_adam():
    import torch

    class ScaledAdam(torch.optim.Adam):
        """Adam whose parameter groups may carry an ``lr_scale`` (the schedule sets ``lr``)."""

        def step(self, closure=None):
            saved = [g["lr"] for g in self.param_groups]
            for g in self.param_groups:
                g["lr"] = g["lr"] * g.get("lr_scale", 1.0)
            try:
                return super().step(closure)
            finally:
                for g, lr in zip(self.param_groups, saved, strict=True):
                    g["lr"] = lr

    return ScaledAdam


@fill_training_doc
class EDAPINN(TorchClassifierBase):
    r"""Multitask physics-informed network: emotion class and EDA trajectory of each window.

    A scikit-learn estimator around :class:`physioaffect.nets.eda_pinn.EDAPINNet` (METHODS.md
    section 3.3, a proposal): one trunk, two outputs, trained with

    .. math::

        L = \lambda_e\,\mathrm{MSE}(\widehat{\mathrm{EDA}}, \mathrm{EDA})
          + \lambda_c\,\mathrm{CE}(\mathrm{logits}, y)
          + \lambda_p\,\mathrm{mean}_t\, r(t)^2, \qquad
        r = \frac{d\widehat{\mathrm{EDA}}}{dt} + \alpha(t)\widehat{\mathrm{EDA}} - \beta^\top e(t),

    (see :func:`physioaffect.nets.eda_pinn.pinn_loss`) through the one training loop of
    :mod:`physioaffect.training`. A weight of 0 switches its term off (ablations: ``lambda_p=0``
    no physics, ``lambda_c=0`` EDA only, ``lambda_eda=0, lambda_p=0`` emotion only).

    Input layout
    ------------
    ``X`` has shape (n_windows, 1 + n_drives + n_context, n_times), as
    :func:`physioaffect.features.eda_inputs.eda_inputs` returns it: channel 0 is the time in
    seconds (from a fixed origin, e.g. the recording start: it enters :math:`\alpha(t)`),
    channels ``1 .. n_drives`` the drive inputs :math:`e(t)` (self-reports, condition codes),
    the remaining channels window-level context (e.g. the EDA at the window start, SCR
    features), read as their mean over the window. Context must not be the instantaneous EDA,
    which would let the network copy it instead of modelling it.

    Parameters
    ----------
    n_drives : int or None, default=None
        Number of drive channels after the time channel; None takes every remaining channel.
    form : {"linear-decay", "exponential"}, default="linear-decay"
        :math:`\alpha(t) = \alpha_0 (1 + \gamma t)` or :math:`\alpha_0 e^{\gamma t}`.
    hidden : int, default=32
        Width of the trunk.
    depth : int, default=3
        Hidden layers of the trunk.
    activation : {"tanh", "silu", "gelu", "softplus"}, default="tanh"
    dropout : float, default=0.0
        Before the classification head.
    initial_value : "auto", int or None, default="auto"
        Context channel (index among the context channels) holding the EDA at the window start,
        imposed as the initial condition :math:`\widehat{\mathrm{EDA}}(t_0)`; ``"auto"`` takes
        the first context channel when there is one (``"eda0"`` of ``eda_inputs``), None imposes
        nothing.
    lambda_eda, lambda_c, lambda_p : float >= 0, default=1.0, 1.0, 0.01
        Weights of the EDA, classification and physics terms. The EDA term is scaled by the
        EDA's standard deviation :math:`s_E`, the residual by :math:`s_E / D` with :math:`D` the
        window duration.
    alpha0_init, gamma_init : float > 0, default=0.1, 0.01
        Initial :math:`\alpha_0` and :math:`\gamma` (1/s).
    beta_init : float, default=0.0
        Initial :math:`\beta_j`.
    physics_lr_scale : float > 0, default=10.0
        Learning rate of :math:`\alpha_0, \gamma, \beta` relative to the network's.
{training_params}

    Attributes
    ----------
    physical_params_ : dict
        ``{"alpha0": float, "gamma": float, "beta": ndarray (n_drives,)}`` after ``fit``, in
        1/s, 1/s and EDA units per second per drive unit.
    n_drives_, n_context_ : int
    module_, module_config_, classes_, history_, n_epochs_ : see TorchClassifierBase

    See Also
    --------
    physioaffect.nets.eda_pinn.EDAPINNet, physioaffect.features.eda_inputs.eda_inputs

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> t = np.tile(np.arange(10.0), (8, 1)) + 10 * np.arange(8)[:, None]
    >>> e = np.repeat(rng.uniform(0, 1, (8, 1, 1)), 10, axis=2)
    >>> X = np.concatenate([t[:, None], e], axis=1)
    >>> est = EDAPINN(max_epochs=2, random_state=0).fit(X, [0, 1] * 4, eda=np.ones((8, 10)))
    >>> est.predict_eda(X).shape, sorted(est.physical_params_)
    ((8, 10), ['alpha0', 'beta', 'gamma'])
    """

    def __init__(self, *, n_drives=None, form="linear-decay", hidden=32, depth=3,
                 activation="tanh", dropout=0.0, initial_value="auto", lambda_eda=1.0,
                 lambda_c=1.0, lambda_p=0.01, alpha0_init=0.1, gamma_init=0.01, beta_init=0.0,
                 physics_lr_scale=10.0, max_epochs=500, batch_size=64, lr=1e-2,
                 weight_decay=0.0, schedule="cosine", eta_min=1e-4, class_weight=None,
                 validation_split=None, patience=None, grad_clip=None, device="auto",
                 random_state=None, verbose=False):
        self.n_drives = n_drives
        self.form = form
        self.hidden = hidden
        self.depth = depth
        self.activation = activation
        self.dropout = dropout
        self.initial_value = initial_value
        self.lambda_eda = lambda_eda
        self.lambda_c = lambda_c
        self.lambda_p = lambda_p
        self.alpha0_init = alpha0_init
        self.gamma_init = gamma_init
        self.beta_init = beta_init
        self.physics_lr_scale = physics_lr_scale
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.schedule = schedule
        self.eta_min = eta_min
        self.class_weight = class_weight
        self.validation_split = validation_split
        self.patience = patience
        self.grad_clip = grad_clip
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    # ---------------------------------------------------------------------------------------------
    # TorchClassifierBase hooks
    # ---------------------------------------------------------------------------------------------

    @classmethod
    def _module_class(cls):
        from ..nets.eda_pinn import EDAPINNet

        return EDAPINNet

    def _input_layout(self, X):
        if X.ndim != 3 or X.shape[1] < 1:
            raise InvalidParameterError(
                f"EDAPINN takes X of shape (n_windows, 1 + n_drives + n_context, n_times), "
                f"channel 0 the time in seconds; got shape {X.shape}")
        n_chans = X.shape[1]
        m = n_chans - 1 if self.n_drives is None else self.n_drives
        if isinstance(m, bool) or not isinstance(m, (int, np.integer)) or not 0 <= m <= n_chans - 1:
            raise InvalidParameterError(
                f"`n_drives` must be None or an integer in [0, {n_chans - 1}] (X has {n_chans} "
                f"channels, the first one time), got {self.n_drives!r}")
        self.n_drives_ = int(m)
        self.n_context_ = int(n_chans - 1 - m)
        return n_chans, X.shape[2]

    def _initial_index(self):
        iv = self.initial_value
        if isinstance(iv, str) and iv == "auto":
            return 0 if self.n_context_ else None
        return iv

    def _build_module(self, n_chans, length, n_classes):
        config = {"n_drives": self.n_drives_, "n_classes": int(n_classes),
                  "n_context": self.n_context_, "hidden": self.hidden, "depth": self.depth,
                  "activation": self.activation, "dropout": self.dropout, "form": self.form,
                  "alpha0_init": self.alpha0_init, "gamma_init": self.gamma_init,
                  "beta_init": self.beta_init, "initial_value": self._initial_index(),
                  "compute_residual": self.lambda_p > 0}
        return self._module_class()(**config), config

    # ---------------------------------------------------------------------------------------------
    # inputs
    # ---------------------------------------------------------------------------------------------

    def _split(self, Xm):
        m = self.n_drives_
        t = Xm[:, 0]
        drives = np.ascontiguousarray(Xm[:, 1:1 + m])
        parts = (t, drives)
        if self.n_context_:
            parts = parts + (np.ascontiguousarray(Xm[:, 1 + m:].mean(axis=2)),)
        return parts

    def _check_weights(self):
        for name in ("lambda_eda", "lambda_c", "lambda_p", "physics_lr_scale"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float, np.floating)) or not (
                    np.isfinite(v) and v >= 0):
                raise InvalidParameterError(f"`{name}` must be a number >= 0, got {v!r}")
        if not (self.lambda_eda > 0 or self.lambda_c > 0 or self.lambda_p > 0):
            raise InvalidParameterError("at least one of lambda_eda, lambda_c, lambda_p must be > 0")

    # ---------------------------------------------------------------------------------------------
    # fit / predict
    # ---------------------------------------------------------------------------------------------

    def fit(self, X, y, eda=None, *, groups=None):
        """Train a new network on windows ``X`` with classes ``y`` and measured EDA ``eda``.

        Parameters
        ----------
        X : array-like, shape (n_windows, 1 + n_drives + n_context, n_times)
            See the class documentation.
        y : array-like, shape (n_windows,)
            Emotion class of each window.
        eda : array-like, shape (n_windows, n_times)
            Measured EDA at the times of ``X[:, 0]`` (required).
        groups : array-like or None, default=None
            Group (e.g. subject) per window, for ``validation_split``.

        Returns
        -------
        self
        """
        import torch

        from ..nets.eda_pinn import pinn_loss
        from ..training import History, train

        self._check_weights()
        Xm, y = self._validate(X, y, reset=True)
        if eda is None:
            raise InvalidParameterError("EDAPINN.fit needs `eda`, the measured EDA (n_windows, n_times)")
        eda = np.asarray(eda, dtype=np.float32)
        if eda.shape != (Xm.shape[0], Xm.shape[2]) or not np.all(np.isfinite(eda)):
            raise InvalidParameterError(
                f"`eda` must be finite with shape (n_windows, n_times) = {(Xm.shape[0], Xm.shape[2])}, "
                f"got {eda.shape}")
        y_enc = self._encode_targets(y)
        seed = self._seed()
        config = self.train_config(seed)
        module = self._new_module(seed)
        inputs = self._split(Xm)

        t = inputs[0].astype(np.float64)
        span = float(np.mean(t[:, -1] - t[:, 0])) if t.shape[1] > 1 else 1.0
        span = span if span > 0 else 1.0
        e = inputs[1].astype(np.float64)
        s_e = float(eda.std()) or 1.0
        module.set_normalization(
            t=(float(t.mean()), float(t.std()) or 1.0), tau=span,
            drives=(e.mean(axis=(0, 2)), e.std(axis=(0, 2))), eda=(float(eda.mean()), s_e),
            context=((inputs[2].mean(0), inputs[2].std(0)) if self.n_context_ else None))
        weights = {"lambda_eda": float(self.lambda_eda), "lambda_c": float(self.lambda_c),
                   "lambda_p": float(self.lambda_p)}
        cw = config.class_weight
        if isinstance(cw, str):
            from ..training import class_weights

            cw = class_weights(y_enc, cw, n_classes=len(self.classes_))
        cw_t = None if cw is None else torch.as_tensor(np.asarray(cw), dtype=torch.float32)

        def loss_fn(outputs, targets):
            w = None if cw_t is None else cw_t.to(outputs["eda"].device)
            return pinn_loss(outputs, targets, eda_scale=s_e, residual_scale=s_e / span,
                             class_weight=w, **weights).total

        physical = {id(p) for p in (module.raw_alpha0, module.raw_gamma, module.beta)}
        scale = float(self.physics_lr_scale)
        adam = _scaled_adam()

        def optimizer(params):
            params = list(params)
            groups_ = [{"params": [p for p in params if id(p) not in physical]},
                       {"params": [p for p in params if id(p) in physical], "lr_scale": scale}]
            return adam([g for g in groups_ if g["params"]], lr=config.lr,
                        weight_decay=config.weight_decay)

        config = dataclasses.replace(config, optimizer=optimizer, class_weight=None)
        history = train(module, inputs, {"eda": eda, "y": y_enc}, config=config, groups=groups,
                        loss_fn=loss_fn)
        self.history_ = history if isinstance(history, History) else History(**history)
        self.n_epochs_ = len(self.history_.epoch)
        self._finish(module, Xm)
        self._store_physical()
        return self

    def partial_fit(self, X, y, classes=None):  # noqa: D102
        raise NotImplementedError("EDAPINN trains with fit(X, y, eda=...); partial_fit is not offered")

    def _store_physical(self):
        p = self.module_.physical_parameters()
        self.physical_params_ = {"alpha0": p["alpha0"], "gamma": p["gamma"],
                                 "beta": np.asarray(p["beta"], dtype=np.float64)}

    def _outputs(self, X):
        from ..training import predict

        check_is_fitted(self)
        Xm, _ = self._validate(X, reset=False)
        bs = max(int(self.batch_size), 256)
        module = self.module_
        residual = module.compute_residual
        module.compute_residual = False  # prediction needs no derivative
        try:
            out = predict(module, self._split(Xm), batch_size=bs, device=self.device)
        finally:
            module.compute_residual = residual
            module.cpu()
        return out

    def _logits(self, X):
        return np.asarray(self._outputs(X)["logits"], dtype=np.float64)

    def predict_eda(self, X):
        """Predicted EDA trajectory of each window.

        Parameters
        ----------
        X : array-like, shape (n_windows, n_channels, n_times)
            As in :meth:`fit`.

        Returns
        -------
        eda : ndarray of float64, shape (n_windows, n_times)
        """
        return np.asarray(self._outputs(X)["eda"], dtype=np.float64)

    def scores(self, X, y, eda) -> dict:
        """RMSE and Pearson r of the EDA, macro and weighted F1 and accuracy of the classes.

        Returns
        -------
        scores : dict
            See :func:`eda_pinn_scores`.
        """
        out = self._outputs(X)
        pred = self.classes_[np.argmax(out["logits"], axis=1)]
        return eda_pinn_scores(y, pred, eda, out["eda"])

    def _fitted_extra(self):
        p = self.physical_params_
        return {"n_drives_": self.n_drives_, "n_context_": self.n_context_,
                "physical_params_": {"alpha0": float(p["alpha0"]), "gamma": float(p["gamma"]),
                                     "beta": [float(b) for b in p["beta"]]}}

    def _restore_extra(self, state):
        super()._restore_extra(state)
        p = getattr(self, "physical_params_", None)
        if isinstance(p, dict):
            self.physical_params_ = {**p, "beta": np.asarray(p["beta"], dtype=np.float64)}
