"""Train both distillation students on CUDA with mixed precision, in under five minutes.

Teacher (topomap CNN on simulated EEG), prototype grid, face student (full-width ResNet-18, 32 x 32
faces, Proto-KD + D-Geo) and audio student (log-mel CNN, KD from the teacher through paired EEG),
all through ``physioaffect.training`` with ``amp=True`` (bfloat16 where supported). Prints the
device, each stage's time and the test metrics. Exits with a message when CUDA is absent.

Usage::

    .venv/bin/python benchmarks/gpu_distill.py
    .venv/bin/python benchmarks/gpu_distill.py --smoke   # tiny sizes on the CPU: checks the script
"""

from __future__ import annotations

import sys
import time

import numpy as np


def main(argv=None):
    import torch

    smoke = "--smoke" in (sys.argv[1:] if argv is None else argv)
    dev = "cpu" if smoke else "cuda"
    k = 20 if smoke else 1  # size divisor
    ep = 1 if smoke else None
    if not smoke and not torch.cuda.is_available():
        print("gpu_distill: no CUDA device visible to torch; nothing to do (run it on a GPU machine)")
        return 0
    from physioaffect.estimators.distill import AudioStudent, FaceStudent, TopomapTeacher
    from physioaffect.evaluation.metrics import ccc
    from physioaffect.features import differential_entropy
    from physioaffect.simulate.affect_media import affect_states, faces, paired_eeg, sounds

    t_all = time.perf_counter()
    if not smoke:
        print(f"device: {torch.cuda.get_device_name(0)}, torch {torch.__version__}, "
              f"bf16 {torch.cuda.is_bf16_supported()}", flush=True)

    def de(v, a, seed):
        return differential_entropy(paired_eeg(v, a, duration=2.0, effect_size=3.0,
                                               random_state=seed), 128.0)

    t = time.perf_counter()
    rng = np.random.default_rng(0)
    v, a = rng.uniform(-1, 1, (2, 1200 // k))
    feats = de(v, a, 1)
    print(f"simulate EEG + DE (1200 windows): {time.perf_counter() - t:.1f} s", flush=True)
    t = time.perf_counter()
    n_tr = 900 // k
    teacher = TopomapTeacher(size=32, max_epochs=ep or 40, batch_size=64, device=dev, random_state=0)
    teacher.fit(feats[:n_tr], np.stack([v[:n_tr], a[:n_tr]], 1))
    q = ccc(np.stack([v[n_tr:], a[n_tr:]], 1), teacher.predict(feats[n_tr:]), multioutput="raw_values")
    grid = teacher.prototype_grid(feats[n_tr:], v[n_tr:], a[n_tr:], value_range=(-1.0, 1.0))
    print(f"teacher (AMP, 32x32 topomaps): {time.perf_counter() - t:.1f} s, CCC valence "
          f"{q[0]:.3f} arousal {q[1]:.3f}", flush=True)

    t = time.perf_counter()
    y, fv, fa = affect_states(4000 // k, random_state=1)
    X = faces(fv, fa, random_state=2)
    yt, tv, ta = affect_states(2000 // k, random_state=3)
    Xt = faces(tv, ta, random_state=4)
    face_kw = dict(max_epochs=ep or 30, batch_size=128, lr=1e-3, width=64, stem="small",
                   proto_weight=1.0, dgeo_weight=0.5, dgeo_start=6, dgeo_end=18, device=dev,
                   random_state=0)
    face = FaceStudent(**face_kw).fit(X, y, prototypes=grid)
    m = face.evaluate(Xt, yt)
    print(f"face student (ResNet-18, 4000 images, 30 epochs, AMP): {time.perf_counter() - t:.1f} s, "
          f"macro-F1 {m['macro_f1']:.3f}, bACC {m['balanced_accuracy']:.3f}, "
          f"history {face.history_.seconds:.1f} s", flush=True)

    t = time.perf_counter()
    r = np.random.default_rng(5)
    nl, npool = max(64 // k, 4), 1000 // k
    vl, al = r.uniform(-1, 1, (2, nl))
    vp, ap = r.uniform(-1, 1, (2, npool))
    vt, at = r.uniform(-1, 1, (2, npool))
    Xl = sounds(vl, al, sfreq=16000.0, duration=1.0, random_state=6)
    Xp = sounds(vp, ap, sfreq=16000.0, duration=1.0, random_state=7)
    Xs = sounds(vt, at, sfreq=16000.0, duration=1.0, random_state=8)
    scored = teacher.predict(de(vp, ap, 9))
    audio = AudioStudent(16000.0, n_fft=512, n_mels=64, width=32, max_epochs=ep or 30, batch_size=64,
                         device=dev, random_state=0)
    audio.fit(np.concatenate([Xl, Xp]),
              np.concatenate([np.stack([vl, al], 1), np.full((npool, 2), np.nan)]),
              teacher=np.concatenate([np.full((nl, 2), np.nan), scored]))
    c = audio.evaluate(Xs, np.stack([vt, at], 1))
    print(f"audio student (log-mel CNN, 1064 clips of 1 s at 16 kHz, 30 epochs, AMP, KD): "
          f"{time.perf_counter() - t:.1f} s, CCC valence {c['ccc'][0]:.3f} arousal {c['ccc'][1]:.3f}",
          flush=True)
    print(f"total {time.perf_counter() - t_all:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
