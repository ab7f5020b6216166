#!/usr/bin/env python3
"""The structure of `scripts/gpu-check --quick`, as far as a machine without a GPU can check it.

scripts/compare_eigen.py (its parity comparison) on two CPU runs of `hessa analyze`, with defects planted in a copy:
  (a) one point's eigenvector block transposed          -> must fail
  (b) one eigenvector column's sign flipped as a whole  -> must pass (a column's sign is arbitrary)
  (c) one component's sign flipped                      -> must fail, by the column comparison and by the residual
  (d) two columns of different eigenvalues swapped      -> must fail
and gpu-check --quick itself: --dry-run prints the plan (every part, every solver and n), and without a GPU the
check stops at once with a clear message and a non-zero status.

Usage: test_gpu_check_quick.py --hessa PATH [--keep DIR]
"""
import argparse
import csv
import os
import random
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from script_harness import check, run_tests  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COMPARE = os.path.join(ROOT, "scripts", "compare_eigen.py")
GPU_CHECK = os.path.join(ROOT, "scripts", "gpu-check")
N = 5
HESSA = None


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def analyze(tmp, points, out):
    r = run([HESSA, "analyze", "-q", "--backend", "cpu", "--function", "rosenbrock", "--points", points, "--out", out,
             "--eigenvalues", "--eigenvectors", "--hessian"])
    if r.returncode != 0:
        print(r.stdout, r.stderr)
    return r.returncode == 0


def read(path):
    with open(path, newline="") as f:
        rows = [r for r in csv.reader(line for line in f if not line.startswith("#"))]
    return rows[0], rows[1:]


def write(path, header, rows):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)


def planted(tmp, name, header, rows, edit):
    """A copy of the result with edit(header index, row) applied to row 3."""
    rows = [list(r) for r in rows]
    idx = {h: i for i, h in enumerate(header)}
    edit(idx, rows[3])
    path = os.path.join(tmp, name + ".csv")
    write(path, header, rows)
    return path


def compare(ref, cand):
    return run([sys.executable, COMPARE, ref, cand, "--tol", "1e-12", "--vtol", "1e-12", "--rtol", "1e-9"])


def test_planted_defects(tmp):
    random.seed(5)
    points = os.path.join(tmp, "points.csv")
    with open(points, "w") as f:
        for _ in range(12):
            f.write(",".join(repr(random.uniform(-2, 2)) for _ in range(N)) + "\n")
    a, b = os.path.join(tmp, "a.csv"), os.path.join(tmp, "b.csv")
    if not check(analyze(tmp, points, a) and analyze(tmp, points, b), "hessa analyze on the cpu"):
        return
    r = compare(a, b)
    check(r.returncode == 0, f"two cpu runs agree:\n{r.stdout}")
    check("residual" in r.stdout and "vector" in r.stdout, "the comparison reports vectors and residuals")
    header, rows = read(b)
    lam = [float(rows[3][header.index(f"lambda_{k}")]) for k in range(N)]
    check(len(set(lam)) == N, f"row 4's eigenvalues are distinct: {lam}")

    def transpose(idx, row):
        block = {(k, r): row[idx[f"v_{k}_{r}"]] for k in range(N) for r in range(N)}
        for k in range(N):
            for r in range(N):
                row[idx[f"v_{k}_{r}"]] = block[(r, k)]

    def flip_column(idx, row):
        for r in range(N):
            row[idx[f"v_2_{r}"]] = repr(-float(row[idx[f"v_2_{r}"]]))

    def flip_component(idx, row):
        # The largest component of column 1, so that the defect is far above every tolerance.
        r = max(range(N), key=lambda r: abs(float(row[idx[f"v_1_{r}"]])))
        row[idx[f"v_1_{r}"]] = repr(-float(row[idx[f"v_1_{r}"]]))

    def swap_columns(idx, row):
        for r in range(N):
            i, j = idx[f"v_0_{r}"], idx[f"v_{N - 1}_{r}"]
            row[i], row[j] = row[j], row[i]

    r = compare(a, planted(tmp, "transposed", header, rows, transpose))
    check(r.returncode == 1, f"(a) a transposed eigenvector block is caught:\n{r.stdout}")
    r = compare(a, planted(tmp, "column_flipped", header, rows, flip_column))
    check(r.returncode == 0, f"(b) a whole column's sign flip passes:\n{r.stdout}")
    r = compare(a, planted(tmp, "component_flipped", header, rows, flip_component))
    check(r.returncode == 1, f"(c) one component's sign flip is caught:\n{r.stdout}")
    check(any(line.split()[:1] == ["residual"] and line.rstrip().endswith("FAIL") for line in r.stdout.splitlines()),
          f"(c) ... and by the residual from the written H:\n{r.stdout}")
    r = compare(a, planted(tmp, "swapped", header, rows, swap_columns))
    check(r.returncode == 1, f"(d) two swapped columns of different eigenvalues are caught:\n{r.stdout}")
    check(any(line.split()[:1] == ["residual"] and line.rstrip().endswith("FAIL") for line in r.stdout.splitlines()),
          f"(d) ... and by the residual:\n{r.stdout}")
    # Without H the residual cannot be judged: that is a failure, not a silent pass.
    keep = [i for i, h in enumerate(header) if not h.startswith("H_")]
    no_h = os.path.join(tmp, "no_h.csv")
    write(no_h, [header[i] for i in keep], [[row[i] for i in keep] for row in rows])
    r = compare(no_h, no_h)
    check(r.returncode == 1 and "no H_r_c" in r.stdout, f"no H columns: fails and says why:\n{r.stdout}")


def test_dry_run_prints_the_plan(tmp):
    r = run(["bash", GPU_CHECK, "--quick", "--dry-run"])
    check(r.returncode == 0, f"--dry-run exits 0: {r.returncode} {r.stderr}")
    for part in ("preflight", "build", "tests", "parity", "memcheck", "benchmark", "summary"):
        check(any(line.split()[:1] == [part] for line in r.stdout.splitlines()), f"the plan has part '{part}'")
    for needle in ("--target hessa hessa_tests hessa_bench", "90-real", "HESSA_CUDA_SYNC=1", "compare_eigen.py",
                   "BM_CudaPipeline", "small_jacobi:", "syevj:", "xsyev:"):
        check(needle in r.stdout, f"the plan names {needle}")
    for n in (8, 33, 64, 128):
        check(f"HESSA_EIGEN_SOLVER=xsyev n={n} " in r.stdout, f"parity runs xsyev at n = {n}")
    check("HESSA_EIGEN_SOLVER=syevj n=8 " in r.stdout, "parity runs syevj at n = 8")
    check("BM_Cpu" not in r.stdout, "the benchmark runs no CPU benchmark")
    r = run(["bash", GPU_CHECK, "--quick", "--no-such-option"])
    check(r.returncode == 2, "an unknown option exits 2")


def test_no_gpu_fails_fast(tmp):
    if shutil.which("nvidia-smi") and run(["nvidia-smi", "-L"]).returncode == 0:
        print("skip: this machine has a GPU")
        return
    start = time.monotonic()
    r = run(["bash", GPU_CHECK, "--quick"], env=dict(os.environ, HESSA_CHECK_OUT=os.path.join(tmp, "out")))
    seconds = time.monotonic() - start
    check(r.returncode == 2, f"no GPU: exit 2, got {r.returncode}")
    check("no GPU" in r.stderr, f"no GPU: says so: {r.stderr!r}")
    check(seconds < 10, f"no GPU: fails within seconds ({seconds:.1f} s), before building anything")
    check(not os.path.exists(os.path.join(tmp, "out")), "no GPU: nothing written")


def main():
    global HESSA
    ap = argparse.ArgumentParser()
    ap.add_argument("--hessa", required=True)
    ap.add_argument("--keep")
    args = ap.parse_args()
    HESSA = args.hessa
    return run_tests([test_planted_defects, test_dry_run_prints_the_plan, test_no_gpu_fails_fast], args.keep,
                     "hessa_gpu_check_")


if __name__ == "__main__":
    sys.exit(main())
