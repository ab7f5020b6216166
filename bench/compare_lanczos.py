#!/usr/bin/env python3
"""hessa's Lanczos extremes of a real network's full Hessian against PyTorch + scipy, in one run: same points,
same tolerance, answers checked, per-point times and their ratio.

The network: examples/mlp_digits (MLP 64-128-128-10, tanh, cross-entropy, P = 26 122, trained on scikit-learn's
1797 digits). The points: the trained parameters and two others of a filter-normalized plane through them
(theta* + 0.5 d1 and theta* - 0.5 d2; Li et al.'s directions, made here with numpy from --seed).

hessa: a generated `hessa run` job (kind = "file": the points as parameter sets; hessian = "lanczos", k = 1,
tol = --tol); its time is the summary's seconds over the points.
Reference, written here and sharing nothing with hessa: the loss in torch (float64, the same layout and mean
cross-entropy), its Hessian-vector product by double backward (torch.autograd.grad of the gradient, the graph
built once per point), as a scipy LinearOperator; lambda_max = eigsh(k=1, which="LA"), lambda_min =
eigsh(k=1, which="SA"), both ends directly (tol = --tol, ARPACK's relative tolerance), torch with the same threads.
This is what loss-landscape's hess_vec_prod.min_max_hessian_eigs does, minus its shift trick.

Check (exit 1 on failure): |lambda_hessa - lambda_torch| <= 1e-6 max(|lambda_min|, |lambda_max|) at each end and
point. Exit 77 when torch or scipy is missing (Debian: python3-torch python3-scipy; /usr/bin/python3 is tried
when this interpreter lacks them).

usage: bench/compare_lanczos.py [--hessa build/hessa] [--tol 1e-8] [--points 3] [--quick] [--json out.json]
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DIGITS = os.path.join(ROOT, "examples", "mlp_digits")
WIDTHS = [64, 128, 128, 10]


def have_reference():
    try:
        import numpy  # noqa: F401
        import scipy.sparse.linalg  # noqa: F401
        import torch  # noqa: F401
        return True
    except ImportError:
        return False


def filter_normalized(theta, rng):
    """A Gaussian direction with each filter (row of W_l) scaled to the norm of the centre's row; biases 0."""
    import numpy as np
    d = np.zeros_like(theta)
    off = 0
    for i, o in zip(WIDTHS[:-1], WIDTHS[1:]):
        w = rng.standard_normal((o, i))
        c = theta[off:off + i * o].reshape(o, i)
        w *= np.linalg.norm(c, axis=1, keepdims=True) / (np.linalg.norm(w, axis=1, keepdims=True) + 1e-10)
        d[off:off + i * o] = w.ravel()
        off += i * o + o
    return d


def reference(points, X, y, tol, threads):
    """(lambda_min, lambda_max, seconds) per point by torch HVPs + scipy eigsh."""
    import numpy as np
    import torch
    from scipy.sparse.linalg import LinearOperator, eigsh
    torch.set_num_threads(threads)
    Xt = torch.tensor(X, dtype=torch.float64)
    yt = torch.tensor(y, dtype=torch.int64)

    def loss(theta):
        a, off = Xt, 0
        for l, (i, o) in enumerate(zip(WIDTHS[:-1], WIDTHS[1:])):
            W = theta[off:off + i * o].reshape(o, i)
            off += i * o
            b = theta[off:off + o]
            off += o
            a = a @ W.T + b
            if l < len(WIDTHS) - 2:
                a = torch.tanh(a)
        return torch.nn.functional.cross_entropy(a, yt)

    out = []
    for theta in points:
        t0 = time.perf_counter()
        th = torch.tensor(theta, dtype=torch.float64, requires_grad=True)
        g, = torch.autograd.grad(loss(th), th, create_graph=True)

        def matvec(v):
            hv, = torch.autograd.grad(g, th, torch.tensor(np.ravel(v), dtype=torch.float64), retain_graph=True)
            return hv.detach().numpy()

        op = LinearOperator((th.numel(), th.numel()), matvec=matvec, dtype=np.float64)
        v0 = np.random.default_rng(0).standard_normal(th.numel())
        lmax = eigsh(op, k=1, which="LA", tol=tol, v0=v0, return_eigenvectors=False)[0]
        lmin = eigsh(op, k=1, which="SA", tol=tol, v0=v0, return_eigenvectors=False)[0]
        out.append((float(lmin), float(lmax), time.perf_counter() - t0))
    return out


def worker(args):
    """Runs the reference in this interpreter on the files of the calling one; prints JSON."""
    import numpy as np
    data = np.load(args.worker_data)
    points = np.load(args.worker_points)
    print(json.dumps(reference(points, data[:, :64], data[:, 64].astype(np.int64), args.tol, args.threads)))
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--hessa", default=os.path.join(ROOT, "build", "hessa"))
    ap.add_argument("--tol", type=float, default=1e-8)
    ap.add_argument("--points", type=int, default=3, help="1: the trained point only; 3: and two of the plane")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json")
    ap.add_argument("--quick", action="store_true",
                    help="a smoke run: the plane point theta* + 0.5 d1 alone, tol 1e-6 (~1 min)")
    ap.add_argument("--worker-data", help=argparse.SUPPRESS)
    ap.add_argument("--worker-points", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker_data:
        return worker(args)
    import numpy as np

    interpreter = None
    if have_reference():
        interpreter = sys.executable
    elif os.path.exists("/usr/bin/python3") and subprocess.run(
            ["/usr/bin/python3", "-c", "import numpy, scipy.sparse.linalg, torch"],
            capture_output=True).returncode == 0:
        interpreter = "/usr/bin/python3"
    if interpreter is None:
        print("compare_lanczos: skipped: needs torch and scipy (Debian: python3-torch python3-scipy)")
        return 77

    theta = np.load(os.path.join(DIGITS, "params.npy"))
    rng = np.random.default_rng(args.seed)
    d1, d2 = filter_normalized(theta, rng), filter_normalized(theta, rng)
    points = np.stack([theta, theta + 0.5 * d1, theta - 0.5 * d2])[:args.points]
    if args.quick:  # (the trained point's clustered low end takes ARPACK minutes)
        points, args.tol = points[1:2], 1e-6
    data = np.loadtxt(os.path.join(DIGITS, "digits.csv"), delimiter=",", skiprows=1)

    with tempfile.TemporaryDirectory(dir="/dev/shm" if os.path.isdir("/dev/shm") else None) as tmp:
        np.save(os.path.join(tmp, "points.npy"), points)
        np.save(os.path.join(tmp, "data.npy"), data)
        job = os.path.join(tmp, "job.toml")
        with open(job, "w") as fh:
            fh.write(f"""[function]
model = "mlp"
layers = {WIDTHS}
activation = "tanh"
loss = "cross_entropy"
data = "{os.path.join(DIGITS, 'digits.csv')}"
[points]
kind = "file"
file = "points.npy"
hessian = "lanczos"
[lanczos]
k = 1
tol = {args.tol!r}
steps = 400
[output]
path = "out.h5"
[run]
backend = "cpu"
threads = {args.threads}
""")
        r = subprocess.run([args.hessa, "run", job], capture_output=True, text=True)
        if r.returncode != 0:
            print(r.stdout + r.stderr)
            return 1
        seconds = float(re.search(r"([0-9.]+) s, ", r.stdout).group(1))
        import h5py
        with h5py.File(os.path.join(tmp, "out.h5"), "r") as f:
            h_min, h_max = f["lambda_min"][:], f["lambda_max"][:]
            steps, converged = f["lanczos_steps"][:], f["lanczos_converged"][:]
        w = subprocess.run([interpreter, os.path.abspath(__file__), "--worker-data", os.path.join(tmp, "data.npy"),
                            "--worker-points", os.path.join(tmp, "points.npy"), "--tol", repr(args.tol),
                            "--threads", str(args.threads)], capture_output=True, text=True)
        if w.returncode != 0:
            print(w.stdout + w.stderr)
            return 1
        ref = json.loads(w.stdout)

    ok = True
    ref_seconds = sum(t for _, _, t in ref)
    print(f"MLP {'-'.join(map(str, WIDTHS))} tanh, cross-entropy, P = {theta.size}, 1797 digits; "
          f"lambda_min and lambda_max of the full Hessian, tol {args.tol:g}, {args.threads} threads")
    print(f"{'point':>5} {'hessa l_min':>14} {'torch l_min':>14} {'hessa l_max':>12} {'torch l_max':>12} "
          f"{'rel diff':>9} {'steps':>5}")
    for p, (lmin, lmax, _) in enumerate(ref):
        scale = max(abs(lmin), abs(lmax))
        diff = max(abs(h_min[p] - lmin), abs(h_max[p] - lmax)) / scale
        ok = ok and diff <= 1e-6 and converged[p] == 1
        print(f"{p:>5} {h_min[p]:>14.8g} {lmin:>14.8g} {h_max[p]:>12.8g} {lmax:>12.8g} {diff:>9.1e} {int(steps[p]):>5}")
    per_hessa, per_ref = seconds / len(ref), ref_seconds / len(ref)
    print(f"seconds per point: hessa {per_hessa:.3g} (one `hessa run` of {len(ref)} points), "
          f"torch + eigsh {per_ref:.3g}: hessa {per_ref / per_hessa:.2f}x faster")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"hessa_s_per_point": per_hessa, "torch_s_per_point": per_ref, "ratio": per_ref / per_hessa,
                       "points": [{"hessa": [float(h_min[p]), float(h_max[p])], "torch": [r[0], r[1]]}
                                  for p, r in enumerate(ref)]}, fh, indent=1)
    print("answers agree" if ok else "ANSWERS DISAGREE (or a point did not converge)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
