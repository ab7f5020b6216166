#!/usr/bin/env python3
"""Tests of scripts/hessa-export-loss-landscape: a non-square `hessa run` direction scan of the bundled two-moons
network (5 x 4 points, so that a transposed surface cannot pass) exported to loss-landscape's surface layout,
read back as their plot_2D.py reads it (X, Y = np.meshgrid(x, y); Z[i, j] at (x_j, y_i)) and compared, exactly,
with hessa's /f, /lambda_max, /lambda_min at the point of those coordinates; bad input exits 2 with one line.
Exit 0, 1 on failure, 77 (skipped) without numpy and h5py.

  python3 tests/test_export_loss_landscape.py --hessa build/hessa [--keep DIR]
"""
import argparse
import os
import subprocess
import sys

try:
    import h5py
    import numpy as np
except ImportError as e:
    print(f"skipped: needs numpy and h5py ({e})")
    sys.exit(77)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, "scripts", "hessa-export-loss-landscape")
EXAMPLES = os.path.join(ROOT, "examples")

from script_harness import check, run_tests  # noqa: E402

HESSA = None


def export(*args):
    r = subprocess.run([sys.executable, SCRIPT, *args], capture_output=True, text=True, timeout=120)
    return r.returncode, r.stdout, r.stderr


def test_surface_matches_the_scan(tmp):
    job = os.path.join(tmp, "scan.toml")
    with open(job, "w") as fh:
        fh.write(f"""[function]
model = "mlp"
layers = [2, 16, 16, 1]
activation = "tanh"
loss = "logistic"
data = "{EXAMPLES}/mlp_moons/moons.csv"
parameters = "{EXAMPLES}/mlp_moons/params.npy"
[points]
kind = "directions"
lower = [-1.0, -0.5]
upper = [1.0, 0.7]
counts = [5, 4]
directions = "filter"
seed = 2
[analysis]
eigenvalues = true
[output]
path = "scan.h5"
[run]
backend = "cpu"
""")
    r = subprocess.run([HESSA, "run", job, "--quiet"], capture_output=True, text=True, timeout=300)
    if not check(r.returncode == 0, f"hessa run: {r.stderr}"):
        return
    scan, surf = os.path.join(tmp, "scan.h5"), os.path.join(tmp, "surface.h5")
    rc, out, err = export(scan, "-o", surf)
    if not check(rc == 0, f"export: exit {rc}: {err}"):
        return
    with h5py.File(scan, "r") as s, h5py.File(surf, "r") as g:
        x, y = g["xcoordinates"][:], g["ycoordinates"][:]
        check(list(x) == list(np.linspace(-1.0, 1.0, 5)) and list(y) == list(np.linspace(-0.5, 0.7, 4)),
              f"coordinates {x} {y}")
        X, Y = np.meshgrid(x, y)
        pts = s["points"][:]
        for name, source in [("train_loss", "f"), ("max_eig", "lambda_max"), ("min_eig", "lambda_min")]:
            Z = g[name][:]
            if not check(Z.shape == X.shape == (4, 5), f"{name}: shape {Z.shape}, meshgrid {X.shape}"):
                continue
            for i in range(4):
                for j in range(5):
                    p = int(np.flatnonzero((pts[:, 0] == X[i, j]) & (pts[:, 1] == Y[i, j]))[0])
                    check(Z[i, j] == s[source][p], f"{name}[{i}, {j}] is {source} at ({X[i, j]}, {Y[i, j]})")
        check(g.attrs["hessa_hessian"] == "restricted", "the Hessian the scan computed is named")
    rc, _, err = export(scan, "-o", surf)
    check(rc == 2 and "exists" in err and err.count("\n") == 1, f"existing output: exit {rc}, {err!r}")


def test_bad_input_exits_2(tmp):
    rc, _, err = export(os.path.join(tmp, "missing.h5"), "-o", os.path.join(tmp, "o.h5"))
    check(rc == 2 and "no such file" in err, f"missing scan: exit {rc}, {err!r}")
    junk = os.path.join(tmp, "junk.h5")
    with open(junk, "w") as fh:
        fh.write("not hdf5")
    rc, _, err = export(junk, "-o", os.path.join(tmp, "o.h5"))
    check(rc == 2 and "not an HDF5 file" in err and "Traceback" not in err, f"junk: exit {rc}, {err!r}")
    plain = os.path.join(tmp, "plain.h5")
    with h5py.File(plain, "w") as f:
        f.attrs["settings"] = '{"points": {"kind": "grid", "counts": [3, 3]}}'
    rc, _, err = export(plain, "-o", os.path.join(tmp, "o.h5"))
    check(rc == 2 and "not a 2-direction scan" in err, f"grid store: exit {rc}, {err!r}")


def main():
    global HESSA
    ap = argparse.ArgumentParser()
    ap.add_argument("--hessa", required=True)
    ap.add_argument("--keep")
    args = ap.parse_args()
    HESSA = args.hessa
    return run_tests([test_surface_matches_the_scan, test_bad_input_exits_2], args.keep, "hessa_export_")


if __name__ == "__main__":
    sys.exit(main())
