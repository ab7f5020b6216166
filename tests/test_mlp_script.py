#!/usr/bin/env python3
"""Tests of scripts/hessa-mlp: data sets (deterministic, shapes, class balance, on the curves without noise),
training (lowers the loss, deterministic, backpropagation against central differences), export (.npz in torch
and flax order, .pt through PyTorch or a stand-in for it) into the flat layout, `loss` against a plain
per-sample loop for every loss and activation, bad input (exit 2, one line), and -- given --hessa EXE and
h5py -- `hessa run` direction scans of model losses whose /f agrees with `loss` at every scan point. A plain
script: prints each failure and 'N passed, N failed'; exit 0, 1 on failure, 77 (skipped) when numpy is not
importable.

  python3 tests/test_mlp_script.py [--hessa build/hessa] [--keep DIR]
"""
import argparse
import importlib.machinery
import importlib.util
import math
import os
import subprocess
import sys

try:
    import numpy as np
except ImportError as e:
    print(f"skipped: the MLP script needs numpy ({e})")
    sys.exit(77)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, "scripts", "hessa-mlp")
ACTIVATIONS = ["tanh", "relu", "sigmoid", "gelu"]

# `loss` (numpy: BLAS matrix products, vectorised tanh/exp) against the loop below (Python floats, math.*):
# both are float64 evaluations of the same formulas that differ only in summation order and in last-bit
# rounding of the elementary functions, a few ulp per operation through three layers of O(1) values, so
# ~1e-15 relative. 1e-12 leaves a wide margin for other BLAS / libm builds, while a wrong layout, activation
# or loss changes the value in the first few digits.
LOSS_RTOL = 1e-12

from script_harness import check, run_tests  # noqa: E402  (the folder of this script is on sys.path)


def run(*args, env=None):
    r = subprocess.run([sys.executable, SCRIPT, *map(str, args)], capture_output=True, text=True, timeout=120,
                       env=env)
    return r.returncode, r.stdout, r.stderr


def run_ok(what, *args, env=None):
    rc, so, se = run(*args, env=env)
    check(rc == 0, f"{what}: exit {rc}, stderr {se.strip()!r}")
    return so


def bad(args, needle, what, env=None):
    rc, _, se = run(*args, env=env)
    check(rc == 2, f"{what}: exit {rc} (expected 2), stderr {se!r}")
    check(needle in se, f"{what}: message mentions {needle!r}: {se!r}")
    check(se.startswith("hessa-mlp: error:") and se.count("\n") == 1, f"{what}: one line on stderr: {se!r}")
    check("Traceback" not in se, f"{what}: no traceback")


def read_csv(path):
    with open(path) as fh:
        header = fh.readline().strip()
    return header, np.loadtxt(path, delimiter=",", skiprows=1)


def model_args(data, layers, act, loss):
    return ["--data", data, "--layers", ",".join(map(str, layers)), "--activation", act, "--loss", loss]


# ---------------------------------------------------------------------------------------------------------
# The reference: one sample at a time, the layout written out index by index


def ref_loss(X, Y, widths, act, loss, theta):
    """Mean loss by a per-sample loop, the layout spelled out: W_l[o, i] = theta[off_l + o * in + i], then
    b_l[o] = theta[off_l + in * out + o], off_l the sum of the earlier layers' in * out + out."""
    f = {"tanh": math.tanh, "relu": lambda v: v if v > 0 else 0.0, "sigmoid": sigmoid,
         "gelu": lambda v: 0.5 * v * (1.0 + math.erf(v / math.sqrt(2.0)))}[act]
    L, k, total = len(widths) - 1, widths[-1], 0.0
    for s in range(X.shape[0]):
        a, off = [float(v) for v in X[s]], 0
        for l in range(L):
            n_in, n_out = widths[l], widths[l + 1]
            z = []
            for o in range(n_out):
                v = float(theta[off + n_in * n_out + o])
                for i in range(n_in):
                    v += float(theta[off + o * n_in + i]) * a[i]
                z.append(v)
            off += n_in * n_out + n_out
            a = [f(v) for v in z] if l + 1 < L else z
        y = [float(v) for v in Y[s]]
        if loss == "mse":
            total += sum((a[j] - y[j]) ** 2 for j in range(k))
        elif loss == "logistic":
            z0 = a[0]
            total += max(z0, 0.0) + math.log1p(math.exp(-abs(z0))) - y[0] * z0
        else:
            zmax = max(a)
            total += zmax + math.log(sum(math.exp(v - zmax) for v in a)) - a[int(y[0])]
    return total / (X.shape[0] * (k if loss == "mse" else 1))


def sigmoid(v):
    if v >= 0:
        return 1.0 / (1.0 + math.exp(-v))
    e = math.exp(v)
    return e / (1.0 + e)


def random_problem(rng, loss, m=40, widths=(3, 5, 4)):
    k = {"mse": 2, "cross_entropy": 3, "logistic": 1}[loss]
    widths = list(widths) + [k]
    X = rng.normal(size=(m, widths[0]))
    if loss == "mse":
        Y = rng.normal(size=(m, k))
    elif loss == "cross_entropy":
        Y = rng.integers(0, k, size=(m, 1)).astype(float)
    else:
        Y = rng.choice([0.0, 1.0, 0.25], size=(m, 1))  # BCE allows soft targets in [0, 1]
    P = sum(i * o + o for i, o in zip(widths[:-1], widths[1:]))
    return widths, X, Y, P


def rel_err(a, b):
    return abs(a - b) / max(abs(b), 1e-300)


# ---------------------------------------------------------------------------------------------------------


def test_dataset(tmp):
    a, b, c = (os.path.join(tmp, f"moons_{s}.csv") for s in "abc")
    run_ok("moons", "dataset", "moons", "--samples", 200, "--noise", 0.1, "--seed", 0, "-o", a)
    run_ok("moons again", "dataset", "moons", "--samples", 200, "--noise", 0.1, "--seed", 0, "-o", b)
    run_ok("moons seed 1", "dataset", "moons", "--samples", 200, "--noise", 0.1, "--seed", 1, "-o", c)
    with open(a, "rb") as fa, open(b, "rb") as fb, open(c, "rb") as fc:
        ta, tb, tc = fa.read(), fb.read(), fc.read()
    check(ta == tb, "moons: the same seed gives the same file")
    check(ta != tc, "moons: another seed gives another file")
    header, t = read_csv(a)
    check(header == "x0,x1,label", f"moons: header {header!r}")
    check(t.shape == (200, 3), f"moons: shape {t.shape}")
    check(np.array_equal(np.bincount(t[:, 2].astype(int)), [100, 100]), "moons: 100 samples a class")
    check(abs(t[:, 2].mean() - 0.5) < 1e-12 and not np.array_equal(t[:, 2], np.sort(t[:, 2])), "moons: shuffled")

    # the .npy holds the same values as the CSV (whose decimals are exact: repr round-trips)
    npy = os.path.join(tmp, "moons.npy")
    run_ok("moons .npy", "dataset", "moons", "--samples", 200, "--noise", 0.1, "--seed", 0, "-o", npy)
    arr = np.load(npy)
    check(arr.dtype == np.float64 and np.array_equal(arr, t), "moons: .npy equals the CSV exactly")

    # without noise, on sklearn's two half circles; an odd count gives the inner moon one more
    z = os.path.join(tmp, "moons0.csv")
    run_ok("moons noise 0", "dataset", "moons", "--samples", 201, "--noise", 0, "--seed", 5, "-o", z)
    t = read_csv(z)[1]
    o, i = t[t[:, 2] == 0], t[t[:, 2] == 1]
    check((len(o), len(i)) == (100, 101), f"moons 201: class sizes {len(o)}, {len(i)}")
    check(np.allclose(np.hypot(o[:, 0], o[:, 1]), 1, atol=1e-12) and o[:, 1].min() >= -1e-12,
          "moons: label 0 on the upper unit half circle")
    check(np.allclose(np.hypot(i[:, 0] - 1, i[:, 1] - 0.5), 1, atol=1e-12) and i[:, 1].max() <= 0.5 + 1e-12,
          "moons: label 1 on the lower half circle around (1, 0.5)")

    # spirals: C arms, sizes differing by at most one, radius t and angle 2 pi (c/C + t) without noise
    s1, s2 = os.path.join(tmp, "sp1.csv"), os.path.join(tmp, "sp2.csv")
    run_ok("spirals", "dataset", "spirals", "--classes", 3, "--samples", 301, "--noise", 0, "--seed", 2, "-o", s1)
    run_ok("spirals again", "dataset", "spirals", "--classes", 3, "--samples", 301, "--noise", 0, "--seed", 2,
           "-o", s2)
    with open(s1) as f1, open(s2) as f2:
        check(f1.read() == f2.read(), "spirals: the same seed gives the same file")
    t = read_csv(s1)[1]
    check(t.shape == (301, 3), f"spirals: shape {t.shape}")
    check(np.array_equal(np.bincount(t[:, 2].astype(int)), [101, 100, 100]), "spirals: class sizes 101, 100, 100")
    r = np.hypot(t[:, 0], t[:, 1])
    turn = np.angle(np.exp(1j * (np.arctan2(t[:, 1], t[:, 0]) - 2 * np.pi * (t[:, 2] / 3 + r))))
    check(r.min() > 0 and r.max() < 1 and np.allclose(turn, 0, atol=1e-9), "spirals: arms at angle 2 pi (c/3 + r)")
    sp = os.path.join(tmp, "sp_noise.csv")
    run_ok("spirals default classes", "dataset", "spirals", "--samples", 50, "--noise", 0.05, "--seed", 2, "-o", sp)
    check(np.array_equal(np.bincount(read_csv(sp)[1][:, 2].astype(int)), [25, 25]), "spirals: 2 classes by default")

    bad(["dataset", "moons", "--classes", 3, "-o", os.path.join(tmp, "x.csv")], "--classes", "moons with 3 classes")
    bad(["dataset", "moons", "-o", os.path.join(tmp, "x.txt")], ".csv or .npy", "dataset to a .txt")
    bad(["dataset", "moons", "--noise", -1, "-o", os.path.join(tmp, "x.csv")], "--noise", "negative noise")
    bad(["dataset", "circles", "-o", os.path.join(tmp, "x.csv")], "invalid choice", "unknown data set")


def test_train(tmp, mod):
    data = os.path.join(tmp, "train_moons.csv")
    run_ok("train data", "dataset", "moons", "--samples", 100, "--noise", 0.15, "--seed", 3, "-o", data)
    pa, pb, pc = (os.path.join(tmp, f"params_{s}.npy") for s in "abc")
    args = model_args(data, [2, 8, 1], "tanh", "logistic") + ["--steps", 300, "--lr", 0.02]
    out = run_ok("train", "train", *args, "--seed", 1, "-o", pa)
    run_ok("train again", "train", *args, "--seed", 1, "-o", pb)
    run_ok("train seed 2", "train", *args, "--seed", 2, "-o", pc)
    a, b, c = np.load(pa), np.load(pb), np.load(pc)
    check(a.shape == (2 * 8 + 8 + 8 + 1,) and a.dtype == np.float64, f"train: shape {a.shape}, dtype {a.dtype}")
    check(np.array_equal(a, b), "train: the same seed gives the same parameters")
    check(not np.allclose(a, c), "train: another seed gives other parameters")
    losses = [float(line.split("loss")[1].split()[0]) for line in out.splitlines() if line.startswith("step")]
    check(len(losses) == 2 and losses[1] < 0.5 * losses[0], f"train: the loss falls: {losses}")
    acc = [line for line in out.splitlines() if line.startswith("training accuracy")]
    check(acc and float(acc[0].split()[2].rstrip("%")) >= 90, f"train: accuracy line {acc}")
    check("layers = [2, 8, 1]" in out, "train: prints the layers line")
    # the final loss it prints is the loss `loss` computes for the written vector
    got = float(run_ok("loss of trained", "loss", *model_args(data, [2, 8, 1], "tanh", "logistic"),
                       "--params", pa).strip())
    check(len(losses) == 2 and rel_err(got, losses[1]) <= 1e-15, f"train: printed final loss {losses} vs {got}")

    # PyTorch's nn.Linear start: every weight and bias within 1/sqrt(fan_in)
    p0 = os.path.join(tmp, "params_0.npy")
    run_ok("train 0 steps", "train", *model_args(data, [2, 8, 1], "tanh", "logistic"), "--steps", 0, "-o", p0)
    t0 = np.load(p0)
    check(np.abs(t0[:24]).max() <= 1 / math.sqrt(2) and np.abs(t0[24:]).max() <= 1 / math.sqrt(8)
          and np.abs(t0[:24]).max() > 0.5, "train: uniform +-1/sqrt(fan_in) start")

    # the other losses train too
    sp = os.path.join(tmp, "train_spirals.csv")
    run_ok("spirals data", "dataset", "spirals", "--classes", 3, "--samples", 90, "--noise", 0.02, "--seed", 4,
           "-o", sp)
    for loss, layers, act in (("cross_entropy", [2, 12, 3], "relu"), ("mse", [2, 6, 1], "gelu")):
        out = run_ok(f"train {loss}", "train", *model_args(sp, layers, act, loss), "--steps", 200, "--lr", 0.02,
                     "-o", os.path.join(tmp, f"p_{loss}.npy"))
        losses = [float(line.split("loss")[1].split()[0]) for line in out.splitlines() if line.startswith("step")]
        check(len(losses) == 2 and losses[1] < 0.8 * losses[0], f"train {loss} {act}: the loss falls: {losses}")
        check(("training accuracy" in out) == (loss != "mse"), f"train {loss}: accuracy only for classification")

    # the backpropagation gradient against central differences, O(h^2): with h = 1e-5 the truncation error is
    # ~1e-10 and the rounding error eps |f| / h ~ 1e-11, far below the 1e-7 allowed
    if mod is None:
        return
    rng = np.random.default_rng(7)
    for loss in ("mse", "cross_entropy", "logistic"):
        for act in ACTIVATIONS:
            widths, X, Y, P = random_problem(rng, loss, m=12, widths=(3, 4, 3))
            path = os.path.join(tmp, f"g_{loss}_{act}.npy")
            np.save(path, np.column_stack([X, Y]))
            prob = mod.Problem(path, widths, act, loss)
            theta = rng.normal(scale=0.8, size=P)
            value, g = prob.gradient(theta)
            h, fd = 1e-5, np.empty(P)
            for j in range(P):
                e = np.zeros(P)
                e[j] = h
                fd[j] = (prob.value(theta + e) - prob.value(theta - e)) / (2 * h)
            err = np.abs(fd - g).max() / max(1.0, np.abs(g).max())
            check(err < 1e-7, f"gradient {loss} {act}: backprop vs central differences {err:.2e}")
            check(value == prob.value(theta), f"gradient {loss} {act}: the same loss as the forward pass")


def test_loss(tmp):
    rng = np.random.default_rng(11)
    for loss in ("mse", "cross_entropy", "logistic"):
        for act in ACTIVATIONS:
            widths, X, Y, P = random_problem(rng, loss)
            data = os.path.join(tmp, f"d_{loss}_{act}.csv")
            with open(data, "w") as fh:
                fh.write("# a random problem\n" + ",".join(f"c{j}" for j in range(X.shape[1] + Y.shape[1])) + "\n")
                for row in np.column_stack([X, Y]):
                    fh.write(",".join(repr(float(v)) for v in row) + "\n")
            thetas = rng.normal(scale=0.8, size=(3, P))
            pfile, points = os.path.join(tmp, "theta.npy"), os.path.join(tmp, "points.npy")
            np.save(pfile, thetas[0])
            np.save(points, thetas)
            what = f"loss {loss} {act}"
            got = run_ok(what, "loss", *model_args(data, widths, act, loss), "--params", pfile).split()
            ref = [ref_loss(X, Y, widths, act, loss, t) for t in thetas]
            check(len(got) == 1 and rel_err(float(got[0]), ref[0]) <= LOSS_RTOL,
                  f"{what}: {got} vs the per-sample loop {ref[0]!r}")
            got = run_ok(what, "loss", *model_args(data, widths, act, loss), "--points", points).split()
            check(len(got) == 3 and all(rel_err(float(g), r) <= LOSS_RTOL for g, r in zip(got, ref)),
                  f"{what} --points: {got} vs the per-sample loop {ref}")


def test_export(tmp):
    # known arrays: layer 0 maps 2 -> 3, layer 1 maps 3 -> 1
    W0 = np.arange(1.0, 7.0).reshape(3, 2)  # out x in, as torch.nn.Linear
    b0 = np.array([10.0, 11.0, 12.0])
    W1 = np.array([[20.0, 21.0, 22.0]])
    b1 = np.array([30.0])
    expected = np.empty(13)
    for o in range(3):
        for i in range(2):
            expected[o * 2 + i] = W0[o, i]  # W0 row-major
        expected[6 + o] = b0[o]  # then b0
        expected[9 + o] = W1[0, o]  # then W1 at offset 2*3 + 3
    expected[12] = b1[0]

    npz, out = os.path.join(tmp, "torch_order.npz"), os.path.join(tmp, "exported.npy")
    np.savez(npz, **{"0.weight": W0, "0.bias": b0, "2.weight": W1, "2.bias": b1})
    so = run_ok("export .npz", "export", npz, "-o", out)
    got = np.load(out)
    check(got.dtype == np.float64 and np.array_equal(got, expected), f"export .npz: layout {got.tolist()}")
    check("layers = [2, 3, 1]" in so.splitlines(), f"export: prints the layers line: {so!r}")
    run_ok("export --layers", "export", npz, "-o", out, "--layers", "2,3,1")
    bad(["export", npz, "-o", out, "--layers", "2,4,1"], "--layers says [2, 4, 1]", "export --layers mismatch")

    # flax order: each Dense as 'bias' then 'kernel' (in x out); float32 as JAX keeps them
    flax = os.path.join(tmp, "flax.npz")
    np.savez(flax, **{"Dense_0/bias": b0.astype(np.float32), "Dense_0/kernel": W0.T.astype(np.float32),
                      "Dense_1/bias": b1.astype(np.float32), "Dense_1/kernel": W1.T.astype(np.float32)})
    run_ok("export flax", "export", flax, "-o", out, "--transpose-weights")
    check(np.array_equal(np.load(out), expected), "export flax --transpose-weights: the same layout")
    bad(["export", flax, "-o", out], "--transpose-weights", "flax kernels without --transpose-weights")

    # the exported vector evaluates to the loss of those arrays
    rng = np.random.default_rng(3)
    X, Y = rng.normal(size=(20, 2)), rng.normal(size=(20, 1))
    data = os.path.join(tmp, "export_data.npy")
    np.save(data, np.column_stack([X, Y]))
    run_ok("export", "export", npz, "-o", out)
    got = float(run_ok("loss of export", "loss", *model_args(data, [2, 3, 1], "sigmoid", "mse"), "--params", out))
    check(rel_err(got, ref_loss(X, Y, [2, 3, 1], "sigmoid", "mse", expected)) <= LOSS_RTOL, "export: loss round trip")

    # malformed weights
    for name, arrays, needle in (
            ("bias length", {"w": W0, "b": b1, "w2": W1, "b2": b1}, "b has 1 entries"),
            ("no chain", {"w": W0, "b": b0, "w2": W0, "b2": b0}, "takes 2 inputs, but layer 1 gives 3"),
            ("no bias", {"w": W0, "w2": W1, "b2": b1}, "without its bias"),
            ("3-D", {"w": np.zeros((2, 2, 2)), "b": b0}, "shape (2, 2, 2)")):
        path = os.path.join(tmp, "bad_export.npz")
        np.savez(path, **arrays)
        bad(["export", path, "-o", out], needle, f"export: {name}")
    bad(["export", os.path.join(tmp, "w.h5"), "-o", out], "no such file", "export: missing file")
    open(os.path.join(tmp, "w.bin"), "w").close()
    bad(["export", os.path.join(tmp, "w.bin"), "-o", out], ".npz", "export: unknown kind")

    test_export_pt(tmp, W0, b0, W1, b1, expected)


FAKE_TORCH = '''"""A stand-in for the part of PyTorch that hessa-mlp export uses: load() of an .npz renamed .pt."""
import numpy as np


class Tensor:
    def __init__(self, a):
        self.a = np.asarray(a, np.float32)

    def detach(self):
        return self

    def cpu(self):
        return self

    def double(self):
        return Tensor64(self.a)

    def numpy(self):
        return self.a


class Tensor64(Tensor):
    def __init__(self, a):
        self.a = np.asarray(a, np.float64)


class nn:
    class Module:
        def __init__(self, sd):
            self.sd = sd

        def state_dict(self):
            return self.sd


def is_tensor(v):
    return isinstance(v, Tensor)


def load(path, map_location=None, weights_only=None):
    z = np.load(path)
    sd = {k: Tensor(z[k]) for k in z.files}
    return {"epoch": 3, "model": nn.Module(sd)} if "checkpoint" in path else sd
'''


def test_export_pt(tmp, W0, b0, W1, b1, expected):
    """A .pt through real PyTorch when it is installed, else through the stand-in above (the unwrapping of
    modules and checkpoints and the tensor conversion; not torch.load itself)."""
    out = os.path.join(tmp, "from_pt.npy")
    have_torch = importlib.util.find_spec("torch") is not None
    env = None
    sd_path, ckpt_path = os.path.join(tmp, "model.pt"), os.path.join(tmp, "checkpoint.pt")
    if have_torch:
        import torch

        net = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Tanh(), torch.nn.Linear(3, 1)).double()
        with torch.no_grad():
            for p, v in zip(net.parameters(), (W0, b0, W1, b1)):
                p.copy_(torch.from_numpy(v))
        torch.save(net.state_dict(), sd_path)
        torch.save({"epoch": 3, "model_state_dict": net.state_dict()}, ckpt_path)
    else:
        fake = os.path.join(tmp, "fake_torch")
        os.makedirs(os.path.join(fake, "torch"), exist_ok=True)
        with open(os.path.join(fake, "torch", "__init__.py"), "w") as fh:
            fh.write(FAKE_TORCH)
        env = dict(os.environ, PYTHONPATH=fake)
        for path in (sd_path, ckpt_path):
            with open(path, "wb") as fh:
                np.savez(fh, **{"0.weight": W0, "0.bias": b0, "2.weight": W1, "2.bias": b1})
        bad(["export", sd_path, "-o", out], "needs PyTorch", "export .pt without PyTorch")
    for path, what in ((sd_path, "state_dict"), (ckpt_path, "checkpoint")):
        so = run_ok(f"export .pt {what}", "export", path, "-o", out, env=env)
        check(np.array_equal(np.load(out), expected) and "layers = [2, 3, 1]" in so,
              f"export .pt ({what}{'' if have_torch else ', stand-in torch'}): layout")


def test_bad_input(tmp):
    data = os.path.join(tmp, "bad_data.csv")
    with open(data, "w") as fh:
        fh.write("x0,x1,label\n0.5,0.25,1\n0.1,0.2,0\n0.3,0.4,2\n")
    params = os.path.join(tmp, "bad_params.npy")
    np.save(params, np.zeros(2 * 4 + 4 + 4 * 2 + 2))
    ce = model_args(data, [2, 4, 2], "tanh", "cross_entropy")
    bad(["loss", *model_args(data, [3, 4, 1], "tanh", "logistic"), "--params", params],
        "bad_data.csv: 3 columns, expected 3 features + 1 target", "column count")
    bad(["loss", *model_args(data, [2, 4, 2], "tanh", "mse"), "--params", params],
        "3 columns, expected 2 features + 2 targets", "mse target columns")
    bad(["loss", *ce, "--params", params], "bad_data.csv:4: class label 2 is not an integer in 0..1", "class label")
    bad(["loss", *model_args(data, [2, 4, 1], "tanh", "logistic"), "--params", params], "outside [0, 1]",
        "logistic target")
    bad(["loss", *model_args(data, [2, 4, 3], "tanh", "logistic"), "--params", params], "one output",
        "logistic with 3 outputs")
    bad(["loss", *model_args(data, [2, 4, 3], "tanh", "cross_entropy"), "--params", params],
        "bad_params.npy: 22 parameters, the layers need 27", "parameter count")
    bad(["loss", *ce], "one of --params", "neither --params nor --points")
    pts = os.path.join(tmp, "bad_points.npy")
    np.save(pts, np.zeros((2, 5)))
    bad(["loss", *model_args(data, [2, 4, 3], "tanh", "cross_entropy"), "--points", pts], "rows of 5 parameters",
        "points width")
    bad(["loss", *model_args(os.path.join(tmp, "nope.csv"), [2, 4, 1], "tanh", "logistic"), "--params", params],
        "no such file", "missing data file")
    bad(["loss", *model_args(data, [2, 4, 3], "tanh", "cross_entropy"), "--params", os.path.join(tmp, "nope.npy")],
        "no such file", "missing params file")
    bad(["loss", *model_args(data, [2, 4, 1], "swish", "logistic"), "--params", params], "invalid choice",
        "unknown activation")
    bad(["loss", *model_args(data, ["2", "x", "1"], "tanh", "logistic"), "--params", params], "--layers",
        "bad --layers")
    bad(["loss", "--layers", "2,4,1", "--loss", "mse", "--params", params], "--data", "missing --data")
    ragged = os.path.join(tmp, "ragged.csv")
    with open(ragged, "w") as fh:
        fh.write("1,2,0\n3,4\n")
    bad(["train", *model_args(ragged, [2, 4, 1], "tanh", "logistic"), "-o", params], "ragged.csv:2: 2 values",
        "ragged CSV")
    words = os.path.join(tmp, "words.csv")
    with open(words, "w") as fh:
        fh.write("a,b,c\n1,2,0\n1,two,0\n")
    bad(["train", *model_args(words, [2, 4, 1], "tanh", "logistic"), "-o", params], "words.csv:3: expected numbers",
        "a word in a data row")
    bad([], "required", "no subcommand")


HESSA_JOB = """[function]
model = "mlp"
layers = {layers}
activation = "{act}"
loss = "{loss}"
data = "{data}"
parameters = "{params}"

[points]
kind = "directions"
lower = [-0.5, -0.5]
upper = [0.5, 0.5]
counts = [{count}, {count}]
directions = "{directions}"
seed = 3
hessian = "{hessian}"

[output]
path = "{out}"
chunk = 8
"""


def test_hessa_agrees(tmp, hessa):
    """hessa's C++ loss (BLAS) and this script's numpy loss at the same parameter vectors: /f of a direction
    scan against `loss --points` at centre + points @ directions (README.md, "HDF5 layout"). Same formulas in
    float64, so LOSS_RTOL."""
    try:
        import h5py
    except ImportError:
        print("note: h5py is not importable: the comparison with hessa run is skipped")
        return
    moons = os.path.join(ROOT, "examples", "mlp_moons")
    spirals = os.path.join(tmp, "hessa_spirals.csv")
    run_ok("hessa data", "dataset", "spirals", "--classes", 3, "--samples", 90, "--noise", 0.05, "--seed", 6,
           "-o", spirals)
    cases = [  # data, layers, activation, loss, parameters (None: trained here), directions, Hessian, grid
        (os.path.join(moons, "moons.csv"), [2, 16, 16, 1], "tanh", "logistic", os.path.join(moons, "params.npy"),
         "filter", "restricted", 5),
        (spirals, [2, 8, 3], "gelu", "cross_entropy", None, "random", "restricted", 5),
        (os.path.join(moons, "moons.csv"), [2, 6, 1], "sigmoid", "mse", None, "filter", "full", 3),
        (spirals, [2, 5, 4, 3], "relu", "cross_entropy", None, "filter", "restricted", 4),
    ]
    for i, (data, layers, act, loss, params, directions, hessian, count) in enumerate(cases):
        what = f"hessa run {'-'.join(map(str, layers))} {act} {loss} ({directions}, {hessian})"
        if params is None:
            params = os.path.join(tmp, f"hessa_params_{i}.npy")
            run_ok(f"{what}: train", "train", *model_args(data, layers, act, loss), "--steps", 50, "--seed", i,
                   "-o", params)
        job, out = os.path.join(tmp, f"hessa_job_{i}.toml"), os.path.join(tmp, f"hessa_scan_{i}.h5")
        with open(job, "w") as fh:
            fh.write(HESSA_JOB.format(layers=layers, act=act, loss=loss, data=data, params=params, count=count,
                                      directions=directions, hessian=hessian, out=out))
        r = subprocess.run([hessa, "run", job, "--backend", "cpu", "--quiet"], capture_output=True, text=True,
                           timeout=240)
        if not check(r.returncode == 0, f"{what}: exit {r.returncode}, {r.stderr.strip()!r}"):
            continue
        with h5py.File(out, "r") as h:
            thetas = h["scan/centre"][...][None, :] + h["points"][...] @ h["scan/directions"][...]
            f = h["f"][...]
        points = os.path.join(tmp, f"hessa_points_{i}.npy")
        np.save(points, thetas)
        got = np.array(run_ok(f"{what}: loss", "loss", *model_args(data, layers, act, loss), "--points",
                              points).split(), float)
        err = np.max(np.abs(got - f) / np.abs(f)) if got.shape == f.shape else math.inf
        check(err <= LOSS_RTOL, f"{what}: /f vs hessa-mlp loss at {f.size} points, largest relative difference "
                                f"{err:.2e}")


def test_digits(tmp):
    """`dataset digits`: scikit-learn's 1797 digits, pixels / 16 (exact), labels 0..9, and the committed
    examples/mlp_digits/digits.csv is what the command writes. Skipped (one line) when no copy of
    scikit-learn's digits.csv.gz is installed."""
    out = os.path.join(tmp, "digits.csv")
    rc, _, se = run("dataset", "digits", "-o", out)
    if rc == 2 and "not found" in se:
        print(f"skipped test_digits: {se.strip()}")
        return
    if not check(rc == 0, f"dataset digits: exit {rc}, {se!r}"):
        return
    t = np.loadtxt(out, delimiter=",", skiprows=1)
    check(t.shape == (1797, 65), f"digits shape {t.shape}")
    check(np.array_equal(np.unique(t[:, 64]), np.arange(10)), "labels 0..9")
    check(np.all((t[:, :64] * 16) == np.round(t[:, :64] * 16)) and t[:, :64].min() == 0 and t[:, :64].max() == 1,
          "pixels are multiples of 1/16 in [0, 1]")
    with open(out) as a, open(os.path.join(ROOT, "examples", "mlp_digits", "digits.csv")) as b:
        check(a.read() == b.read(), "examples/mlp_digits/digits.csv is the command's output")


def load_module():
    """The script as a module, for the gradient check (its internals, not its command line)."""
    try:
        loader = importlib.machinery.SourceFileLoader("hessa_mlp", SCRIPT)
        spec = importlib.util.spec_from_loader("hessa_mlp", loader)
        mod = importlib.util.module_from_spec(spec)
        loader.exec_module(mod)
        return mod
    except Exception as e:  # reported as a failure, the command-line tests still run
        check(False, f"import of {SCRIPT} as a module: {e}")
        return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hessa", help="the hessa executable: also compares hessa run's model losses with `loss`")
    ap.add_argument("--keep", help="write the files here and keep them")
    args = ap.parse_args()
    tests = [test_dataset, test_digits, lambda tmp: test_train(tmp, load_module()), test_loss, test_export,
             test_bad_input]
    if args.hessa:
        tests.append(lambda tmp: test_hessa_agrees(tmp, args.hessa))
    return run_tests(tests, args.keep, "hessa_mlp_test_")


if __name__ == "__main__":
    sys.exit(main())
