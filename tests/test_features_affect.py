"""The simulated affect effects are visible in differential-entropy features."""

import numpy as np

from physioaffect import simulate
from physioaffect.features import differential_entropy
from physioaffect.montage import get_montage


def test_frontal_alpha_asymmetry_tracks_valence():
    mont = get_montage("dreamer")
    idx = {name: i for i, name in enumerate(mont.ch_names)}
    valences = np.linspace(-1, 1, 7)
    asym = []
    for k, v in enumerate(valences):
        x = simulate.eeg("dreamer", sfreq=128.0, duration=30.0, valence=v, random_state=100 + k)
        de = differential_entropy(x, 128.0, window=2.0).mean(axis=0)  # (channel, band)
        alpha = de[:, 2]
        asym.append(np.mean([alpha[idx[r]] - alpha[idx[left]] for left, r in mont.frontal_pairs]))
    asym = np.asarray(asym)
    r = np.corrcoef(valences, asym)[0, 1]
    assert r > 0.9, (r, asym)
    assert asym[-1] - asym[0] > 0.1  # nats, right minus left alpha, valence +1 vs -1


def test_arousal_raises_beta_and_lowers_alpha():
    lo = simulate.eeg("dreamer", sfreq=128.0, duration=30.0, arousal=-1.0, random_state=7)
    hi = simulate.eeg("dreamer", sfreq=128.0, duration=30.0, arousal=1.0, random_state=7)
    d_lo = differential_entropy(lo, 128.0).mean(axis=0)
    d_hi = differential_entropy(hi, 128.0).mean(axis=0)
    assert d_hi[3] - d_lo[3] > 0.1  # beta up
    assert d_hi[2] - d_lo[2] < -0.1  # alpha down
