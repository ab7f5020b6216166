#!/usr/bin/env python3
"""Compares the eigendecompositions in two hessa result CSVs (e.g. --backend cpu vs --backend cuda), point by point.

compare_results.py compares eigenvector cells by |value|, which hides a transposed block or one flipped component.
This script reads lambda_k (ascending), v_k_r (component r of eigenvector k) and, when written, H_r_c, and checks:

  eigenvalues   |lambda_k(a) - lambda_k(b)| <= tol * S, S = the point's largest |lambda| (either file)
  eigenvectors  column by column after fixing each column's sign (v_k(b) is flipped when v_k(a) . v_k(b) < 0: an
                eigenvector's sign is arbitrary, a single component's is not), max |v_k(a) - v_k(b)| <= vtol;
                only columns whose eigenvalue is apart from its neighbours by more than gap * S (elsewhere the
                eigenvectors are not unique: the residual judges them)
  residual      ||H v_k - lambda_k v_k|| <= rtol * ||H||_F per column, with each file's own written H, and
                | ||v_k|| - 1 | <= rtol: every (lambda, v) pair really is an eigenpair of the H that was written

Rows where both files have NaN eigenvalues (failed points) are skipped. Exit 0 when everything holds, 1 otherwise,
2 when the files lack the columns. Standard library only.
"""
import argparse
import math
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare_results import read_csv  # noqa: E402  (the one CSV reader of the comparison scripts)


def number(cell):
    cell = cell.strip()
    return math.nan if cell == "" else float(cell)


def layout(header):
    """n and the column indices of lambda_k, v_k_r (as V[k][r]) and H_r_c (None when absent)."""
    index = {name: i for i, name in enumerate(header)}
    n = sum(1 for name in header if re.fullmatch(r"lambda_\d+", name))
    if n == 0:
        return None
    lam = [index[f"lambda_{k}"] for k in range(n)]
    V = [[index.get(f"v_{k}_{r}") for r in range(n)] for k in range(n)]
    if any(c is None for col in V for c in col):
        return None
    H = [[index.get(f"H_{r}_{c}") for c in range(n)] for r in range(n)]
    if any(c is None for row in H for c in row):
        H = None
    return n, lam, V, H


def point(row, cols):
    n, lam, V, H = cols
    w = [number(row[c]) for c in lam]
    v = [[number(row[c]) for c in V[k]] for k in range(n)]
    h = [[number(row[c]) for c in H[r]] for r in range(n)] if H else None
    return w, v, h


try:  # numpy only makes n = 128 fast (a point's residuals are n^3 products); the results are the same
    import numpy
except ImportError:
    numpy = None


def residuals(w, v, h):
    """Per column k: ||H v_k - lambda_k v_k|| / ||H||_F and | ||v_k|| - 1 |."""
    n = len(w)
    if numpy is not None:
        H, V, lam = numpy.array(h), numpy.array(v), numpy.array(w)  # V[k] = eigenvector k
        norm_h = float(numpy.linalg.norm(H)) or 1.0
        res = numpy.linalg.norm(V @ H.T - lam[:, None] * V, axis=1) / norm_h
        norms = numpy.abs(numpy.linalg.norm(V, axis=1) - 1.0)
        return list(zip(res.tolist(), norms.tolist()))
    norm_h = math.sqrt(sum(x * x for r in h for x in r)) or 1.0
    out = []
    for k in range(n):
        hv = [sum(h[r][c] * v[k][c] for c in range(n)) for r in range(n)]
        res = math.sqrt(sum((hv[r] - w[k] * v[k][r]) ** 2 for r in range(n))) / norm_h
        out.append((res, abs(math.sqrt(sum(x * x for x in v[k])) - 1.0)))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("reference", help="result CSV of the reference run (CPU)")
    ap.add_argument("candidate", help="result CSV to check (CUDA)")
    ap.add_argument("--tol", type=float, default=1e-6, help="eigenvalues: largest |difference| / max|lambda|")
    ap.add_argument("--vtol", type=float, default=1e-6, help="eigenvectors: largest component difference")
    ap.add_argument("--gap", type=float, default=1e-3,
                    help="eigenvectors are compared where the eigenvalue gap exceeds gap * max|lambda|")
    ap.add_argument("--rtol", type=float, default=1e-9, help="residual ||Hv - lambda v|| / ||H||_F, and ||v|| - 1")
    ap.add_argument("--label", default="")
    args = ap.parse_args()

    ha, ra = read_csv(args.reference)
    hb, rb = read_csv(args.candidate)
    label = args.label or args.candidate
    ca, cb = layout(ha), layout(hb)
    if ca is None or cb is None:
        print(f"{label}: a file lacks lambda_k / v_k_r columns (run with --eigenvalues --eigenvectors)")
        return 2
    if ca[0] != cb[0] or len(ra) != len(rb):
        print(f"{label}: n {ca[0]} vs {cb[0]}, rows {len(ra)} vs {len(rb)}")
        return 1
    n = ca[0]
    worst = {"lambda": (0.0, -1), "vector": (0.0, -1), "residual": (0.0, -1), "norm": (0.0, -1)}
    bad = {key: 0 for key in worst}
    compared = skipped = failed_rows = 0

    def note(key, err, row, limit):
        if err > worst[key][0] or math.isnan(err):
            worst[key] = (err, row)
        if not err <= limit:  # NaN fails
            bad[key] += 1

    for i, (x, y) in enumerate(zip(ra, rb)):
        wa, va, h_a = point(x, ca)
        wb, vb, h_b = point(y, cb)
        nan_a, nan_b = any(math.isnan(t) for t in wa), any(math.isnan(t) for t in wb)
        if nan_a or nan_b:
            if nan_a != nan_b:
                note("lambda", math.inf, i, args.tol)
            failed_rows += 1
            continue
        scale = max(max(abs(t) for t in wa + wb), 1e-300)
        for k in range(n):
            note("lambda", abs(wa[k] - wb[k]) / scale, i, args.tol)
            gap = min([abs(wa[k] - wa[j]) for j in range(n) if j != k] or [math.inf])
            if gap <= args.gap * scale:
                skipped += 1
                continue
            compared += 1
            sign = -1.0 if sum(p * q for p, q in zip(va[k], vb[k])) < 0 else 1.0
            note("vector", max(abs(p - sign * q) for p, q in zip(va[k], vb[k])), i, args.vtol)
        for w, v, h in ((wa, va, h_a), (wb, vb, h_b)):
            if h is None:
                continue
            for res, norm in residuals(w, v, h):
                note("residual", res, i, args.rtol)
                note("norm", norm, i, args.rtol)

    has_h = ca[3] is not None and cb[3] is not None
    print(f"{label}: {len(ra)} rows, n = {n}, {compared} eigenvector columns compared, {skipped} in clusters "
          f"(residual only), {failed_rows} failed rows skipped")
    limits = {"lambda": args.tol, "vector": args.vtol, "residual": args.rtol, "norm": args.rtol}
    for key in ("lambda", "vector", "residual", "norm"):
        if key in ("residual", "norm") and not has_h:
            print(f"  {key:<9} -          (no H_r_c columns: run with --hessian)")
            continue
        err, row = worst[key]
        verdict = "ok" if bad[key] == 0 else "FAIL"
        where = str(row + 1) if row >= 0 else "-"
        print(f"  {key:<9} {err:10.3g} at row {where:<6} limit {limits[key]:g}, {bad[key]} bad  {verdict}")
    ok = all(v == 0 for v in bad.values()) and has_h
    print(f"{label}: {'PASS' if ok else 'FAIL'}" + ("" if has_h else " (no residual without H)"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
