"""Students: ResNet-18 parameter counts, the log-mel front end against a numpy reference, user
backbones, the FER cell mapping, and the simulated media."""

import numpy as np
import pytest
import torch
from torch import nn

from physioaffect.errors import InvalidParameterError
from physioaffect.nets.distill import (
    DEFAULT_FER_CELLS,
    FER_CLASSES,
    AudioStudentNet,
    FaceStudentNet,
    LogMel,
    ResNet,
    fer_cell_mapping,
    mel_filterbank,
    resnet18,
)


def _trainable(m):
    return sum(p.numel() for p in m.parameters() if p.requires_grad)


def test_resnet18_parameter_counts():
    # torchvision's resnet18 has 11,689,512 parameters with its 1000-class classifier
    assert _trainable(resnet18(1000)) == 11_689_512
    assert _trainable(resnet18()) == 11_176_512  # the body: 11,689,512 - 513 * 1000
    assert _trainable(resnet18(8)) == 11_180_616  # 8-class FER head: body + 513 * 8
    # the student adds the 8-class head and the projection head 512 -> 128 -> 32
    student = FaceStudentNet(8, 32, stem="imagenet")
    assert _trainable(student) == 11_176_512 + 513 * 8 + (512 * 128 + 128) + (128 * 32 + 32)
    assert resnet18(stem="small")(torch.randn(1, 3, 32, 32)).shape == (1, 512)


def test_resnet_blocks_and_config():
    net = ResNet((1, 1, 1, 1), width=4, stem="small", in_channels=1, n_outputs=3)
    assert net(torch.randn(2, 1, 16, 16)).shape == (2, 3)
    again = ResNet(**net.get_config())
    assert _trainable(again) == _trainable(net)
    with pytest.raises(InvalidParameterError):
        ResNet((2, 2, 2))


def _reference_logmel(x, sfreq, n_fft, hop, n_mels, eps):
    """numpy/scipy: reflect-pad, frame, periodic Hann, rfft, power, triangular mel filters."""
    from scipy.signal import get_window

    pad = n_fft // 2
    xp = np.pad(x, pad, mode="reflect")
    n_frames = 1 + len(x) // hop
    frames = np.stack([xp[t * hop:t * hop + n_fft] for t in range(n_frames)])
    spec = np.abs(np.fft.rfft(frames * get_window("hann", n_fft), axis=1)) ** 2  # (frames, bins)
    # mel filters written independently from the HTK formulas
    mel = lambda f: 2595 * np.log10(1 + f / 700)  # noqa: E731
    inv = lambda m: 700 * (10 ** (m / 2595) - 1)  # noqa: E731
    pts = inv(np.linspace(mel(0.0), mel(sfreq / 2), n_mels + 2))
    freqs = np.fft.rfftfreq(n_fft, 1 / sfreq)
    fb = np.zeros((n_mels, len(freqs)))
    for m in range(1, n_mels + 1):
        lo, c, hi = pts[m - 1], pts[m], pts[m + 1]
        for k, f in enumerate(freqs):
            if lo < f <= c:
                fb[m - 1, k] = (f - lo) / (c - lo)
            elif c < f < hi:
                fb[m - 1, k] = (hi - f) / (hi - c)
    return np.log(spec @ fb.T + eps).T  # (n_mels, frames)


def test_logmel_equals_numpy_reference():
    rng = np.random.default_rng(0)
    sfreq, n_fft, hop, n_mels, eps = 8000.0, 256, 100, 24, 1e-6
    x = rng.standard_normal(2000) + np.sin(2 * np.pi * 440 * np.arange(2000) / sfreq)
    ref = _reference_logmel(x, sfreq, n_fft, hop, n_mels, eps)
    out = LogMel(sfreq, n_fft=n_fft, hop_length=hop, n_mels=n_mels, eps=eps)(
        torch.tensor(x[None], dtype=torch.float32))
    assert out.shape == (1, 1, n_mels, 1 + 2000 // hop)
    assert out[0, 0].numpy() == pytest.approx(ref, abs=2e-4)


def test_mel_filterbank_shape_and_peaks():
    fb = mel_filterbank(16000.0, 512, 40)
    assert fb.shape == (257, 40)
    assert fb.max() <= 1.0 and np.all(fb.sum(0) > 0)
    assert np.all(np.diff(fb.argmax(0)) >= 0)  # centres increase
    slaney = mel_filterbank(16000.0, 512, 40, norm="slaney")
    assert slaney[:, 10].max() < fb[:, 10].max()
    with pytest.raises(InvalidParameterError):
        mel_filterbank(8000.0, 256, 10, fmax=5000.0)


def test_fer_cell_mapping():
    cells = fer_cell_mapping()
    assert len(set(cells.tolist())) == 8  # every class its own cell
    assert cells[FER_CLASSES.index("happiness")] == 4 * 5 + 3
    assert fer_cell_mapping(["a", "b"], {"a": (0, 1), "b": 7}).tolist() == [1, 7]
    with pytest.raises(InvalidParameterError):
        fer_cell_mapping(["joy"])
    with pytest.raises(InvalidParameterError):
        fer_cell_mapping(["a"], {"a": (5, 0)})
    assert set(DEFAULT_FER_CELLS) == set(FER_CLASSES)


class _TinyTorchvisionLike(nn.Module):
    """A stand-in for a torchvision ResNet: features then a linear ``fc``."""

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(3, 6, 3, padding=1), nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.fc = nn.Linear(6, 1000)

    def forward(self, x):
        return self.fc(self.body(x))


def test_face_student_with_user_backbones():
    net = FaceStudentNet(8, 16, backbone=_TinyTorchvisionLike())
    assert isinstance(net.backbone.fc, nn.Identity) and net.feature_dim == 6
    out = net(torch.randn(2, 3, 20, 20))
    assert out["logits"].shape == (2, 8) and out["proj"].shape == (2, 16)
    # a backbone returning a feature map is averaged
    fmap = nn.Conv2d(3, 5, 3)
    net = FaceStudentNet(4, 8, backbone=fmap, image_size=12)
    assert net.feature_dim == 5 and net(torch.randn(2, 3, 12, 12))["logits"].shape == (2, 4)


class _SequenceOutput:
    def __init__(self, h):
        self.last_hidden_state = h


class _Wav2Vec2Like(nn.Module):
    """Raw waveform -> (batch, time, hidden) in an output object, like transformers models."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(1, 12, 10, stride=5)

    def forward(self, x):
        return _SequenceOutput(self.conv(x[:, None]).transpose(1, 2))


def test_audio_student_with_user_backbone_and_dominance():
    net = AudioStudentNet(16000.0, n_dims=3, n_classes=5, backbone=_Wav2Vec2Like(), frontend=None,
                          n_times=800)
    out = net(torch.randn(2, 800))
    assert net.feature_dim == 12
    assert out["va"].shape == (2, 3) and out["logits"].shape == (2, 5)
    plain = AudioStudentNet(8000.0, n_fft=128, n_mels=16, width=4)
    assert set(plain(torch.randn(3, 4000))) == {"va"}
    with pytest.raises(InvalidParameterError):
        AudioStudentNet(None)


def test_simulated_media_are_seeded_and_encode_affect():
    from physioaffect.simulate.affect_media import affect_states, faces, paired_eeg, sounds

    y, v, a = affect_states(40, random_state=1)
    assert np.bincount(y).tolist() == [5] * 8
    cells = fer_cell_mapping()[y]
    assert np.corrcoef(v, cells // 5)[0, 1] > 0.9 and np.corrcoef(a, cells % 5)[0, 1] > 0.9
    im = faces(v, a, random_state=2)
    assert im.shape == (40, 3, 32, 32) and im.dtype == np.float32
    assert np.array_equal(im, faces(v, a, random_state=2))
    # same nuisance (seed), other affect: valence changes the mouth rows, arousal the eyes too
    smile = faces([0.9], [0.0], noise=0.0, random_state=0)[0].mean(0)
    frown = faces([-0.9], [0.0], noise=0.0, random_state=0)[0].mean(0)
    calm = faces([0.0], [-0.9], noise=0.0, random_state=0)[0].mean(0)
    excited = faces([0.0], [0.9], noise=0.0, random_state=0)[0].mean(0)
    assert np.abs(smile[20:] - frown[20:]).mean() > 0.02
    assert np.abs(calm[10:16] - excited[10:16]).mean() > 0.02
    s = sounds([0.0, 0.0], [-1.0, 1.0], duration=0.5, variability=0.0, noise=0.0, random_state=0)
    assert s.shape == (2, 4000) and s[1].std() > s[0].std()  # arousal is louder
    eeg = paired_eeg([0.5], [-0.5], duration=1.0, random_state=0)
    assert eeg.shape == (1, 14, 128)
    with pytest.raises(InvalidParameterError):
        faces([2.0], [0.0])
