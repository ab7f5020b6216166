"""What the standalone test scripts (test_plot.py, test_mlp_script.py) share: check() with pass/fail counts, and
the main loop that runs their tests in a scratch folder and exits 0, or 1 on any failure."""
import os
import shutil
import tempfile

passed = failed = 0


def check(cond, what):
    """Counts one check; prints what failed. Returns cond, so a failed precondition can stop a test."""
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print(f"FAIL: {what}")
    return cond


def run_tests(tests, keep, prefix):
    """Calls each test with the scratch folder (`keep`, kept; else a temporary one, removed); returns the exit code."""
    tmp = keep or tempfile.mkdtemp(prefix=prefix)
    os.makedirs(tmp, exist_ok=True)
    try:
        for test in tests:
            test(tmp)
    finally:
        if not keep:
            shutil.rmtree(tmp, ignore_errors=True)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0
