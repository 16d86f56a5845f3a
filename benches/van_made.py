"""VAN's MADE masks (src_ising/made.py) and the periodic Ising energy, shared
by the Python baselines of bench-sampler and bench-nis."""
import numpy as np


def masks(l, depth, width):
    """Masks of the dense layers: exclusive first, inclusive after, `width` channels per site."""
    n = l * l
    d = [1] + [width] * (depth - 1) + [1]
    out = []
    for k in range(1, depth + 1):
        j = np.arange(n)[:, None]
        i = np.arange(n)[None, :]
        m = (j < i) if k == 1 else (j <= i)
        out.append(np.tile(m.astype(np.float32), (d[k - 1], d[k])))
    return out


def energy(s, l):
    """Total energy −Σ⟨ij⟩ s_i s_j of ±1 configurations, periodic l×l."""
    x = s.reshape(-1, l, l)
    return -(x * np.roll(x, -1, 1) + x * np.roll(x, -1, 2)).sum(axis=(1, 2))
