"""The bridge must help: on simulated data with known latent valence and arousal, a student
distilled from an EEG teacher beats the same student without distillation.

A topomap teacher is trained on simulated EEG (DE topomaps) of latent states; its prototype grid
averages held-out windows. Face: few labelled cartoon faces per FER class, ResNet-style student,
Proto-KD + D-Geo vs cross-entropy alone, macro-F1 averaged over seeds. Audio: few labelled tones
plus a pool of tones paired with EEG of the same states and scored by the teacher, KD vs the
labelled tones alone (as many optimiser steps), CCC averaged over seeds.
``benchmarks/bench_distill.py`` prints the same comparison over more seeds.
"""

import math

import numpy as np
import pytest

from physioaffect.estimators.distill import AudioStudent, FaceStudent, TopomapTeacher
from physioaffect.evaluation.metrics import ccc
from physioaffect.features import differential_entropy
from physioaffect.simulate.affect_media import affect_states, faces, paired_eeg, sounds

EFFECT = 3.0  # EEG affect effect size: a clear teacher; the test is about the bridge


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """One thread: results do not depend on the machine's core count (and the machine is shared)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _de(v, a, seed):
    return differential_entropy(paired_eeg(v, a, duration=2.0, effect_size=EFFECT,
                                           random_state=seed), 128.0)


@pytest.fixture(scope="module")
def teacher_and_grid():
    rng = np.random.default_rng(0)
    v, a = rng.uniform(-1, 1, (2, 400))
    de = _de(v, a, 1)
    teacher = TopomapTeacher(size=16, width=16, embed_dim=32, max_epochs=30, batch_size=32,
                             lr=3e-3, device="cpu", random_state=0)
    teacher.fit(de[:280], np.stack([v[:280], a[:280]], 1))
    quality = ccc(np.stack([v[280:], a[280:]], 1), teacher.predict(de[280:]), multioutput="raw_values")
    grid = teacher.prototype_grid(de[280:], v[280:], a[280:], value_range=(-1.0, 1.0))
    return teacher, grid, quality


def test_teacher_is_a_useful_teacher(teacher_and_grid):
    _, grid, quality = teacher_and_grid
    assert quality[0] > 0.7 and quality[1] > 0.9
    # the grid is ordered: prototypes of far-apart cells are less alike than of neighbours
    P = grid.prototypes
    near = np.mean([P[i, j] @ P[i + 1, j] for i in range(4) for j in range(5)])
    far = np.mean([P[0, j] @ P[4, j] for j in range(5)])
    assert near > far + 0.3


FACE = dict(max_epochs=50, batch_size=16, lr=2e-3, layers=(1, 1, 1, 1), width=16,
            stem="imagenet", proto_weight=1.0, dgeo_weight=0.5, dgeo_start=10, dgeo_end=30,
            device="cpu")


def test_face_student_gains_from_proto_kd_and_dgeo(teacher_and_grid):
    _, grid, _ = teacher_and_grid
    without, with_ = [], []
    for seed in range(4):
        y, v, a = affect_states(48, random_state=100 + seed)  # 6 labelled faces per class
        X = faces(v, a, random_state=200 + seed)
        yt, vt, at = affect_states(400, random_state=300 + seed)
        Xt = faces(vt, at, random_state=400 + seed)
        for prototypes, out in ((None, without), (grid, with_)):
            est = FaceStudent(random_state=seed, **FACE).fit(X, y, prototypes=prototypes)
            out.append(est.evaluate(Xt, yt)["macro_f1"])
    gain = np.mean(with_) - np.mean(without)
    print(f"face macro-F1 without {np.round(without, 3)} with {np.round(with_, 3)} gain {gain:+.3f}")
    assert gain > 0.03


def test_audio_student_gains_from_kd(teacher_and_grid):
    teacher, _, _ = teacher_and_grid
    kw = dict(n_fft=256, n_mels=32, width=8, batch_size=32, lr=2e-3, device="cpu")
    nl, npool, epochs = 8, 200, 30
    base_epochs = epochs * math.ceil((nl + npool) / 32)  # as many optimiser steps
    without, with_ = [], []
    for seed in range(3):
        rng = np.random.default_rng(1000 + seed)
        vl, al = rng.uniform(-1, 1, (2, nl))
        vp, ap = rng.uniform(-1, 1, (2, npool))
        vt, at = rng.uniform(-1, 1, (2, 300))
        Xl = sounds(vl, al, duration=0.5, random_state=seed)
        Xp = sounds(vp, ap, duration=0.5, random_state=seed + 50)
        Xt = sounds(vt, at, duration=0.5, random_state=seed + 99)
        scored = teacher.predict(_de(vp, ap, seed + 7))
        yl, yt = np.stack([vl, al], 1), np.stack([vt, at], 1)
        base = AudioStudent(8000.0, max_epochs=base_epochs, random_state=seed, **kw).fit(Xl, yl)
        kd = AudioStudent(8000.0, max_epochs=epochs, random_state=seed, **kw).fit(
            np.concatenate([Xl, Xp]), np.concatenate([yl, np.full((npool, 2), np.nan)]),
            teacher=np.concatenate([np.full((nl, 2), np.nan), scored]))
        without.append(base.evaluate(Xt, yt)["ccc_mean"])
        with_.append(kd.evaluate(Xt, yt)["ccc_mean"])
    gain = np.mean(with_) - np.mean(without)
    print(f"audio CCC without {np.round(without, 3)} with {np.round(with_, 3)} gain {gain:+.3f}")
    assert gain > 0.03
