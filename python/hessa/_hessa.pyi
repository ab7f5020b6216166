# Type stubs of hessa's compiled core (python/src/hessa_module.cpp). Use the hessa package's functions: these take the
# settings as a dict, already converted, and return the engine's raw results.
from typing import Any, Callable, Optional

import numpy as np

__version__: str
cuda_compiled: bool

class InputError(ValueError): ...

# (name, numpy type string, shape, the bytes as a uint8 array), the coordinates' names, the metadata JSON, notices.
_Arrays = tuple[list[tuple[str, str, tuple[int, ...], np.ndarray]], list[str], str, list[str]]

def analyze(
    function: str,
    points: np.ndarray,
    fn: Optional[Callable[[np.ndarray], Any]],
    grad: Optional[Callable[[np.ndarray], Any]],
    options: dict[str, Any],
    progress: Optional[Callable[[int, Optional[int]], None]],
    interruptible: bool,
) -> _Arrays: ...
def critical(
    function: str,
    starts: Optional[np.ndarray],
    fn: Optional[Callable[[np.ndarray], Any]],
    grad: Optional[Callable[[np.ndarray], Any]],
    options: dict[str, Any],
    interruptible: bool,
) -> _Arrays: ...
def jacobian(
    functions: list[str],
    points: np.ndarray,
    fn: Optional[Callable[[np.ndarray], Any]],
    options: dict[str, Any],
    interruptible: bool,
) -> _Arrays: ...
def run(
    job: str,
    job_json: str,
    fn: Optional[Callable[[np.ndarray], Any]],
    grad: Optional[Callable[[np.ndarray], Any]],
    options: dict[str, Any],
    progress: Optional[Callable[[int, int], None]],
    interruptible: bool,
) -> dict[str, Any]: ...
def merge(inputs: list[str], out: str, allow_incomplete: bool, interruptible: bool) -> dict[str, Any]: ...
def bench(options: dict[str, Any], interruptible: bool) -> str: ...
def functions() -> list[dict[str, str]]: ...
def backends() -> list[dict[str, Any]]: ...
