"""Estimators of cross-modal distillation (METHODS.md sections 5, 6a, 6b).

- :class:`TopomapTeacher`: the EEG teacher of NeuroGaze-Distill. Per-band differential entropy
  per electrode -> topographic maps -> a small CNN regressing valence and arousal; its embeddings
  build the :class:`~physioaffect.nets.distill.PrototypeGrid`.
- :class:`FaceStudent`: the image FER student (ResNet-18-style by default, any torch module
  otherwise), trained with cross-entropy, Proto-KD, D-Geo and optionally logit KD.
- :class:`AudioStudent`: log-mel front end, backbone and valence/arousal(/dominance) regression
  (plus an optional categorical head), trained with MSE or 1 - CCC and optionally distilled from
  a teacher's outputs (Music2Emo's ``w KD + (1 - w) task``).

Every fit goes through :func:`physioaffect.training.train`, with a loss built here from the
functions of :mod:`physioaffect.nets.distill.losses`. :class:`FaceStudent` derives from
:class:`~physioaffect.estimators.base.TorchClassifierBase` (its label encoding, training
configuration, prediction and checkpoints); the two regressors are scikit-learn estimators on
the same training loop, as the base is a classifier.
"""

from __future__ import annotations

import copy
import math

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted

from ..errors import InvalidParameterError
from .base import TorchClassifierBase, fill_training_doc

__all__ = ["TopomapTeacher", "FaceStudent", "AudioStudent"]


def _seed_of(random_state):
    from sklearn.utils import check_random_state

    if isinstance(random_state, (int, np.integer)) and not isinstance(random_state, bool) \
            and random_state >= 0:
        return int(random_state)
    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))


def _steps_per_epoch(n, batch_size, validation_split, groups, seed):
    """Optimiser steps per epoch that physioaffect.training.train will take."""
    from ..training import _dist_state, _holdout

    if validation_split is not None:
        n = len(_holdout(n, validation_split, groups, seed)[0])
    world = _dist_state()[1]
    return max(1, math.ceil(math.ceil(n / world) / batch_size))


class _EpochClock:
    """Epoch position of the training loop, from the number of gradient-enabled loss calls."""

    def __init__(self, steps_per_epoch):
        self.steps_per_epoch = int(steps_per_epoch)
        self.steps = 0

    def tick(self):
        import torch

        if torch.is_grad_enabled():  # validation runs under no_grad and does not count
            self.steps += 1
        return (self.steps - 1) / self.steps_per_epoch if self.steps else 0.0


# ------------------------------------------------------------------------------------------------
# teacher
# ------------------------------------------------------------------------------------------------

class TopomapTeacher(RegressorMixin, BaseEstimator):
    """EEG topographic-map teacher: DE per (channel, band) -> scalp maps -> CNN -> valence, arousal.

    The maps come from :class:`~physioaffect.nets.distill.Topomap` (linear interpolation on the
    montage's projected electrode positions); the CNN is
    :class:`~physioaffect.nets.distill.TopomapCNN`, trained with MSE by
    :func:`physioaffect.training.train`. Features are standardised per (channel, band) with the
    training mean and standard deviation before interpolation.

    Parameters
    ----------
    montage : {"dreamer", "deap", "seed"} or Montage, default="dreamer"
        Electrode set; the channels of ``X`` are in its order.
    size : int, default=32
        Side of the maps.
    width : int, default=16
    embed_dim : int, default=32
        Size of the embedding the prototypes average.
    drop_prob : float, default=0.1
    max_epochs : int, default=40
    batch_size : int, default=32
    lr : float, default=3e-3
    weight_decay : float, default=0.0
    device : {"auto", "cpu", "cuda"}, default="auto"
    random_state : int or None, default=None
    verbose : bool, default=False

    Attributes
    ----------
    module_ : TopomapCNN
    topomap_ : Topomap
    mean_, scale_ : ndarray, shape (n_channels, n_bands)
    n_outputs_ : int
    history_ : physioaffect.training.History

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((64, 14, 5)); y = rng.uniform(-1, 1, (64, 2))
    >>> teacher = TopomapTeacher(size=8, max_epochs=2, random_state=0).fit(X, y)
    >>> teacher.predict(X).shape, teacher.embed(X).shape
    ((64, 2), (64, 32))
    """

    def __init__(self, montage="dreamer", *, size=32, width=16, embed_dim=32, drop_prob=0.1,
                 max_epochs=40, batch_size=32, lr=3e-3, weight_decay=0.0, device="auto",
                 random_state=None, verbose=False):
        self.montage = montage
        self.size = size
        self.width = width
        self.embed_dim = embed_dim
        self.drop_prob = drop_prob
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    def _features(self, X, reset):
        from ..montage import get_montage

        arr = np.asarray(getattr(X, "values", X), dtype=np.float64)
        n_ch = get_montage(self.montage).n_channels
        if arr.ndim != 3 or arr.shape[1] != n_ch:
            raise InvalidParameterError(
                f"TopomapTeacher takes X of shape (n_windows, n_channels={n_ch}, n_bands), e.g. "
                f"differential_entropy(..., window=...), got {arr.shape}")
        if not np.all(np.isfinite(arr)):
            raise InvalidParameterError("X holds NaN or infinite values")
        if reset:
            self.mean_ = arr.mean(axis=0)
            self.scale_ = np.maximum(arr.std(axis=0), 1e-12)
            self.n_features_in_ = n_ch
        elif arr.shape[2] != self.mean_.shape[1]:
            raise InvalidParameterError(
                f"X has {arr.shape[2]} bands; the teacher was fitted on {self.mean_.shape[1]}")
        return arr

    def topomaps(self, X):
        """Standardised maps of ``X``, shape (n_windows, n_bands, size, size), float32."""
        check_is_fitted(self, "module_")
        arr = self._features(X, reset=False)
        return self.topomap_((arr - self.mean_) / self.scale_)

    def fit(self, X, y):
        """Train on DE features ``X`` (n_windows, n_channels, n_bands) and targets ``y``
        (n_windows, n_outputs), e.g. valence and arousal."""
        import torch

        from ..nets.distill.topomap import Topomap, TopomapCNN
        from ..training import train

        arr = self._features(X, reset=True)
        y = np.asarray(y, dtype=np.float32)
        if y.ndim == 1:
            y = y[:, None]
        if y.ndim != 2 or len(y) != len(arr) or not np.all(np.isfinite(y)):
            raise InvalidParameterError(
                f"y must be finite, shape (n_windows={len(arr)}, n_outputs), got {y.shape}")
        self.n_outputs_ = y.shape[1]
        self.topomap_ = Topomap(self.montage, size=self.size)
        maps = self.topomap_((arr - self.mean_) / self.scale_)
        seed = _seed_of(self.random_state)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            module = TopomapCNN(arr.shape[2], self.n_outputs_, size=self.size, width=self.width,
                                embed_dim=self.embed_dim, drop_prob=self.drop_prob)
        self.history_ = train(module, maps, y, loss="mse", epochs=self.max_epochs,
                              batch_size=self.batch_size, lr=self.lr,
                              weight_decay=self.weight_decay, device=self.device, seed=seed,
                              progress=bool(self.verbose))
        self.module_ = module.cpu().eval()
        return self

    def predict(self, X):
        """Predicted targets, shape (n_windows, n_outputs)."""
        from ..training import predict

        out = predict(self.module_, self.topomaps(X), device=self.device)
        self.module_.cpu()
        return np.asarray(out, dtype=np.float64)

    def embed(self, X):
        """Embeddings (the input of the CNN's head), shape (n_windows, embed_dim)."""
        from ..nets.distill.prototypes import embed

        out = embed(self.module_, self.topomaps(X), device=self.device)
        self.module_.cpu()
        return out.astype(np.float64)

    def prototype_grid(self, X, valence, arousal, **kwargs):
        """The :class:`~physioaffect.nets.distill.PrototypeGrid` of validation windows ``X``.

        ``**kwargs`` go to :meth:`PrototypeGrid.from_embeddings` (``v_edges``, ``a_edges``,
        ``n_bins``, ``value_range``, ``center``).
        """
        from ..nets.distill.prototypes import PrototypeGrid

        return PrototypeGrid.from_embeddings(self.embed(X), valence, arousal, **kwargs)


# ------------------------------------------------------------------------------------------------
# face student
# ------------------------------------------------------------------------------------------------

class _FaceLoss:
    """CE with label smoothing + w_p Proto-KD + w_g(epoch) D-Geo + w_kd logit KD."""

    def __init__(self, *, cells, prototypes, grid_shape, class_weight, label_smoothing,
                 proto_mode, proto_weight, proto_temperature, proto_tau, dgeo_classes,
                 dgeo_weight, dgeo_start, dgeo_end, dgeo_gate, kd_weight, kd_temperature, clock):
        import torch

        self.cells = torch.as_tensor(cells, dtype=torch.long)
        self.prototypes = None if prototypes is None else torch.as_tensor(prototypes).float()
        self.grid_shape = grid_shape
        self.class_weight = None if class_weight is None else torch.as_tensor(
            class_weight, dtype=torch.float32)
        self.label_smoothing = float(label_smoothing)
        self.proto_mode = proto_mode
        self.proto_weight = float(proto_weight)
        self.proto_temperature = float(proto_temperature)
        self.proto_tau = float(proto_tau)
        self.dgeo_classes = list(dgeo_classes)
        self.dgeo = (float(dgeo_weight), float(dgeo_start), float(dgeo_end))
        self.dgeo_gate = float(dgeo_gate)
        self.kd_weight = float(kd_weight)
        self.kd_temperature = float(kd_temperature)
        self.clock = clock

    def __call__(self, outputs, targets):
        import torch.nn.functional as F

        from ..nets.distill import losses as L

        epoch = self.clock.tick()
        logits, y = outputs["logits"], targets["label"]
        cw = None if self.class_weight is None else self.class_weight.to(logits.device)
        loss = F.cross_entropy(logits.float(), y, weight=cw, label_smoothing=self.label_smoothing)
        if "teacher" in targets and self.kd_weight:
            loss = loss + self.kd_weight * L.logit_kd_loss(logits, targets["teacher"],
                                                           self.kd_temperature)
        if self.prototypes is not None:
            P = self.prototypes.to(logits.device)
            cells = self.cells.to(y.device)[y]
            if self.proto_weight:
                if self.proto_mode == "cos":
                    pk = L.proto_kd_cosine(outputs["proj"], P, cells)
                else:
                    q = L.cell_targets(cells, self.grid_shape, self.proto_tau).to(logits.device)
                    pk = L.proto_kd_soft(outputs["proj"], P, q, self.proto_temperature)
                loss = loss + self.proto_weight * pk
            w = L.dgeo_weight(epoch, *self.dgeo)
            if w and self.dgeo_classes:
                scores = logits.detach().float().softmax(1).gather(1, y[:, None])[:, 0]
                loss = loss + w * L.dgeo_loss(outputs["proj"], y, self.dgeo_classes,
                                              scores=scores, gate=self.dgeo_gate)
        return loss


def _macro_f1_metric(outputs, targets):
    from ..evaluation.metrics import macro_f1

    pred = outputs["logits"].argmax(1).cpu().numpy()
    return macro_f1(targets["label"].cpu().numpy(), pred)


@fill_training_doc
class FaceStudent(TorchClassifierBase):
    r"""Facial-expression student distilled from an EEG prototype grid (NeuroGaze-Distill).

    The network (:class:`~physioaffect.nets.distill.FaceStudentNet`) has an FER head and a
    projection head g to the prototype space. With ``prototypes``, :meth:`fit` minimises

    .. math:: L = \mathrm{CE}_{\epsilon}(y, \mathrm{logits})
              + w_{kd}\, L_{KD} + w_p\, L_{proto}(g(z), P, c(y)) + w_g(e)\, L_{D\text{-}Geo}

    with :math:`c` the configurable FER-class -> (valence, arousal) cell mapping, :math:`L_{proto}`
    the cosine (:func:`~physioaffect.nets.distill.proto_kd_cosine`) or soft
    (:func:`~physioaffect.nets.distill.proto_kd_soft` on
    :func:`~physioaffect.nets.distill.cell_targets`) Proto-KD, :math:`L_{D\text{-}Geo}`
    (:func:`~physioaffect.nets.distill.dgeo_loss`) on the ``dgeo_classes``, gated by the student's
    probability of the true class, with the late-cosine weight
    :func:`~physioaffect.nets.distill.dgeo_weight`, and :math:`L_{KD}` the logit KD towards
    ``teacher_logits`` when given. Without ``prototypes`` it is the same student trained on the
    other terms only. The prototypes stay frozen.

    Defaults are the paper's "A3_full" settings (METHODS.md 5.2): label smoothing 0.055,
    ``kd_weight`` 0.30, ``proto_weight`` 0.12, temperature 5, tau 0.9, D-Geo 0.012 on happiness and
    surprise from epoch 20 to 60 with gate 0.2, 100 epochs, gradient clipping at 1.

    Parameters
    ----------
    backbone : torch.nn.Module or None, default=None
        Image network (e.g. a torchvision ResNet, its ``fc`` replaced by the identity); copied
        for each fit. None builds the plain-torch :class:`~physioaffect.nets.distill.ResNet`
        from ``layers``, ``width`` and ``stem``.
    class_names : sequence of str, default=FER_CLASSES
        Names of integer labels: label k is ``class_names[k]``. String labels are names.
    cell_map : dict of str to (int, int) or None, default=None
        Target cell of each class name; default
        :data:`~physioaffect.nets.distill.DEFAULT_FER_CELLS`.
    layers, width, stem : see :class:`~physioaffect.nets.distill.ResNet`
        Defaults (2, 2, 2, 2), 64, "small" (ResNet-18 for small images).
    proj_hidden : int, default=128
    proto_mode : {"cos", "soft"}, default="cos"
    proto_weight, proto_temperature, proto_tau : float, default=0.12, 5.0, 0.9
    dgeo_weight : float, default=0.012
    dgeo_classes : sequence of str, default=("happiness", "surprise")
    dgeo_start, dgeo_end : float, default=20, 60
        Epochs of the cosine ramp of the D-Geo weight.
    dgeo_gate : float, default=0.2
    kd_weight, kd_temperature : float, default=0.3, 1.0
        Logit KD, used when :meth:`fit` receives ``teacher_logits``.
    label_smoothing : float, default=0.055
    monitor : {"val_loss", "val_metric"}, default="val_metric"
        With ``validation_split``, the best epoch by validation loss or by macro-F1.
    {training_params}
    grad_clip : float or None, default=1.0

    Attributes
    ----------
    classes_ : ndarray
        Labels seen in :meth:`fit`, sorted.
    class_cells_ : ndarray of int, shape (n_classes,)
        Flat target cell of each class of ``classes_``.
    grid_shape_ : (int, int)
    module_ : FaceStudentNet
    history_ : physioaffect.training.History

    Examples
    --------
    >>> import numpy as np
    >>> from physioaffect.simulate.affect_media import affect_states, faces
    >>> y, v, a = affect_states(32, random_state=0)
    >>> X = faces(v, a, size=32, random_state=0)
    >>> est = FaceStudent(width=8, layers=(1, 1, 1, 1), max_epochs=1, random_state=0).fit(X, y)
    >>> est.predict(X).shape
    (32,)
    """

    def __init__(self, *, backbone=None, class_names=None, cell_map=None, layers=(2, 2, 2, 2),
                 width=64, stem="small", proj_hidden=128, proto_mode="cos", proto_weight=0.12,
                 proto_temperature=5.0, proto_tau=0.9, dgeo_weight=0.012,
                 dgeo_classes=("happiness", "surprise"), dgeo_start=20, dgeo_end=60,
                 dgeo_gate=0.2, kd_weight=0.3, kd_temperature=1.0, label_smoothing=0.055,
                 max_epochs=100, batch_size=64, sampling="shuffle", optimizer="adam", lr=1e-3,
                 weight_decay=0.0, schedule="constant", lr_steps=None, class_weight=None,
                 validation_split=None, patience=None, monitor="val_metric", grad_clip=1.0,
                 device="auto", random_state=None, verbose=False):
        self.backbone = backbone
        self.class_names = class_names
        self.cell_map = cell_map
        self.layers = layers
        self.width = width
        self.stem = stem
        self.proj_hidden = proj_hidden
        self.proto_mode = proto_mode
        self.proto_weight = proto_weight
        self.proto_temperature = proto_temperature
        self.proto_tau = proto_tau
        self.dgeo_weight = dgeo_weight
        self.dgeo_classes = dgeo_classes
        self.dgeo_start = dgeo_start
        self.dgeo_end = dgeo_end
        self.dgeo_gate = dgeo_gate
        self.kd_weight = kd_weight
        self.kd_temperature = kd_temperature
        self.label_smoothing = label_smoothing
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.sampling = sampling
        self.optimizer = optimizer
        self.lr = lr
        self.weight_decay = weight_decay
        self.schedule = schedule
        self.lr_steps = lr_steps
        self.class_weight = class_weight
        self.validation_split = validation_split
        self.patience = patience
        self.monitor = monitor
        self.grad_clip = grad_clip
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    # hooks of TorchClassifierBase
    def _input_layout(self, X):
        return X.shape[1:]

    def _build_module(self, in_channels, height, width_px, n_classes):
        from ..nets.distill.face import FaceStudentNet

        config = {"n_classes": n_classes, "proto_dim": self._proto_dim, "in_channels": in_channels,
                  "image_size": height, "width": self.width, "stem": self.stem,
                  "layers": list(self.layers), "proj_hidden": self.proj_hidden}
        backbone = None if self.backbone is None else copy.deepcopy(self.backbone)
        return FaceStudentNet(backbone=backbone, **config), config

    @classmethod
    def _module_class(cls):
        from ..nets.distill.face import FaceStudentNet

        return FaceStudentNet

    def _validate(self, X, y=None, *, reset):
        from sklearn.utils.validation import validate_data

        if y is None:
            X = validate_data(self, X, reset=reset, allow_nd=True, dtype=np.float32)
        else:
            X, y = validate_data(self, X, y, reset=reset, allow_nd=True, dtype=np.float32)
        if X.ndim != 4:
            raise InvalidParameterError(
                f"{type(self).__name__} takes images of shape (n_samples, channels, height, "
                f"width), got shape {X.shape}")
        if reset:
            self.input_ndim_ = 4
            self.input_shape_ = tuple(int(v) for v in X.shape[1:])
            self.ch_names_ = None
        elif tuple(X.shape[1:]) != tuple(self.input_shape_):
            raise InvalidParameterError(
                f"X has images of shape {X.shape[1:]}, but {type(self).__name__} was fitted on "
                f"{tuple(self.input_shape_)}")
        return np.ascontiguousarray(X, dtype=np.float32), y

    def _names(self):
        from ..nets.distill._fer import FER_CLASSES

        names = tuple(FER_CLASSES if self.class_names is None else self.class_names)
        out = []
        for c in self.classes_:
            if isinstance(c, (str, np.str_)):
                out.append(str(c))
            else:
                k = int(c)
                if not 0 <= k < len(names):
                    raise InvalidParameterError(
                        f"integer label {k} has no name in `class_names` ({len(names)} names)")
                out.append(names[k])
        return out

    def _grid(self, prototypes):
        from ..nets.distill.prototypes import PrototypeGrid

        if prototypes is None:
            return None, (5, 5)
        if isinstance(prototypes, PrototypeGrid):
            return prototypes.flat, prototypes.shape
        arr = np.asarray(prototypes, dtype=np.float64)
        if arr.ndim != 3:
            raise InvalidParameterError(
                "`prototypes` must be a PrototypeGrid or an array (n_valence, n_arousal, "
                f"n_features), got shape {arr.shape}")
        return arr.reshape(-1, arr.shape[2]), arr.shape[:2]

    def fit(self, X, y, *, prototypes=None, teacher_logits=None, groups=None):
        """Train the student on labelled images.

        Parameters
        ----------
        X : array-like, shape (n_samples, channels, height, width)
            Images, float.
        y : array-like, shape (n_samples,)
            Integer labels (indices into ``class_names``) or class names.
        prototypes : PrototypeGrid or array of shape (n_valence, n_arousal, d), optional
            The frozen prototype grid; enables Proto-KD and D-Geo.
        teacher_logits : array-like, shape (n_samples, n_classes), optional
            Logits of a teacher on these images (columns in ``classes_`` order); enables
            logit KD.
        groups : array-like, optional
            Groups for ``validation_split``.

        Returns
        -------
        self
        """
        from ..nets.distill._fer import fer_cell_mapping
        from ..training import History, class_weights, train

        if self.proto_mode not in ("cos", "soft"):
            raise InvalidParameterError(f"`proto_mode` must be 'cos' or 'soft', got {self.proto_mode!r}")
        Xm, y = self._validate(X, y, reset=True)
        y_enc = self._encode_targets(y)
        flat, grid_shape = self._grid(prototypes)
        self.grid_shape_ = tuple(int(g) for g in grid_shape)
        self._proto_dim = 32 if flat is None else int(flat.shape[1])
        names = self._names()
        self.class_cells_ = fer_cell_mapping(names, self.cell_map, self.grid_shape_)
        positive = [k for k, n in enumerate(names) if n in set(self.dgeo_classes or ())]
        seed = self._seed()
        config = self.train_config(seed)
        config.monitor = self.monitor if config.validation_split is not None else "val_loss"
        cw = None
        if self.class_weight is not None:
            cw = class_weights(y_enc, self._class_weight(self.get_params(deep=False)),
                               n_classes=len(self.classes_))
        targets = {"label": y_enc}
        if teacher_logits is not None:
            t = np.asarray(teacher_logits, dtype=np.float32)
            if t.shape != (len(Xm), len(self.classes_)):
                raise InvalidParameterError(
                    f"`teacher_logits` must have shape ({len(Xm)}, {len(self.classes_)}), got {t.shape}")
            targets["teacher"] = t
        clock = _EpochClock(_steps_per_epoch(len(Xm), config.batch_size, config.validation_split,
                                             groups, seed))
        loss = _FaceLoss(cells=self.class_cells_, prototypes=flat, grid_shape=self.grid_shape_,
                         class_weight=cw, label_smoothing=self.label_smoothing,
                         proto_mode=self.proto_mode, proto_weight=self.proto_weight,
                         proto_temperature=self.proto_temperature, proto_tau=self.proto_tau,
                         dgeo_classes=positive, dgeo_weight=self.dgeo_weight,
                         dgeo_start=self.dgeo_start, dgeo_end=self.dgeo_end,
                         dgeo_gate=self.dgeo_gate, kd_weight=self.kd_weight,
                         kd_temperature=self.kd_temperature, clock=clock)
        module = self._new_module(seed)
        self._optimizer = None
        history = train(module, Xm, targets, config=config, groups=groups, loss_fn=loss,
                        metric_fn=_macro_f1_metric)
        self.history_ = history if isinstance(history, History) else History(**history)
        self.n_epochs_ = len(self.history_.epoch)
        self._finish(module, Xm)
        return self

    def partial_fit(self, X, y, classes=None):
        """Not offered: the D-Geo schedule and the prototypes belong to one :meth:`fit`."""
        raise InvalidParameterError(f"{type(self).__name__} trains with fit(); partial_fit is not offered")

    def _logits(self, X):
        from ..training import predict

        check_is_fitted(self)
        Xm, _ = self._validate(X, reset=False)
        out = predict(self.module_, Xm, batch_size=max(int(self.batch_size), 256),
                      device=self.device)
        self.module_.cpu()
        return np.asarray(out["logits"], dtype=np.float64)

    def project(self, X):
        """Projections g(z) to the prototype space, shape (n_samples, proto_dim)."""
        from ..training import predict

        check_is_fitted(self)
        Xm, _ = self._validate(X, reset=False)
        out = predict(self.module_, Xm, batch_size=max(int(self.batch_size), 256),
                      device=self.device)
        self.module_.cpu()
        return np.asarray(out["proj"], dtype=np.float64)

    def evaluate(self, X, y):
        """NeuroGaze-Distill's metrics (METHODS.md 5.3) on labelled images.

        Returns
        -------
        dict
            ``accuracy``, ``macro_f1`` (over the labels in ``y`` or predicted),
            ``present_only_macro_f1`` (over the labels present in ``y``) and
            ``balanced_accuracy``.
        """
        from ..evaluation.metrics import accuracy, balanced_accuracy, macro_f1

        pred = self.predict(X)
        y = np.asarray(y)
        return {"accuracy": accuracy(y, pred), "macro_f1": macro_f1(y, pred),
                "present_only_macro_f1": macro_f1(y, pred, present_only=True),
                "balanced_accuracy": balanced_accuracy(y, pred)}

    def save(self, path):
        """Write a checkpoint (built-in backbone only; see the base class)."""
        if self.backbone is not None:
            raise InvalidParameterError(
                "a FaceStudent with a user backbone cannot be rebuilt from a checkpoint; save "
                "est.module_.state_dict() with torch.save instead")
        return super().save(path)

    def _fitted_extra(self):
        return {"class_cells_": self.class_cells_.tolist(), "grid_shape_": list(self.grid_shape_)}

    def _restore_extra(self, state):
        self.class_cells_ = np.asarray(state["class_cells_"], dtype=np.int64)
        self.grid_shape_ = tuple(state["grid_shape_"])

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = False
        return tags


# ------------------------------------------------------------------------------------------------
# audio student
# ------------------------------------------------------------------------------------------------

class _AudioLoss:
    """w KD + (1 - w) task, each term over the rows of the batch that have its targets."""

    def __init__(self, *, loss, kd_weight, kd_mode, kd_temperature, has_teacher):
        self.loss = loss
        self.kd_weight = float(kd_weight)
        self.kd_mode = kd_mode
        self.kd_temperature = float(kd_temperature)
        self.has_teacher = has_teacher

    def _regression(self, pred, target, kind):
        import torch.nn.functional as F

        from ..nets.distill.losses import ccc_loss, logit_kd_loss

        if kind == "ccc":
            return ccc_loss(pred, target) if len(pred) >= 2 else F.mse_loss(pred.float(), target.float())
        if kind == "kl":
            return logit_kd_loss(pred, target, self.kd_temperature)
        return F.mse_loss(pred.float(), target.float())

    def __call__(self, outputs, targets):
        import torch
        import torch.nn.functional as F

        from ..nets.distill.losses import logit_kd_loss, mix_kd

        va = outputs["va"]
        zero = va.sum() * 0.0
        task = zero
        y = targets["va"]
        rows = torch.isfinite(y).all(1)
        if rows.any():
            task = task + self._regression(va[rows], y[rows], self.loss)
        if "label" in targets and "logits" in outputs:
            lab = targets["label"]
            keep = lab >= 0
            if keep.any():
                task = task + F.cross_entropy(outputs["logits"][keep].float(), lab[keep])
        if not self.has_teacher:
            return task
        kd = zero
        if "teacher" in targets:
            t = targets["teacher"]
            rows = torch.isfinite(t).all(1)
            if rows.any():
                kd = kd + self._regression(va[rows], t[rows], self.kd_mode)
        if "teacher_logits" in targets and "logits" in outputs:
            t = targets["teacher_logits"]
            rows = torch.isfinite(t).all(1)
            if rows.any():
                kd = kd + logit_kd_loss(outputs["logits"][rows], t[rows], self.kd_temperature)
        return mix_kd(kd, task, self.kd_weight)


class AudioStudent(RegressorMixin, BaseEstimator):
    r"""Speech or music emotion student: valence/arousal(/dominance) regression from waveforms,
    optionally with a categorical head, optionally distilled from a teacher.

    The network is :class:`~physioaffect.nets.distill.AudioStudentNet` (log-mel front end in
    torch, a compact CNN or any user backbone, the regression head of the "Dawn of the
    transformer era" model). :meth:`fit` minimises, per batch,

    .. math:: L = w\, L_{KD} + (1 - w)\, L_{task}

    (Music2Emo, METHODS.md 6b.3) when teacher outputs are given, else :math:`L_{task}`:

    - :math:`L_{task}`: MSE or 1 - CCC (6a.3) on the rows with finite targets ``y``, plus
      cross-entropy on the rows with a categorical label.
    - :math:`L_{KD}`: on the rows with finite ``teacher`` values, MSE to them (``kd_mode="mse"``),
      1 - CCC (``"ccc"``), or Music2Emo's KL between softmaxes over the dimensions
      (``"kl"``, the published code's treatment of its 2-d regression output); plus KL at
      ``kd_temperature`` between the categorical logits and ``teacher_logits``.

    Rows without a label but with teacher outputs (e.g. sounds paired with EEG that the EEG
    teacher scored) thus add training signal.

    Parameters
    ----------
    sfreq : float
        Sampling rate of the waveforms in Hz (required).
    backbone : torch.nn.Module or None, default=None
        Any module from the front end's output (or the waveform with ``frontend=None``) to
        features, e.g. a transformers ``Wav2Vec2Model``; copied for each fit.
    frontend : {"logmel", None}, default="logmel"
    n_fft, hop_length, n_mels : int, default=512, None, 64
    width : int, default=16
        Width of the built-in CNN.
    drop_prob : float, default=0.1
    loss : {"mse", "ccc"}, default="mse"
        Regression task loss. 1 - CCC is a batch statistic; batches with fewer than 2 labelled
        rows fall back to MSE.
    kd_weight : float, default=0.8
        w.
    kd_mode : {"mse", "ccc", "kl"}, default="mse"
    kd_temperature : float, default=1.0
    max_epochs : int, default=50
    batch_size : int, default=32
    lr : float, default=1e-3
    weight_decay : float, default=0.0
    grad_clip : float or None, default=None
    device : {"auto", "cpu", "cuda"}, default="auto"
    amp : bool, default=True
        Mixed precision on CUDA.
    random_state : int or None, default=None
    verbose : bool, default=False

    Attributes
    ----------
    module_ : AudioStudentNet
    n_outputs_ : int
        Regressed dimensions.
    classes_ : ndarray or None
        Categorical classes (when ``labels`` were given).
    history_ : physioaffect.training.History

    Examples
    --------
    >>> import numpy as np
    >>> from physioaffect.simulate.affect_media import affect_states, sounds
    >>> _, v, a = affect_states(16, random_state=0)
    >>> X = sounds(v, a, sfreq=8000.0, duration=0.5, random_state=0)
    >>> est = AudioStudent(8000.0, n_fft=256, n_mels=32, width=8, max_epochs=1, random_state=0)
    >>> est.fit(X, np.stack([v, a], 1)).predict(X).shape
    (16, 2)
    """

    def __init__(self, sfreq=None, *, backbone=None, frontend="logmel", n_fft=512, hop_length=None,
                 n_mels=64, width=16, drop_prob=0.1, loss="mse", kd_weight=0.8, kd_mode="mse",
                 kd_temperature=1.0, max_epochs=50, batch_size=32, lr=1e-3, weight_decay=0.0,
                 grad_clip=None, device="auto", amp=True, random_state=None, verbose=False):
        self.sfreq = sfreq
        self.backbone = backbone
        self.frontend = frontend
        self.n_fft = n_fft
        self.hop_length = hop_length
        self.n_mels = n_mels
        self.width = width
        self.drop_prob = drop_prob
        self.loss = loss
        self.kd_weight = kd_weight
        self.kd_mode = kd_mode
        self.kd_temperature = kd_temperature
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.grad_clip = grad_clip
        self.device = device
        self.amp = amp
        self.random_state = random_state
        self.verbose = verbose

    def _waves(self, X, reset):
        arr = np.asarray(X, dtype=np.float32)
        if arr.ndim == 3 and arr.shape[1] == 1:
            arr = arr[:, 0]
        if arr.ndim != 2 or len(arr) == 0:
            raise InvalidParameterError(
                f"AudioStudent takes mono waveforms of shape (n_samples, n_times), got {arr.shape}")
        if not np.all(np.isfinite(arr)):
            raise InvalidParameterError("X holds NaN or infinite samples")
        if reset:
            self.n_features_in_ = arr.shape[1]
        return np.ascontiguousarray(arr)

    @staticmethod
    def _optional_2d(value, n, name, width=None):
        if value is None:
            return None
        arr = np.asarray(value, dtype=np.float32)
        if arr.ndim == 1:
            arr = arr[:, None]
        if arr.ndim != 2 or len(arr) != n or (width is not None and arr.shape[1] != width):
            want = f"({n}, {width if width is not None else 'n_dims'})"
            raise InvalidParameterError(f"`{name}` must have shape {want}, got {arr.shape}")
        return arr

    def fit(self, X, y=None, *, labels=None, teacher=None, teacher_logits=None):
        """Train on waveforms with (possibly partial) targets and teacher outputs.

        Parameters
        ----------
        X : array-like, shape (n_samples, n_times)
            Mono waveforms at ``sfreq``.
        y : array-like, shape (n_samples, n_dims) or (n_samples,), optional
            Dimensional targets (e.g. valence, arousal[, dominance]); NaN rows are unlabelled.
        labels : array-like of int, shape (n_samples,), optional
            Categorical classes 0..K-1; -1 marks an unlabelled row. Adds the categorical head.
        teacher : array-like, shape (n_samples, n_dims), optional
            A teacher's dimensional outputs; NaN rows have none.
        teacher_logits : array-like, shape (n_samples, K), optional
            A teacher's categorical logits; NaN rows have none.

        Returns
        -------
        self
        """
        import torch

        from ..nets.distill.audio import AudioStudentNet
        from ..training import train

        if self.loss not in ("mse", "ccc"):
            raise InvalidParameterError(f"`loss` must be 'mse' or 'ccc', got {self.loss!r}")
        if self.kd_mode not in ("mse", "ccc", "kl"):
            raise InvalidParameterError(f"`kd_mode` must be 'mse', 'ccc' or 'kl', got {self.kd_mode!r}")
        Xw = self._waves(X, reset=True)
        n = len(Xw)
        y2 = self._optional_2d(y, n, "y")
        t2 = self._optional_2d(teacher, n, "teacher")
        if y2 is None and t2 is None:
            raise InvalidParameterError("AudioStudent.fit needs `y`, `teacher` or both")
        n_dims = (y2 if y2 is not None else t2).shape[1]
        if y2 is None:
            y2 = np.full((n, n_dims), np.nan, dtype=np.float32)
        if t2 is not None and t2.shape[1] != n_dims:
            raise InvalidParameterError(
                f"`teacher` has {t2.shape[1]} dimensions but `y` has {n_dims}")
        targets = {"va": y2}
        n_classes = 0
        self.classes_ = None
        if labels is not None:
            lab = np.asarray(labels)
            if lab.shape != (n,) or lab.dtype.kind not in "iu":
                raise InvalidParameterError(
                    f"`labels` must be integers of shape ({n},) with -1 for unlabelled rows")
            n_classes = int(lab.max()) + 1
            self.classes_ = np.arange(n_classes)
            targets["label"] = lab.astype(np.int64)
        if t2 is not None:
            targets["teacher"] = t2
        if teacher_logits is not None:
            if not n_classes:
                raise InvalidParameterError("`teacher_logits` needs `labels` (the categorical head)")
            targets["teacher_logits"] = self._optional_2d(teacher_logits, n, "teacher_logits",
                                                          n_classes)
        self.n_outputs_ = n_dims
        seed = _seed_of(self.random_state)
        self.module_config_ = {"sfreq": float(self.sfreq) if self.sfreq is not None else None,
                               "n_dims": n_dims, "n_classes": n_classes,
                               "frontend": self.frontend, "n_times": Xw.shape[1],
                               "n_fft": self.n_fft, "hop_length": self.hop_length,
                               "n_mels": self.n_mels, "width": self.width,
                               "drop_prob": self.drop_prob}
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            backbone = None if self.backbone is None else copy.deepcopy(self.backbone)
            module = AudioStudentNet(backbone=backbone, **self.module_config_)
        loss = _AudioLoss(loss=self.loss, kd_weight=self.kd_weight, kd_mode=self.kd_mode,
                          kd_temperature=self.kd_temperature,
                          has_teacher=t2 is not None or teacher_logits is not None)
        self.history_ = train(module, Xw, targets, loss_fn=loss, epochs=self.max_epochs,
                              batch_size=self.batch_size, lr=self.lr,
                              weight_decay=self.weight_decay, grad_clip=self.grad_clip,
                              device=self.device, amp=self.amp, seed=seed, metric=None,
                              progress=bool(self.verbose))
        self.module_ = module.cpu().eval()
        return self

    def _outputs(self, X):
        from ..training import predict

        check_is_fitted(self, "module_")
        Xw = self._waves(X, reset=False)
        out = predict(self.module_, Xw, batch_size=max(int(self.batch_size), 64), device=self.device)
        self.module_.cpu()
        return out

    def predict(self, X):
        """Dimensional predictions, shape (n_samples, n_dims)."""
        return np.asarray(self._outputs(X)["va"], dtype=np.float64)

    def predict_classes(self, X):
        """Categorical predictions (argmax of the categorical head), shape (n_samples,)."""
        if self.classes_ is None:
            raise InvalidParameterError("this AudioStudent was fitted without `labels`")
        return np.asarray(self._outputs(X)["logits"]).argmax(1)

    def evaluate(self, X, y, labels=None):
        """CCC per dimension and their mean (and categorical metrics when ``labels`` are given).

        Returns
        -------
        dict
            ``ccc`` (list, one per dimension), ``ccc_mean``; with ``labels`` also ``macro_f1``,
            ``present_only_macro_f1`` and ``balanced_accuracy``.
        """
        from ..evaluation.metrics import balanced_accuracy, ccc, macro_f1

        y = np.asarray(y, dtype=np.float64).reshape(len(y), -1)
        pred = self.predict(X)
        per = np.atleast_1d(ccc(y, pred, multioutput="raw_values"))
        out = {"ccc": per.tolist(), "ccc_mean": float(per.mean())}
        if labels is not None:
            p = self.predict_classes(X)
            out.update(macro_f1=macro_f1(labels, p), present_only_macro_f1=macro_f1(
                labels, p, present_only=True), balanced_accuracy=balanced_accuracy(labels, p))
        return out
