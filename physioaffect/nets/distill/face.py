r"""The face student of NeuroGaze-Distill: a ResNet-18-style network, an FER head and a projection
head to the prototype space (METHODS.md section 5.1, step 3), in plain torch.

Any image network can be the backbone (e.g. a torchvision ResNet); :class:`ResNet` is the built-in
one, so torchvision is never needed.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from ...errors import InvalidParameterError
from .._common import check_int, check_prob, count_parameters
from ._fer import DEFAULT_FER_CELLS, FER_CLASSES, fer_cell_mapping

__all__ = ["FER_CLASSES", "DEFAULT_FER_CELLS", "fer_cell_mapping", "BasicBlock", "ResNet",
           "resnet18", "FaceStudentNet"]

class BasicBlock(nn.Module):
    r"""The two-convolution residual block of ResNet-18/34 (He et al., 2016).

    .. math:: y = \mathrm{ReLU}\big(\mathrm{BN}(W_2 * \mathrm{ReLU}(\mathrm{BN}(W_1 * x)))
              + S(x)\big)

    with :math:`S` the identity, or a strided 1x1 convolution and batch norm when the shape changes.

    Shapes:
        - input: (B, in_channels, H, W)
        - output: (B, channels, ceil(H / stride), ceil(W / stride))
    """

    def __init__(self, in_channels: int, channels: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, channels, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = None
        if stride != 1 or in_channels != channels:
            self.downsample = nn.Sequential(nn.Conv2d(in_channels, channels, 1, stride, bias=False),
                                            nn.BatchNorm2d(channels))

    def forward(self, x: Tensor) -> Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + (x if self.downsample is None else self.downsample(x)))


class ResNet(nn.Module):
    r"""ResNet from `"Deep Residual Learning for Image Recognition"
    <https://arxiv.org/abs/1512.03385>`_ with basic blocks (ResNet-18/34 family), as a feature
    extractor.

    Stem (``"imagenet"``: 7x7 stride-2 convolution, batch norm, ReLU, 3x3 stride-2 max pooling;
    ``"small"``: 3x3 stride-1 convolution, batch norm, ReLU, for images of 32 to 64 pixels), four
    stages of ``layers[k]`` basic blocks with ``width * 2**k`` channels (stride 2 from the second
    stage on), global average pooling. With ``n_outputs`` a linear classifier follows.

    Parameters
    ----------
    layers : sequence of 4 int, default=(2, 2, 2, 2)
        Blocks per stage; (2, 2, 2, 2) is ResNet-18, (3, 4, 6, 3) ResNet-34.
    width : int, default=64
        Channels of the first stage.
    in_channels : int, default=3
    stem : {"imagenet", "small"}, default="imagenet"
    n_outputs : int or None, default=None
        Classes of a final linear layer ``fc``; None returns the pooled features.

    Attributes
    ----------
    out_features : int
        ``8 * width``, the feature size.

    Notes
    -----
    ``ResNet(n_outputs=1000)`` has 11,689,512 trainable parameters, torchvision's ``resnet18``
    count; without the classifier (the body) 11,176,512, and with an 8-class classifier
    11,180,616 (:func:`resnet18`).

    Shapes:
        - input: (batch, in_channels, H, W)
        - output: (batch, 8 * width), or (batch, n_outputs) with a classifier

    Examples
    --------
    >>> import torch
    >>> net = ResNet(width=8, stem="small")
    >>> net(torch.randn(2, 3, 32, 32)).shape
    torch.Size([2, 64])
    """

    def __init__(self, layers: Sequence[int] = (2, 2, 2, 2), *, width: int = 64,
                 in_channels: int = 3, stem: str = "imagenet", n_outputs: int | None = None):
        super().__init__()
        layers = tuple(check_int(n, "layers[k]") for n in layers)
        if len(layers) != 4:
            raise InvalidParameterError(f"`layers` must hold 4 block counts, got {layers!r}")
        if stem not in ("imagenet", "small"):
            raise InvalidParameterError(f"`stem` must be 'imagenet' or 'small', got {stem!r}")
        self.layers_config = layers
        self.width = check_int(width, "width")
        self.in_channels = check_int(in_channels, "in_channels")
        self.stem_kind = stem
        self.n_outputs = None if n_outputs is None else check_int(n_outputs, "n_outputs")
        w = self.width
        if stem == "imagenet":
            self.stem = nn.Sequential(nn.Conv2d(self.in_channels, w, 7, 2, 3, bias=False),
                                      nn.BatchNorm2d(w), nn.ReLU(inplace=True),
                                      nn.MaxPool2d(3, 2, 1))
        else:
            self.stem = nn.Sequential(nn.Conv2d(self.in_channels, w, 3, 1, 1, bias=False),
                                      nn.BatchNorm2d(w), nn.ReLU(inplace=True))
        stages, cin = [], w
        for k, n in enumerate(layers):
            cout = w * 2**k
            blocks = [BasicBlock(cin, cout, 1 if k == 0 else 2)]
            blocks += [BasicBlock(cout, cout) for _ in range(n - 1)]
            stages.append(nn.Sequential(*blocks))
            cin = cout
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.out_features = cin
        self.fc = None if self.n_outputs is None else nn.Linear(cin, self.n_outputs)
        self.reset_parameters()

    def get_config(self) -> dict:
        return {"layers": list(self.layers_config), "width": self.width,
                "in_channels": self.in_channels, "stem": self.stem_kind, "n_outputs": self.n_outputs}

    def reset_parameters(self) -> None:
        """He (fan-out) initialisation of the convolutions, unit batch norm, default linear."""
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                m.reset_parameters()

    def count_parameters(self):
        """``(total, trainable)``; total includes batch-norm statistics."""
        return count_parameters(self)

    def forward(self, x: Tensor) -> Tensor:
        h = self.stem(x)
        h = self.layer4(self.layer3(self.layer2(self.layer1(h))))
        h = self.pool(h).flatten(1)
        return h if self.fc is None else self.fc(h)

    def extra_repr(self) -> str:
        return f"layers={self.layers_config}, width={self.width}, stem={self.stem_kind!r}"


def resnet18(n_outputs: int | None = None, *, width: int = 64, in_channels: int = 3,
             stem: str = "imagenet") -> ResNet:
    """ResNet-18: :class:`ResNet` with (2, 2, 2, 2) blocks."""
    return ResNet((2, 2, 2, 2), width=width, in_channels=in_channels, stem=stem, n_outputs=n_outputs)


def feature_size(backbone: nn.Module, example: Tensor) -> int:
    """Features per sample the backbone returns for ``example`` (one dry run in eval mode)."""
    was = backbone.training
    backbone.eval()
    with torch.no_grad():
        out = pooled(backbone(example))
    backbone.train(was)
    return int(out.shape[1])


def pooled(out) -> Tensor:
    """(batch, features) from a backbone's output: a tensor (batch, features) or
    (batch, time, features) (mean over time), a tuple (its first item), or an object with
    ``last_hidden_state`` or ``pooler_output`` (transformers models)."""
    if not isinstance(out, Tensor):
        if getattr(out, "pooler_output", None) is not None:
            out = out.pooler_output
        elif getattr(out, "last_hidden_state", None) is not None:
            out = out.last_hidden_state
        elif isinstance(out, (tuple, list)):
            out = out[0]
        else:
            raise InvalidParameterError(
                f"cannot read features from a backbone output of type {type(out).__name__}")
    if out.ndim == 3:
        out = out.mean(dim=1)
    elif out.ndim == 4:
        out = out.mean(dim=(2, 3))
    if out.ndim != 2:
        raise InvalidParameterError(
            f"backbone features must be (batch, features) or (batch, time, features), got "
            f"{tuple(out.shape)}")
    return out


class FaceStudentNet(nn.Module):
    r"""Image FER student with a projection to the prototype space (NeuroGaze-Distill).

    .. math:: z = f(x), \quad \mathrm{logits} = W_c\, \mathrm{Drop}(z) + b_c, \quad
              g(z) = W_2\, \mathrm{ReLU}(W_1 z + b_1) + b_2

    with :math:`f` the backbone and :math:`g` the projection head whose output is compared with the
    prototypes by cosine (:func:`~physioaffect.nets.distill.losses.proto_kd_cosine`).

    Parameters
    ----------
    n_classes : int, default=8
        FER classes.
    proto_dim : int, default=32
        Dimension of the prototypes (the teacher's embedding size).
    backbone : torch.nn.Module, optional
        Any image network returning features (batch, d) (or a feature map, averaged). A module
        with a linear ``fc`` attribute (torchvision ResNets) has it replaced by the identity and
        ``d = fc.in_features``. Default :func:`resnet18` with ``width`` and ``stem``.
    in_channels : int, default=3
    image_size : int, default=32
        Side of the example image used to measure a user backbone's feature size.
    width : int, default=64
        Width of the built-in ResNet.
    stem : {"imagenet", "small"}, default="small"
        Stem of the built-in ResNet ("imagenet" for 224-pixel images).
    layers : sequence of 4 int, default=(2, 2, 2, 2)
        Blocks per stage of the built-in ResNet (ResNet-18 by default).
    proj_hidden : int, default=128
        Hidden units of the projection head.
    drop_prob : float, default=0.0
        Dropout before the classifier.

    Shapes:
        - input: (batch, in_channels, H, W)
        - output: dict ``{"logits": (batch, n_classes), "proj": (batch, proto_dim)}``

    Examples
    --------
    >>> import torch
    >>> net = FaceStudentNet(width=8, proto_dim=16)
    >>> out = net(torch.randn(2, 3, 32, 32))
    >>> out["logits"].shape, out["proj"].shape
    (torch.Size([2, 8]), torch.Size([2, 16]))
    """

    def __init__(self, n_classes: int = 8, proto_dim: int = 32, *, backbone: nn.Module | None = None,
                 in_channels: int = 3, image_size: int = 32, width: int = 64, stem: str = "small",
                 layers: Sequence[int] = (2, 2, 2, 2), proj_hidden: int = 128,
                 drop_prob: float = 0.0):
        super().__init__()
        self.n_classes = check_int(n_classes, "n_classes", minimum=2)
        self.proto_dim = check_int(proto_dim, "proto_dim")
        self.proj_hidden = check_int(proj_hidden, "proj_hidden")
        self.drop_prob = check_prob(drop_prob, "drop_prob")
        if backbone is None:
            backbone = ResNet(layers, width=width, in_channels=in_channels, stem=stem)
            d = backbone.out_features
        elif isinstance(getattr(backbone, "fc", None), nn.Linear):
            d = backbone.fc.in_features
            backbone.fc = nn.Identity()
        else:
            d = feature_size(backbone, torch.zeros(2, in_channels, image_size, image_size))
        self.backbone = backbone
        self.feature_dim = int(d)
        self.drop = nn.Dropout(self.drop_prob)
        self.classifier = nn.Linear(d, self.n_classes)
        self.projection = nn.Sequential(nn.Linear(d, self.proj_hidden), nn.ReLU(),
                                        nn.Linear(self.proj_hidden, self.proto_dim))

    def features(self, x: Tensor) -> Tensor:
        """Backbone features z, shape (batch, feature_dim)."""
        return pooled(self.backbone(x))

    def forward(self, x: Tensor) -> dict:
        z = self.features(x)
        return {"logits": self.classifier(self.drop(z)), "proj": self.projection(z)}

    def extra_repr(self) -> str:
        return (f"n_classes={self.n_classes}, feature_dim={self.feature_dim}, "
                f"proto_dim={self.proto_dim}")
