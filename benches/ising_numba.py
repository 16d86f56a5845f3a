"""Baseline for `make bench-ising`: a plain Python+numba checkerboard
Metropolis sweep of the 2D Ising model, one uniform per attempted flip.
Prints spin flips per ns (single thread) on the last line."""
import math
import sys
import time

import numba
import numpy as np

L, T, H = 128, 2.5, 0.3


@numba.njit(cache=False)
def sweeps(s, n, beta, h):
    L = s.shape[0]
    for _ in range(n):
        for colour in range(2):
            for i in range(L):
                for j in range((i + colour) % 2, L, 2):
                    nb = s[(i - 1) % L, j] + s[(i + 1) % L, j] + s[i, (j - 1) % L] + s[i, (j + 1) % L]
                    de = 2.0 * s[i, j] * (nb + h)
                    if de <= 0.0 or np.random.random() < math.exp(-beta * de):
                        s[i, j] = -s[i, j]


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    numba.set_num_threads(1)
    np.random.seed(1)
    s = np.where(np.random.random((L, L)) < 0.5, 1, -1).astype(np.int8)
    sweeps(s, 2, 1.0 / T, H)  # compile
    t0 = time.perf_counter()
    sweeps(s, n, 1.0 / T, H)
    dt = time.perf_counter() - t0
    rate = n * L * L / dt / 1e9
    print(f"numba checkerboard Metropolis: L={L} T={T} h={H}, {n} sweeps, energy check {float(-(s * (np.roll(s, 1, 0) + np.roll(s, 1, 1))).mean() - H * s.mean()):.4f}")
    print(f"{rate:.4f}")


if __name__ == "__main__":
    main()
