"""Baseline for `make bench-tasep`: a plain Python+numba random-sequential
TASEP loop (one bond index and one acceptance uniform per attempt) at
M=16384, α=0.3, β=0.7. Prints move attempts per ns (single thread) last."""
import sys
import time

import numba
import numpy as np

M, ALPHA, BETA = 16384, 0.3, 0.7


@numba.njit(cache=False)
def run(s, attempts, alpha, beta):
    m = s.shape[0]
    moves = 0
    for _ in range(attempts):
        k = np.random.randint(0, m + 1)
        if k == 0:
            if s[0] == 0 and np.random.random() < alpha:
                s[0] = 1
                moves += 1
        elif k == m:
            if s[m - 1] == 1 and np.random.random() < beta:
                s[m - 1] = 0
                moves += 1
        elif s[k - 1] == 1 and s[k] == 0:
            s[k - 1] = 0
            s[k] = 1
            moves += 1
    return moves


def main():
    attempts = int(sys.argv[1]) if len(sys.argv) > 1 else 50_000_000
    np.random.seed(1)
    s = (np.random.random(M) < 0.5).astype(np.int8)
    run(s, 1000, ALPHA, BETA)  # compile
    t0 = time.perf_counter()
    moves = run(s, attempts, ALPHA, BETA)
    dt = time.perf_counter() - t0
    print(f"numba TASEP: M={M}, {attempts} attempts, current {moves / attempts:.4f}")
    print(f"{attempts / dt / 1e9:.4f}")


if __name__ == "__main__":
    main()
