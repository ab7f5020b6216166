"""Shared fixtures: the hessa CLI next to the module under test (for the CLI == module comparisons)."""

import os
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def cli():
    """A function running the hessa CLI: HESSA_CLI, else build/hessa or build-cpu/hessa of this checkout.

    scripts/test-python sets HESSA_CLI, so there the comparisons cannot skip: a missing binary fails them.
    """
    named = os.environ.get("HESSA_CLI")
    candidates = [pathlib.Path(named)] if named else [ROOT / "build" / "hessa", ROOT / "build-cpu" / "hessa"]
    binary = next((c for c in candidates if c.is_file()), None)
    if binary is None:
        if named:
            pytest.fail(f"HESSA_CLI={named} does not exist")
        pytest.skip("no hessa CLI built (build/hessa); the CLI comparisons need one")

    def run(*args, check=True):
        done = subprocess.run([str(binary), *map(str, args)], capture_output=True, text=True)
        if check and done.returncode != 0:
            raise AssertionError(f"hessa {' '.join(map(str, args))} -> {done.returncode}\n{done.stderr}")
        return done

    return run
