#!/usr/bin/env python3
"""Times hessa against JAX and PyTorch computing the same Hessians, in one run; checks the answers; prints ratios.

1. n-D rosenbrock (the catalogue entry), float64, the same seeded points for every tool, written once as .npy on
   tmpfs (/dev/shm when present); the first point is the minimum (1, ..., 1), the rest uniform in [-2, 2]^n.
   hessa: `hessa analyze --function rosenbrock --stencil S --eigenvalues`, .npy in and out; its time is the
   `summary.seconds` of <out>.meta.json (reading, the whole pipeline and writing its 19+ columns; not start-up).
   JAX: jax.jit(jax.vmap(jax.hessian(f))) + jnp.linalg.eigvalsh, x64, compiled by a warm-up call first.
   torch: vmap(hessian(f)) (torch.func, or functorch on torch 1.x) + torch.linalg.eigvalsh, float64.
   The peers' time covers the Hessians and eigenvalues only; hessa's also f, g, the classification and the
   step analysis, so the ratios favour the peers. Each tool: best of --repeats.
2. The bundled MLP (examples/mlp_moons: 2-16-16-1 tanh, logistic loss, 200 samples, P = 337): the full P x P
   Hessian and its eigenvalues at the trained parameters (and --model-points - 1 perturbed copies), hessa by a
   generated `hessa run` job (model = "mlp", points = the parameter sets; time = the summary's seconds), against
   torch.autograd.functional.hessian and jax.jit(jax.hessian) of the same loss written out here. Time per point.

Answers are checked, and any disagreement is exit 1: every peer's eigenvalues against hessa's, as max over points
of max_k |dlambda_k| / max(max_k |lambda_k|, 1) (the peers' lambda: exact derivatives), within a tolerance set by
hessa's stencil (EIG_RTOL below); for rosenbrock the class counts (the peers classified by hessa's rule from their
own eigenvalues and gradients); for the MLP also the Hessian entries, max |dH| / max(max |H|, 1). Ratios are
hessa's rate over the peer's (> 1: hessa is faster). A peer that cannot be imported is skipped with one line.
torch is looked for in this interpreter, then in /usr/bin/python3 (Debian's python3-torch), which then runs the
torch part as a subprocess on the same .npy files (this script with --torch-worker), passing timings back as JSON.

usage: bench/compare_jax.py [--hessa build/hessa] [--stencil auto] [--sizes 2:1000000,8:100000] [--quick]
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time

try:
    import numpy as np
except ImportError as e:  # pragma: no cover - depends on the machine
    print(f"compare_jax: needs numpy ({e})")
    sys.exit(77 if "--need-jax" in sys.argv else 1)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from compare_numpy import classify, rosenbrock  # noqa: E402

SIZES = {2: 1_000_000, 8: 100_000, 32: 4000, 128: 400}  # n -> B
QUICK_SIZES = {2: 2000, 8: 500, 32: 40, 128: 4}
MLP_DIR = os.path.join(ROOT, "examples", "mlp_moons")
MLP_LAYERS = [2, 16, 16, 1]  # examples/mlp_moons_scan.toml: tanh activations, logistic loss
CLASSES = ["minimum", "maximum", "saddle", "degenerate", "noncritical"]
# Eigenvalue tolerance, relative to max(max|lambda|, 1) per point, by hessa's stencil. Finite differences (O(h^2):
# central, compact, and anything not named here): truncation ~h^2 f''''/12 and rounding ~eps |f| / h^2 come to
# 3e-8 .. 3e-7 of max|lambda| on these points (rosenbrock n = 2 .. 128; the MLP: 3e-7 .. 9e-7 of 1, its
# max|lambda| < 1), so 1e-5 leaves a margin of 10x or more and still catches a wrong formula (an error of order
# 1). richardson (O(h^4)): ~4e-10 on the catalogue. Exact derivatives on both sides: only two eigensolvers'
# rounding differs, ~n eps max|lambda| (3e-14 at n = 128; hyperdual on the MLP: 6e-15).
FD_EIG_RTOL = 1e-5
EIG_RTOL = {"richardson": 1e-7, "hyperdual": 1e-10, "exact": 1e-10}


def eig_rtol(stencil):
    return EIG_RTOL.get(stencil, FD_EIG_RTOL)


def best_of(repeats, fn):
    """Calls fn() repeats times; returns (the shortest time, the last result)."""
    best, result = float("inf"), None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def relative_error(a, ref):
    """max over points (axis 0) of max |a - ref| / max(max |ref|, 1), the point's entries or eigenvalues: the
    scale of tests/test_accuracy.cpp (and README's accuracy table)."""
    axes = tuple(range(1, ref.ndim))
    scale = np.maximum(np.abs(ref).max(axis=axes), 1.0)
    return float((np.abs(a - ref).max(axis=axes) / scale).max())


def class_counts(classes):
    names, counts = np.unique(np.asarray(classes).astype(str), return_counts=True)
    return {str(k): int(v) for k, v in zip(names, counts)}


def counts_text(counts):
    return ", ".join(f"{counts[c]} {c[:4]}" for c in CLASSES if counts.get(c))


def mlp_example():
    """The bundled two-moons set (X, y) and the trained parameters, float64."""
    data = np.loadtxt(os.path.join(MLP_DIR, "moons.csv"), delimiter=",", skiprows=1)
    return data[:, :2], data[:, 2], np.load(os.path.join(MLP_DIR, "params.npy")).astype(np.float64)


def mlp_loss(theta, X, y, tanh, logaddexp):
    """Mean logistic loss of the tanh MLP at one flat parameter vector theta (README layout: per layer W, out x in
    row-major, then b). Operators and the two functions passed in only, so JAX and torch arrays both take it."""
    a, o = X, 0
    for l in range(len(MLP_LAYERS) - 1):
        i, j = MLP_LAYERS[l], MLP_LAYERS[l + 1]
        W = theta[o:o + i * j].reshape(j, i)
        b = theta[o + i * j:o + i * j + j]
        o += i * j + j
        a = a @ W.T + b
        if l + 2 < len(MLP_LAYERS):
            a = tanh(a)
    z = a[:, 0]
    return (logaddexp(0.0 * z, z) - y * z).mean()  # softplus(z) - y z, BCEWithLogits


# ---------------------------------------------------------------------------------------------------------------
# hessa


class Hessa:
    """Runs the hessa binary. A stencil it rejects (`auto` before hessa had it) is replaced by compact, with a
    warning, so the script works before and after: `analyze` is asked once on one point (exit 2 can then only be
    the stencil), a job when its error names the key analysis.stencil."""

    def __init__(self, exe, stencil, backend, threads, tmp, columns=None):
        self.exe, self.stencil, self.backend, self.threads = exe, stencil, backend, threads
        self.columns = columns  # --columns for hessa's output; None: all
        probe = os.path.join(tmp, "probe.npy")
        np.save(probe, np.ones((1, 2)))
        p = subprocess.run([exe, "analyze", "--function", "rosenbrock", "--points", probe, "--out", probe + ".csv",
                            "--stencil", stencil, "--backend", backend, "--quiet"], capture_output=True, text=True)
        if p.returncode == 2:
            self.fall_back(p.stderr.strip().splitlines())

    def fall_back(self, why):
        print(f"warning: this hessa rejects stencil '{self.stencil}' ({why[0].strip() if why else 'exit 2'}); "
              f"falling back to --stencil compact")
        self.stencil = "compact"

    def run(self, args):
        """Runs hessa with args(stencil); exits the script on failure (with hessa's message)."""
        while True:
            p = subprocess.run([self.exe] + args(self.stencil), capture_output=True, text=True)
            said = [line for line in p.stderr.splitlines() if "analysis.stencil" in line]
            if p.returncode == 2 and said and self.stencil != "compact":
                self.fall_back(said)
                continue
            if p.returncode != 0:
                sys.exit(f"compare_jax: hessa failed (exit {p.returncode}): {' '.join(p.args)}\n{p.stderr}")
            return p

    def rosenbrock(self, points_path, out_path, repeats):
        """Best summary.seconds of `hessa analyze`; the eigenvalues (B, n), classes and the stencil it reports."""
        def args(stencil):
            return ["analyze", "--function", "rosenbrock", "--points", points_path, "--out", out_path,
                    "--eigenvalues", "--stencil", stencil, "--backend", self.backend, "--threads",
                    str(self.threads), "--quiet"] + (["--columns", self.columns] if self.columns else [])
        seconds = []
        for _ in range(repeats):
            self.run(args)
            with open(out_path + ".meta.json") as fh:
                meta = json.load(fh)
            seconds.append(meta["summary"]["seconds"])
        r = np.load(out_path)
        n = meta["function"]["dimension"]
        lam = np.stack([r[f"lambda_{k}"] for k in range(n)], axis=1)
        return min(seconds), lam, r["class"], meta["stencil"]["kind"], meta["backend"]

    def model(self, thetas_path, out_path, job_path, repeats):
        """Best seconds per point of a `hessa run` job: the full Hessians of the MLP loss at the parameter sets."""
        import h5py

        def args(stencil):
            with open(job_path, "w") as fh:
                fh.write(f"""[function]
model = "mlp"
layers = {MLP_LAYERS}
activation = "tanh"
loss = "logistic"
data = "{os.path.join(MLP_DIR, 'moons.csv')}"

[points]
kind = "file"
file = "{thetas_path}"

[analysis]
stencil = "{stencil}"
eigenvalues = true
hessian = true

[output]
path = "{out_path}"
""")
            if os.path.exists(out_path):
                os.remove(out_path)
            return ["run", job_path, "--backend", self.backend, "--threads", str(self.threads)]
        best = float("inf")
        for _ in range(repeats):
            out = self.run(args).stdout
            m = re.search(r"^\s+([0-9.eE+-]+) s, [0-9.eE+-]+ points/s$", out, re.M)
            points = int(re.search(r"^hessa: (\d+) points computed", out, re.M).group(1))
            best = min(best, float(m.group(1)) / points)
        with h5py.File(out_path) as h:
            return best, h["eigenvalues"][()], h["hessian"][()]


# ---------------------------------------------------------------------------------------------------------------
# JAX


def import_jax():
    """jax with float64 enabled, or None and why."""
    try:
        import jax
    except ImportError as e:
        return None, f"not importable by {sys.executable} ({e}); python3 -m pip install jax"
    jax.config.update("jax_enable_x64", True)
    return jax, None


def jax_rosenbrock(jax, points, repeats):
    """Best seconds of jit(vmap(hessian)) + eigvalsh, compile excluded; eigenvalues and (untimed) gradients."""
    import jax.numpy as jnp
    hessians = jax.jit(lambda X: jnp.linalg.eigvalsh(jax.vmap(jax.hessian(rosenbrock))(X)))
    X = jnp.asarray(points)
    hessians(X).block_until_ready()  # compiles
    seconds, lam = best_of(repeats, lambda: hessians(X).block_until_ready())
    g = jax.jit(jax.vmap(jax.grad(rosenbrock)))(X)
    return seconds, np.asarray(lam), np.asarray(g)


def jax_model(jax, thetas, X, y, repeats):
    """Best seconds per point of jit(hessian) of the MLP loss + eigvalsh, compile excluded; eigenvalues, Hessians."""
    import jax.numpy as jnp
    Xj, yj = jnp.asarray(X), jnp.asarray(y)
    loss = lambda t: mlp_loss(t, Xj, yj, jnp.tanh, jnp.logaddexp)  # noqa: E731
    hessian = jax.jit(jax.hessian(loss))
    eigvalsh = jax.jit(jnp.linalg.eigvalsh)
    T = [jnp.asarray(t) for t in thetas]
    eigvalsh(hessian(T[0])).block_until_ready()  # compiles

    def all_points():
        Hs = [hessian(t) for t in T]
        lams = [eigvalsh(H) for H in Hs]
        return [H.block_until_ready() for H in Hs], [lam.block_until_ready() for lam in lams]
    seconds, (Hs, lams) = best_of(repeats, all_points)
    return seconds / len(T), np.stack([np.asarray(v) for v in lams]), np.stack([np.asarray(H) for H in Hs])


# ---------------------------------------------------------------------------------------------------------------
# torch (in this interpreter, or in another one through --torch-worker)


def torch_python(requested):
    """The interpreter that can import torch (and numpy), or None and why."""
    candidates = [requested] if requested else [sys.executable, "/usr/bin/python3"]
    for py in dict.fromkeys(candidates):
        try:
            if py and subprocess.run([py, "-c", "import numpy, torch"], capture_output=True).returncode == 0:
                return py, None
        except OSError:  # no such interpreter
            pass
    return None, (f"not importable by {' or '.join(dict.fromkeys(c for c in candidates if c))}; "
                  "Debian: apt-get install python3-torch (for /usr/bin/python3)")


def torch_rosenbrock(spec):
    """Best seconds of vmap(hessian) + eigvalsh on the points file; saves eigenvalues and (untimed) gradients."""
    import torch
    try:
        from torch.func import grad, hessian, vmap
        api = "torch.func"
    except ImportError:  # torch 1.x (Debian 12's 1.13): the same functions in functorch
        from functorch import grad, hessian, vmap
        api = "functorch"
    X = torch.from_numpy(np.load(spec["points"]))
    hessians = lambda: torch.linalg.eigvalsh(vmap(hessian(rosenbrock))(X))  # noqa: E731
    seconds, lam = best_of(spec["repeats"], hessians)
    np.save(spec["out"] + "_lambda.npy", lam.numpy())
    np.save(spec["out"] + "_grad.npy", vmap(grad(rosenbrock))(X).numpy())
    return {"seconds": seconds, "api": api}


def torch_model(spec):
    """Best seconds per point of torch.autograd.functional.hessian of the MLP loss + eigvalsh; saves both."""
    import torch
    X, y, _ = mlp_example()
    X, y = torch.from_numpy(X), torch.from_numpy(y)
    loss = lambda t: mlp_loss(t, X, y, torch.tanh, torch.logaddexp)  # noqa: E731
    thetas = [torch.from_numpy(t) for t in np.load(spec["thetas"])]

    def all_points(vectorize):
        Hs = [torch.autograd.functional.hessian(loss, t, vectorize=vectorize) for t in thetas]
        return Hs, [torch.linalg.eigvalsh(H) for H in Hs]
    vectorize = True  # batched (vmap) second backward passes, where this torch can
    try:
        all_points(vectorize)
    except RuntimeError:
        vectorize = False
    seconds, (Hs, lams) = best_of(spec["repeats"], lambda: all_points(vectorize))
    np.save(spec["out"] + "_lambda.npy", torch.stack(lams).numpy())
    np.save(spec["out"] + "_hessian.npy", torch.stack(Hs).numpy())
    return {"seconds": seconds / len(thetas), "api": f"autograd.functional.hessian(vectorize={vectorize})"}


def torch_worker(spec_path):
    """--torch-worker SPEC.json: runs spec["task"] with spec["threads"] threads; prints its result as JSON."""
    import torch
    with open(spec_path) as fh:
        spec = json.load(fh)
    torch.set_num_threads(spec["threads"])
    result = {"rosenbrock": torch_rosenbrock, "model": torch_model}[spec["task"]](spec)
    result["torch"] = torch.__version__
    print(json.dumps(result))
    return 0


def run_torch(python, spec, tmp):
    """Runs a torch task in `python` (this script, --torch-worker); returns its JSON result."""
    path = os.path.join(tmp, f"torch_{spec['task']}.json")
    with open(path, "w") as fh:
        json.dump(spec, fh)
    p = subprocess.run([python, os.path.abspath(__file__), "--torch-worker", path], capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"compare_jax: the torch part failed in {python} (exit {p.returncode}):\n{p.stderr}")
    return json.loads(p.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------------------------------------------------


def parse_sizes(text):
    """'2:1000000,8:100000' -> {2: 1000000, 8: 100000}; a bare n takes the default B."""
    sizes = {}
    for item in text.split(","):
        n, _, B = item.partition(":")
        sizes[int(n)] = int(B) if B else SIZES.get(int(n), 1000)
    return sizes


def default_hessa():
    for build in ("build", "build-cpu"):
        exe = os.path.join(ROOT, build, "hessa")
        if os.path.exists(exe):
            return exe
    return os.path.join(ROOT, "build", "hessa")


def bench_rosenbrock(args, hessa, jax, torch_py, tmp, failures, record):
    rng = np.random.default_rng(args.seed)
    sizes = parse_sizes(args.sizes) if args.sizes else (QUICK_SIZES if args.quick else SIZES)
    print(f"\nrosenbrock, float64, points/s (best of {args.repeats}); ratios: hessa's rate over the peer's; "
          "dlambda: max|dlambda| / max(max|lambda|, 1)")
    print(f"{'n':>4} {'B':>8} {'stencil':>9} {'hessa':>10} {'JAX':>10} {'torch':>10} {'hessa/JAX':>10}"
          f" {'hessa/torch':>11} {'dlambda JAX':>12} {'dlambda torch':>13}   classes")
    for n, B in sizes.items():
        points = rng.uniform(-2.0, 2.0, size=(B, n))
        points[0] = 1.0  # the minimum, so that the class check sees more than noncritical points
        pts = os.path.join(tmp, f"rosenbrock{n}.npy")
        np.save(pts, points)
        t_hessa, lam, cls, stencil, backend = hessa.rosenbrock(pts, os.path.join(tmp, f"hessa{n}.npy"), args.repeats)
        counts = class_counts(cls)
        tol = eig_rtol(stencil)
        row = {"n": n, "B": B, "stencil": stencil, "backend": backend, "hessa_points_per_s": B / t_hessa,
               "classes": counts, "eig_rtol": tol}
        peers = {}
        if jax:
            t, lam_peer, g = jax_rosenbrock(jax, points, args.repeats)
            peers["JAX"] = (t, lam_peer, g)
        if torch_py:
            out = os.path.join(tmp, f"torch{n}")
            res = run_torch(torch_py, {"task": "rosenbrock", "points": pts, "out": out, "repeats": args.repeats,
                                       "threads": args.threads}, tmp)
            peers["torch"] = (res["seconds"], np.load(out + "_lambda.npy"), np.load(out + "_grad.npy"))
            row["torch_api"] = res["api"]
        cells = {}
        for name, (t, lam_peer, g) in peers.items():
            err = relative_error(lam, lam_peer)
            peer_counts = class_counts(classify(lam_peer, np.linalg.norm(g, axis=1)))
            row[name] = {"points_per_s": B / t, "ratio": t / t_hessa, "eig_error": err, "classes": peer_counts}
            cells[name] = (f"{B / t:>10.4g}", f"{t / t_hessa:>9.2f}x", f"{err:>8.1e}")
            if err > tol:
                failures.append(f"rosenbrock n = {n}: {name}'s eigenvalues differ from hessa's by {err:.2e} of "
                                f"max(max|lambda|, 1) (tolerance {tol:g} for the {stencil} stencil)")
            if peer_counts != counts:
                failures.append(f"rosenbrock n = {n}: class counts differ: hessa {counts}, {name} {peer_counts}")
        skip = (f"{'-':>10}", f"{'-':>10}", f"{'-':>8}")
        j, t_ = cells.get("JAX", skip), cells.get("torch", skip)
        print(f"{n:>4} {B:>8} {stencil:>9} {B / t_hessa:>10.4g} {j[0]} {t_[0]} {j[1]:>10} {t_[1]:>11}"
              f" {j[2]:>12} {t_[2]:>13}   {counts_text(counts)}", flush=True)
        record.append(row)


def bench_model(args, hessa, jax, torch_py, tmp, failures, record):
    try:
        import h5py  # noqa: F401  (hessa run writes HDF5)
    except ImportError as e:
        print(f"\nMLP full Hessian: skipped: reading hessa's HDF5 result needs h5py ({e})")
        return
    X, y, theta = mlp_example()
    rng = np.random.default_rng(args.seed)
    k = args.model_points or (1 if args.quick else 16)
    thetas = np.stack([theta] + [theta + 0.1 * rng.standard_normal(theta.size) for _ in range(k - 1)])
    path = os.path.join(tmp, "thetas.npy")
    np.save(path, thetas)
    t_hessa, lam, H = hessa.model(path, os.path.join(tmp, "model.h5"), os.path.join(tmp, "model.toml"),
                                  args.repeats)
    tol = eig_rtol(hessa.stencil)
    print(f"\nMLP {'-'.join(map(str, MLP_LAYERS))} on 200 samples, full {theta.size} x {theta.size} Hessian + "
          f"eigenvalues, {k} parameter set(s), seconds per point (best of {args.repeats}); hessa/tool: the tool's "
          "time over hessa's; dlambda, dH: max|d| / max(max|.|, 1)")
    print(f"{'tool':>6} {'s/point':>9} {'hessa/tool':>11} {'dlambda':>9} {'dH':>15}   how")
    print(f"{'hessa':>6} {t_hessa:>9.4f} {'':>11} {'':>9} {'':>15}   hessa run, {hessa.stencil} stencil")
    row = {"P": int(theta.size), "points": k, "stencil": hessa.stencil, "hessa_seconds_per_point": t_hessa,
           "eig_rtol": tol}
    peers = {}
    if jax:
        t, lam_peer, H_peer = jax_model(jax, thetas, X, y, args.repeats)
        peers["JAX"] = (t, lam_peer, H_peer, "jax.jit(jax.hessian(loss)) + eigvalsh")
    if torch_py:
        out = os.path.join(tmp, "torch_model")
        res = run_torch(torch_py, {"task": "model", "thetas": path, "out": out, "repeats": args.repeats,
                                   "threads": args.threads}, tmp)
        peers["torch"] = (res["seconds"], np.load(out + "_lambda.npy"), np.load(out + "_hessian.npy"),
                          f"torch {res['torch']} {res['api']} + eigvalsh")
    for name, (t, lam_peer, H_peer, how) in peers.items():
        err = relative_error(lam, lam_peer)
        herr = relative_error(H, H_peer)
        row[name] = {"seconds_per_point": t, "ratio": t / t_hessa, "eig_error": err, "hessian_error": herr}
        print(f"{name:>6} {t:>9.4f} {t / t_hessa:>10.2f}x {err:>9.1e} {herr:>15.1e}   {how}", flush=True)
        for what, e in (("eigenvalues", err), ("Hessian entries", herr)):
            if e > tol:
                failures.append(f"MLP: {name}'s {what} differ from hessa's by {e:.2e} (tolerance {tol:g} for the "
                                f"{hessa.stencil} stencil)")
    record.append(row)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hessa", default=default_hessa(), help="the hessa binary (default: build/ or build-cpu/)")
    ap.add_argument("--stencil", default="auto",
                    help="hessa's --stencil (default auto; a hessa without it falls back to compact, with a warning)")
    ap.add_argument("--backend", default="cpu", help="hessa's --backend (default cpu: the peers run on the CPU)")
    ap.add_argument("--threads", type=int, default=os.cpu_count(), help="hessa's and torch's threads (default: "
                    "every core; JAX/XLA uses every core)")
    ap.add_argument("--sizes", help="n:B pairs, e.g. 2:1000000,8:100000,32:4000,128:400 (the default)")
    ap.add_argument("--quick", action="store_true", help="small B (a smoke test: the answers, not the rates)")
    ap.add_argument("--repeats", type=int, help="timed runs per tool, the best kept (default 3; --quick 1)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--model-points", type=int, help="MLP parameter sets (default 16; --quick 1)")
    ap.add_argument("--no-model", action="store_true", help="rosenbrock only")
    ap.add_argument("--no-jax", action="store_true")
    ap.add_argument("--no-torch", action="store_true")
    ap.add_argument("--torch-python", help="the interpreter for the torch part (default: this one, else "
                    "/usr/bin/python3)")
    ap.add_argument("--need-jax", action="store_true", help="exit 77 (ctest: skipped) when JAX is not importable")
    ap.add_argument("--hessa-columns", choices=["all", "peer"], default="all",
                    help="hessa's written columns: all of them (default), or peer: what the peers produce, the "
                    "eigenvalues and the class (--columns 'lambda_*,class')")
    ap.add_argument("--json", help="also write the figures to this JSON file")
    ap.add_argument("--torch-worker", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.torch_worker:
        return torch_worker(args.torch_worker)
    if args.repeats is None:
        args.repeats = 1 if args.quick else 3

    jax = torch_py = None
    if not args.no_jax:
        jax, why = import_jax()
        if not jax:
            print(f"JAX: skipped: {why}")
            if args.need_jax:
                return 77
    if not args.no_torch:
        torch_py, why = torch_python(args.torch_python)
        print(f"torch: skipped: {why}" if not torch_py else f"torch: with {torch_py}")
    if not os.path.exists(args.hessa):
        sys.exit(f"compare_jax: no hessa binary at {args.hessa} (build it, or pass --hessa)")
    failures, record = [], {"rosenbrock": [], "mlp": []}
    shm = "/dev/shm" if os.path.isdir("/dev/shm") else None
    with tempfile.TemporaryDirectory(prefix="hessa-compare-jax-", dir=shm) as tmp:
        hessa = Hessa(args.hessa, args.stencil, args.backend, args.threads, tmp,
                      "lambda_*,class" if args.hessa_columns == "peer" else None)
        print(f"hessa: {args.hessa}, --stencil {hessa.stencil}, --backend {args.backend}, {args.threads} threads"
              + (f"; JAX {jax.__version__}" if jax else ""))
        bench_rosenbrock(args, hessa, jax, torch_py, tmp, failures, record["rosenbrock"])
        if not args.no_model:
            bench_model(args, hessa, jax, torch_py, tmp, failures, record["mlp"])
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(record, fh, indent=1)
    for f in failures:
        print(f"FAIL: {f}")
    if failures:
        print(f"{len(failures)} disagreement(s)")
    else:
        print("answers agree" if jax or torch_py else "hessa alone: no peer to check its answers against")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
