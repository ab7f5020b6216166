#!/usr/bin/env python3
"""Times hessa against a numpy-vectorized reference doing the same job, in one run, and prints ratios.

The reference is what a careful numpy user writes: the same central stencil (2n^2+1 evaluations, the same
step rule h_i = s*max(|x_i|,1) made representable), the function vectorized over all points and stencil
offsets at once, np.linalg.eigh on the stacked Hessians, and the same classification. Both sides get the
same .npy points; hessa's time is the whole `hessa analyze` process (start-up, reading, writing included).
The two answers are compared (max |lambda difference| / max |lambda|) so the race is between equals.

usage: bench/compare_numpy.py [--hessa build/hessa] [--dims 2,8,32] [--points 100000] [--backend cpu]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

STEP = 2.0 ** -13


def rosenbrock(x):
    """x: (..., n) -> (...). Same expression as the catalogue entry. Array methods only, so numpy, jax.numpy and
    torch arrays all take it (bench/compare_jax.py differentiates it)."""
    return (100.0 * (x[..., 1:] - x[..., :-1] ** 2) ** 2 + (1.0 - x[..., :-1]) ** 2).sum(-1)


def classify(lam, grad_norm, gtol=1e-4, eig_tol=1e-6, eig_rtol=1e-6):
    """hessa's second-derivative test without its error bands: lam (B, n) ascending, grad_norm (B,) -> (B,) names."""
    n = lam.shape[1]
    tol = eig_tol + eig_rtol * np.maximum(np.abs(lam[:, 0]), np.abs(lam[:, -1]))
    pos = (lam > tol[:, None]).sum(1)
    neg = (lam < -tol[:, None]).sum(1)
    c = np.where(pos == n, "minimum", np.where(neg == n, "maximum",
                 np.where((pos > 0) & (neg > 0), "saddle", "degenerate")))
    return np.where(grad_norm > gtol, "noncritical", c)


def numpy_reference(points, f, gtol=1e-4, eig_tol=1e-6, eig_rtol=1e-6, batch=4096):
    B, n = points.shape
    lam_all = np.empty((B, n))
    classes = np.empty(B, dtype=object)
    iu, ju = np.triu_indices(n, 1)
    for s in range(0, B, batch):
        x = points[s:s + batch]
        b = x.shape[0]
        h = STEP * np.maximum(np.abs(x), 1.0)
        h = (x + h) - x
        f0 = f(x)
        eye = np.eye(n)
        xp = x[:, None, :] + h[:, None, :] * eye  # (b, n, n): point + h_i e_i
        xm = x[:, None, :] - h[:, None, :] * eye
        fp, fm = f(xp), f(xm)
        g = (fp - fm) / (2 * h)
        H = np.empty((b, n, n))
        H[:, np.arange(n), np.arange(n)] = (fp - 2 * f0[:, None] + fm) / h ** 2
        if n > 1:
            hi, hj = h[:, iu], h[:, ju]
            def shifted(si, sj):
                y = np.repeat(x[:, None, :], len(iu), axis=1)
                y[:, np.arange(len(iu)), iu] += si * hi
                y[:, np.arange(len(iu)), ju] += sj * hj
                return f(y)
            mixed = ((shifted(1, 1) - shifted(1, -1)) - (shifted(-1, 1) - shifted(-1, -1))) / (4 * hi * hj)
            H[:, iu, ju] = mixed
            H[:, ju, iu] = mixed
        lam = np.linalg.eigh(H)[0]
        lam_all[s:s + b] = lam
        classes[s:s + b] = classify(lam, np.linalg.norm(g, axis=1), gtol, eig_tol, eig_rtol)
    return lam_all, classes


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hessa", default=os.path.join(os.path.dirname(__file__), "..", "build", "hessa"))
    ap.add_argument("--dims", default="2,8,32")
    ap.add_argument("--points", type=int, default=100000, help="points at n=2 (scaled down as 1/n^2 above)")
    ap.add_argument("--backend", default="cpu")
    args = ap.parse_args()

    rng = np.random.default_rng(7)
    print(f"{'n':>4} {'B':>8} {'numpy s':>9} {'hessa s':>9} {'speed-up':>9} {'max|dlambda|/max|lambda|':>26}"
          f" {'same class':>10}   hessa backend")
    with tempfile.TemporaryDirectory() as tmp:
        for n in [int(v) for v in args.dims.split(",")]:
            B = max(1000, args.points * 4 // (n * n))
            points = rng.uniform(-2, 2, size=(B, n))
            pts = os.path.join(tmp, f"p{n}.npy")
            out = os.path.join(tmp, f"r{n}.npz")
            np.save(pts, points)

            t0 = time.perf_counter()
            lam_ref, cls_ref = numpy_reference(points, rosenbrock)
            t_numpy = time.perf_counter() - t0

            t0 = time.perf_counter()
            subprocess.run([args.hessa, "analyze", "-f", "rosenbrock", "-p", pts, "-o", out, "--eigenvalues",
                            "--backend", args.backend, "--quiet"], check=True)
            t_hessa = time.perf_counter() - t0
            with np.load(out) as r:
                lam = r["eigenvalues"]
                cls = r["class"]
            backend = json.load(open(out + ".meta.json"))["backend"]
            dl = np.max(np.abs(lam - lam_ref)) / np.max(np.abs(lam_ref))
            same = np.mean(cls.astype(str) == cls_ref.astype(str))
            print(f"{n:>4} {B:>8} {t_numpy:>9.3f} {t_hessa:>9.3f} {t_numpy / t_hessa:>8.1f}x {dl:>26.2e}"
                  f" {same:>10.4f}   {backend}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
