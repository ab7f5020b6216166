#!/usr/bin/env python3
"""Times a model-loss direction scan in hessa against a numpy-vectorized reference, in one run; prints ratios.

The job is examples/mlp_moons_scan.toml (an MLP 2-16-16-1 on 200 two-moons samples, 2x2 Hessians of
(alpha, beta) -> loss(centre + alpha d1 + beta d2)) at a chosen grid size. The reference is what a careful numpy
user writes: bench/compare_numpy.py's central stencil over (alpha, beta) (the same step rule), the loss of every
stencil point's parameter vector evaluated at once with batched matmuls over the vectors, and eigh. It uses the
centre and directions hessa stored (/scan/centre, /scan/directions), so both compute the same numbers, and the
answers are compared. hessa's time is the whole `hessa run` process (start-up, data set, HDF5 writing included).

usage: bench/compare_numpy_mlp.py [--hessa build/hessa] [--grids 21,61,121] [--backend cpu]
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare_numpy import numpy_reference  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
LAYERS = [2, 16, 16, 1]


def mlp_loss(X, y, theta):
    """Mean logistic loss of a tanh MLP (README layout: W out x in row-major, then b) at theta (..., P)."""
    lead = theta.shape[:-1]
    t = theta.reshape(-1, theta.shape[-1])
    a = np.broadcast_to(X, (t.shape[0],) + X.shape)
    o = 0
    for l in range(len(LAYERS) - 1):
        i, j = LAYERS[l], LAYERS[l + 1]
        W = t[:, o:o + i * j].reshape(-1, j, i)
        b = t[:, o + i * j:o + i * j + j]
        o += i * j + j
        a = np.matmul(a, W.transpose(0, 2, 1)) + b[:, None, :]
        if l + 2 < len(LAYERS):
            a = np.tanh(a)
    z = a[..., 0]
    return np.mean(np.logaddexp(0.0, z) - y * z, axis=-1).reshape(lead)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hessa", default=os.path.join(ROOT, "build", "hessa"))
    ap.add_argument("--grids", default="21,61,121", help="grid sizes k (k x k points)")
    ap.add_argument("--backend", default="cpu")
    args = ap.parse_args()
    data = np.loadtxt(os.path.join(ROOT, "examples", "mlp_moons", "moons.csv"), delimiter=",", skiprows=1)
    X, y = data[:, :2], data[:, 2]
    job = open(os.path.join(ROOT, "examples", "mlp_moons_scan.toml")).read()
    job = job.replace('"mlp_moons/', '"' + os.path.join(ROOT, "examples", "mlp_moons") + "/")
    print(f"{'grid':>8} {'points':>7} {'numpy s':>9} {'hessa s':>9} {'speed-up':>9} {'max|dlambda|/max|lambda|':>26}"
          f" {'max|df|/max|f|':>15}")
    with tempfile.TemporaryDirectory() as tmp:
        for k in [int(v) for v in args.grids.split(",")]:
            path = os.path.join(tmp, f"scan{k}.toml")
            out = os.path.join(tmp, f"scan{k}.h5")
            text = re.sub(r"counts = \[\d+, \d+\]", f"counts = [{k}, {k}]", job)
            text = re.sub(r'path = "[^"]*"', f'path = "{out}"', text)
            open(path, "w").write(text)
            t0 = time.perf_counter()
            subprocess.run([args.hessa, "run", path, "--quiet", "--backend", args.backend], check=True)
            t_hessa = time.perf_counter() - t0
            with h5py.File(out) as h:
                ab, lam, f = h["points"][()], h["eigenvalues"][()], h["f"][()]
                centre, D = h["scan/centre"][()], h["scan/directions"][()]

            t0 = time.perf_counter()
            loss = lambda p: mlp_loss(X, y, centre + p @ D)  # noqa: E731
            lam_ref, _ = numpy_reference(ab, loss, batch=512)
            f_ref = loss(ab)
            t_numpy = time.perf_counter() - t0
            dl = np.max(np.abs(lam - lam_ref)) / np.max(np.abs(lam_ref))
            df = np.max(np.abs(f - f_ref)) / np.max(np.abs(f_ref))
            print(f"{k:>4}x{k:<3} {len(ab):>7} {t_numpy:>9.3f} {t_hessa:>9.3f} {t_numpy / t_hessa:>8.1f}x {dl:>26.2e}"
                  f" {df:>15.2e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
