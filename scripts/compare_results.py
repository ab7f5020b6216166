#!/usr/bin/env python3
"""Compares two hessa result CSVs (e.g. --backend cpu vs --backend cuda) column by column.

Numeric columns: per row err = |a - b| / max(|a|, |b|, floor * S), S = the column's largest finite |value|
in either file, so values near zero are judged against the column's scale (FD noise is relative to it, not
to the value). Reports the max err per column; fails when it exceeds --tol. NaN (or an empty cell) must
match NaN. Text columns (class, status, uphill) must match exactly. Standard library only.
"""
import argparse
import csv
import math
import re
import sys


def read_csv(path):
    with open(path, newline="") as f:
        rows = [r for r in csv.reader(line for line in f if not line.startswith("#"))]
    if not rows:
        raise SystemExit(f"{path}: empty file")
    return rows[0], rows[1:]


def as_number(cell):
    """float(cell), NaN for an empty cell, None when the cell is not a number."""
    cell = cell.strip()
    if cell == "":
        return math.nan
    try:
        return float(cell)
    except ValueError:
        return None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("reference", help="result CSV of the reference run (CPU)")
    ap.add_argument("candidate", help="result CSV to check (CUDA)")
    ap.add_argument("--tol", type=float, default=1e-6, help="largest accepted err per numeric column")
    ap.add_argument("--floor", type=float, default=1e-3,
                    help="values below floor * (column scale) are compared absolutely against that scale")
    ap.add_argument("--sign-insensitive", default=r"^v_\d+_\d+$",
                    help="regex of columns compared by |value| (eigenvectors: each has an arbitrary sign)")
    ap.add_argument("--noncritical-only", default="step_opt,step,taylor_pred,f_step,uphill",
                    help="columns judged only on rows whose class is 'noncritical' (at a critical point g is FD "
                         "noise, so g'g / g'Hg and everything after it is noise divided by noise); reported "
                         "for all rows")
    ap.add_argument("--class-column", default="class")
    ap.add_argument("--label", default="", help="name of this comparison in the output")
    args = ap.parse_args()

    ref_header, ref_rows = read_csv(args.reference)
    cand_header, cand_rows = read_csv(args.candidate)
    label = args.label or args.candidate
    failures = []
    if ref_header != cand_header:
        print(f"{label}: headers differ:\n  {ref_header}\n  {cand_header}")
        return 1
    if len(ref_rows) != len(cand_rows):
        failures.append(f"row count {len(ref_rows)} vs {len(cand_rows)}")
    rows = list(zip(ref_rows, cand_rows))
    for k, (a, b) in enumerate(rows):
        if len(a) != len(ref_header) or len(b) != len(ref_header):
            print(f"{label}: row {k + 1} has {len(a)} / {len(b)} cells, header has {len(ref_header)}")
            return 1

    sign_re = re.compile(args.sign_insensitive) if args.sign_insensitive else None
    noncritical_only = {c for c in args.noncritical_only.split(",") if c}
    class_index = ref_header.index(args.class_column) if args.class_column in ref_header else None

    print(f"{label}: {len(rows)} rows, {len(ref_header)} columns (tol {args.tol:g}, floor {args.floor:g})")
    print(f"  {'column':<16} {'kind':<8} {'max err':>10} {'at row':>7} {'mismatch':>9}  verdict")
    for c, name in enumerate(ref_header):
        ra = [as_number(a[c]) for a, _ in rows]
        rb = [as_number(b[c]) for _, b in rows]
        judged = [True] * len(rows)
        if name in noncritical_only and class_index is not None:
            judged = [a[class_index] == "noncritical" and b[class_index] == "noncritical" for a, b in rows]
        if any(v is None for v in ra + rb):  # text column
            bad = [k for k, (a, b) in enumerate(rows) if a[c] != b[c] and judged[k]]
            verdict = "ok" if not bad else "FAIL"
            where = str(bad[0] + 1) if bad else "-"
            print(f"  {name:<16} {'text':<8} {'':>10} {where:>7} {len(bad):>9}  {verdict}")
            if bad:
                k = bad[0]
                failures.append(f"{name}: {len(bad)} rows differ, first row {k + 1}: '{rows[k][0][c]}' vs "
                                f"'{rows[k][1][c]}'")
            continue
        if sign_re is not None and sign_re.search(name):
            ra = [abs(v) for v in ra]
            rb = [abs(v) for v in rb]
        finite = [abs(v) for v in ra + rb if math.isfinite(v)]
        scale = max(finite) if finite else 0.0
        worst, worst_row, worst_judged, mismatches = 0.0, -1, 0.0, 0
        for k, (a, b) in enumerate(zip(ra, rb)):
            if math.isnan(a) and math.isnan(b):
                continue
            if a == b:  # also equal infinities
                continue
            if not (math.isfinite(a) and math.isfinite(b)):
                err = math.inf
            else:
                denom = max(abs(a), abs(b), args.floor * scale)
                err = abs(a - b) / denom if denom > 0 else math.inf
            if err > worst:
                worst, worst_row = err, k
            if judged[k]:
                worst_judged = max(worst_judged, err)
                if err > args.tol:
                    mismatches += 1
        verdict = "ok" if worst_judged <= args.tol else "FAIL"
        if name in noncritical_only and worst > worst_judged:
            verdict += " (critical rows not judged)"
        where = str(worst_row + 1) if worst_row >= 0 else "-"
        print(f"  {name:<16} {'numeric':<8} {worst:>10.3g} {where:>7} {mismatches:>9}  {verdict}")
        if worst_judged > args.tol:
            failures.append(f"{name}: max err {worst_judged:.3g} > {args.tol:g} ({mismatches} rows)")

    if failures:
        print(f"{label}: FAIL")
        for f in failures:
            print(f"  - {f}")
        return 1
    print(f"{label}: PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
