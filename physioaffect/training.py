"""The one training loop of physioaffect, shared by every model of the package.

:func:`train` (or :class:`Trainer`) fits a torch module on arrays held in memory:

- devices ``"auto" | "cpu" | "cuda"``, mixed precision on CUDA (bfloat16 where supported, otherwise
  float16 with gradient scaling);
- losses: cross-entropy with class weights, uniform label smoothing or Gaussian ordinal smoothing
  (section 1.5 of the methods notes), soft targets, MSE, 1 - CCC, one loss per output head with
  weights, or any ``loss_fn(outputs, targets)``;
- a validation set (given, or split off by group) with early stopping and best-weights restore;
- learning-rate schedules: constant, steps (HiSTN) and cosine annealing (RBTransformer), and a
  batch size that may change at given epochs (RBTransformer: 256 then 64);
- seeding and a deterministic mode; a tqdm bar with the running loss and metric;
- checkpoints that hold the model's constructor config and load with ``torch.load(weights_only=True)``;
- torch.distributed data parallel (DDP) when the process group is initialised (e.g. under
  ``torchrun``; see :func:`init_distributed`).

Batches and losses
------------------
``X`` is an array, a tensor, a tuple of them (the model is called ``model(*batch)``) or a mapping of
them (``model(**batch)``); ``y`` is an array, a mapping of arrays (one per output head) or None. The
model returns a tensor, a tuple or a mapping of tensors; the loss receives ``(outputs, targets)``
with targets batched like ``y``. A multitask model therefore returns ``{"stage": ..., "apnea": ...}``
and trains with ``loss={"stage": "cross_entropy", "apnea": "cross_entropy"}`` and
``loss_weights={"stage": 1.0, "apnea": 2.0}``, or with its own ``loss_fn``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import math
import numbers
import os
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .errors import InvalidParameterError, PhysioAffectError

__all__ = [
    "TrainConfig",
    "History",
    "Trainer",
    "train",
    "predict",
    "make_loss",
    "class_weights",
    "save_checkpoint",
    "read_checkpoint",
    "load_checkpoint",
    "seed_everything",
    "deterministic_mode",
    "resolve_device",
    "init_distributed",
]

CHECKPOINT_FORMAT = "physioaffect-checkpoint"
CHECKPOINT_VERSION = 1

_LOSSES = ("cross_entropy", "mse", "ccc")


# --------------------------------------------------------------------------------------------------
# configuration and history
# --------------------------------------------------------------------------------------------------

@dataclass
class TrainConfig:
    """Settings of one training run.

    Parameters
    ----------
    epochs : int, default=100
        Passes over the training data.
    batch_size : int, default=64
        Samples per optimiser step (per process under DDP).
    batch_size_steps : dict of {int: int} or None, default=None
        New batch sizes from given epochs on, e.g. ``{150: 64}`` (RBTransformer).
    val_batch_size : int or None, default=None
        Batch size for validation; defaults to ``max(batch_size, 256)``.
    drop_last : bool, default=False
        Drop the last incomplete training batch of each epoch.
    sampling : {"shuffle", "balanced"}, default="shuffle"
        ``"shuffle"``: a permutation per epoch. ``"balanced"``: as many draws per epoch as samples,
        each picking a class uniformly among the classes present and then one of its samples (with
        replacement), as HiSTN's class-balanced batches. ``"balanced"`` needs 1-D integer ``y``.
    optimizer : {"adam", "adamw", "sgd"} or callable, default="adam"
        A name, or ``callable(params) -> torch.optim.Optimizer`` (then ``lr`` is still applied by
        the schedule).
    lr : float, default=1e-3
        Base learning rate.
    weight_decay : float, default=0.0
    momentum : float, default=0.9
        Only for ``"sgd"``.
    schedule : {"constant", "step", "cosine"}, default="constant"
        ``"step"``: the rate becomes ``lr_steps[e]`` from epoch ``e`` on (HiSTN:
        ``lr=1e-3, lr_steps={30: 5e-4}``). ``"cosine"``:
        ``eta_min + (lr - eta_min) * (1 + cos(pi * min(e, t_max) / t_max)) / 2`` at epoch ``e``
        (RBTransformer: ``lr=1e-3, t_max=300, eta_min=1e-6``).
    lr_steps : dict of {int: float} or None, default=None
    t_max : int or None, default=None
        Period of the cosine schedule in epochs; defaults to ``epochs``.
    eta_min : float, default=0.0
    loss : {"cross_entropy", "mse", "ccc"}, callable or dict, default="cross_entropy"
        The training loss; see :func:`make_loss`.
    loss_weights : dict of {str: float} or None, default=None
        Weight of each head's loss when ``loss`` is a dict.
    class_weight : {"balanced", "max"}, array-like, dict or None, default=None
        Per-class weights of the cross-entropy, multiplying each sample's loss; see
        :func:`class_weights`. Not applied to the validation loss.
    label_smoothing : float, default=0.0
        Uniform label smoothing of cross-entropy targets (RBTransformer: 0.12). Training only.
    ordinal_sigma : float or None, default=None
        Gaussian ordinal smoothing of integer cross-entropy targets with this spread (HiSTN: 0.5).
        Training only: validation uses one-hot targets.
    metric : "auto", "accuracy", callable or None, default="auto"
        Shown on the progress bar and recorded. ``"auto"``: accuracy for a single cross-entropy
        head, none otherwise. A callable takes ``(outputs, targets)`` and returns a float (higher is
        better).
    validation_split : float or None, default=None
        Fraction held out for validation when no validation data are passed; whole groups are held
        out when ``groups`` is passed to :func:`train`.
    monitor : {"val_loss", "val_metric"}, default="val_loss"
        Quantity that selects the best epoch (lowest loss, highest metric).
    patience : int or None, default=None
        Stop after this many epochs without improvement; None trains all epochs.
    restore_best : bool, default=True
        Load the best epoch's weights at the end (needs validation data).
    grad_clip : float or None, default=None
        Clip the global gradient norm to this value.
    device : {"auto", "cpu", "cuda"} or str, default="auto"
    amp : bool, default=True
        Mixed precision on CUDA (ignored on CPU).
    seed : int or None, default=0
        Seeds Python, numpy and torch (global generators) and the batch order.
    deterministic : bool, default=False
        Run under :func:`deterministic_mode`.
    progress : bool, default=True
        Show a tqdm bar (rank 0 only).
    """

    epochs: int = 100
    batch_size: int = 64
    batch_size_steps: dict | None = None
    val_batch_size: int | None = None
    drop_last: bool = False
    sampling: str = "shuffle"
    optimizer: str | Callable = "adam"
    lr: float = 1e-3
    weight_decay: float = 0.0
    momentum: float = 0.9
    schedule: str = "constant"
    lr_steps: dict | None = None
    t_max: int | None = None
    eta_min: float = 0.0
    loss: str | Callable | dict = "cross_entropy"
    loss_weights: dict | None = None
    class_weight: str | dict | list | None = None
    label_smoothing: float = 0.0
    ordinal_sigma: float | None = None
    metric: str | Callable | None = "auto"
    validation_split: float | None = None
    monitor: str = "val_loss"
    patience: int | None = None
    restore_best: bool = True
    grad_clip: float | None = None
    device: str = "auto"
    amp: bool = True
    seed: int | None = 0
    deterministic: bool = False
    progress: bool = True

    def validate(self) -> TrainConfig:
        """Check every field; return ``self`` or raise :class:`InvalidParameterError`."""
        _int(self.epochs, "epochs", 1)
        _int(self.batch_size, "batch_size", 1)
        if self.val_batch_size is not None:
            _int(self.val_batch_size, "val_batch_size", 1)
        for epoch, size in (self.batch_size_steps or {}).items():
            _int(epoch, "batch_size_steps key", 0)
            _int(size, "batch_size_steps value", 1)
        _choice(self.sampling, ("shuffle", "balanced"), "sampling")
        if not callable(self.optimizer):
            _choice(self.optimizer, ("adam", "adamw", "sgd"), "optimizer")
        _nonneg(self.lr, "lr", positive=True)
        _nonneg(self.weight_decay, "weight_decay")
        _nonneg(self.momentum, "momentum")
        _choice(self.schedule, ("constant", "step", "cosine"), "schedule")
        if self.schedule == "step" and not self.lr_steps:
            raise InvalidParameterError(
                "`schedule`='step' needs `lr_steps`, a dict {epoch: lr}, e.g. {30: 5e-4}")
        for epoch, lr in (self.lr_steps or {}).items():
            _int(epoch, "lr_steps key", 0)
            _nonneg(lr, "lr_steps value", positive=True)
        if self.t_max is not None:
            _int(self.t_max, "t_max", 1)
        _nonneg(self.eta_min, "eta_min")
        if not (0.0 <= float(self.label_smoothing) < 1.0):
            raise InvalidParameterError(
                f"`label_smoothing` must be in [0, 1), got {self.label_smoothing!r}")
        if self.ordinal_sigma is not None:
            _nonneg(self.ordinal_sigma, "ordinal_sigma", positive=True)
        if not (self.metric is None or callable(self.metric)):
            _choice(self.metric, ("auto", "accuracy"), "metric")
        if self.validation_split is not None and not (0.0 < float(self.validation_split) < 1.0):
            raise InvalidParameterError(
                f"`validation_split` must be in (0, 1), got {self.validation_split!r}")
        _choice(self.monitor, ("val_loss", "val_metric"), "monitor")
        if self.patience is not None:
            _int(self.patience, "patience", 1)
        if self.grad_clip is not None:
            _nonneg(self.grad_clip, "grad_clip", positive=True)
        if self.seed is not None:
            _int(self.seed, "seed", 0)
        return self

    def lr_at(self, epoch: int) -> float:
        """Learning rate of epoch ``epoch`` (0-based) under the configured schedule."""
        if self.schedule == "step":
            lr = self.lr
            for start in sorted(self.lr_steps or {}):
                if epoch >= start:
                    lr = self.lr_steps[start]
            return float(lr)
        if self.schedule == "cosine":
            t_max = self.t_max or self.epochs
            e = min(epoch, t_max)
            return float(self.eta_min + (self.lr - self.eta_min) * (1 + math.cos(math.pi * e / t_max)) / 2)
        return float(self.lr)

    def batch_size_at(self, epoch: int) -> int:
        """Training batch size of epoch ``epoch`` (0-based)."""
        size = self.batch_size
        for start in sorted(self.batch_size_steps or {}):
            if epoch >= start:
                size = self.batch_size_steps[start]
        return int(size)

    def to_dict(self) -> dict:
        """Plain-type copy (callables become their qualified names), fit for a checkpoint."""
        out = {}
        for f in dataclasses.fields(self):
            out[f.name] = _describe(getattr(self, f.name))
        return out


@dataclass
class History:
    """What happened during training, one entry per epoch.

    Attributes
    ----------
    epoch : list of int
    loss, metric : list of float
        Mean training loss and metric of each epoch (``metric`` holds NaN without a metric).
    val_loss, val_metric : list of float
        Validation loss and metric (empty without validation data).
    lr : list of float
        Learning rate used in each epoch.
    batch_size : list of int
    best_epoch : int or None
        Epoch whose weights were kept (with validation data and ``restore_best``).
    stopped_early : bool
    seconds : float
        Wall-clock training time.
    """

    epoch: list = field(default_factory=list)
    loss: list = field(default_factory=list)
    metric: list = field(default_factory=list)
    val_loss: list = field(default_factory=list)
    val_metric: list = field(default_factory=list)
    lr: list = field(default_factory=list)
    batch_size: list = field(default_factory=list)
    best_epoch: int | None = None
    stopped_early: bool = False
    seconds: float = 0.0

    def to_dict(self) -> dict:
        """Plain-type copy of the history."""
        return dataclasses.asdict(self)


# --------------------------------------------------------------------------------------------------
# small checks
# --------------------------------------------------------------------------------------------------

def _int(value, name, minimum):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise InvalidParameterError(f"`{name}` must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _nonneg(value, name, positive=False):
    try:
        out = float(value)
    except (TypeError, ValueError):
        out = float("nan")
    if not math.isfinite(out) or out < 0 or (positive and out == 0):
        raise InvalidParameterError(
            f"`{name}` must be a finite number {'> 0' if positive else '>= 0'}, got {value!r}")
    return out


def _choice(value, choices, name):
    if value not in choices:
        raise InvalidParameterError(f"`{name}` must be one of {list(choices)}, got {value!r}")
    return value


def _describe(value):
    if callable(value) and not isinstance(value, type):
        mod = getattr(value, "__module__", None) or ""
        qual = getattr(value, "__qualname__", None) or type(value).__qualname__
        return f"{mod}.{qual}" if mod else qual
    if isinstance(value, type):
        return f"{value.__module__}.{value.__qualname__}"
    if isinstance(value, Mapping):
        return {(k if isinstance(k, (str, int)) else str(k)): _describe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_describe(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


# --------------------------------------------------------------------------------------------------
# devices, seeding, determinism, distribution
# --------------------------------------------------------------------------------------------------

def _dist_state() -> tuple[int, int]:
    dist = torch.distributed
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def resolve_device(device="auto") -> torch.device:
    """Return the torch device for ``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or a device.

    ``"auto"`` picks CUDA when available (``cuda:LOCAL_RANK`` under torchrun), else CPU.

    Raises
    ------
    InvalidParameterError
        For ``"cuda"`` on a machine without CUDA, or an unknown name.
    """
    if isinstance(device, torch.device):
        return device
    if not isinstance(device, str):
        raise InvalidParameterError(f"`device` must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {device!r}")
    name = device.lower()
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda":
        if not torch.cuda.is_available():
            raise InvalidParameterError(
                "`device`='cuda' but torch sees no CUDA device; use device='auto' or 'cpu'")
        if _dist_state()[1] > 1 and "LOCAL_RANK" in os.environ:
            return torch.device("cuda", int(os.environ["LOCAL_RANK"]))
        return torch.device("cuda", torch.cuda.current_device())
    try:
        out = torch.device(name)
    except RuntimeError:
        raise InvalidParameterError(
            f"`device` must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {device!r}") from None
    if out.type == "cuda" and not torch.cuda.is_available():
        raise InvalidParameterError(f"`device`={device!r} but torch sees no CUDA device")
    return out


def init_distributed(backend: str | None = None) -> tuple[int, int]:
    """Join the process group that ``torchrun`` describes in the environment.

    Reads ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR`` and ``MASTER_PORT``; does
    nothing when ``WORLD_SIZE`` is absent or 1, or when the group already exists. After it,
    :func:`train` trains with DDP.

    Parameters
    ----------
    backend : {"nccl", "gloo"} or None, default=None
        None picks NCCL when CUDA is available, gloo otherwise.

    Returns
    -------
    rank, world_size : int
    """
    dist = torch.distributed
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not dist.is_initialized():
        backend = backend or ("nccl" if torch.cuda.is_available() else "gloo")
        if backend == "nccl":
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        dist.init_process_group(backend=backend)
    return _dist_state()


def seed_everything(seed: int) -> None:
    """Seed Python's, numpy's and torch's global generators (and CUDA's) with ``seed``.

    Call it before building a model so that its initial weights repeat too.
    """
    seed = _int(seed, "seed", 0)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)  # seeds every CUDA device as well


@contextlib.contextmanager
def deterministic_mode(enabled: bool = True):
    """Context in which torch uses deterministic algorithms only; settings are restored after.

    Sets ``torch.use_deterministic_algorithms(True)``, ``cudnn.deterministic = True``,
    ``cudnn.benchmark = False`` and, if unset, ``CUBLAS_WORKSPACE_CONFIG=:4096:8`` (which cuBLAS
    reads when it first starts: set it before any CUDA work for full effect). An operation without a
    deterministic implementation then raises instead of silently varying.
    """
    cudnn = torch.backends.cudnn
    before = (torch.are_deterministic_algorithms_enabled(),
              torch.is_deterministic_algorithms_warn_only_enabled(),
              cudnn.deterministic, cudnn.benchmark)
    if enabled:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True)
        cudnn.deterministic = True
        cudnn.benchmark = False
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(before[0], warn_only=before[1])
        cudnn.deterministic, cudnn.benchmark = before[2], before[3]


# --------------------------------------------------------------------------------------------------
# data: arrays, tuples and mappings of arrays, batched alike
# --------------------------------------------------------------------------------------------------

def _tensor(a, name):
    if isinstance(a, torch.Tensor):
        t = a.detach()
    else:
        arr = np.asarray(a)
        if arr.dtype == object or arr.dtype.kind not in "biuf":
            raise InvalidParameterError(f"`{name}` must be numeric, got dtype {arr.dtype}")
        t = torch.from_numpy(np.ascontiguousarray(arr))
    if t.dtype == torch.float64:
        t = t.float()
    elif t.dtype in (torch.int8, torch.int16, torch.int32, torch.uint8):
        t = t.long()
    if t.ndim == 0:
        raise InvalidParameterError(f"`{name}` must have a leading sample dimension, got a scalar")
    return t


def _as_data(data, name):
    if data is None:
        return None
    if isinstance(data, Mapping):
        return {k: _tensor(v, f"{name}[{k!r}]") for k, v in data.items()}
    if isinstance(data, tuple):
        return tuple(_tensor(v, f"{name}[{i}]") for i, v in enumerate(data))
    return _tensor(data, name)


def _leaves(data):
    if data is None:
        return []
    if isinstance(data, Mapping):
        return list(data.values())
    if isinstance(data, tuple):
        return list(data)
    return [data]


def _length(data, name):
    sizes = {len(t) for t in _leaves(data)}
    if len(sizes) != 1:
        raise InvalidParameterError(f"the arrays of `{name}` must share one length, got {sorted(sizes)}")
    return sizes.pop()


def _map(data, fn):
    if data is None:
        return None
    if isinstance(data, Mapping):
        return {k: fn(v) for k, v in data.items()}
    if isinstance(data, tuple):
        return tuple(fn(v) for v in data)
    return fn(data)


def _call(model, xb):
    if isinstance(xb, Mapping):
        return model(**xb)
    if isinstance(xb, tuple):
        return model(*xb)
    return model(xb)


def _group_keys(groups, n):
    arr = np.asarray(groups)
    if arr.dtype.names:
        fields = [f for f in arr.dtype.names if f != "onset"] or list(arr.dtype.names)
        codes = [np.unique(arr[f], return_inverse=True)[1].ravel() for f in fields]
        key = np.zeros(n, dtype=np.int64)
        for c in codes:
            key = key * (int(c.max()) + 1) + c
        return key
    if arr.ndim != 1 or len(arr) != n:
        raise InvalidParameterError(f"`groups` must be 1-D with one id per sample ({n}), got shape {arr.shape}")
    return np.unique(arr, return_inverse=True)[1].ravel()


def _holdout(n, fraction, groups, seed):
    rng = np.random.default_rng(seed)
    if groups is None:
        n_val = max(1, int(round(fraction * n)))
        val = np.sort(rng.permutation(n)[:n_val])
    else:
        key = _group_keys(groups, n)
        uniq = np.unique(key)
        if len(uniq) < 2:
            raise InvalidParameterError("`validation_split` with `groups` needs at least 2 groups")
        n_val = min(len(uniq) - 1, max(1, int(round(fraction * len(uniq)))))
        val = np.flatnonzero(np.isin(key, rng.permutation(uniq)[:n_val]))
    train = np.setdiff1d(np.arange(n), val)
    return train, val


# --------------------------------------------------------------------------------------------------
# losses and metrics
# --------------------------------------------------------------------------------------------------

def class_weights(y, kind="balanced", n_classes: int | None = None) -> np.ndarray:
    """Per-class loss weights from the training labels.

    Parameters
    ----------
    y : array-like of int, shape (n_samples,)
        Training labels (class indices).
    kind : {"balanced", "max"} or array-like or dict, default="balanced"
        ``"balanced"``: ``n_samples / (n_classes_present * count_k)`` (scikit-learn).
        ``"max"``: ``max_count / count_k`` (HiSTN's fine-tuning). An array is returned as is; a
        dict ``{class: weight}`` fills the missing classes with 1.
    n_classes : int or None, default=None
        Length of the result; defaults to ``max(y) + 1``. Absent classes get weight 0.

    Returns
    -------
    weights : ndarray of float64, shape (n_classes,)

    Examples
    --------
    >>> from physioaffect.training import class_weights
    >>> class_weights([0, 0, 0, 1], "max")
    array([1., 3.])
    """
    y = np.asarray(y)
    if y.ndim != 1 or y.dtype.kind not in "iu" or (y.size and y.min() < 0):
        raise InvalidParameterError(
            f"class weights need 1-D integer class labels >= 0, got shape {y.shape}, dtype {y.dtype}")
    k = int(n_classes) if n_classes is not None else (int(y.max()) + 1 if y.size else 0)
    if isinstance(kind, Mapping):
        out = np.ones(k)
        for c, w in kind.items():
            out[int(c)] = float(w)
        return out
    if not isinstance(kind, str):
        out = np.asarray(kind, dtype=np.float64)
        if out.shape != (k,) and n_classes is not None:
            raise InvalidParameterError(
                f"`class_weight` must have one weight per class ({k}), got shape {out.shape}")
        return out
    _choice(kind, ("balanced", "max"), "class_weight")
    counts = np.bincount(y, minlength=k).astype(np.float64)[:k]
    present = counts > 0
    out = np.zeros(k)
    if kind == "balanced":
        out[present] = y.size / (present.sum() * counts[present])
    else:
        out[present] = counts.max() / counts[present]
    return out


class _CrossEntropy:
    """Per-sample cross-entropy times the class weight of the sample's class, averaged over N."""

    def __init__(self, class_weight=None, y_ref=None, label_smoothing=0.0, ordinal_sigma=None):
        self.class_weight = class_weight
        self.y_ref = y_ref
        self.label_smoothing = float(label_smoothing)
        self.ordinal_sigma = ordinal_sigma
        self._cache = {}

    def _tables(self, k, device):
        key = (k, str(device))
        if key not in self._cache:
            weight = table = None
            if self.class_weight is not None:
                if isinstance(self.class_weight, str):
                    if self.y_ref is None:
                        raise InvalidParameterError(
                            f"`class_weight`={self.class_weight!r} needs integer training labels")
                    w = class_weights(self.y_ref, self.class_weight, n_classes=k)
                else:
                    w = class_weights(np.zeros(0, dtype=np.int64), self.class_weight, n_classes=k)
                weight = torch.as_tensor(w, dtype=torch.float32, device=device)
            if self.ordinal_sigma is not None:
                from .evaluation.labels import gaussian_ordinal_smoothing

                table = torch.as_tensor(
                    gaussian_ordinal_smoothing(np.arange(k), k, sigma=self.ordinal_sigma),
                    dtype=torch.float32, device=device)
            self._cache[key] = (weight, table)
        return self._cache[key]

    def __call__(self, logits, target):
        from .evaluation.labels import soft_target_cross_entropy

        if logits.ndim > 2:  # (N, K, d1, ...) -> (N * d1 * ..., K)
            k = logits.shape[1]
            logits = logits.movedim(1, -1).reshape(-1, k)
            target = (target.reshape(-1) if not target.is_floating_point()
                      else target.movedim(1, -1).reshape(-1, k))
        if logits.ndim != 2:
            raise InvalidParameterError(
                f"cross-entropy needs logits of shape (N, n_classes), got {tuple(logits.shape)}")
        k = logits.shape[1]
        weight, table = self._tables(k, logits.device)
        if target.is_floating_point():
            if target.shape != logits.shape:
                raise InvalidParameterError(
                    f"soft targets must have the logits' shape {tuple(logits.shape)}, got "
                    f"{tuple(target.shape)}")
            q = target
        else:
            target = target.reshape(-1).long()
            if table is not None:
                q = table[target]
            elif self.label_smoothing:
                q = F.one_hot(target, k).float()
            else:
                nll = -torch.log_softmax(logits.float(), dim=-1).gather(1, target[:, None])[:, 0]
                if weight is not None:
                    nll = nll * weight[target]
                return nll.mean()
        if self.label_smoothing:
            q = (1.0 - self.label_smoothing) * q + self.label_smoothing / k
        return soft_target_cross_entropy(logits, q, weight=weight)


def _mse(outputs, target):
    outputs = outputs.float()
    target = target.float()
    if outputs.shape != target.shape and outputs.numel() == target.numel():
        target = target.reshape(outputs.shape)
    return F.mse_loss(outputs, target)


def _ccc_loss(outputs, target):
    x = outputs.float()
    y = target.float()
    if x.shape != y.shape and x.numel() == y.numel():
        y = y.reshape(x.shape)
    x = x.reshape(len(x), -1)
    y = y.reshape(len(y), -1)
    mx, my = x.mean(0), y.mean(0)
    vx, vy = x.var(0, unbiased=False), y.var(0, unbiased=False)
    cov = ((x - mx) * (y - my)).mean(0)
    ccc = 2 * cov / (vx + vy + (mx - my) ** 2 + 1e-12)
    return 1.0 - ccc.mean()


def _single_loss(spec, *, class_weight, y_ref, label_smoothing, ordinal_sigma, name="loss"):
    if callable(spec):
        return spec
    _choice(spec, _LOSSES, name)
    if spec == "cross_entropy":
        return _CrossEntropy(class_weight, y_ref, label_smoothing, ordinal_sigma)
    return _mse if spec == "mse" else _ccc_loss


def make_loss(loss="cross_entropy", *, class_weight=None, label_smoothing=0.0, ordinal_sigma=None,
              loss_weights=None, y=None) -> Callable:
    """Build the ``loss_fn(outputs, targets) -> scalar tensor`` the trainer uses.

    Parameters
    ----------
    loss : {"cross_entropy", "mse", "ccc"}, callable or dict, default="cross_entropy"
        ``"cross_entropy"``: logits (N, K) against integer labels (N,) or target distributions
        (N, K); with ``class_weight`` each sample's loss is multiplied by its class's weight (the
        argmax class of a distribution) and the sum is divided by N. ``"mse"``: mean squared error.
        ``"ccc"``: one minus Lin's concordance correlation, averaged over output columns (a batch
        statistic). A callable is returned unchanged. A dict ``{head: spec}`` sums the heads'
        losses of dict outputs and targets, weighted by ``loss_weights``.
    class_weight : {"balanced", "max"}, array-like, dict or None, default=None
        See :func:`class_weights`; with a dict ``loss``, a dict ``{head: class_weight}`` sets it
        per head. ``"balanced"`` and ``"max"`` need the training labels ``y``.
    label_smoothing : float, default=0.0
        Mixes the targets with the uniform distribution: ``(1 - e) q + e / K``.
    ordinal_sigma : float or None, default=None
        Replaces integer labels by Gaussian ordinal targets of this spread
        (:func:`physioaffect.evaluation.gaussian_ordinal_smoothing`).
    loss_weights : dict of {str: float} or None, default=None
        Weight per head (default 1).
    y : array-like or dict, optional
        Training labels, for ``"balanced"``/``"max"`` class weights.

    Returns
    -------
    loss_fn : callable

    Examples
    --------
    >>> import torch
    >>> from physioaffect.training import make_loss
    >>> fn = make_loss("cross_entropy", class_weight=[1.0, 3.0])
    >>> z = torch.zeros(2, 2)  # -log(1/2) per sample
    >>> round(float(fn(z, torch.tensor([0, 1]))), 4)  # (1 + 3) * log 2 / 2
    1.3863
    """
    def ref(head=None):
        yy = y[head] if (head is not None and isinstance(y, Mapping)) else y
        if yy is None:
            return None
        arr = yy.numpy() if isinstance(yy, torch.Tensor) else np.asarray(yy)
        return arr if arr.ndim == 1 and arr.dtype.kind in "iu" else None

    if isinstance(loss, Mapping):
        weights = dict(loss_weights or {})
        unknown = set(weights) - set(loss)
        if unknown:
            raise InvalidParameterError(
                f"`loss_weights` names heads {sorted(unknown)} that `loss` lacks ({sorted(loss)})")
        heads = {}
        for head, spec in loss.items():
            cw = class_weight.get(head) if isinstance(class_weight, Mapping) and not all(
                isinstance(k, numbers.Integral) for k in class_weight) else class_weight
            heads[head] = _single_loss(spec, class_weight=cw, y_ref=ref(head),
                                       label_smoothing=label_smoothing,
                                       ordinal_sigma=ordinal_sigma, name=f"loss[{head!r}]")

        def multi(outputs, targets):
            if not isinstance(outputs, Mapping) or not isinstance(targets, Mapping):
                raise InvalidParameterError(
                    "a dict `loss` needs the model to return a dict and `y` to be a dict, got "
                    f"{type(outputs).__name__} and {type(targets).__name__}")
            total = 0.0
            for head, fn in heads.items():
                total = total + float(weights.get(head, 1.0)) * fn(outputs[head], targets[head])
            return total

        return multi
    if loss_weights:
        raise InvalidParameterError("`loss_weights` needs a dict `loss` {head: loss}")
    return _single_loss(loss, class_weight=class_weight, y_ref=ref(), label_smoothing=label_smoothing,
                        ordinal_sigma=ordinal_sigma)


def _accuracy_counts(outputs, targets):
    if not isinstance(outputs, torch.Tensor) or outputs.ndim < 2:
        return None
    pred = outputs.argmax(dim=1)
    truth = targets.argmax(dim=1) if targets.is_floating_point() and targets.ndim == outputs.ndim \
        else targets.reshape(pred.shape)
    return int((pred == truth).sum()), int(pred.numel())


# --------------------------------------------------------------------------------------------------
# the loop
# --------------------------------------------------------------------------------------------------

def _unwrap(model):
    return model.module if isinstance(model, torch.nn.parallel.DistributedDataParallel) else model


def _state_copy(model):
    return {k: v.detach().clone() for k, v in _unwrap(model).state_dict().items()}


def _make_optimizer(cfg, params):
    if callable(cfg.optimizer):
        return cfg.optimizer(params)
    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)


def _epoch_order(n, epoch, cfg, y_train, rank, world):
    gen = torch.Generator()
    gen.manual_seed((cfg.seed or 0) * 1_000_003 + epoch)
    if cfg.sampling == "balanced":
        classes = torch.unique(y_train)
        pick = classes[torch.randint(len(classes), (n,), generator=gen)]
        order = torch.empty(n, dtype=torch.long)
        for c in classes:
            slots = torch.nonzero(pick == c)[:, 0]
            members = torch.nonzero(y_train == c)[:, 0]
            order[slots] = members[torch.randint(len(members), (len(slots),), generator=gen)]
    else:
        order = torch.randperm(n, generator=gen)
    if world > 1:  # equal shards: pad with the first indices, then every world-th index
        total = math.ceil(n / world) * world
        order = torch.cat([order, order[: total - n]])[rank::world]
    return order


class Trainer:
    """Fit a torch module with one configuration; see :func:`train` for the arguments.

    Parameters
    ----------
    config : TrainConfig or None, default=None
        Settings; None uses the defaults.
    **overrides
        Fields of :class:`TrainConfig` to replace, e.g. ``Trainer(epochs=5, lr=1e-2)``.

    Attributes
    ----------
    history_ : History
        Set by :meth:`fit`.

    Examples
    --------
    >>> import torch
    >>> from physioaffect.training import Trainer
    >>> X = torch.randn(64, 3); y = (X[:, 0] > 0).long()
    >>> model = torch.nn.Linear(3, 2)
    >>> hist = Trainer(epochs=3, batch_size=16, progress=False).fit(model, X, y)
    >>> len(hist.loss)
    3
    """

    def __init__(self, config: TrainConfig | None = None, **overrides):
        base = config if config is not None else TrainConfig()
        if not isinstance(base, TrainConfig):
            raise InvalidParameterError(f"`config` must be a TrainConfig, got {type(base).__name__}")
        try:
            self.config = dataclasses.replace(base, **overrides)
        except TypeError as exc:
            names = [f.name for f in dataclasses.fields(TrainConfig)]
            raise InvalidParameterError(f"unknown training setting: {exc}; expected among {names}") from None

    def fit(self, model, X, y=None, *, validation_data=None, groups=None, loss_fn=None,
            metric_fn=None, checkpoint_path=None, model_config=None) -> History:
        """Train ``model`` in place on ``(X, y)``; return the :class:`History`."""
        cfg = self.config.validate()
        with deterministic_mode(cfg.deterministic):
            self.history_ = self._fit(model, X, y, validation_data, groups, loss_fn, metric_fn,
                                      checkpoint_path, model_config)
        return self.history_

    def _fit(self, model, X, y, validation_data, groups, loss_fn, metric_fn, checkpoint_path,
             model_config):
        cfg = self.config
        if not isinstance(model, torch.nn.Module):
            raise InvalidParameterError(f"`model` must be a torch.nn.Module, got {type(model).__name__}")
        if checkpoint_path is not None:  # fail before training, not after
            _model_config(model, model_config)
        rank, world = _dist_state()
        device = resolve_device(cfg.device)
        if cfg.seed is not None:
            seed_everything(cfg.seed)

        X = _as_data(X, "X")
        y = _as_data(y, "y")
        n = _length(X, "X")
        if y is None and loss_fn is None:
            raise InvalidParameterError("`y` is required unless a `loss_fn` that needs no targets is given")
        if y is not None and _length(y, "y") != n:
            raise InvalidParameterError(f"`X` has {n} samples but `y` has {_length(y, 'y')}")
        if validation_data is not None:
            if not (isinstance(validation_data, (tuple, list)) and len(validation_data) == 2):
                raise InvalidParameterError("`validation_data` must be a pair (X_val, y_val)")
            Xv, yv = _as_data(validation_data[0], "X_val"), _as_data(validation_data[1], "y_val")
        elif cfg.validation_split is not None:
            tr, va = _holdout(n, cfg.validation_split, groups, cfg.seed)
            tr_t, va_t = torch.from_numpy(tr), torch.from_numpy(va)
            Xv, yv = _map(X, lambda t: t[va_t]), _map(y, lambda t: t[va_t])
            X, y = _map(X, lambda t: t[tr_t]), _map(y, lambda t: t[tr_t])
            n = len(tr)
        else:
            Xv = yv = None
        has_val = Xv is not None

        y_np = y.numpy() if isinstance(y, torch.Tensor) else (
            {k: v.numpy() for k, v in y.items()} if isinstance(y, Mapping) else None)
        single_ce = loss_fn is None and cfg.loss == "cross_entropy"
        if cfg.sampling == "balanced" and not (
                isinstance(y, torch.Tensor) and y.ndim == 1 and not y.is_floating_point()):
            raise InvalidParameterError("`sampling`='balanced' needs 1-D integer class labels `y`")
        if loss_fn is None:
            train_loss = make_loss(cfg.loss, class_weight=cfg.class_weight,
                                   label_smoothing=cfg.label_smoothing,
                                   ordinal_sigma=cfg.ordinal_sigma,
                                   loss_weights=cfg.loss_weights, y=y_np)
            val_loss_fn = make_loss(cfg.loss, loss_weights=cfg.loss_weights)
        else:
            if not callable(loss_fn):
                raise InvalidParameterError(f"`loss_fn` must be callable, got {loss_fn!r}")
            train_loss = val_loss_fn = loss_fn
        metric = metric_fn if metric_fn is not None else cfg.metric
        if metric == "auto":
            metric = "accuracy" if single_ce else None
        if cfg.monitor == "val_metric" and metric is None:
            raise InvalidParameterError("`monitor`='val_metric' needs a metric")

        model.to(device)
        params = [p for p in model.parameters() if p.requires_grad]
        if not params:
            raise InvalidParameterError("`model` has no trainable parameter")
        net = model
        if world > 1:
            net = torch.nn.parallel.DistributedDataParallel(
                model, device_ids=[device.index] if device.type == "cuda" else None)
        optimizer = _make_optimizer(cfg, params)
        use_amp = bool(cfg.amp) and device.type == "cuda"
        amp_dtype = (torch.bfloat16 if use_amp and torch.cuda.is_bf16_supported() else torch.float16)
        scaler = torch.amp.GradScaler("cuda", enabled=use_amp and amp_dtype == torch.float16)
        non_blocking = device.type == "cuda"
        to_dev = lambda t: t.to(device, non_blocking=non_blocking)  # noqa: E731

        from tqdm.auto import tqdm

        bar = tqdm(total=cfg.epochs, disable=not cfg.progress or rank != 0, unit="epoch",
                   dynamic_ncols=True, leave=False)
        hist = History()
        best_value, best_state, wait = None, None, 0
        start = time.perf_counter()
        y_for_order = y if isinstance(y, torch.Tensor) else None
        try:
            for epoch in range(cfg.epochs):
                lr = cfg.lr_at(epoch)
                for group in optimizer.param_groups:
                    group["lr"] = lr
                bs = cfg.batch_size_at(epoch)
                order = _epoch_order(n, epoch, cfg, y_for_order, rank, world)
                net.train()
                tot_loss, tot_n, correct, counted, mvals = 0.0, 0, 0, 0, []
                postfix = {}
                for s in range(0, len(order), bs):
                    idx = order[s:s + bs]
                    if cfg.drop_last and len(idx) < bs:
                        break
                    xb = _map(X, lambda t, i=idx: to_dev(t[i]))
                    yb = _map(y, lambda t, i=idx: to_dev(t[i]))
                    with _autocast(device, use_amp, amp_dtype):
                        out = _call(net, xb)
                        loss = train_loss(out, yb)
                    if not torch.is_tensor(loss) or loss.ndim != 0:
                        raise PhysioAffectError(
                            f"the loss must return a scalar tensor, got {type(loss).__name__} "
                            f"{tuple(getattr(loss, 'shape', ()))}")
                    optimizer.zero_grad(set_to_none=True)
                    scaler.scale(loss).backward()
                    if cfg.grad_clip is not None:
                        scaler.unscale_(optimizer)
                        torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip)
                    scaler.step(optimizer)
                    scaler.update()
                    b = len(idx)
                    tot_loss += float(loss.detach()) * b
                    tot_n += b
                    postfix = {"loss": f"{tot_loss / tot_n:.4g}"}
                    if metric == "accuracy":
                        c = _accuracy_counts(out.detach(), yb)
                        if c is not None:
                            correct, counted = correct + c[0], counted + c[1]
                            postfix["acc"] = f"{correct / counted:.3f}"
                    elif callable(metric):
                        mvals.append((float(metric(_detach(out), yb)), b))
                        postfix["metric"] = f"{_wmean(mvals):.4g}"
                    bar.set_postfix(postfix, refresh=False)
                hist.epoch.append(epoch)
                hist.lr.append(lr)
                hist.batch_size.append(bs)
                hist.loss.append(tot_loss / max(tot_n, 1))
                hist.metric.append(correct / counted if counted else (
                    _wmean(mvals) if mvals else float("nan")))
                if has_val:
                    v_loss, v_metric = _evaluate(_unwrap(net), Xv, yv, val_loss_fn, metric,
                                                 cfg.val_batch_size or max(cfg.batch_size, 256),
                                                 device, use_amp, amp_dtype)
                    if world > 1:  # every rank takes the same early-stopping decision
                        pair = torch.tensor([v_loss, v_metric], dtype=torch.float64,
                                            device=device if device.type == "cuda" else "cpu")
                        torch.distributed.broadcast(pair, src=0)
                        v_loss, v_metric = (float(v) for v in pair.cpu())
                    hist.val_loss.append(v_loss)
                    hist.val_metric.append(v_metric)
                    value = v_loss if cfg.monitor == "val_loss" else -v_metric
                    if best_value is None or value < best_value:
                        best_value, wait, hist.best_epoch = value, 0, epoch
                        if cfg.restore_best:
                            best_state = _state_copy(net)
                    else:
                        wait += 1
                    postfix["val_loss"] = f"{v_loss:.4g}"
                    if not math.isnan(v_metric):
                        postfix["val_metric"] = f"{v_metric:.4g}"
                bar.set_postfix(postfix, refresh=False)
                bar.update(1)
                if cfg.patience is not None and has_val and wait >= cfg.patience:
                    hist.stopped_early = True
                    break
        finally:
            bar.close()
        if best_state is not None:
            _unwrap(net).load_state_dict(best_state)
        hist.seconds = time.perf_counter() - start
        if checkpoint_path is not None and rank == 0:
            save_checkpoint(checkpoint_path, model, model_config, train_config=cfg, history=hist)
        if world > 1:
            torch.distributed.barrier()
        return hist


def _autocast(device, enabled, dtype):
    if not enabled:
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=dtype)


def _detach(out):
    return _map(out, lambda t: t.detach()) if not isinstance(out, list) else out


def _wmean(pairs):
    w = sum(b for _, b in pairs)
    return sum(v * b for v, b in pairs) / w if w else float("nan")


def _cat(chunks):
    first = chunks[0]
    if isinstance(first, Mapping):
        return {k: torch.cat([c[k] for c in chunks]) for k in first}
    if isinstance(first, tuple):
        return tuple(torch.cat([c[i] for c in chunks]) for i in range(len(first)))
    return torch.cat(chunks)


@torch.no_grad()
def _evaluate(model, X, y, loss_fn, metric, batch_size, device, use_amp, amp_dtype):
    model.eval()
    n = _length(X, "X_val")
    tot, outs = 0.0, []
    for s in range(0, n, batch_size):
        sl = slice(s, min(s + batch_size, n))
        xb = _map(X, lambda t, i=sl: t[i].to(device))
        yb = _map(y, lambda t, i=sl: t[i].to(device))
        with _autocast(device, use_amp, amp_dtype):
            out = _call(model, xb)
            tot += float(loss_fn(out, yb)) * (sl.stop - sl.start)
        if metric is not None:
            outs.append(_map(out, lambda t: t.float().cpu()))
    value = float("nan")
    if metric is not None and outs:
        full = _cat(outs)
        if metric == "accuracy":
            c = _accuracy_counts(full, y)
            value = c[0] / c[1] if c else float("nan")
        else:
            value = float(metric(full, y))
    return tot / max(n, 1), value


def train(model, X, y=None, *, config: TrainConfig | None = None, validation_data=None, groups=None,
          loss_fn=None, metric_fn=None, checkpoint_path=None, model_config=None, **overrides) -> History:
    """Train ``model`` in place; the one loop for every model of physioaffect.

    Parameters
    ----------
    model : torch.nn.Module
        Called as ``model(x)``, ``model(*x)`` (tuple ``X``) or ``model(**x)`` (dict ``X``); returns a
        tensor, a tuple or a dict of tensors. Moved to the training device.
    X : array-like, tensor, tuple or dict of them
        Training inputs, samples along the first axis. float64 becomes float32.
    y : array-like, tensor, dict of them, or None
        Targets: integer labels, target distributions (N, K), regression values, or a dict per
        output head. None when ``loss_fn`` needs no targets.
    config : TrainConfig or None, default=None
        Settings (defaults when None); ``**overrides`` replace single fields.
    validation_data : (X_val, y_val) or None, default=None
        Data for the validation loss and metric, early stopping and best-weights restore.
    groups : array-like or None, default=None
        Group (e.g. trial) id per sample, or a structured array from
        :func:`physioaffect.evaluation.make_groups`; with ``validation_split`` whole groups are held
        out, so overlapping windows of one trial never straddle train and validation.
    loss_fn : callable or None, default=None
        ``loss_fn(outputs, targets) -> scalar tensor``, replacing ``config.loss`` for training and
        validation.
    metric_fn : callable or None, default=None
        ``metric_fn(outputs, targets) -> float``, replacing ``config.metric``.
    checkpoint_path : str or Path or None, default=None
        Save a checkpoint (final weights, after any best-weights restore) there.
    model_config : dict or None, default=None
        Constructor arguments of ``model`` for the checkpoint; by default taken from
        ``model.get_config()`` or ``model.config``.
    **overrides
        Fields of :class:`TrainConfig`.

    Returns
    -------
    history : History

    Notes
    -----
    Under ``torch.distributed`` (after :func:`init_distributed`) the model trains as DDP: each rank
    takes an equal shard of every epoch's shuffled order, gradients are averaged, and the ranks end
    with identical weights. Validation runs on every rank over the whole validation set and rank 0's
    values decide early stopping for all. ``batch_size`` is per rank.

    Examples
    --------
    >>> import torch
    >>> from physioaffect.training import train
    >>> X = torch.randn(128, 2); y = (X.sum(1) > 0).long()
    >>> hist = train(torch.nn.Linear(2, 2), X, y, epochs=20, lr=0.1, progress=False)
    >>> hist.metric[-1] > 0.9
    True
    """
    return Trainer(config, **overrides).fit(
        model, X, y, validation_data=validation_data, groups=groups, loss_fn=loss_fn,
        metric_fn=metric_fn, checkpoint_path=checkpoint_path, model_config=model_config)


@torch.no_grad()
def predict(model, X, *, batch_size: int = 256, device="auto", amp: bool = False):
    """Run ``model`` in eval mode over ``X`` in batches; return numpy outputs.

    Parameters
    ----------
    model : torch.nn.Module
        Moved to ``device``.
    X : array-like, tensor, tuple or dict of them
    batch_size : int, default=256
    device : {"auto", "cpu", "cuda"} or str, default="auto"
    amp : bool, default=False
        Autocast on CUDA.

    Returns
    -------
    outputs : ndarray, or tuple or dict of ndarrays (float32)
        Batched like the model's outputs.
    """
    _int(batch_size, "batch_size", 1)
    dev = resolve_device(device)
    model = _unwrap(model).to(dev).eval()
    X = _as_data(X, "X")
    n = _length(X, "X")
    use_amp = bool(amp) and dev.type == "cuda"
    outs = []
    for s in range(0, n, batch_size):
        sl = slice(s, min(s + batch_size, n))
        with _autocast(dev, use_amp, None):
            out = _call(model, _map(X, lambda t, i=sl: t[i].to(dev)))
        outs.append(_map(out, lambda t: t.float().cpu()))
    if not outs:
        raise InvalidParameterError("`X` holds no sample")
    return _map(_cat(outs), lambda t: t.numpy())


# --------------------------------------------------------------------------------------------------
# checkpoints
# --------------------------------------------------------------------------------------------------

def _plain(value, where):
    """Value made of None, bool, int, float, str, list, tuple and str-keyed dicts, or raise."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None:
        return None
    for kind in (bool, int, float, str):  # exact built-in types: subclasses pickle as globals
        if isinstance(value, kind):
            return kind(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (list, tuple)):
        items = [_plain(v, f"{where}[{i}]") for i, v in enumerate(value)]
        return items if isinstance(value, list) else tuple(items)
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            if not isinstance(k, (str, int)):
                raise InvalidParameterError(f"{where} has a key {k!r}; expected str or int keys")
            out[k] = _plain(v, f"{where}[{k!r}]")
        return out
    raise InvalidParameterError(
        f"{where} holds {type(value).__name__} {value!r}; a checkpoint stores only None, bool, "
        "int, float, str, lists, tuples and dicts, so it loads with weights_only=True")


def _model_config(model, model_config):
    model = _unwrap(model)
    if model_config is None:
        getter = getattr(model, "get_config", None)
        if callable(getter):
            model_config = getter()
        elif isinstance(getattr(model, "config", None), Mapping):
            model_config = model.config
        else:
            raise InvalidParameterError(
                f"cannot tell the constructor arguments of {type(model).__name__}: pass "
                "`model_config` (a dict) or give the model a get_config() method or a `config` dict")
    if not isinstance(model_config, Mapping):
        raise InvalidParameterError(f"`model_config` must be a dict, got {type(model_config).__name__}")
    return _plain(dict(model_config), "`model_config`")


def save_checkpoint(path, model, config=None, *, train_config=None, history=None,
                    extra=None) -> Path:
    """Write the model's weights and constructor config to ``path`` (atomically).

    Parameters
    ----------
    path : str or Path
        Target file; its folder must exist.
    model : torch.nn.Module
        The model (a DDP wrapper is unwrapped).
    config : dict or None, default=None
        Keyword arguments that rebuild the model, ``type(model)(**config)``; by default
        ``model.get_config()`` or ``model.config``. Plain types only.
    train_config : TrainConfig or dict or None, default=None
        Training settings to record.
    history : History or dict or None, default=None
        Training history to record.
    extra : dict or None, default=None
        Any further plain-typed information (e.g. protocol name, class names).

    Returns
    -------
    path : Path

    See Also
    --------
    load_checkpoint, read_checkpoint
    """
    path = Path(path)
    inner = _unwrap(model)
    if not isinstance(inner, torch.nn.Module):
        raise InvalidParameterError(f"`model` must be a torch.nn.Module, got {type(model).__name__}")
    if isinstance(train_config, TrainConfig):
        train_config = train_config.to_dict()
    if isinstance(history, History):
        history = history.to_dict()
    payload = {
        "format": CHECKPOINT_FORMAT,
        "version": CHECKPOINT_VERSION,
        "model_class": f"{type(inner).__module__}.{type(inner).__qualname__}",
        "model_config": _model_config(inner, config),
        "state_dict": {k: v.detach().cpu() for k, v in inner.state_dict().items()},
        "train_config": _plain(_describe(train_config), "`train_config`"),
        "history": _plain(history, "`history`"),
        "extra": _plain(extra, "`extra`"),
        "torch_version": str(torch.__version__),
    }
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        torch.save(payload, tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def read_checkpoint(path, *, map_location="cpu") -> dict:
    """Load a checkpoint's contents with ``torch.load(weights_only=True)``.

    Returns
    -------
    checkpoint : dict
        Keys ``format``, ``version``, ``model_class``, ``model_config``, ``state_dict``,
        ``train_config``, ``history``, ``extra``, ``torch_version``.

    Raises
    ------
    InvalidParameterError
        If the file is not a physioaffect checkpoint.
    """
    ckpt = torch.load(Path(path), map_location=map_location, weights_only=True)
    if not isinstance(ckpt, Mapping) or ckpt.get("format") != CHECKPOINT_FORMAT:
        raise InvalidParameterError(
            f"{str(path)!r} is not a physioaffect checkpoint (expected format "
            f"{CHECKPOINT_FORMAT!r}); write checkpoints with save_checkpoint")
    if ckpt.get("version", 0) > CHECKPOINT_VERSION:
        raise InvalidParameterError(
            f"{str(path)!r} has checkpoint version {ckpt['version']}; this physioaffect reads up to "
            f"{CHECKPOINT_VERSION}")
    return dict(ckpt)


def load_checkpoint(path, model_factory=None, *, map_location="cpu", strict: bool = True):
    """Rebuild a model from a checkpoint and load its weights.

    Parameters
    ----------
    path : str or Path
    model_factory : callable or None, default=None
        Called as ``model_factory(**model_config)``; usually the model class. None imports the
        recorded class, which is allowed only for classes of physioaffect itself.
    map_location : str or torch.device, default="cpu"
    strict : bool, default=True
        Passed to ``load_state_dict``.

    Returns
    -------
    model : torch.nn.Module
        In eval mode.
    """
    ckpt = read_checkpoint(path, map_location=map_location)
    if model_factory is None:
        name = ckpt["model_class"]
        module, _, qual = name.rpartition(".")
        if not (module == "physioaffect" or module.startswith("physioaffect.")):
            raise InvalidParameterError(
                f"{str(path)!r} holds a {name}; pass `model_factory` (e.g. the class) to rebuild "
                "a model from outside physioaffect")
        model_factory = getattr(importlib.import_module(module), qual)
    model = model_factory(**ckpt["model_config"])
    model.load_state_dict(ckpt["state_dict"], strict=strict)
    return model.eval()

