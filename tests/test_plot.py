#!/usr/bin/env python3
"""Tests of scripts/hessa-plot: builds scan files in the HDF5 layout of `hessa run` (a synthetic 2-D saddle, an
incomplete one, a 1-D cubic, direction scans of a model loss, bad inputs, and -- given --hessa EXE --
himmelblau's real landscape analyzed by hessa and converted here), runs the script, and checks its exit codes
and PNGs (valid, the expected size, not blank, and for direction scans the labels in their PNG text). A plain
script: prints each failure and 'N passed, N failed'; exit 0, 1 on failure, 77 (skipped) when
numpy / matplotlib / h5py are not importable.

  python3 tests/test_plot.py [--hessa build-cpu/hessa] [--keep DIR]
"""
import argparse
import json
import os
import struct
import subprocess
import sys
import zlib

try:
    import numpy as np
    import h5py
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.image
except ImportError as e:
    print(f"skipped: the plot script needs numpy, matplotlib and h5py ({e})")
    sys.exit(77)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, "scripts", "hessa-plot")
CLASS_NAMES = ["", "minimum", "maximum", "saddle", "degenerate", "noncritical"]
STATUS_NAMES = ["ok", "nonfinite_f", "eig_not_converged"]
FIELDS = ["f", "grad_norm", "lambda_min", "lambda_max", "class", "morse_index", "lr_max", "gHg", "step_opt",
          "step", "taylor_pred", "f_step", "uphill", "status", "confidence", "hess_err", "grad_err"]
SINGLE_PX = (960, 780)     # 8 x 6.5 in at 120 dpi
OVERVIEW_PX = (1860, 1120)  # 3 x 2 maps of 6.2 x 5.6 in at 100 dpi
CURVES_PX = (960, 840)     # 8 x 7 in at 120 dpi

from script_harness import check, run_tests  # noqa: E402  (the folder of this script is on sys.path)


# ---------------------------------------------------------------------------------------------------------
# Writing scan files in the contract layout


def write_scan(path, points, data, *, counts=None, lower=None, upper=None, names=None, function=None,
               eigenvalues=None, chunk=64, done=None, kind="grid", drop=(), points_extra=None):
    """data: per-point arrays by field name; class/status may be given as strings or codes. A grid (kind
    "grid" or "directions") takes lower, upper and counts; points_extra adds keys to settings.points."""
    B, n = points.shape
    nchunks = -(-B // chunk)
    done = np.ones(nchunks, np.uint8) if done is None else np.asarray(done, np.uint8)
    settings = {"function": function or {"name": "test", "expression": "test", "dimension": n},
                "points": ({"kind": kind, "lower": list(lower), "upper": list(upper), "counts": list(counts),
                            "total": B} if kind in ("grid", "directions")
                           else {"kind": kind, "file": "pts.csv", "total": B})}
    settings["points"].update(points_extra or {})
    with h5py.File(path, "w") as h:
        h.create_dataset("points", data=points.astype(np.float64))
        for name in FIELDS:
            if name in drop:
                continue
            v = data.get(name)
            if name == "class":
                v = codes_of(v, CLASS_NAMES) if v is not None else np.zeros(B, np.int8)
                d = h.create_dataset(name, data=v.astype(np.int8))
                d.attrs["names"] = CLASS_NAMES
            elif name == "status":
                v = codes_of(v, STATUS_NAMES) if v is not None else np.zeros(B, np.int8)
                d = h.create_dataset(name, data=v.astype(np.int8))
                d.attrs["names"] = STATUS_NAMES
            elif name == "morse_index":
                h.create_dataset(name, data=np.asarray(v if v is not None else np.full(B, -1), np.int32))
            elif name == "uphill":
                h.create_dataset(name, data=np.asarray(v if v is not None else np.full(B, -1), np.int8))
            else:
                h.create_dataset(name, data=np.asarray(v if v is not None else np.full(B, np.nan), np.float64))
        if eigenvalues is not None:
            h.create_dataset("eigenvalues", data=eigenvalues.astype(np.float64))
        h.create_dataset("done", data=done)
        h.attrs["settings"] = json.dumps(settings)
        h.attrs["coordinate_names"] = names or [f"x{i}" for i in range(n)]
        h.attrs["chunk_points"] = np.uint64(chunk)
        h.attrs["complete"] = np.uint8(1 if done.all() else 0)


def codes_of(v, names):
    v = np.asarray(v)
    if v.dtype.kind in "iu":
        return v
    return np.array([names.index(str(s)) for s in v], np.int8)


def grid_points(lower, upper, counts):
    axes = [np.linspace(lo, up, c) for lo, up, c in zip(lower, upper, counts)]
    mesh = np.meshgrid(*axes, indexing="ij")  # C order: the last axis fastest
    return np.stack([m.ravel() for m in mesh], axis=1)


def saddle_scan(path, **kw):
    """f = x^2 - y^2 on 21 x 21 over [-1, 1]^2: saddle at the origin, noncritical elsewhere."""
    lower, upper, counts = [-1.0, -1.0], [1.0, 1.0], [21, 21]
    p = grid_points(lower, upper, counts)
    x, y = p[:, 0], p[:, 1]
    g = np.hypot(2 * x, 2 * y)
    cls = np.where(g < 1e-12, "saddle", "noncritical")
    data = {"f": x * x - y * y, "grad_norm": g, "lambda_min": np.full(len(x), -2.0),
            "lambda_max": np.full(len(x), 2.0), "class": cls, "morse_index": np.ones(len(x), np.int32),
            "lr_max": np.full(len(x), 0.5), "confidence": np.full(len(x), 1e6)}
    write_scan(path, p, data, counts=counts, lower=lower, upper=upper, names=["x", "y"],
               function={"name": "x^2 - y^2", "expression": "x^2 - y^2", "dimension": 2},
               eigenvalues=np.stack([data["lambda_min"], data["lambda_max"]], 1), **kw)


def cubic_scan(path, with_eigenvalues=True):
    """f = x^3 - 3x on 41 points over [-2.5, 2.5]: minimum at 1, maximum at -1."""
    lower, upper, counts = [-2.5], [2.5], [41]
    p = grid_points(lower, upper, counts)
    x = p[:, 0]
    lam = 6 * x
    cls = np.where(np.isclose(x, 1), "minimum", np.where(np.isclose(x, -1), "maximum", "noncritical"))
    data = {"f": x ** 3 - 3 * x, "grad_norm": np.abs(3 * x * x - 3), "lambda_min": lam, "lambda_max": lam,
            "class": cls, "morse_index": (lam < 0).astype(np.int32)}
    write_scan(path, p, data, counts=counts, lower=lower, upper=upper, names=["t"], chunk=16,
               function={"name": "cubic", "expression": "t^3 - 3*t", "dimension": 1},
               eigenvalues=lam[:, None] if with_eigenvalues else None)


def from_npz(npz_path, h5_path, lower, upper, counts, function, chunk=1024):
    """A `hessa analyze ... --out X.npz` result over a grid file converted to the `hessa run` layout."""
    z = np.load(npz_path, allow_pickle=False)
    pts = z["points"]
    # landscape_grid.csv lists x fastest; the contract wants C order (the last coordinate fastest)
    order = np.lexsort(tuple(pts[:, j] for j in reversed(range(pts.shape[1]))))
    pts = pts[order]
    check(np.allclose(pts, grid_points(lower, upper, counts)), "npz points form the grid")
    data = {k: z[k][order] for k in FIELDS if k in z.files}
    data["status"] = np.array([STATUS_NAMES.index(s) for s in data["status"]], np.int8)
    names = [str(s) for s in z["coordinate_names"]] if "coordinate_names" in z.files else None
    write_scan(h5_path, pts, data, counts=counts, lower=lower, upper=upper, names=names, function=function,
               eigenvalues=z["eigenvalues"][order] if "eigenvalues" in z.files else None, chunk=chunk)


# ---------------------------------------------------------------------------------------------------------
# Running the script and checking PNGs


def run(*args):
    r = subprocess.run([sys.executable, SCRIPT, *map(str, args)], capture_output=True, text=True, timeout=240)
    return r.returncode, r.stdout, r.stderr


def png_size(path):
    with open(path, "rb") as fh:
        head = fh.read(24)
    if len(head) < 24 or head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        return None
    return struct.unpack(">II", head[16:24])


def check_png(path, size, what, content=0.15):
    if not check(os.path.isfile(path), f"{what}: {os.path.basename(path)} written"):
        return None
    got = png_size(path)
    check(got is not None, f"{what}: {os.path.basename(path)} is a PNG")
    check(got == size, f"{what}: {os.path.basename(path)} is {got}, expected {size}")
    img = matplotlib.image.imread(path)[..., :3]
    check(float(img.var()) > 0.005, f"{what}: {os.path.basename(path)} is not blank (variance {img.var():.4f})")
    # a picture, not a near-uniform page: a fair share of pixels is neither white nor near-white
    share = float(np.mean(img.min(axis=2) < 0.9))
    check(share > content, f"{what}: {os.path.basename(path)} has content ({share:.3f} of its pixels)")
    return img


def png_text(path):
    """The PNG's text chunks (tEXt, zTXt, iTXt) as a dict."""
    out = {}
    with open(path, "rb") as fh:
        data = fh.read()
    at = 8
    while at + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[at:at + 8])
        body = data[at + 8:at + 8 + length]
        at += 12 + length
        if kind == b"tEXt":
            key, _, text = body.partition(b"\0")
            out[key.decode("latin-1")] = text.decode("latin-1")
        elif kind == b"zTXt":
            key, _, rest = body.partition(b"\0")
            out[key.decode("latin-1")] = zlib.decompress(rest[1:]).decode("latin-1")
        elif kind == b"iTXt":
            key, _, rest = body.partition(b"\0")
            compressed, rest = rest[0], rest[2:]
            _, _, rest = rest.partition(b"\0")  # language tag
            _, _, text = rest.partition(b"\0")  # translated keyword
            out[key.decode("latin-1")] = (zlib.decompress(text) if compressed else text).decode("utf-8")
    return out


def has_grey(img):
    """The 'no value' grey #b4b4b4 fills a region of the picture (more than its legend patch)."""
    return int(np.sum(np.all(np.abs(img - 180 / 255) < 1.5 / 255, axis=2))) > 2000


MAPS = ["f", "lambda_max", "lambda_min", "lambda_ratio", "class", "morse_index"]


def test_2d(tmp):
    h5 = os.path.join(tmp, "saddle.h5")
    saddle_scan(h5)
    out = os.path.join(tmp, "plots2d")
    rc, so, se = run(h5, "-o", out)
    check(rc == 0, f"2-D saddle: exit {rc}, stderr: {se.strip()}")
    for name in MAPS:
        img = check_png(os.path.join(out, f"saddle_{name}.png"), SINGLE_PX, "2-D saddle")
        if img is not None:
            check(not has_grey(img), f"2-D saddle: {name} shows no 'no value' grey on a complete scan")
    check_png(os.path.join(out, "saddle_overview.png"), OVERVIEW_PX, "2-D saddle")
    check(len(so.split()) == len(MAPS) + 1, f"2-D saddle: prints the {len(MAPS) + 1} paths it wrote: {so!r}")

    # the default output folder is plots/ beside the scan
    rc, _, se = run(h5, "--fields", "f")
    check(rc == 0 and os.path.isfile(os.path.join(tmp, "plots", "saddle_f.png")),
          f"default output folder: exit {rc}, {se.strip()}")

    # --critical: a hessa-critical CSV (coordinate columns, f, ..., class, basin_count)
    crit = os.path.join(tmp, "crit.csv")
    with open(crit, "w") as fh:
        fh.write("x0,x1,f,grad_norm,class,basin_count\n0,0,0,0,saddle,12\n0.5,0.5,0,1,degenerate,1\n"
                 "7,7,0,0,minimum,3\n")  # the last lies outside the box: not drawn, no error
    out_c = os.path.join(tmp, "plots_crit")
    rc, _, se = run(h5, "-o", out_c, "--critical", crit, "--fields", "f,class,ratio")
    check(rc == 0, f"--critical: exit {rc}, {se.strip()}")
    for name in ("f", "class", "lambda_ratio"):
        check_png(os.path.join(out_c, f"saddle_{name}.png"), SINGLE_PX, "--critical")
    check(not os.path.exists(os.path.join(out_c, "saddle_lambda_min.png")), "--fields draws only those named")
    check_png(os.path.join(out_c, "saddle_overview.png"), (1860, 560), "--critical overview of 3 maps")

    # other datasets as plain maps
    rc, _, se = run(h5, "-o", os.path.join(tmp, "plots_extra"), "--fields", "grad_norm,confidence")
    check(rc == 0, f"--fields grad_norm,confidence: exit {rc}, {se.strip()}")
    check_png(os.path.join(tmp, "plots_extra", "saddle_grad_norm.png"), SINGLE_PX, "grad_norm map")

    # a bad --critical file is bad input
    bad = os.path.join(tmp, "bad_crit.csv")
    with open(bad, "w") as fh:
        fh.write("x0,x1,f\n0,0,0\n")
    rc, _, se = run(h5, "-o", out_c, "--critical", bad)
    check(rc == 2 and "class" in se and se.count("\n") == 1, f"--critical without a class column: exit {rc}, {se!r}")


def test_incomplete(tmp):
    h5 = os.path.join(tmp, "partial.h5")
    saddle_scan(h5, chunk=100, done=[1, 1, 0, 1, 0])  # 441 points: chunks 2 and 4 not done
    out = os.path.join(tmp, "plots_partial")
    rc, _, se = run(h5, "-o", out)
    check(rc == 0, f"incomplete scan: exit {rc}, {se.strip()}")
    for name in ("f", "class", "lambda_min", "morse_index"):
        img = check_png(os.path.join(out, f"partial_{name}.png"), SINGLE_PX, "incomplete scan")
        if img is not None:
            check(has_grey(img), f"incomplete scan: {name} shows undone chunks in grey")


def test_1d(tmp):
    for eig in (True, False):
        h5 = os.path.join(tmp, f"cubic{'_eig' if eig else ''}.h5")
        cubic_scan(h5, with_eigenvalues=eig)
        out = os.path.join(tmp, "plots1d")
        rc, so, se = run(h5, "-o", out)
        check(rc == 0, f"1-D (eigenvalues {eig}): exit {rc}, {se.strip()}")
        stem = os.path.splitext(os.path.basename(h5))[0]
        check_png(os.path.join(out, f"{stem}_curves.png"), CURVES_PX, f"1-D (eigenvalues {eig})", content=0.02)
    rc, _, se = run(os.path.join(tmp, "cubic_eig.h5"), "-o", out, "--fields", "grad_norm")
    check(rc == 0, f"1-D with an extra panel: exit {rc}, {se.strip()}")
    check_png(os.path.join(out, "cubic_eig_curves.png"), (960, 1224), "1-D with an extra panel", content=0.02)


# settings.function of a model job, as hessa run writes it
MLP = {"name": "MLP 2-16-16-1 tanh, logistic loss", "model": "mlp", "layers": [2, 16, 16, 1], "activation": "tanh",
       "loss": "logistic", "data_file": "examples/mlp_moons/moons.csv", "samples": 200,
       "parameters_file": "examples/mlp_moons/params.npy", "parameter_count": 337, "dimension": 337}


def add_direction_datasets(path, centre, directions, dimension):
    """What hessa run adds for a direction scan: /scan/centre, /scan/directions, the root attribute dimension."""
    with h5py.File(path, "r+") as h:
        h.create_dataset("scan/centre", data=centre)
        h.create_dataset("scan/directions", data=directions)
        h.attrs["dimension"] = np.uint64(dimension)


def direction_scan_2d(path):
    """f(θ* + α d1 + β d2) = 0.2 + α² + β² (1 - α) / 2 on 21 x 17 over [-1, 1] x [-0.5, 0.5], with the
    eigenvalues of its 2 x 2 Hessian [[2, -β], [-β, 1 - α]]: a minimum at the centre, saddle-like near α = 1."""
    lower, upper, counts = [-1.0, -0.5], [1.0, 0.5], [21, 17]
    p = grid_points(lower, upper, counts)
    a, b = p[:, 0], p[:, 1]
    H = np.stack([np.stack([np.full(len(a), 2.0), -b], 1), np.stack([-b, 1 - a], 1)], 1)
    lam = np.linalg.eigvalsh(H)
    g = np.hypot(2 * a - b * b / 2, b * (1 - a))
    data = {"f": 0.2 + a * a + b * b * (1 - a) / 2, "grad_norm": g, "lambda_min": lam[:, 0],
            "lambda_max": lam[:, 1], "class": np.where(g < 1e-12, "minimum", "noncritical"),
            "morse_index": np.sum(lam < 0, axis=1).astype(np.int32), "lr_max": 1 / lam[:, 1]}
    write_scan(path, p, data, counts=counts, lower=lower, upper=upper, names=["alpha", "beta"], function=MLP,
               eigenvalues=lam, kind="directions",
               points_extra={"hessian": "restricted", "directions": "filter", "seed": 1, "centre": "parameters"})
    rng = np.random.default_rng(1)
    add_direction_datasets(path, rng.normal(size=337), rng.normal(size=(2, 337)), 2)


def direction_scan_1d_full(path, P=337):
    """Along α with β fixed at 0 (counts 41 x 1) from a centre and directions in files, the eigenvalues of the
    full P x P Hessian (P of them a point)."""
    lower, upper, counts = [-2.0, 0.0], [2.0, 0.0], [41, 1]
    p = grid_points(lower, upper, counts)
    a = p[:, 0]
    rng = np.random.default_rng(2)
    spectrum = np.sort(np.concatenate([rng.normal(scale=0.01, size=P - 3), [-0.3, 0.8, 2.0]]))
    eig = np.sort(spectrum[None, :] * (1 + 0.3 * a[:, None] ** 2) + 0.05 * a[:, None], axis=1)
    data = {"f": 0.1 + 0.5 * a * a - 0.05 * a ** 4, "grad_norm": np.abs(a - 0.2 * a ** 3),
            "lambda_min": eig[:, 0], "lambda_max": eig[:, -1], "class": np.full(len(a), "noncritical"),
            "morse_index": np.sum(eig < 0, axis=1).astype(np.int32)}
    write_scan(path, p, data, counts=counts, lower=lower, upper=upper, names=["alpha", "beta"], function=MLP,
               eigenvalues=eig, kind="directions", chunk=16,
               points_extra={"hessian": "full", "directions": "file", "directions_file": "/data/run7/dirs.npy",
                             "seed": 0, "centre": "file", "centre_file": "/data/run7/epoch_40.npy"})
    add_direction_datasets(path, rng.normal(size=P), rng.normal(size=(2, P)), P)


def test_directions(tmp):
    h5 = os.path.join(tmp, "dirs.h5")
    direction_scan_2d(h5)
    out = os.path.join(tmp, "plots_dirs")
    rc, so, se = run(h5, "-o", out)
    check(rc == 0, f"direction scan 2-D: exit {rc}, stderr: {se.strip()}")
    for name in MAPS + ["overview"]:
        path = os.path.join(out, f"dirs_{name}.png")
        # the box is twice as wide as high: the overview's panels are lower (3.6 in) than for a square one
        if check_png(path, (1860, 724) if name == "overview" else SINGLE_PX, "direction scan 2-D") is None:
            continue
        text = png_text(path)
        desc, title = text.get("Description", ""), text.get("Title", "")
        for needle in ("x axis: α (direction 1)", "y axis: β (direction 2)", "MLP 2-16-16-1 tanh, logistic loss",
                       "eigenvalues of the 2×2 Hessian of f(θ* + α d₁ + β d₂)", "around θ* = params.npy",
                       "d₁, d₂ random, filter-normalized (seed 1)", "21×17 grid"):
            check(needle in desc, f"direction scan 2-D: {name} says {needle!r}: {desc!r}")
        if name != "overview":
            check("MLP 2-16-16-1" in title, f"direction scan 2-D: {name}'s title names the model: {title!r}")

    h5 = os.path.join(tmp, "dirs_full.h5")
    direction_scan_1d_full(h5)
    rc, so, se = run(h5, "-o", out)
    check(rc == 0, f"direction scan 1-D, full Hessian: exit {rc}, stderr: {se.strip()}")
    path = os.path.join(out, "dirs_full_curves.png")
    if check_png(path, CURVES_PX, "direction scan 1-D, full Hessian", content=0.02) is not None:
        desc = png_text(path).get("Description", "")
        for needle in ("x axis: α (direction 1)", "eigenvalues of the full 337×337 Hessian at θ* + α d₁ + β d₂",
                       "around θ* = epoch_40.npy", "d₁, d₂ from dirs.npy", "β = 0", "41-point grid"):
            check(needle in desc, f"direction scan 1-D: says {needle!r}: {desc!r}")

    # a direction scan without its grid keys is bad input
    bad_h5 = os.path.join(tmp, "dirs_bad.h5")
    direction_scan_2d(bad_h5)
    with h5py.File(bad_h5, "r+") as h:
        st = json.loads(h.attrs["settings"])
        del st["points"]["counts"]
        h.attrs["settings"] = json.dumps(st)
    rc, _, se = run(bad_h5, "-o", os.path.join(tmp, "plots_dirs_bad"))
    check(rc == 2 and "kind directions" in se and "'counts'" in se and se.count("\n") == 1,
          f"direction scan without counts: exit {rc}, {se!r}")


def test_bad_input(tmp):
    def bad(args, needle, what):
        rc, so, se = run(*args)
        check(rc == 2, f"{what}: exit {rc} (expected 2), stderr {se!r}")
        check(needle in se, f"{what}: message mentions {needle!r}: {se!r}")
        check(se.startswith("hessa-plot: error:") and se.count("\n") == 1, f"{what}: one line on stderr: {se!r}")
        check("Traceback" not in se, f"{what}: no traceback")

    out = os.path.join(tmp, "plots_bad")
    bad([os.path.join(tmp, "nope.h5"), "-o", out], "no such file", "missing file")
    txt = os.path.join(tmp, "text.h5")
    with open(txt, "w") as fh:
        fh.write("x,y\n1,2\n")
    bad([txt, "-o", out], "not an HDF5 file", "a text file")

    # a 3-D grid
    lower, upper, counts = [-1.0] * 3, [1.0] * 3, [4, 5, 6]
    p = grid_points(lower, upper, counts)
    h5 = os.path.join(tmp, "cube.h5")
    write_scan(h5, p, {"f": p.sum(1)}, counts=counts, lower=lower, upper=upper)
    bad([h5, "-o", out], "plots need a 1-D or 2-D grid", "3-D grid")

    # a point file
    h5 = os.path.join(tmp, "points.h5")
    write_scan(h5, np.random.default_rng(1).normal(size=(30, 2)), {}, kind="file")
    bad([h5, "-o", out], "plots need a 1-D or 2-D grid", "point file")

    # datasets missing
    h5 = os.path.join(tmp, "nolambda.h5")
    saddle_scan(h5, drop=("lambda_min",))
    bad([h5, "-o", out], "/lambda_min", "missing /lambda_min")
    bad([h5, "-o", out, "--fields", "f,nosuchfield"], "/nosuchfield", "--fields naming no dataset")
    h5 = os.path.join(tmp, "nopoints.h5")
    with h5py.File(h5, "w") as h:
        h.create_dataset("f", data=np.zeros(4))
    bad([h5, "-o", out], "/points", "no /points")
    check(not os.path.exists(out) or not os.listdir(out), "bad input writes no PNG")


def test_himmelblau(tmp, hessa):
    """The real thing: hessa analyzes himmelblau on the example grid; converted, then plotted."""
    grid = os.path.join(ROOT, "examples", "landscape_grid.csv")
    npz = os.path.join(tmp, "g.npz")
    crit = os.path.join(tmp, "crit.csv")
    r = subprocess.run([hessa, "analyze", "--function", "himmelblau", "--points", grid, "--out", npz,
                        "--eigenvalues", "--quiet", "--backend", "cpu"], capture_output=True, text=True)
    if not check(r.returncode == 0, f"hessa analyze: {r.stderr.strip()}"):
        return
    r = subprocess.run([hessa, "critical", "--function", "himmelblau", "--box", "-5:5,-5:5", "--grid", "20x20",
                        "--out", crit, "--backend", "cpu"], capture_output=True, text=True)
    if not check(r.returncode == 0, f"hessa critical: {r.stderr.strip()}"):
        return
    h5 = os.path.join(tmp, "himmelblau.h5")
    from_npz(npz, h5, [-5.0, -5.0], [5.0, 5.0], [101, 101],
             {"name": "himmelblau", "expression": "(x0^2 + x1 - 11)^2 + (x0 + x1^2 - 7)^2", "dimension": 2})
    out = os.path.join(tmp, "plots_himmelblau")
    rc, _, se = run(h5, "-o", out, "--critical", crit)
    check(rc == 0, f"himmelblau: exit {rc}, {se.strip()}")
    for name in MAPS:
        check_png(os.path.join(out, f"himmelblau_{name}.png"), SINGLE_PX, "himmelblau")
    check_png(os.path.join(out, "himmelblau_overview.png"), OVERVIEW_PX, "himmelblau")


def test_output_columns(tmp, hessa):
    """A job whose [output] columns keep f, lambda_min and class: the maps of those, a note naming the others; a map
    named by --fields that the store does not keep is bad input."""
    job = os.path.join(tmp, "cols.toml")
    with open(job, "w") as fh:
        fh.write('[function]\ncatalogue = "himmelblau"\n[points]\nkind = "grid"\nlower = [-5.0, -5.0]\n'
                 'upper = [5.0, 5.0]\ncounts = [31, 31]\n[output]\npath = "cols.h5"\n'
                 'columns = ["f", "lambda_min", "class"]\n[run]\nbackend = "cpu"\n')
    r = subprocess.run([hessa, "run", job, "--quiet"], capture_output=True, text=True)
    if not check(r.returncode == 0, f"hessa run: {r.stderr.strip()}"):
        return
    h5 = os.path.join(tmp, "cols.h5")
    out = os.path.join(tmp, "plots_cols")
    rc, so, se = run(h5, "-o", out)
    check(rc == 0, f"[output] columns: exit {rc}, {se.strip()}")
    for name in ("f", "lambda_min", "class"):
        check_png(os.path.join(out, f"cols_{name}.png"), SINGLE_PX, "[output] columns")
    check(not os.path.exists(os.path.join(out, "cols_lambda_max.png")), "no map of a field the store lacks")
    check("lambda_max, lambda_ratio, morse_index" in se, f"the note names the maps left out: {se!r}")
    rc, _, se = run(h5, "-o", out, "--fields", "lambda_max")
    check(rc == 2 and "/lambda_max" in se, f"--fields lambda_max of a store without it: exit {rc}, {se!r}")


def test_lanczos_density(tmp, hessa):
    """A Lanczos scan with density probes (the bundled two-moons network): the maps, and the spectral density
    figure, whose curves integrate the stored quadrature (its PNG text names the method and the probes)."""
    job = os.path.join(tmp, "lz.toml")
    ex = os.path.join(ROOT, "examples")
    with open(job, "w") as fh:
        fh.write(f"""[function]
model = "mlp"
layers = [2, 16, 16, 1]
activation = "tanh"
loss = "logistic"
data = "{ex}/mlp_moons/moons.csv"
parameters = "{ex}/mlp_moons/params.npy"
[points]
kind = "directions"
lower = [-1.0, -1.0]
upper = [1.0, 1.0]
counts = [3, 3]
hessian = "lanczos"
[lanczos]
density_probes = 2
density_steps = 20
[output]
path = "lz.h5"
[run]
backend = "cpu"
""")
    r = subprocess.run([hessa, "run", job, "--quiet"], capture_output=True, text=True)
    if not check(r.returncode == 0, f"hessa run (lanczos): {r.stderr.strip()}"):
        return
    out = os.path.join(tmp, "plots_lz")
    rc, so, se = run(os.path.join(tmp, "lz.h5"), "-o", out)
    check(rc == 0, f"lanczos scan plot: exit {rc}, {se.strip()}")
    path = os.path.join(out, "lz_density.png")
    check(path in so, f"the density figure is listed: {so!r}")
    if check(os.path.exists(path), "lz_density.png written"):
        desc = png_text(path).get("Description", "")
        check("stochastic Lanczos quadrature, 2 probe(s)" in desc, f"density description: {desc!r}")
    check(os.path.exists(os.path.join(out, "lz_lambda_max.png")), "the lambda_max map of a Lanczos scan")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hessa", help="the hessa executable: also plots himmelblau's landscape analyzed by it")
    ap.add_argument("--keep", help="write the files here and keep them (to look at the PNGs)")
    args = ap.parse_args()
    tests = [test_2d, test_incomplete, test_1d, test_directions, test_bad_input]
    if args.hessa:
        tests.append(lambda tmp: test_himmelblau(tmp, args.hessa))
        tests.append(lambda tmp: test_lanczos_density(tmp, args.hessa))
        tests.append(lambda tmp: test_output_columns(tmp, args.hessa))
    return run_tests(tests, args.keep, "hessa_plot_test_")


if __name__ == "__main__":
    sys.exit(main())
