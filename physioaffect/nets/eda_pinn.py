r"""Multitask physics-informed network for EDA and emotion (METHODS.md section 3).

The formulation follows section 3.3 of the methods notes, which is a proposal: the source paper
states only that one network predicts EDA and the emotion class jointly under a physics residual
with a decay rate :math:`\alpha_0`, emotion weights :math:`\beta` and a time scaling
:math:`\gamma`.
"""

from __future__ import annotations

import math
import numbers
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..errors import InvalidParameterError, InvalidSignalError
from ._common import check_int, check_prob

__all__ = [
    "ODE_FORMS",
    "EDAPINNet",
    "PINNLoss",
    "decay_rate",
    "ode_residual",
    "time_derivative",
    "pinn_loss",
]

#: Forms of the decay rate :math:`\alpha(t)` (see :func:`decay_rate`).
ODE_FORMS = ("linear-decay", "exponential")
_ACTIVATIONS = {"tanh": nn.Tanh, "silu": nn.SiLU, "gelu": nn.GELU, "softplus": nn.Softplus}


def _check_form(form) -> str:
    if form not in ODE_FORMS:
        raise InvalidParameterError(f"`form` must be one of {list(ODE_FORMS)}, got {form!r}")
    return form


def decay_rate(t: Tensor, alpha0: Tensor, gamma: Tensor, form: str = "linear-decay") -> Tensor:
    r"""Time-varying decay rate of the EDA dynamics.

    .. math::

        \alpha(t) = \alpha_0 (1 + \gamma t) \quad\text{("linear-decay")}, \qquad
        \alpha(t) = \alpha_0\, e^{\gamma t} \quad\text{("exponential")}.

    Parameters
    ----------
    t : Tensor
        Times in seconds, any shape.
    alpha0, gamma : Tensor
        Scalars, 1/s.
    form : {"linear-decay", "exponential"}, default="linear-decay"

    Returns
    -------
    alpha : Tensor
        Shape of ``t``.
    """
    if _check_form(form) == "linear-decay":
        return alpha0 * (1.0 + gamma * t)
    return alpha0 * torch.exp(gamma * t)


def time_derivative(eda: Tensor, t: Tensor, *, create_graph: bool = True) -> Tensor:
    r"""Pointwise derivative :math:`d\,\widehat{\mathrm{EDA}}/dt` by automatic differentiation.

    ``eda[i, k]`` must depend on ``t`` only through ``t[i, k]`` (true of :class:`EDAPINNet`, whose
    trunk acts on each time point separately), so the gradient of ``eda.sum()`` with respect to
    ``t`` holds every pointwise derivative.

    Parameters
    ----------
    eda : Tensor, shape (B, T)
    t : Tensor, shape (B, T)
        With ``requires_grad``; ``eda`` computed from it.
    create_graph : bool, default=True
        Keep the graph of the derivative, so that a loss on it trains the network.

    Returns
    -------
    deda_dt : Tensor, shape (B, T)
    """
    (grad,) = torch.autograd.grad(eda.sum(), t, create_graph=create_graph)
    return grad


def ode_residual(eda: Tensor, deda_dt: Tensor, t: Tensor, drives: Tensor, alpha0: Tensor,
                 gamma: Tensor, beta: Tensor, form: str = "linear-decay") -> Tensor:
    r"""Residual of the EDA dynamics at each time point.

    .. math::

        r(t) = \frac{d\,\widehat{\mathrm{EDA}}}{dt} + \alpha(t)\, \widehat{\mathrm{EDA}}(t)
               - \beta^\top e(t),

    zero where :math:`\widehat{\mathrm{EDA}}` solves the ODE.

    Parameters
    ----------
    eda, deda_dt, t : Tensor, shape (B, T)
        EDA, its time derivative and the times (seconds).
    drives : Tensor, shape (B, m, T)
        Drive inputs :math:`e(t)`.
    alpha0, gamma : Tensor
        Scalars, 1/s.
    beta : Tensor, shape (m,)
    form : {"linear-decay", "exponential"}, default="linear-decay"

    Returns
    -------
    residual : Tensor, shape (B, T)
        In EDA units per second.
    """
    drive = torch.einsum("m,bmt->bt", beta, drives) if beta.numel() else torch.zeros_like(eda)
    return deda_dt + decay_rate(t, alpha0, gamma, form) * eda - drive


def _inverse_softplus(x: float) -> float:
    return x + math.log(-math.expm1(-x)) if x < 20 else x


class EDAPINNet(nn.Module):
    r"""Multitask PINN from the `"Interpretable Multi-Task PINN for Emotion Recognition and EDA
    Prediction" <https://arxiv.org/abs/2505.18169>`_ paper (formulation of METHODS.md section 3.3).

    N. Mandal (2025). One trunk acts on every time point :math:`t_k` of a window, given the time
    since the window start :math:`\tau_k = t_k - t_0`, the time :math:`t_k`, the drives
    :math:`e(t_k) \in \mathbb{R}^m` and window-level context :math:`c \in \mathbb{R}^q` (e.g. the
    EDA at the window start and SCR features), all standardised by stored buffers:

    .. math::

        h_k = \mathrm{MLP}\big([\tau_k, t_k, e(t_k), c]\big) \in \mathbb{R}^H, \qquad
        \widehat{\mathrm{EDA}}(t_k) = \mu_E + \sigma_E\, w^\top h_k, \qquad
        \mathrm{logits} = W \tfrac{1}{T} \textstyle\sum_k h_k + b.

    Because time is an input, :math:`d\widehat{\mathrm{EDA}}/dt` comes from autograd and the
    physics residual of :func:`ode_residual`,

    .. math::

        r(t) = \frac{d\widehat{\mathrm{EDA}}}{dt} + \alpha(t)\widehat{\mathrm{EDA}} - \beta^\top e(t),
        \quad \alpha(t) = \alpha_0 (1 + \gamma t) \;\text{or}\; \alpha_0 e^{\gamma t},

    is returned with the outputs. The interpretable parameters are learned with the network:
    :math:`\alpha_0 = \mathrm{softplus}(a)` and :math:`\gamma = \mathrm{softplus}(g)` stay positive,
    :math:`\beta \in \mathbb{R}^m` is unconstrained. The physics is evaluated in the units of the
    data (EDA units, seconds), so the parameters keep their physical meaning whatever the
    standardisation.

    Parameters
    ----------
    n_drives : int >= 0
        Number m of drive inputs :math:`e(t)` (self-reports, condition codes).
    n_classes : int >= 0
        Number of emotion classes; 0 builds no classification head (EDA only).
    n_context : int >= 0, default=0
        Number q of window-level context inputs.
    hidden : int, default=64
        Width H of the trunk.
    depth : int, default=3
        Number of hidden layers of the trunk.
    activation : {"tanh", "silu", "gelu", "softplus"}, default="tanh"
        Smooth activations keep :math:`d\widehat{\mathrm{EDA}}/dt` smooth.
    dropout : float in [0, 1), default=0.0
        Dropout before the classification head.
    form : {"linear-decay", "exponential"}, default="linear-decay"
        Form of :math:`\alpha(t)`.
    alpha0_init, gamma_init : float > 0, default=0.1, 0.01
        Initial :math:`\alpha_0` and :math:`\gamma`, 1/s.
    beta_init : float, default=0.0
        Initial value of every :math:`\beta_j`.
    compute_residual : bool, default=True
        Return ``"residual"`` with the outputs (False skips the autograd derivative).

    Attributes
    ----------
    alpha0, gamma : Tensor
        Current positive scalars.
    beta : torch.nn.Parameter, shape (m,)

    Shapes:
        - input ``t``: (B, T) seconds; ``drives``: (B, m, T); ``context``: (B, q) or None
        - output: dict with ``"eda"`` (B, T), ``"logits"`` (B, n_classes) when ``n_classes > 0``,
          ``"residual"`` (B, T) when ``compute_residual``

    Examples
    --------
    >>> import torch
    >>> net = EDAPINNet(n_drives=2, n_classes=3, n_context=1)
    >>> out = net(torch.linspace(0, 10, 40).repeat(5, 1), torch.randn(5, 2, 40), torch.randn(5, 1))
    >>> out["eda"].shape, out["logits"].shape, out["residual"].shape
    (torch.Size([5, 40]), torch.Size([5, 3]), torch.Size([5, 40]))
    """

    def __init__(self, n_drives: int, n_classes: int, n_context: int = 0, *, hidden: int = 64,
                 depth: int = 3, activation: str = "tanh", dropout: float = 0.0,
                 form: str = "linear-decay", alpha0_init: float = 0.1, gamma_init: float = 0.01,
                 beta_init: float = 0.0, initial_value: int | None = None,
                 compute_residual: bool = True):
        super().__init__()
        self.n_drives = check_int(n_drives, "n_drives", minimum=0)
        self.n_classes = check_int(n_classes, "n_classes", minimum=0)
        self.n_context = check_int(n_context, "n_context", minimum=0)
        self.hidden = check_int(hidden, "hidden")
        self.depth = check_int(depth, "depth")
        if activation not in _ACTIVATIONS:
            raise InvalidParameterError(
                f"`activation` must be one of {sorted(_ACTIVATIONS)}, got {activation!r}")
        self.activation = activation
        self.dropout = check_prob(dropout, "dropout")
        self.form = _check_form(form)
        for name, value in (("alpha0_init", alpha0_init), ("gamma_init", gamma_init)):
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise InvalidParameterError(f"`{name}` must be a positive number, got {value!r}")
        self.alpha0_init, self.gamma_init = float(alpha0_init), float(gamma_init)
        self.beta_init = float(beta_init)
        self.compute_residual = bool(compute_residual)
        if initial_value is not None:
            initial_value = check_int(initial_value, "initial_value", minimum=0)
            if initial_value >= self.n_context:
                raise InvalidParameterError(
                    f"`initial_value` must index a context input (0..{self.n_context - 1}), got "
                    f"{initial_value}")
        self.initial_value = initial_value

        n_in = 2 + self.n_drives + self.n_context
        layers, width = [], n_in
        for _ in range(self.depth):
            layers += [nn.Linear(width, self.hidden), _ACTIVATIONS[activation]()]
            width = self.hidden
        self.trunk = nn.Sequential(*layers)
        self.eda_head = nn.Linear(self.hidden, 1)
        self.class_head = (nn.Sequential(nn.Dropout(self.dropout),
                                         nn.Linear(self.hidden, self.n_classes))
                           if self.n_classes else None)
        self.raw_alpha0 = nn.Parameter(torch.empty(()))
        self.raw_gamma = nn.Parameter(torch.empty(()))
        self.beta = nn.Parameter(torch.empty(self.n_drives))
        # standardisation of the inputs and of the EDA output (set by set_normalization)
        self.register_buffer("time_stats", torch.tensor([0.0, 1.0, 1.0]))  # t shift, t scale, tau scale
        self.register_buffer("drive_stats", torch.stack([torch.zeros(self.n_drives),
                                                         torch.ones(self.n_drives)]))
        self.register_buffer("context_stats", torch.stack([torch.zeros(self.n_context),
                                                           torch.ones(self.n_context)]))
        self.register_buffer("eda_stats", torch.tensor([0.0, 1.0]))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Xavier-initialise the layers and set the physical parameters to their initial values."""
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)
        with torch.no_grad():
            self.raw_alpha0.fill_(_inverse_softplus(self.alpha0_init))
            self.raw_gamma.fill_(_inverse_softplus(self.gamma_init))
            self.beta.fill_(self.beta_init)

    # ----------------------------------------------------------------------------------------
    @property
    def alpha0(self) -> Tensor:
        """Decay rate at t = 0, :math:`\\mathrm{softplus}(a)` (1/s)."""
        return F.softplus(self.raw_alpha0)

    @property
    def gamma(self) -> Tensor:
        """Time scaling of the decay, :math:`\\mathrm{softplus}(g)` (1/s)."""
        return F.softplus(self.raw_gamma)

    def physical_parameters(self) -> dict:
        """Current ``{"alpha0": float, "gamma": float, "beta": list of float}``."""
        return {"alpha0": float(self.alpha0.detach()), "gamma": float(self.gamma.detach()),
                "beta": [float(b) for b in self.beta.detach().cpu()]}

    def set_normalization(self, *, t=None, tau=None, drives=None, context=None, eda=None) -> None:
        """Store (shift, scale) pairs that standardise the inputs and un-standardise the EDA.

        Parameters
        ----------
        t : (float, float), optional
            Shift and scale of the time (seconds).
        tau : float, optional
            Scale of the time since the window start (seconds).
        drives : (array-like (m,), array-like (m,)), optional
        context : (array-like (q,), array-like (q,)), optional
        eda : (float, float), optional
            Output EDA is ``shift + scale * head``.
        """
        def scale_ok(s):
            s = torch.as_tensor(s, dtype=torch.float32)
            return torch.where(s > 0, s, torch.ones_like(s))

        with torch.no_grad():
            if t is not None:
                self.time_stats[0] = float(t[0])
                self.time_stats[1] = scale_ok(t[1])
            if tau is not None:
                self.time_stats[2] = scale_ok(tau)
            if drives is not None:
                self.drive_stats[0] = torch.as_tensor(drives[0], dtype=torch.float32)
                self.drive_stats[1] = scale_ok(drives[1])
            if context is not None:
                self.context_stats[0] = torch.as_tensor(context[0], dtype=torch.float32)
                self.context_stats[1] = scale_ok(context[1])
            if eda is not None:
                self.eda_stats[0] = float(eda[0])
                self.eda_stats[1] = scale_ok(eda[1])

    def get_config(self) -> dict:
        """Constructor arguments, for checkpoints."""
        return {"n_drives": self.n_drives, "n_classes": self.n_classes,
                "n_context": self.n_context, "hidden": self.hidden, "depth": self.depth,
                "activation": self.activation, "dropout": self.dropout, "form": self.form,
                "alpha0_init": self.alpha0_init, "gamma_init": self.gamma_init,
                "beta_init": self.beta_init, "initial_value": self.initial_value,
                "compute_residual": self.compute_residual}

    # ----------------------------------------------------------------------------------------
    def _check(self, t, drives, context):
        if not isinstance(t, Tensor) or t.dim() != 2:
            raise InvalidSignalError(
                f"EDAPINNet `t` must be a tensor (batch, n_times), got "
                f"{tuple(getattr(t, 'shape', ()))}")
        b, n = t.shape
        if not isinstance(drives, Tensor) or tuple(drives.shape) != (b, self.n_drives, n):
            raise InvalidSignalError(
                f"EDAPINNet `drives` must have shape (batch={b}, n_drives={self.n_drives}, "
                f"n_times={n}), got {tuple(getattr(drives, 'shape', ()))}")
        if self.n_context:
            if not isinstance(context, Tensor) or tuple(context.shape) != (b, self.n_context):
                raise InvalidSignalError(
                    f"EDAPINNet `context` must have shape (batch={b}, n_context={self.n_context}), "
                    f"got {tuple(getattr(context, 'shape', ())) if context is not None else None}")

    def _eda_and_hidden(self, t: Tensor, drives: Tensor, context: Tensor | None):
        b, n = t.shape
        tau = t - t[:, :1].detach()  # time since the window start; d tau / d t = 1
        parts = [(tau / self.time_stats[2])[..., None],
                 ((t - self.time_stats[0]) / self.time_stats[1])[..., None],
                 ((drives - self.drive_stats[0][:, None]) / self.drive_stats[1][:, None]).transpose(1, 2)]
        if self.n_context:
            c = (context - self.context_stats[0]) / self.context_stats[1]
            parts.append(c[:, None, :].expand(b, n, self.n_context))
        h = self.trunk(torch.cat(parts, dim=-1))  # (B, T, H)
        z = self.eda_head(h)[..., 0]
        if self.initial_value is None:
            eda = self.eda_stats[0] + self.eda_stats[1] * z
        else:  # hard initial condition: EDA(t0) equals the context's value at the window start
            eda = context[:, self.initial_value, None] + self.eda_stats[1] * (tau / self.time_stats[2]) * z
        return eda, h

    def forward(self, t: Tensor, drives: Tensor, context: Tensor | None = None) -> dict:
        self._check(t, drives, context)
        t = t.to(self.raw_alpha0.dtype)
        drives = drives.to(t.dtype)
        if context is not None:
            context = context.to(t.dtype)
        out = {}
        if self.compute_residual:
            keep_graph = torch.is_grad_enabled()
            with torch.enable_grad():
                tt = t.detach().requires_grad_(True)
                eda, h = self._eda_and_hidden(tt, drives, context)
                deda = time_derivative(eda, tt, create_graph=keep_graph)
                r = ode_residual(eda, deda, tt.detach(), drives, self.alpha0, self.gamma,
                                 self.beta, self.form)
            if not keep_graph:
                eda, h, r = eda.detach(), h.detach(), r.detach()
            out["residual"] = r
        else:
            eda, h = self._eda_and_hidden(t, drives, context)
        out["eda"] = eda
        if self.class_head is not None:
            out["logits"] = self.class_head(h.mean(dim=1))
        return out

    def extra_repr(self) -> str:
        return (f"n_drives={self.n_drives}, n_classes={self.n_classes}, n_context={self.n_context}, "
                f"form={self.form!r}")


class PINNLoss(NamedTuple):
    """Total loss and its terms (each a scalar tensor; a switched-off term is 0)."""

    total: Tensor
    eda: Tensor
    classification: Tensor
    physics: Tensor


def pinn_loss(outputs: dict, targets: dict, *, lambda_eda: float = 1.0, lambda_c: float = 1.0,
              lambda_p: float = 1.0, eda_scale: float = 1.0, residual_scale: float | None = None,
              class_weight: Tensor | None = None) -> PINNLoss:
    r"""Loss of the multitask PINN, with its three terms.

    .. math::

        L = \lambda_e \,\mathrm{mean}\Big(\big(\tfrac{\widehat{\mathrm{EDA}} - \mathrm{EDA}}{s_E}\big)^2\Big)
          + \lambda_c \,\mathrm{CE}(\mathrm{logits}, y)
          + \lambda_p \,\mathrm{mean}\Big(\big(\tfrac{r(t)}{s_r}\big)^2\Big),

    with :math:`s_E` = ``eda_scale`` and :math:`s_r` = ``residual_scale`` making the terms unit-free.
    A term whose weight is 0 is switched off: it is not computed (its value is a zero tensor), so
    ablations (EDA only, emotion only, no physics) need no other change.

    Parameters
    ----------
    outputs : dict
        From :class:`EDAPINNet`: ``"eda"`` (B, T), ``"logits"`` (B, K), ``"residual"`` (B, T).
    targets : dict
        ``"eda"`` (B, T) measured EDA and ``"y"`` (B,) integer classes, as the active terms need.
    lambda_eda, lambda_c, lambda_p : float >= 0, default=1.0
        Weights of the EDA, classification and physics terms.
    eda_scale : float > 0, default=1.0
        :math:`s_E`, EDA units.
    residual_scale : float > 0 or None, default=None
        :math:`s_r`, EDA units per second; None uses ``eda_scale``.
    class_weight : Tensor of shape (K,) or None, default=None
        Per-class weights of the cross-entropy.

    Returns
    -------
    PINNLoss
        ``(total, eda, classification, physics)``; the terms are unweighted.

    Examples
    --------
    >>> import torch
    >>> out = {"eda": torch.zeros(1, 2), "residual": torch.ones(1, 2), "logits": torch.zeros(1, 2)}
    >>> tgt = {"eda": torch.ones(1, 2), "y": torch.tensor([0])}
    >>> parts = pinn_loss(out, tgt, lambda_c=0.5, lambda_p=2.0)
    >>> round(float(parts.total), 4)  # 1 + 0.5 log 2 + 2
    3.3466
    """
    weights = {"lambda_eda": lambda_eda, "lambda_c": lambda_c, "lambda_p": lambda_p}
    for name, w in weights.items():
        if isinstance(w, bool) or not (isinstance(w, numbers.Real) and math.isfinite(w) and w >= 0):
            raise InvalidParameterError(f"`{name}` must be a number >= 0, got {w!r}")
    s_e = float(eda_scale)
    s_r = s_e if residual_scale is None else float(residual_scale)
    if not (s_e > 0 and s_r > 0):
        raise InvalidParameterError(
            f"`eda_scale` and `residual_scale` must be > 0, got {eda_scale!r} and {residual_scale!r}")
    ref = outputs["eda"]
    zero = ref.new_zeros(())
    l_eda = l_c = l_p = zero
    if lambda_eda > 0:
        if "eda" not in targets:
            raise InvalidParameterError("the EDA term (lambda_eda > 0) needs targets['eda']")
        target = targets["eda"].to(ref.dtype).reshape(ref.shape)
        l_eda = (((ref - target) / s_e) ** 2).mean()
    if lambda_c > 0:
        if "logits" not in outputs or "y" not in targets:
            raise InvalidParameterError(
                "the classification term (lambda_c > 0) needs outputs['logits'] and targets['y']")
        l_c = F.cross_entropy(outputs["logits"].float(), targets["y"].reshape(-1).long(),
                              weight=class_weight)
    if lambda_p > 0:
        if "residual" not in outputs:
            raise InvalidParameterError(
                "the physics term (lambda_p > 0) needs outputs['residual'] (compute_residual=True)")
        l_p = ((outputs["residual"] / s_r) ** 2).mean()
    total = lambda_eda * l_eda + lambda_c * l_c + lambda_p * l_p
    return PINNLoss(total, l_eda, l_c, l_p)
