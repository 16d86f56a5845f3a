"""Posteriors from the `extensive` network's head on exact sufficient
statistics: what fit-posterior's default network gives if its features were
the Ising model's own (issue 17). Written in the posteriors contract
(schemas/posteriors.md), so fit-icnn and pk-report run on them unchanged.

An Ising bundle's log-likelihood is K·N·(β·ē + βh·m̄) − K ln Z(β, h): linear
in the members' mean bond energy ē and magnetization m̄ per site, with
coefficients smooth in (T, h) except on the first-order line. The head of
lib/nn/posterior.rs is K·N times a linear map of its features, through a
cubic B-spline with eight intervals per grid axis plus hats on the same
knots. Here its features are (ē, m̄) themselves, computed exactly (periodic
bonds) from the stored energy and magnetization, and the head is fitted by
L-BFGS to the training bundles' targets (cross-entropy, convex in the head):
no feature learning and no optimiser schedule are left to blame.

Before that, a self-check of the head's basis alone: Kaufman's zero-field
posteriors of K-state bundles at this L and grid, for bundles at their
typical ē, fitted by the same basis; it prints the KL left and the fitted
precision in T over the exact one wherever the grid resolves a posterior's
width.

    make bench-head SCALE=fine SEEDS=1   (the pipeline's data and bundles ->
                                          this -> fit-icnn -> pk-report)

usage: .venv/bin/python benches/head_posteriors.py DATA BUNDLES OUT
         [--rows 32000] [--iters 500] [--seed 1]
"""
import argparse

import numpy as np
from scipy.optimize import minimize

from exact_posteriors import kaufman_ln_z
from posteriors_io import IsingBundles, write_posteriors


def knot_basis(n, knot, controls, shift, kernel):
    """kernel(|u − (j − shift)|) at the centres of n cells, u in knot units."""
    u = (np.arange(n) + 0.5)[:, None] / knot
    j = np.arange(controls)[None, :]
    return kernel(np.abs(u - (j - shift)))


def cubic(t):
    return np.where(t < 1, (4 - 6 * t**2 + 3 * t**3) / 6, np.where(t < 2, (2 - t) ** 3 / 6, 0.0))


def head_basis(n):
    """lib/nn/posterior.rs's head_basis: cubic B-splines (one control before
    the first cell, two past the last), then hats, knots every ceil(n/8) cells."""
    knot = -(-n // 8)
    intervals = -(-n // knot)
    splines = knot_basis(n, knot, intervals + 3, 1.0, cubic)
    hats = knot_basis(n, knot, intervals + 1, 0.0, lambda t: np.maximum(1 - t, 0))
    assert np.allclose(splines.sum(1), 1) and np.allclose(hats.sum(1), 1)
    return np.hstack([splines, hats])


class Head:
    """logits[n, gh·gw] = S·(R · (Z W + b) · Cᵀ) for features Z [n, F]."""

    def __init__(self, gh, gw, n_features, sites):
        self.r, self.c = head_basis(gh), head_basis(gw)
        self.p, self.q = self.r.shape[1], self.c.shape[1]
        self.nf, self.gh, self.gw = n_features, gh, gw
        # parameters in units of 1e-3 nats a site, so L-BFGS sees O(1) numbers
        self.gain = sites * 1e-3
        self.size = (n_features + 1) * self.p * self.q

    def log_softmax(self, z, w):
        m = w.reshape(self.nf + 1, self.p * self.q)
        ctrl = (z @ m[:-1] + m[-1]).reshape(-1, self.p, self.q)
        x = self.gain * (self.r @ ctrl @ self.c.T).reshape(len(z), -1)
        x -= x.max(1, keepdims=True)
        return x - np.log(np.exp(x).sum(1, keepdims=True))

    def fit(self, z, target, iters):
        def loss_grad(w):
            lp = self.log_softmax(z, w)
            g = (np.exp(lp) - target) * (self.gain / len(z))
            gc = (self.r.T @ g.reshape(-1, self.gh, self.gw) @ self.c).reshape(len(z), -1)
            grad = np.concatenate([(z.T @ gc).ravel(), gc.sum(0)])
            return -(target * lp).sum(1).mean(), grad

        r = minimize(loss_grad, np.zeros(self.size), jac=True, method="L-BFGS-B", options={"maxiter": iters})
        return r.x, r.fun


def capacity_check(l, k, t_box, gh):
    """The head basis (in T) fitted to Kaufman's zero-field posteriors of
    k-state bundles at their typical ē: the KL left, and the fitted precision
    in T over the exact one wherever the grid resolves a posterior's width."""
    fine = np.linspace(t_box[0] - 0.2, t_box[1] + 0.2, 4001)
    ln_z = kaufman_ln_z(l, 1 / fine) / (l * l)
    mean_e = np.gradient(ln_z, 1 / fine)
    cells = t_box[0] + (t_box[1] - t_box[0]) * (np.arange(gh) + 0.5) / gh
    t0 = np.linspace(t_box[0] + 0.2, t_box[1] - 0.2, 300)
    e = np.interp(t0, fine, mean_e)[:, None]
    exact = k * l * l * (e / cells - np.interp(cells, fine, ln_z))
    exact = np.exp(exact - exact.max(1, keepdims=True))
    exact /= exact.sum(1, keepdims=True)
    head = Head(gh, 1, 1, k * l * l)
    w, ce = head.fit(e - e.mean(), exact, 5000)
    fitted = np.exp(head.log_softmax(e - e.mean(), w))
    kl = ce + (exact * np.log(exact + 1e-300)).sum(1).mean()

    def precision(p):
        mean = p @ cells
        return 1 / (p @ cells**2 - mean**2)

    # only where the exact posterior spans a cell or more does the grid resolve its width
    cell = (t_box[1] - t_box[0]) / gh
    ratio = (precision(fitted) / precision(exact))[precision(exact) * cell**2 <= 1]
    widths = f"precision in T {ratio.min():.2f}-{ratio.max():.2f} of the exact one" if len(ratio) else "no posterior wider than a cell"
    print(f"head basis on exact zero-field posteriors (L = {l}, {gh} cells in T, K = {k}): KL {kl:.1e} nats; {widths}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("data")
    ap.add_argument("bundles")
    ap.add_argument("out")
    ap.add_argument("--rows", type=int, default=32000, help="training (bundle, K-of-k_neib draw) rows fitted")
    ap.add_argument("--iters", type=int, default=500, help="L-BFGS iterations")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()

    ib = IsingBundles(a.data, a.bundles)
    sites = int(np.prod(ib.state_shape))
    l = int(round(np.sqrt(sites)))
    capacity_check(l, ib.k, ib.t_box, ib.gh)

    rng = np.random.default_rng(a.seed)
    train = rng.choice(np.where(ib.split == "train")[0], a.rows)
    draws = np.array([rng.choice(ib.members[i], ib.k, replace=False) for i in train])
    f = ib.features(draws)
    mu, sd = f.mean(0), f.std(0)
    head = Head(ib.gh, ib.gw, 2, ib.k * sites)
    w, ce = head.fit((f - mu) / sd, ib.targets(draws).reshape(len(draws), -1), a.iters)

    ids = ib.members[:, : ib.k]  # what fit-posterior's prediction sees
    post = np.empty((len(ids), ib.gh * ib.gw), np.float32)
    for c in range(0, len(ids), 5000):
        post[c : c + 5000] = np.exp(head.log_softmax((ib.features(ids[c : c + 5000]) - mu) / sd, w))

    args = [a.data, a.bundles, a.out, "--rows", str(a.rows), "--iters", str(a.iters), "--seed", str(a.seed)]
    meta = ib.posteriors_meta("benches/head_posteriors.py", args)
    b = ib.table
    write_posteriors(a.out, meta, b["bundle_id"], b["split"], b["T"], b["h"], post)
    rmse = ib.rmse_t(post, np.arange(len(ids)))
    test = ib.split == "test"
    target = ib.targets(ids[test]).reshape(test.sum(), -1)
    test_ce = -(target * np.log(post[test] + 1e-30)).sum(1).mean()
    print(f"head on (ē, m̄): cross-entropy train {ce:.3f}, test {test_ce:.3f}; test posterior-mean RMSE T {rmse:.3f} -> {a.out}")


if __name__ == "__main__":
    main()
