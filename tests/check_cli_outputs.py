#!/usr/bin/env python3
"""The CLI's outputs, byte for byte, against those recorded from an earlier build (tests/cli_outputs.json).

Runs the demo's commands and a sample of every command's options in a scratch directory, then compares each
command's exit code, stdout, stderr and every file it wrote with the recorded ones. Only what varies from run to
run is normalized first: timing ("0.0115 s", "885222 points/s", "seconds" and "created_utc" in metadata) and the
path of the executable in --help. HDF5 stores are compared through a canonical dump of every dataset's bytes and
every attribute (the file's own bytes hold object timestamps), .npz archives member by member (the zip holds times).

  check_cli_outputs.py --hessa build/hessa            # compare (exit 1 with a diff on any difference)
  check_cli_outputs.py --hessa build/hessa --update   # re-record, after a change that is meant to alter outputs
"""
import argparse
import difflib
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

SOURCE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RECORD = os.path.join(SOURCE, "tests", "cli_outputs.json")
INLINE_LIMIT = 16384  # outputs up to this size are recorded as text (readable diffs), larger ones as a digest

# Every command runs in the scratch directory with these inputs copied in. "--backend cpu": the outputs name the
# backend, and the GPU is not what this test compares.
INPUTS = ["examples/himmelblau_stationary.csv", "examples/landscape_grid.csv", "examples/himmelblau_grid.toml",
          "examples/mlp_moons_scan.toml", "examples/mlp_moons_line.toml", "examples/mlp_moons"]

SHARD_JOB = """[function]
expression = "a*x^4 - y^2 + x*y"
vars = ["x", "y"]
params = { a = 0.5 }
[points]
kind = "grid"
lower = [-1.0, -1.0]
upper = [1.0, 1.0]
counts = [7, 9]
[analysis]
stencil = "compact"
gradient = true
hessian = true
eigenvalues = true
eigenvectors = true
[output]
path = "out/shards.h5"
chunk = 10
"""

FILE_JOB = """[function]
catalogue = "rosenbrock"
[points]
kind = "file"
file = "rosen.csv"
[analysis]
stencil = "hyperdual"
eigenvalues = true
[output]
path = "out/rosen.h5"
chunk = 2
"""

A_MATRIX = "2,1,0\n1,-3,0.5\n0,0.5,1\n"
ROSEN_POINTS = "x0,x1,x2\n1,1,1\n0,0,0\n-1.2,1,0.5\n2,-1,3\n0.5,0.25,0.0625\n"

# (name, argv after "hessa", files written that are compared)
CASES = [
    ("demo_stationary", ["analyze", "--function", "himmelblau", "--points", "himmelblau_stationary.csv",
                         "--out", "out/himmelblau_stationary.csv", "--backend", "cpu"],
     ["out/himmelblau_stationary.csv", "out/himmelblau_stationary.csv.meta.json"]),
    ("demo_grid", ["run", "himmelblau_grid.toml", "--backend", "cpu"], ["out/himmelblau_grid.h5"]),
    ("demo_critical", ["critical", "--function", "himmelblau", "--box", "-5:5,-5:5", "--grid", "20x20",
                       "--out", "out/himmelblau_critical.csv", "--backend", "cpu"],
     ["out/himmelblau_critical.csv", "out/himmelblau_critical.csv.meta.json"]),
    ("demo_mlp_scan", ["run", "mlp_moons_scan.toml", "--backend", "cpu"], ["out/mlp_moons_scan.h5"]),
    ("demo_mlp_line", ["run", "mlp_moons_line.toml", "--backend", "cpu"], ["out/mlp_moons_line.h5"]),
    ("analyze_expression_vars", ["analyze", "--function", "x^2 - y^2 + c*x*y", "--vars", "x,y", "--param", "c=0.3",
                                 "--points", "landscape_grid.csv", "--out", "e.csv", "--backend", "cpu",
                                 "--gtol", "1e-3", "--lr", "0.01"], ["e.csv", "e.csv.meta.json"]),
    ("analyze_npz_vectors", ["analyze", "--function", "rosenbrock", "--points", "rosen.csv", "--out", "r.npz",
                             "--eigenvectors", "--hessian", "--gradient", "--backend", "cpu"],
     ["r.npz", "r.npz.meta.json"]),
    ("analyze_jsonl_compact", ["analyze", "--function", "quadratic:A.csv", "--points", "rosen.csv",
                               "--out", "q.jsonl", "--stencil", "compact", "--backend", "cpu"],
     ["q.jsonl", "q.jsonl.meta.json"]),
    ("analyze_hyperdual", ["analyze", "--function", "himmelblau", "--points", "himmelblau_stationary.csv",
                           "--out", "h.csv", "--stencil", "hyperdual", "--eigenvalues", "--backend", "cpu"],
     ["h.csv", "h.csv.meta.json"]),
    ("analyze_richardson_npy", ["analyze", "--function", "six_hump_camel", "--points", "landscape_grid.csv",
                                "--out", "s.npy", "--stencil", "richardson", "--step", "1e-3", "--chunk", "7",
                                "--backend", "cpu"], ["s.npy", "s.npy.meta.json"]),
    ("critical_options", ["critical", "--function", "six_hump_camel", "--box", "-3:3,-2:2", "--grid", "9x7",
                          "--out", "camel.jsonl", "--backend", "cpu", "--max-iter", "40"],
     ["camel.jsonl", "camel.jsonl.meta.json"]),
    ("jacobian_central", ["jacobian", "--function", "r*cos(t)", "--function", "r*sin(t)", "--vars", "r,t",
                          "--points", "polar.csv", "--out", "J.csv", "--backend", "cpu"], ["J.csv", "J.csv.meta.json"]),
    ("jacobian_richardson", ["jacobian", "--function", "r*cos(t)", "--function", "r^2*sin(t)", "--vars", "r,t",
                             "--points", "polar.csv", "--out", "Jr.jsonl", "--mode", "richardson", "--backend", "cpu"],
     ["Jr.jsonl", "Jr.jsonl.meta.json"]),
    ("jacobian_dual", ["jacobian", "--function", "exp(r)*t", "--vars", "r,t", "--points", "polar.csv",
                       "--out", "Jd.csv", "--mode", "dual", "--backend", "cpu"], ["Jd.csv", "Jd.csv.meta.json"]),
    ("run_file_job", ["run", "rosen.toml", "--backend", "cpu"], ["out/rosen.h5"]),
    ("run_shard_1", ["run", "shards.toml", "--shard", "1/2", "--backend", "cpu"], ["out/shards.shard-1-of-2.h5"]),
    ("run_shard_2", ["run", "shards.toml", "--shard", "2/2", "--backend", "cpu"], ["out/shards.shard-2-of-2.h5"]),
    ("merge_shards", ["merge", "out/shards.shard-1-of-2.h5", "out/shards.shard-2-of-2.h5", "-o", "out/merged.h5"],
     ["out/merged.h5"]),
    ("run_resume_done", ["run", "shards.toml", "--resume", "--backend", "cpu"], ["out/shards.h5"]),
    ("functions", ["functions"], []),
    ("bad_expression", ["analyze", "--function", "x^2 + (y", "--vars", "x,y", "--points", "landscape_grid.csv",
                        "--out", "bad.csv"], []),
    ("bad_points", ["analyze", "--function", "himmelblau", "--points", "broken.csv", "--out", "bad.csv",
                    "--backend", "cpu"], []),
    ("bad_job_key", ["run", "typo.toml"], []),
]
HELP_COMMANDS = ["", "analyze", "critical", "jacobian", "run", "merge", "functions", "plot"]
CASES += [("help_" + (c or "main"), ([c] if c else []) + ["--help"], []) for c in HELP_COMMANDS]


def write_inputs(work):
    for item in INPUTS:
        source = os.path.join(SOURCE, item)
        target = os.path.join(work, os.path.basename(item))
        (shutil.copytree if os.path.isdir(source) else shutil.copy)(source, target)
    files = {"A.csv": A_MATRIX, "rosen.csv": ROSEN_POINTS, "rosen.toml": FILE_JOB, "shards.toml": SHARD_JOB,
             "polar.csv": "r,t\n1,0\n2,0.5\n0.5,-1\n3,3.14159\n",
             "broken.csv": "x0,x1\n1,2\n3,oops\n", "typo.toml": SHARD_JOB.replace("stencil =", "stencl =")}
    for name, text in files.items():
        with open(os.path.join(work, name), "w") as out:
            out.write(text)
    os.makedirs(os.path.join(work, "out"), exist_ok=True)


TIMING = [
    (re.compile(r"[0-9.e+-]+ points/s"), "<rate> points/s"),
    (re.compile(r"(?<![\w.])[0-9][0-9.e+-]* s\b"), "<seconds> s"),
    (re.compile(r'"(seconds|created_utc)": [^,\n}]+'), r'"\1": <varies>'),
]


# Progress lines come at moments, not at points: how many appear depends on the machine's speed.
PROGRESS = re.compile(r"^hessa: [0-9]+ / [0-9]+ points.*\n", re.M)


def normalize_text(text, exe):
    text = PROGRESS.sub("", text.replace(exe, "hessa"))
    for pattern, replacement in TIMING:
        text = pattern.sub(replacement, text)
    return text


# Datasets of an n >= 4 store come from LAPACK's dsyevd, whose last bits depend on the BLAS kernels this CPU runs
# (OpenBLAS picks them per processor: the same build differs between an Intel Xeon and an AMD EPYC). They are
# recorded as a summary at 7 significant digits (dsyevd's differences are ~1e-14 relative), and the store's checksums,
# which cover them, are not compared. Every other dataset, and every n <= 3 store (hessa's own Jacobi), bit for bit.
LAPACK_DATASETS = {"eigenvalues", "lambda_min", "lambda_max", "lr_max"}


def hdf5_dump(path):
    import h5py  # noqa: imported here so that the text-only cases need no h5py
    import numpy
    lines = []

    def attributes(obj):
        for key in sorted(obj.attrs):
            value = obj.attrs[key]
            lines.append("  @%s = %r" % (key, value.tolist() if isinstance(value, numpy.ndarray) else value))

    with h5py.File(path, "r") as f:
        lines.append("/")
        attributes(f)
        lapack = "eigenvalues" in f and f["eigenvalues"].ndim == 2 and f["eigenvalues"].shape[1] >= 4

        def visit(name, obj):
            if isinstance(obj, h5py.Dataset) and lapack and name in LAPACK_DATASETS | {"checksum"}:
                data = numpy.asarray(obj[()], dtype=numpy.float64)
                finite = data[numpy.isfinite(data)]
                summary = ("min=%.7e max=%.7e sum=%.7e" % (finite.min(), finite.max(), finite.sum())
                           if name != "checksum" and finite.size else "(covers LAPACK's bits: not compared)")
                lines.append("%s %s %s %s" % (name, obj.dtype, obj.shape, summary))
            elif isinstance(obj, h5py.Dataset):
                data = obj[()]
                digest = hashlib.sha256(numpy.ascontiguousarray(data).tobytes()).hexdigest()
                lines.append("%s %s %s sha256=%s" % (name, obj.dtype, obj.shape, digest))
            else:
                lines.append(name + "/")
            attributes(obj)
        f.visititems(visit)
    return "\n".join(lines) + "\n"


def file_record(path, exe):
    if path.endswith(".h5"):
        return hdf5_dump(path)
    if path.endswith(".npz"):  # a zip: its members' bytes, not the archive's timestamps
        import zipfile
        with zipfile.ZipFile(path) as z:
            members = []
            for m in sorted(z.namelist()):
                data = z.read(m)
                if m == "metadata.npy":  # the settings as a numpy string (UTF-32, sized to fit), timing included
                    import io
                    import numpy
                    data = normalize_text(str(numpy.load(io.BytesIO(data))), exe).encode("utf-8")
                members.append("%s sha256=%s\n" % (m, hashlib.sha256(data).hexdigest()))
            return "".join(members)
    with open(path, "rb") as f:
        data = f.read()
    if path.endswith((".csv", ".jsonl", ".json")):
        return normalize_text(data.decode("utf-8"), exe)
    return "sha256=" + hashlib.sha256(data).hexdigest() + " bytes=%d\n" % len(data)


def compact(text):
    if len(text) <= INLINE_LIMIT:
        return text
    return "sha256=%s (%d characters; first lines:)\n%s" % (
        hashlib.sha256(text.encode()).hexdigest(), len(text), "\n".join(text.splitlines()[:8]))


def run_cases(exe, work):
    env = dict(os.environ, OMP_NUM_THREADS="2", LC_ALL="C")
    env.pop("HESSA_CUDA_DEVICE", None)
    records = {}
    for name, argv, outputs in CASES:
        done = subprocess.run([exe] + argv, cwd=work, env=env, capture_output=True, timeout=600)
        record = {"exit": done.returncode,
                  "stdout": compact(normalize_text(done.stdout.decode("utf-8", "replace"), exe)),
                  "stderr": compact(normalize_text(done.stderr.decode("utf-8", "replace"), exe))}
        for output in outputs:
            path = os.path.join(work, output)
            record[output] = compact(file_record(path, exe)) if os.path.exists(path) else "<missing>"
        records[name] = record
    return records


def have_numpy_and_h5py():
    try:
        import h5py  # noqa: F401
        import numpy  # noqa: F401
        return True
    except ImportError:
        return False


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hessa", required=True, help="the hessa executable to check")
    parser.add_argument("--update", action="store_true", help="re-record tests/cli_outputs.json")
    args = parser.parse_args()
    exe = os.path.abspath(args.hessa)
    if not have_numpy_and_h5py():
        print("skipped: the stores and .npz files are compared through numpy and h5py, not importable here")
        return 77
    with tempfile.TemporaryDirectory(prefix="hessa-cli-outputs-") as work:
        write_inputs(work)
        records = run_cases(exe, work)
    if args.update:
        with open(RECORD, "w") as out:
            json.dump(records, out, indent=1, sort_keys=True)
            out.write("\n")
        print("recorded %d cases into %s" % (len(records), RECORD))
        return 0
    with open(RECORD) as f:
        expected = json.load(f)
    failures = 0
    for name in sorted(set(expected) | set(records)):
        want, got = expected.get(name, {}), records.get(name, {})
        for key in sorted(set(want) | set(got)):
            if want.get(key) != got.get(key):
                failures += 1
                print("DIFFERS: %s: %s" % (name, key))
                diff = difflib.unified_diff(str(want.get(key, "<absent>")).splitlines(),
                                            str(got.get(key, "<absent>")).splitlines(),
                                            "recorded", "now", lineterm="", n=2)
                print("\n".join(list(diff)[:40]))
    print("%d cases, %d outputs differ" % (len(records), failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
