"""Does the EEG bridge help? Face student with vs without Proto-KD + D-Geo; audio student with vs
without KD, on simulated data whose latent valence and arousal are known.

Pipeline (seeded):

1. Teacher: EEG windows simulated by ``physioaffect.simulate.eeg`` for latent states drawn
   uniformly in [-1, 1]^2, DE per (channel, band), topographic maps, ``TopomapTeacher`` (MSE on
   valence and arousal). The prototype grid (5 x 5 over [-1, 1]^2) averages the embeddings of
   held-out windows.
2. Face: few labelled cartoon faces per FER class (``simulate.affect_media.faces``), the same
   ResNet-style student trained with cross-entropy only, then with Proto-KD + D-Geo towards the
   frozen grid; macro-F1, present-only macro-F1 and balanced accuracy on fresh faces.
3. Audio: few labelled tones (``simulate.affect_media.sounds``) plus a pool of unlabelled tones
   paired with EEG of the same latent states, which the teacher scores; the student trained on the
   labelled tones only (as many optimiser steps), then with KD (w = 0.8) on the pool; CCC of
   valence and arousal on fresh tones.

Usage::

    .venv/bin/python benchmarks/bench_distill.py            # 8 seeds
    .venv/bin/python benchmarks/bench_distill.py --seeds 4 --threads 2
"""

from __future__ import annotations

import argparse
import math
import sys
import time

import numpy as np

SETTINGS = {
    "eeg": {"n_windows": 400, "n_train": 280, "duration": 2.0, "effect_size": 3.0},
    "teacher": {"size": 16, "width": 16, "embed_dim": 32, "max_epochs": 30, "batch_size": 32,
                "lr": 3e-3},
    "face": {"per_class": 6, "n_test": 400, "max_epochs": 50, "batch_size": 16, "lr": 2e-3,
             "layers": (1, 1, 1, 1), "width": 16, "stem": "imagenet", "proto_weight": 1.0,
             "dgeo_weight": 0.5, "dgeo_start": 10, "dgeo_end": 30},
    "audio": {"n_labelled": 8, "n_pool": 200, "n_test": 300, "duration": 0.5, "sfreq": 8000.0,
              "max_epochs": 30, "batch_size": 32, "lr": 2e-3, "n_fft": 256, "n_mels": 32,
              "width": 8},
}


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def eeg_de(valence, arousal, *, seed, duration, effect_size):
    from physioaffect.features import differential_entropy
    from physioaffect.simulate.affect_media import paired_eeg

    x = paired_eeg(valence, arousal, duration=duration, effect_size=effect_size, random_state=seed)
    return differential_entropy(x, 128.0)


def build_teacher(seed=0, settings=SETTINGS):
    """Teacher, its prototype grid and its validation CCC per dimension."""
    from physioaffect.estimators.distill import TopomapTeacher
    from physioaffect.evaluation.metrics import ccc

    e = settings["eeg"]
    rng = np.random.default_rng(seed)
    v, a = rng.uniform(-1, 1, (2, e["n_windows"]))
    de = eeg_de(v, a, seed=seed + 1, duration=e["duration"], effect_size=e["effect_size"])
    k = e["n_train"]
    teacher = TopomapTeacher(random_state=seed, **settings["teacher"])
    teacher.fit(de[:k], np.stack([v[:k], a[:k]], 1))
    grid = teacher.prototype_grid(de[k:], v[k:], a[k:], value_range=(-1.0, 1.0))
    quality = ccc(np.stack([v[k:], a[k:]], 1), teacher.predict(de[k:]), multioutput="raw_values")
    return teacher, grid, quality


def face_run(seed, grid, settings=SETTINGS):
    """(metrics without, metrics with) Proto-KD + D-Geo for one seed."""
    from physioaffect.estimators.distill import FaceStudent
    from physioaffect.simulate.affect_media import affect_states, faces

    f = dict(settings["face"])
    per_class, n_test = f.pop("per_class"), f.pop("n_test")
    y, v, a = affect_states(8 * per_class, random_state=100 + seed)
    X = faces(v, a, random_state=200 + seed)
    yt, vt, at = affect_states(n_test, random_state=300 + seed)
    Xt = faces(vt, at, random_state=400 + seed)
    out = []
    for prototypes in (None, grid):
        est = FaceStudent(random_state=seed, **f).fit(X, y, prototypes=prototypes)
        out.append(est.evaluate(Xt, yt))
    return out


def audio_run(seed, teacher, settings=SETTINGS):
    """(CCC per dimension without KD, with KD) for one seed."""
    from physioaffect.estimators.distill import AudioStudent
    from physioaffect.simulate.affect_media import sounds

    s, e = dict(settings["audio"]), settings["eeg"]
    nl, npool, nt = s.pop("n_labelled"), s.pop("n_pool"), s.pop("n_test")
    duration, sfreq = s.pop("duration"), s.pop("sfreq")
    rng = np.random.default_rng(1000 + seed)
    vl, al = rng.uniform(-1, 1, (2, nl))
    vp, ap = rng.uniform(-1, 1, (2, npool))
    vt, at = rng.uniform(-1, 1, (2, nt))
    Xl = sounds(vl, al, sfreq=sfreq, duration=duration, random_state=seed)
    Xp = sounds(vp, ap, sfreq=sfreq, duration=duration, random_state=seed + 50)
    Xt = sounds(vt, at, sfreq=sfreq, duration=duration, random_state=seed + 99)
    scored = teacher.predict(eeg_de(vp, ap, seed=seed + 7, duration=e["duration"],
                                    effect_size=e["effect_size"]))
    yl = np.stack([vl, al], 1)
    # the baseline gets as many optimiser steps as the distilled student
    steps = math.ceil((nl + npool) / s["batch_size"]) / math.ceil(nl / s["batch_size"])
    base = AudioStudent(sfreq, random_state=seed, **{**s, "max_epochs": int(s["max_epochs"] * steps)})
    base.fit(Xl, yl)
    kd = AudioStudent(sfreq, random_state=seed, **s)
    kd.fit(np.concatenate([Xl, Xp]), np.concatenate([yl, np.full((npool, 2), np.nan)]),
           teacher=np.concatenate([np.full((nl, 2), np.nan), scored]))
    yt = np.stack([vt, at], 1)
    return base.evaluate(Xt, yt)["ccc"], kd.evaluate(Xt, yt)["ccc"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--skip-audio", action="store_true")
    parser.add_argument("--skip-face", action="store_true")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    log("training the EEG topomap teacher ...")
    teacher, grid, quality = build_teacher(0)
    print(f"teacher (TopomapCNN on DE topomaps), held-out CCC valence {quality[0]:.3f}, "
          f"arousal {quality[1]:.3f}; prototype grid {grid.shape[0]}x{grid.shape[1]}, "
          f"{int(grid.filled.sum())} cells filled from neighbours")
    seeds = list(range(args.seeds))
    if not args.skip_face:
        f = SETTINGS["face"]
        print(f"\nface student: {f['per_class']} labelled images per class (8 classes), "
              f"{f['n_test']} test images, ResNet{f['layers']} width {f['width']}")
        print(f"{'seed':>4} | {'macro-F1 CE':>11} {'+Proto+DGeo':>11} {'gain':>7} | "
              f"{'bACC CE':>8} {'+P+D':>6} | {'present-F1 CE':>13} {'+P+D':>6}")
        rows = []
        for seed in seeds:
            log(f"face seed {seed} ...")
            m0, m1 = face_run(seed, grid)
            rows.append((m0["macro_f1"], m1["macro_f1"], m0["balanced_accuracy"],
                         m1["balanced_accuracy"], m0["present_only_macro_f1"],
                         m1["present_only_macro_f1"]))
            r = rows[-1]
            print(f"{seed:>4} | {r[0]:>11.3f} {r[1]:>11.3f} {r[1] - r[0]:>+7.3f} | {r[2]:>8.3f} "
                  f"{r[3]:>6.3f} | {r[4]:>13.3f} {r[5]:>6.3f}", flush=True)
        r = np.mean(rows, axis=0)
        wins = sum(x[1] > x[0] for x in rows)
        print(f"{'mean':>4} | {r[0]:>11.3f} {r[1]:>11.3f} {r[1] - r[0]:>+7.3f} | {r[2]:>8.3f} "
              f"{r[3]:>6.3f} | {r[4]:>13.3f} {r[5]:>6.3f}   (Proto-KD ahead in {wins}/{len(rows)} seeds)")
    if not args.skip_audio:
        s = SETTINGS["audio"]
        print(f"\naudio student: {s['n_labelled']} labelled tones, {s['n_pool']} unlabelled tones "
              f"scored by the EEG teacher through paired EEG, {s['n_test']} test tones")
        print(f"{'seed':>4} | {'CCC V no KD':>11} {'V KD':>6} | {'CCC A no KD':>11} {'A KD':>6} | "
              f"{'mean no KD':>10} {'KD':>6} {'gain':>7}")
        rows = []
        for seed in seeds:
            log(f"audio seed {seed} ...")
            c0, c1 = audio_run(seed, teacher)
            rows.append((c0[0], c1[0], c0[1], c1[1], np.mean(c0), np.mean(c1)))
            r = rows[-1]
            print(f"{seed:>4} | {r[0]:>11.3f} {r[1]:>6.3f} | {r[2]:>11.3f} {r[3]:>6.3f} | "
                  f"{r[4]:>10.3f} {r[5]:>6.3f} {r[5] - r[4]:>+7.3f}", flush=True)
        r = np.mean(rows, axis=0)
        wins = sum(x[5] > x[4] for x in rows)
        print(f"{'mean':>4} | {r[0]:>11.3f} {r[1]:>6.3f} | {r[2]:>11.3f} {r[3]:>6.3f} | "
              f"{r[4]:>10.3f} {r[5]:>6.3f} {r[5] - r[4]:>+7.3f}   (KD ahead in {wins}/{len(rows)} seeds)")
    log(f"done in {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
