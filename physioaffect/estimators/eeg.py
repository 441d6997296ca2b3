"""EEG classifiers: HiSTN on raw epochs, RBTransformer on band differential-entropy tokens."""

from __future__ import annotations

from ..errors import InvalidParameterError
from .base import TorchClassifierBase, fill_training_doc

__all__ = ["HiSTNClassifier", "RBTransformerClassifier"]


def _resolve(montage, chs_info, model, default):
    from ..nets._common import resolve_channels

    return resolve_channels(None, montage, chs_info, model=model, default_montage=default)


@fill_training_doc
class HiSTNClassifier(TorchClassifierBase):
    """HiSTN on raw EEG epochs, as a scikit-learn classifier (METHODS.md section 1).

    Wraps :class:`physioaffect.nets.HiSTN` (hierarchical graph network over the electrodes,
    regions and whole head of a montage) with the subject-dependent training of the paper
    (section 1.7) as defaults: Adam at 1e-3, then 5e-4 from epoch 30, 50 epochs of
    class-balanced batches of 256, dropout 0.5, and Gaussian ordinal label smoothing with
    spread 0.5 (section 1.5) for ordinal ratings.

    Parameters
    ----------
    sfreq : float or None, default=None
        Sampling rate of the epochs in Hz. Required: None reads it from the ``sfreq`` attribute
        of an :class:`xarray.DataArray` ``X``, and fails for numpy input.
    montage : {"dreamer", "deap", "seed"} or Montage, default="dreamer"
        Electrode set whose regions and graphs define the hierarchy.
    chs_info : list of dict or None, default=None
        Channel descriptions (``mne.Info["chs"]``, each with a ``"ch_name"``) giving the order of
        the channels in numpy input; default the montage's order. An xarray input is put in this
        order by its ``channel`` coord.
    n_filters : int, default=8
        Temporal filters of the front end.
    kernel_length : int or None, default=None
        Taps of the temporal filters; None: half a second (64 at 128 Hz, as published).
    depthwise_length : int, default=5
        Taps of the per-electrode temporal convolution.
    separable_length : int, default=5
        Taps of the node-level separable convolutions.
    cheb_order : int, default=2
        Chebyshev order of every graph filter.
    drop_prob : float, default=0.5
        Dropout (0.5 subject-dependent, 0.2 subject-independent in the paper).
    max_norm : float or None, default=1.0
        MaxNorm bound of the constrained weights.
    ordinal : bool, default=True
        Classes are ordered (ratings): train against Gaussian-smoothed targets over the class
        ranks, ``exp(-(k - y)**2 / (2 ordinal_sigma**2))`` normalised.
    ordinal_sigma : float, default=0.5
        Spread of the ordinal smoothing, in classes.
    recalibrate_batchnorm : bool, default=True
        After training, replace the running statistics of the batch-norm layers (momentum
        0.01, as Keras' 0.99) by their exact averages over the training data, so that a short
        training run predicts with settled statistics.
    label_smoothing : float, default=0.0
        Uniform label smoothing, on top of the ordinal smoothing when both are set.
    {training_params}

    Attributes
    ----------
    module_ : physioaffect.nets.HiSTN
        The trained network (CPU, eval mode).
    classes_ : ndarray of shape (n_classes,)
    sfreq_ : float
        Sampling rate used.
    n_features_in_ : int
        Channels (3-D input) or columns (2-D input) seen in ``fit``.
    input_shape_ : tuple of int
        ``(n_chans, n_times)`` of one epoch.
    ch_names_ : tuple of str
        Channel order of the network's input.
    history_ : physioaffect.training.History
    n_epochs_ : int

    See Also
    --------
    physioaffect.nets.HiSTN : the network.
    physioaffect.evaluation.TrialTimeBlockKFold : the paper's within-trial protocol.
    physioaffect.datasets.histn_dreamer : the paper's preparation of DREAMER.

    Notes
    -----
    ``X`` is (n_epochs, n_chans, n_times) in the channel order of ``chs_info`` or the montage; a
    2-D ``X`` is read as flattened epochs (n_epochs, n_chans * n_times), C order. The paper
    trains on random 1-s crops of its 60-s trials for a fixed number of steps per epoch; here an
    epoch is one pass over the epochs given (cut them with overlap for more crops). Classes are
    ranked in sorted order for the ordinal smoothing, so a class absent from the training data
    is absent from the scale.

    The defaults are the paper's, whose 50 epochs of crops from 18 one-minute trials are some
    20,000 steps of 256 crops. On a few hundred 1-s epochs they are a few dozen steps, and the
    network stays close to chance. For a short run, raise the rate (the paper's
    subject-independent pre-training uses 1e-2) and take more, smaller batches. On the
    simulated DREAMER-like study (one subject, 16 trials of 20 s, valence 1-5 of which 4
    classes occur, so chance 0.25; trial-grouped 4-fold CV within the subject), the defaults
    reach 0.28-0.42 valence accuracy over model seeds 0-2 on 1-s epochs; with 1-s epochs every
    0.5 s and ``max_epochs=30, batch_size=64, lr=3e-2, lr_steps=((20, 3e-3),)``, 0.49-0.66
    over seeds 0-5, in about 5 s per fold on one core.

    Feed the network baseline-z-scored EEG (HiSTN's preparation), in units near 1: batch norm's
    epsilon (1e-3, as Keras') swamps inputs in volts (chance-level accuracy in the run above).
    The preparation's max-abs scaling per trial (:func:`physioaffect.datasets.histn_dreamer`)
    puts a per-trial scale, set by the trial's largest artefact, in front of every band power;
    on the simulated study it took the accuracy of seeds 0-2 from 0.60 to 0.32.

    References
    ----------
    .. [1] D. Kuang, X. Song, C. Michoski, "Emotion Classification from Multi-Channel EEG
       Signals Using HiSTN: A Hierarchical Graph-based Spatial-Temporal Approach", 2024,
       https://arxiv.org/abs/2408.15255

    Examples
    --------
    >>> import numpy as np
    >>> from physioaffect.estimators import HiSTNClassifier
    >>> X = np.random.default_rng(0).standard_normal((24, 14, 128))
    >>> y = np.repeat([1, 2, 3], 8)
    >>> clf = HiSTNClassifier(sfreq=128.0, max_epochs=2, batch_size=8, random_state=0).fit(X, y)
    >>> clf.predict_proba(X[:2]).shape, clf.classes_.tolist()
    ((2, 3), [1, 2, 3])
    """

    def __init__(self, sfreq=None, *, montage="dreamer", chs_info=None, n_filters=8,
                 kernel_length=None, depthwise_length=5, separable_length=5, cheb_order=2,
                 drop_prob=0.5, max_norm=1.0, ordinal=True, ordinal_sigma=0.5,
                 recalibrate_batchnorm=True, max_epochs=50, batch_size=256,
                 batch_size_steps=None, sampling="balanced", optimizer="adam", lr=1e-3,
                 weight_decay=0.0, schedule="step", lr_steps=((30, 5e-4),), t_max=None,
                 eta_min=0.0, class_weight=None,
                 label_smoothing=0.0, validation_split=None, patience=None, device="auto",
                 random_state=None, verbose=False):
        self.sfreq = sfreq
        self.montage = montage
        self.chs_info = chs_info
        self.n_filters = n_filters
        self.kernel_length = kernel_length
        self.depthwise_length = depthwise_length
        self.separable_length = separable_length
        self.cheb_order = cheb_order
        self.drop_prob = drop_prob
        self.max_norm = max_norm
        self.ordinal = ordinal
        self.ordinal_sigma = ordinal_sigma
        self.recalibrate_batchnorm = recalibrate_batchnorm
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.batch_size_steps = batch_size_steps
        self.sampling = sampling
        self.optimizer = optimizer
        self.lr = lr
        self.weight_decay = weight_decay
        self.schedule = schedule
        self.lr_steps = lr_steps
        self.t_max = t_max
        self.eta_min = eta_min
        self.class_weight = class_weight
        self.label_smoothing = label_smoothing
        self.validation_split = validation_split
        self.patience = patience
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    _last_dim = "time"

    @classmethod
    def _module_class(cls):
        from ..nets.histn import HiSTN

        return HiSTN

    def _declared_ch_names(self):
        return _resolve(self.montage, self.chs_info, type(self).__name__, "dreamer").ch_names

    def _check_attrs(self, attrs, reset):
        from .._validation import check_sfreq

        seen = attrs.get("sfreq")
        if reset:
            if self.sfreq is None and seen is None:
                check_sfreq(None)  # raises: the rate is required
            sfreq = check_sfreq(self.sfreq if self.sfreq is not None else seen)
            if seen is not None and abs(float(seen) - sfreq) > 1e-6 * sfreq:
                raise InvalidParameterError(
                    f"`sfreq`={sfreq:g} Hz but X.attrs['sfreq'] is {float(seen):g} Hz")
            self.sfreq_ = sfreq
        elif seen is not None and abs(float(seen) - self.sfreq_) > 1e-6 * self.sfreq_:
            raise InvalidParameterError(
                f"X.attrs['sfreq'] is {float(seen):g} Hz, but {type(self).__name__} was fitted "
                f"at {self.sfreq_:g} Hz")

    def _input_layout(self, X):
        names = self._declared_ch_names()
        n_chans = len(names)
        if X.ndim == 3:
            if X.shape[1] != n_chans:
                raise InvalidParameterError(
                    f"X has {X.shape[1]} channels, but {type(self).__name__} reads the "
                    f"{n_chans} channels {list(names)}; pass `montage` or `chs_info` for others")
            n_times = X.shape[2]
        else:
            if X.shape[1] % n_chans:
                raise InvalidParameterError(
                    f"X has {X.shape[1]} feature(s), read as flattened epochs of {n_chans} "
                    f"channels x n_times; {X.shape[1]} is not a multiple of {n_chans}")
            n_times = X.shape[1] // n_chans
        minimum = int(self.depthwise_length) - 1 + 2
        if n_times < minimum:
            raise InvalidParameterError(
                f"{type(self).__name__} needs epochs of at least {minimum} samples "
                f"(depthwise_length - 1, then pooling by 2); X with {X.shape[1]} feature(s) "
                f"gives {n_times}")
        return n_chans, n_times

    def _build_module(self, n_chans, length, n_classes):
        config = dict(n_chans=n_chans, n_outputs=n_classes, n_times=length, sfreq=self.sfreq_,
                      montage=self.montage, chs_info=self.chs_info, n_filters=self.n_filters,
                      kernel_length=self.kernel_length, depthwise_length=self.depthwise_length,
                      separable_length=self.separable_length, cheb_order=self.cheb_order,
                      drop_prob=self.drop_prob, max_norm=self.max_norm)
        return self._module_class()(**config), config

    def _fitted_extra(self):
        return {"sfreq_": float(self.sfreq_)}


@fill_training_doc
class RBTransformerClassifier(TorchClassifierBase):
    """RBTransformer on band differential-entropy tokens, as a scikit-learn classifier
    (METHODS.md section 2).

    Wraps :class:`physioaffect.nets.RBTransformer` (inter-cortical attention over one token per
    electrode) with the paper's training as defaults (section 2.4): AdamW at 1e-3 with weight
    decay 1e-3, cosine annealing to 1e-6 over 300 epochs, batches of 256 then 64 from epoch
    150, and cross-entropy with label smoothing 0.12.

    Parameters
    ----------
    n_bands : int or None, default=None
        Token width (bands per electrode). None: ``X.shape[2]`` for 3-D input; for 2-D input,
        the columns per channel of ``montage``/``chs_info`` when given, else 4 (theta, alpha,
        beta, gamma as published).
    montage : {"dreamer", "deap", "seed"}, Montage or None, default=None
        Electrode set. When given (or inferred from ``chs_info``) every electrode keeps its
        identity embedding whatever the input order, and xarray input is put in the montage's
        order. None: electrodes are taken in input order.
    chs_info : list of dict or None, default=None
        Channel descriptions (each with a ``"ch_name"``), in the order of numpy input.
    embed_dim : int, default=128
    depth : int, default=4
        Attention blocks.
    n_heads : int, default=6
    head_dim : int, default=32
    ffn_dim : int, default=128
    drop_prob : float, default=0.1
    label_smoothing : float, default=0.12
        Uniform label smoothing of the training targets.
    {training_params}

    Attributes
    ----------
    module_ : physioaffect.nets.RBTransformer
        The trained network (CPU, eval mode).
    classes_ : ndarray of shape (n_classes,)
    n_features_in_ : int
        Channels (3-D input) or columns (2-D input) seen in ``fit``.
    input_shape_ : tuple of int
        ``(n_chans, n_bands)`` of one sample.
    ch_names_ : tuple of str or None
        Channel order of the network's input, when known.
    history_ : physioaffect.training.History
    n_epochs_ : int

    See Also
    --------
    physioaffect.nets.RBTransformer : the network.
    physioaffect.features.tokens.band_de_tokens : the paper's tokens.
    physioaffect.features.DifferentialEntropy : band DE of epochs as a transformer.
    physioaffect.evaluation.RandomWindowKFold : the paper's (leaky) protocol, by name.

    Notes
    -----
    ``X`` is (n_samples, n_chans, n_bands), e.g. the output of
    :class:`~physioaffect.features.DifferentialEntropy` or of
    :func:`~physioaffect.features.tokens.band_de_tokens` with the windows flattened into the
    sample axis, or its flattened form (n_samples, n_chans * n_bands) (``flatten=True`` of
    the transformer). The paper oversamples the training windows with SMOTE; that is not part
    of this estimator (``class_weight="balanced"`` is the built-in answer to imbalance).

    References
    ----------
    .. [1] N. Kumar, A. Bhandari, M. Maragatham, "A Brain Wave Encodes a Thousand Tokens:
       Modeling Inter-Cortical Neural Interactions for Effective EEG-based Emotion
       Recognition", 2025, https://arxiv.org/abs/2511.13954

    Examples
    --------
    >>> import numpy as np
    >>> from physioaffect.estimators import RBTransformerClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((60, 14, 4)); y = (X[:, 0, 1] > 0).astype(int)
    >>> clf = RBTransformerClassifier(embed_dim=16, depth=1, n_heads=2, head_dim=8, ffn_dim=16,
    ...                               max_epochs=30, batch_size=20, lr=1e-2, random_state=0)
    >>> clf.fit(X, y).score(X, y) > 0.8
    True
    """

    def __init__(self, *, n_bands=None, montage=None, chs_info=None, embed_dim=128, depth=4,
                 n_heads=6, head_dim=32, ffn_dim=128, drop_prob=0.1, max_epochs=300,
                 batch_size=256, batch_size_steps=((150, 64),), sampling="shuffle",
                 optimizer="adamw", lr=1e-3, weight_decay=1e-3, schedule="cosine", lr_steps=None,
                 t_max=None, eta_min=1e-6, class_weight=None, label_smoothing=0.12, validation_split=None,
                 patience=None, device="auto", random_state=None, verbose=False):
        self.n_bands = n_bands
        self.montage = montage
        self.chs_info = chs_info
        self.embed_dim = embed_dim
        self.depth = depth
        self.n_heads = n_heads
        self.head_dim = head_dim
        self.ffn_dim = ffn_dim
        self.drop_prob = drop_prob
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.batch_size_steps = batch_size_steps
        self.sampling = sampling
        self.optimizer = optimizer
        self.lr = lr
        self.weight_decay = weight_decay
        self.schedule = schedule
        self.lr_steps = lr_steps
        self.t_max = t_max
        self.eta_min = eta_min
        self.class_weight = class_weight
        self.label_smoothing = label_smoothing
        self.validation_split = validation_split
        self.patience = patience
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    _last_dim = "band"

    @classmethod
    def _module_class(cls):
        from ..nets.rbtransformer import RBTransformer

        return RBTransformer

    def _declared_ch_names(self):
        if self.montage is None and self.chs_info is None:
            return None
        return _resolve(self.montage, self.chs_info, type(self).__name__, None).ch_names

    def _input_layout(self, X):
        names = self._declared_ch_names()
        n_bands = self.n_bands
        if n_bands is not None and (isinstance(n_bands, bool) or not isinstance(n_bands, int)
                                    or n_bands < 1):
            raise InvalidParameterError(f"`n_bands` must be a positive int or None, got {n_bands!r}")
        if X.ndim == 3:
            n_chans, width = X.shape[1], X.shape[2]
            if n_bands is not None and width != n_bands:
                raise InvalidParameterError(
                    f"X has tokens of {width} bands, but `n_bands`={n_bands}")
            n_bands = width
        else:
            n_feat = X.shape[1]
            if n_bands is None:
                n_bands = n_feat // len(names) if names is not None else 4
            if n_bands < 1 or n_feat % n_bands:
                raise InvalidParameterError(
                    f"X has {n_feat} feature(s), read as flattened tokens of n_chans x "
                    f"{n_bands} bands; {n_feat} is not a multiple of {n_bands} (set `n_bands`)")
            n_chans = n_feat // n_bands
        if names is not None and n_chans != len(names):
            raise InvalidParameterError(
                f"X has {n_chans} channels, but `montage`/`chs_info` name {len(names)}: "
                f"{list(names)}")
        return n_chans, n_bands

    def _build_module(self, n_chans, length, n_classes):
        config = dict(n_chans=n_chans, n_outputs=n_classes, montage=self.montage,
                      chs_info=self.chs_info, n_bands=length, embed_dim=self.embed_dim,
                      depth=self.depth, n_heads=self.n_heads, head_dim=self.head_dim,
                      ffn_dim=self.ffn_dim, drop_prob=self.drop_prob)
        return self._module_class()(**config), config
