#!/usr/bin/env python3
"""The whole `hessa analyze` process against its parts, in one run (issue 12's measure).

At n = 2 (rosenbrock, central stencil, B points, .npy in and out, on the disk of --dir) it times, per repeat:
  pipeline  the in-process engine alone: `hessa bench` (no I/O), scaled to B points;
  dd        writing as many bytes as the process's .npy output to the same disk (dd conv=fsync, as hessa fsyncs
            its result before renaming it into place);
  process   the whole `hessa analyze` run (reading, computing, writing, fsync, rename).
and reports the medians and process / (pipeline + dd) (the goal: at most 1.5). Then the same process with .csv
output (rows/s, against the rate before the parallel shortest-digit writer, --csv-baseline) and with --columns
(bytes written against all columns). Needs numpy for the points file. Exits 1 when an output is not what was
asked (its row count, the --columns header); the goals are printed, not enforced (the machines are noisy).

  python3 bench/compare_pipeline.py --hessa build-cpu/hessa [--dir DIR] [--points 1000000] [--repeats 3]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time


def timed(cmd, **kw):
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, **kw)
    return time.perf_counter() - start


def remove(*paths):
    for p in paths:
        for q in (p, p + ".meta.json"):
            if os.path.exists(q):
                os.remove(q)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hessa", default="build-cpu/hessa")
    ap.add_argument("--dir", default=None, help="where the files go (the disk measured); default: a folder in the "
                    "current directory's disk")
    ap.add_argument("--points", type=int, default=1000000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--csv-baseline", type=float, default=0.39e6,
                    help="rows/s of .csv output before this writer (issue 12's figure on this machine kind)")
    ap.add_argument("--baseline-hessa", help="an earlier hessa binary: its .npy and .csv runs are timed in the same "
                    "repeats, and the ratios printed (e.g. a build of the commit before the overlapped pipeline)")
    ap.add_argument("--json", help="also write the figures here")
    args = ap.parse_args()
    import numpy as np

    hessa = os.path.abspath(args.hessa)
    work = tempfile.mkdtemp(prefix="hessa-compare-pipeline-", dir=args.dir or os.getcwd())
    points = os.path.join(work, "p.npy")
    np.save(points, np.random.default_rng(1).uniform(-2, 2, (args.points, 2)))
    out_npy, out_csv, out_cols, dd_file, bench_json = (os.path.join(work, f) for f in
                                                      ("r.npy", "r.csv", "c.csv", "dd.bin", "bench.json"))
    analyze = [hessa, "analyze", "-q", "--function", "rosenbrock", "--stencil", "central", "--backend", "cpu",
               "--points", points]
    figures = {"pipeline": [], "dd": [], "process": [], "csv": [], "columns": []}
    before = [os.path.abspath(args.baseline_hessa)] + analyze[1:] if args.baseline_hessa else None
    if before:
        figures.update({"before_process": [], "before_csv": []})
    out_bytes = None
    try:
        for r in range(args.repeats):
            # The engine alone (no reading or writing), long enough for its chunks to reach full size.
            subprocess.run([hessa, "bench", "--backend", "cpu", "--n", "2", "--stencil", "central", "--no-model",
                            "--seconds", "1", "--json", bench_json], check=True, stdout=subprocess.DEVNULL)
            case = json.load(open(bench_json))["cases"][0]
            stages = case["stages_seconds"]
            engine = sum(v for k, v in stages.items() if k != "write")
            figures["pipeline"].append(engine / case["points"] * args.points)

            remove(out_npy)
            figures["process"].append(timed(analyze + ["--out", out_npy]))
            out_bytes = os.path.getsize(out_npy)
            rows = np.load(out_npy, mmap_mode="r").shape[0]
            if rows != args.points:
                raise SystemExit("%s has %d rows, expected %d" % (out_npy, rows, args.points))
            blocks = (out_bytes + (4 << 20) - 1) // (4 << 20)
            figures["dd"].append(timed(["dd", "if=/dev/zero", "of=" + dd_file, "bs=4M", "count=%d" % blocks,
                                        "conv=fsync", "status=none"]))
            os.remove(dd_file)

            remove(out_csv)
            figures["csv"].append(timed(analyze + ["--out", out_csv]))
            csv_bytes = os.path.getsize(out_csv)
            remove(out_cols)
            figures["columns"].append(timed(analyze + ["--out", out_cols, "--columns",
                                                       "x0,x1,f,lambda_min,lambda_max,class"]))
            cols_bytes = os.path.getsize(out_cols)
            with open(out_cols) as f:
                header = f.readline().strip()
            if header != "x0,x1,f,lambda_min,lambda_max,class":
                raise SystemExit("%s: --columns wrote the header %r" % (out_cols, header))
            if before:
                remove(out_npy)
                figures["before_process"].append(timed(before + ["--out", out_npy]))
                remove(out_csv)
                figures["before_csv"].append(timed(before + ["--out", out_csv]))
            print("repeat %d: pipeline %.3f s, dd %.3f s, process %.3f s, csv %.3f s, --columns csv %.3f s"
                  % (r + 1, figures["pipeline"][-1], figures["dd"][-1], figures["process"][-1], figures["csv"][-1],
                     figures["columns"][-1]), flush=True)
    finally:
        for f in (points, out_npy, out_csv, out_cols, dd_file, bench_json):
            remove(f)
        os.rmdir(work)

    med = {k: statistics.median(v) for k, v in figures.items()}
    ratio = med["process"] / (med["pipeline"] + med["dd"])
    csv_rate = args.points / med["csv"]
    print("\nn = 2, B = %d, .npy output %.0f MB on %s" % (args.points, out_bytes / 1e6, args.dir or os.getcwd()))
    print("median: pipeline %.3f s + dd %.3f s = %.3f s; whole process %.3f s" %
          (med["pipeline"], med["dd"], med["pipeline"] + med["dd"], med["process"]))
    print("process / (pipeline + dd) = %.2f (goal <= 1.5): %s" % (ratio, "PASS" if ratio <= 1.5 else "FAIL"))
    print(".csv output: %.3f s, %.3g rows/s = %.2f x the %.3g rows/s baseline (goal >= 3): %s" %
          (med["csv"], csv_rate, csv_rate / args.csv_baseline, args.csv_baseline,
           "PASS" if csv_rate / args.csv_baseline >= 3 else "FAIL"))
    if before:
        print("against %s, same repeats: .npy process %.3f s before, %.2fx faster now; .csv %.3f s before, %.2fx "
              "the rows/s now" % (args.baseline_hessa, med["before_process"], med["before_process"] / med["process"],
                                  med["before_csv"], med["before_csv"] / med["csv"]))
    print("--columns x0,x1,f,lambda_min,lambda_max,class: %.0f MB instead of %.0f MB (%.2f of the bytes), %.3f s"
          % (cols_bytes / 1e6, csv_bytes / 1e6, cols_bytes / csv_bytes, med["columns"]))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"points": args.points, "median_seconds": med, "ratio": ratio, "csv_rows_per_second": csv_rate,
                       "npy_bytes": out_bytes, "csv_bytes": csv_bytes, "columns_csv_bytes": cols_bytes}, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
