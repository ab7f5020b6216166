"""hessa: gradients, Hessians, eigenvalues and the second-derivative test at many points at once.

Every function here runs the C++ engine that the ``hessa`` command runs (CPU, or CUDA when built and usable):

- :func:`analyze` -- one row per point: f, ||g||, the eigenvalue range, the class (minimum / maximum / saddle /
  degenerate / noncritical), the curvature-limited learning rate 1/lambda_max, the optimal gradient step and the
  other columns of ``hessa analyze``. The function is an expression, a catalogue name, or your own vectorized
  Python function (numpy, torch, jax through numpy interop).
- :func:`critical` -- the stationary points of an expression in a box (``hessa critical``).
- :func:`jacobian` -- Jacobians of vector-valued expressions (``hessa jacobian``).
- :func:`run` -- a batch job into a resumable HDF5 store (``hessa run``), from a TOML file or a dict;
  :func:`merge` -- its shard stores into one (``hessa merge``).
- :func:`bench` -- the stage-by-stage timing matrix of ``hessa bench``.
- :func:`functions`, :func:`backends` -- the catalogue, and which backends this machine can use (and why not).

Results are :class:`Result` objects: numpy arrays named as the CSV columns (``f``, ``grad_norm``, ``lambda_min``,
``class``, ``lr_max``, ...; ``points`` (B, n); optional ``gradient`` (B, n), ``hessian`` (B, n, n),
``eigenvalues`` (B, n), ``eigenvectors`` (B, n, n)), with the run's settings in ``Result.meta``: the same fields
and values as the ``.npz`` and ``.meta.json`` that the CLI writes.

Bad input raises :class:`InputError` (a ``ValueError``) with the CLI's message. Ctrl-C stops a long call at its
next chunk and raises ``KeyboardInterrupt``. Notices that the CLI prints on stderr (a fallback to the CPU, a
clamped chunk) go to the ``logging`` logger ``"hessa"``.
"""

from __future__ import annotations

import json
import os
import logging
import threading
from collections.abc import Mapping
from typing import Any, Callable, Iterable, Iterator, Optional, Sequence, Union

import numpy as np

from . import _hessa
from ._hessa import InputError

__version__: str = _hessa.__version__
__all__ = ["analyze", "critical", "jacobian", "run", "merge", "bench", "functions", "backends", "Result", "InputError", "__version__"]

_log = logging.getLogger("hessa")

ArrayLike = Any
Progress = Union[None, bool, Callable[[int, Optional[int]], None]]


class Result(Mapping):
    """The results of one call: a read-only mapping of field name -> numpy array, one entry per point.

    Fields are named as the CSV columns and ``.npz`` members of the CLI: ``r["f"]``, ``r.grad_norm``,
    ``r["class"]`` (or ``r.class_``: strings such as ``"minimum"``), ``r.points`` (B, n), and, when asked for,
    ``r.hessian`` (B, n, n), ``r.eigenvalues`` (B, n) ... A coordinate's name (``r["x"]``) gives its column of
    ``points``. ``meta`` is the run's metadata (settings, stencil, backend, summary) as the CLI's ``.meta.json``.
    """

    def __init__(self, arrays, coordinate_names, metadata_json, notices):
        self._arrays = {}
        for name, descr, shape, data in arrays:
            dtype = np.dtype(descr)
            self._arrays[name] = (
                np.frombuffer(data, dtype=dtype).reshape(shape) if data.size else np.empty(shape, dtype=dtype)
            )
        self.coordinate_names: list = list(coordinate_names)
        self.meta: dict = json.loads(metadata_json) if metadata_json else {}
        self.notices: list = list(notices)

    def __getitem__(self, name: str) -> np.ndarray:
        if name in self._arrays:
            return self._arrays[name]
        if name in self.coordinate_names and "points" in self._arrays:
            return self._arrays["points"][:, self.coordinate_names.index(name)]
        raise KeyError(f"{name!r} is not a field of this result; its fields: {', '.join(self._arrays)}")

    def __getattr__(self, name: str) -> np.ndarray:
        if name.startswith("_"):  # private and special names are never fields (and _arrays may not exist yet)
            raise AttributeError(name)
        try:
            return self[name[:-1] if name == "class_" else name]
        except KeyError as e:
            raise AttributeError(str(e)) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._arrays)

    def __len__(self) -> int:
        return len(self._arrays)

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self._arrays) | {"class_"})

    @property
    def count(self) -> int:
        """The number of points (rows)."""
        first = next(iter(self._arrays.values()), None)
        return 0 if first is None else len(first)

    def class_codes(self) -> tuple:
        """``class`` as a categorical: (int8 codes, names), with ``names[codes[i]] == r["class"][i]``."""
        names, codes = np.unique(self._arrays["class"], return_inverse=True)
        return codes.astype(np.int8), tuple(str(n) for n in names)

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}{list(v.shape[1:]) if v.ndim > 1 else ''}" for k, v in self._arrays.items())
        return f"<hessa.Result: {self.count} points; {fields}>"


# --- conversions from Python values to the engine's settings ------------------------------------------------------


def _points(points: ArrayLike, what: str = "points"):
    """(B, n) C-contiguous float64, without a copy when `points` already is one; and its column names if any."""
    names = [str(c) for c in points.columns] if hasattr(points, "columns") else []  # a pandas DataFrame
    a = np.asarray(points)
    if a.dtype.kind not in "fiub":
        raise InputError(f"{what}: expected numbers, got an array of dtype {a.dtype}")
    if a.ndim != 2:
        raise InputError(
            f"{what}: expected a 2-D array (points, coordinates), got shape {a.shape}; one point x is [x], "
            "and points of one coordinate are x[:, None]"
        )
    return np.ascontiguousarray(a, dtype=np.float64), names


def _number_list(values: ArrayLike) -> str:
    return ",".join(repr(float(v)) for v in np.asarray(values, dtype=np.float64).ravel())  # repr: exact


def _directions(directions) -> list:
    """Directions as the CLI's --direction texts: a string (inline numbers or a .csv/.npy file), or arrays."""
    if directions is None:
        return []
    if isinstance(directions, str) or not isinstance(directions, (list, tuple)):
        directions = [directions]
    texts = []
    for d in directions:
        if isinstance(d, str):
            texts.append(d)
            continue
        rows = np.asarray(d, dtype=np.float64)
        texts.extend(_number_list(row) for row in (rows if rows.ndim == 2 else [rows]))
    return texts


def _names(value) -> Optional[str]:
    if value is None or isinstance(value, str):
        return value
    return ",".join(str(v) for v in value)


def _columns(value) -> list:
    if value is None:
        return []
    return [c.strip() for c in value.split(",")] if isinstance(value, str) else [str(c) for c in value]


def _params(params) -> list:
    if params is None:
        return []
    if isinstance(params, Mapping):
        return [f"{k}={float(v)!r}" for k, v in params.items()]
    return [str(p) for p in params]


def _progress(progress: Progress):
    if progress is None or progress is False:
        return None, None
    if progress is True:
        try:
            from tqdm import tqdm
        except ImportError:
            raise InputError("progress=True shows a tqdm bar: install tqdm, or pass a callable(done, total)") from None
        bar = tqdm(unit="points")

        def update(done, total):
            if total is not None and bar.total != total:
                bar.total = total
            bar.update(done - bar.n)

        return update, bar
    if not callable(progress):
        raise InputError("progress: expected None, True (a tqdm bar) or a callable(done, total)")
    return progress, None


def _interruptible() -> bool:
    # Python delivers SIGINT to its main thread only: there the engine turns it into a stop between chunks.
    return threading.current_thread() is threading.main_thread()


def _log_notices(notices) -> None:
    for n in notices:
        _log.info("%s", n)


# --- the functions ------------------------------------------------------------------------------------------------


def analyze(
    function: Union[str, Callable[[np.ndarray], ArrayLike]],
    points: ArrayLike,
    *,
    grad: Optional[Callable[[np.ndarray], ArrayLike]] = None,
    vars: Union[None, str, Sequence[str]] = None,
    params: Union[None, Mapping, Sequence[str]] = None,
    stencil: str = "auto",
    step: Optional[float] = None,
    gtol: float = 1e-4,
    eig_tol: float = 1e-6,
    eig_rtol: float = 1e-6,
    lr: Optional[float] = None,
    backend: str = "auto",
    eigenvalues: bool = False,
    eigenvectors: bool = False,
    gradient: bool = False,
    hessian: bool = False,
    directions=None,
    columns: Union[None, str, Sequence[str]] = None,
    chunk: Optional[int] = None,
    memory: Optional[str] = None,
    threads: Optional[int] = None,
    batch_size: int = 65536,
    progress: Progress = None,
) -> Result:
    """Analyzes `function` at every row of `points` (B, n): what ``hessa analyze`` writes, as a :class:`Result`.

    function: an expression in the hessa language (``"x^2 - y^2"``), a catalogue name (``"rosenbrock"``, see
        :func:`functions`), ``"quadratic:FILE"`` or ``"@FILE"``; or a Python callable ``fn(X)`` taking an (m, n)
        float64 array of evaluation points and returning their m values (numpy, a torch tensor, a jax array,
        anything ``numpy.asarray`` takes). It is called with up to `batch_size` points at a time; an exception it
        raises propagates unchanged, and NaN / Inf values become that point's ``status`` ("nonfinite_f").
    points: any (B, n) array-like. A C-contiguous float64 array is read in place, without a copy.
    grad: with a callable `function`, its vectorized gradient ``grad(X) -> (m, n)``: enables the "gradient"
        stencil (central differences of gradients), which ``stencil="auto"`` then picks.
    vars: names of the coordinates for the expression and the output ("x,y" or ["x", "y"]); default: a
        DataFrame's columns, else x0, x1, ...
    params: named constants of the expression ({"a": 2.0} or ["a=2"]).
    stencil: "auto", "exact", "gradient", "central", "compact", "richardson" or "hyperdual" (README, "Accuracy
        modes"). Your own function takes "central", "compact", "richardson", or "gradient" with `grad`.
    step: the relative step s (h_i = s max(|x_i|, 1)); default: the stencil's own.
    gtol, eig_tol, eig_rtol: critical when ||g|| <= gtol; an eigenvalue is zero when |lambda| <= eig_tol +
        eig_rtol max|lambda|.
    lr: evaluate taylor_pred / f_step at x - lr g instead of the optimal step.
    backend: "auto" (the GPU when usable, else the CPU), "cpu" or "cuda" (InputError without a usable GPU). Your
        own function runs on the CPU.
    eigenvalues, eigenvectors, gradient, hessian: add the arrays ``eigenvalues`` (B, n), ``eigenvectors``
        (B, n, n; column k belongs to eigenvalue k, as numpy.linalg.eigh), ``gradient`` (B, n), ``hessian``
        (B, n, n).
    directions: curvature probes: an (n,) or (r, n) array, a list of them, or the CLI's texts ("1,0" or a
        file); each adds ``curv_d<k>`` = d'Hd / d'd and ``taylor_d<k>`` = f + g'd + d'Hd / 2.
    columns: keep only these columns' arrays ("f,lambda_min,class" or a list; prefixes such as "H_*").
    chunk, memory, threads: points per chunk, a host memory limit ("768M"), CPU threads.
    progress: a callable(done, total) called after each chunk, or True for a tqdm bar.
    """
    fn, spec = _function(function, grad)
    array, names = _points(points)
    options = dict(
        vars=_names(vars),
        params=_params(params),
        stencil=stencil,
        step=step,
        gtol=gtol,
        eig_tol=eig_tol,
        eig_rtol=eig_rtol,
        lr=lr,
        backend=backend,
        eigenvalues=eigenvalues,
        eigenvectors=eigenvectors,
        gradient=gradient,
        hessian=hessian,
        directions=_directions(directions),
        columns=_columns(columns),
        chunk=chunk,
        memory=memory,
        threads=threads,
        batch_size=batch_size,
        column_names=names,
    )
    callback, bar = _progress(progress)
    try:
        result = Result(*_hessa.analyze(spec, array, fn, grad, options, callback, _interruptible()))
    finally:
        if bar is not None:
            bar.close()
    _log_notices(result.notices)
    return result


def _function(function, grad):
    """(the callable or None, the engine's function spec or the callable's label), with the arguments checked."""
    if callable(function) and not isinstance(function, str):
        fn = function
        spec = "python:" + getattr(function, "__qualname__", type(function).__name__)
    elif isinstance(function, str):
        fn, spec = None, function
        if grad is not None:
            raise InputError("grad= is the gradient of your own Python function; an expression has its own")
    else:
        raise TypeError(f"function: expected an expression, a catalogue name or a callable, got {type(function)}")
    if grad is not None and not callable(grad):
        raise TypeError("grad: expected a callable grad(X) -> (m, n) array")
    return fn, spec


def _box(box) -> Optional[str]:
    if box is None or isinstance(box, str):
        return box
    return ",".join(f"{float(lo)!r}:{float(hi)!r}" for lo, hi in box)


def _grid(grid) -> Optional[str]:
    if grid is None or isinstance(grid, str):
        return grid
    if isinstance(grid, int):
        return str(grid)
    return "x".join(str(int(g)) for g in grid)


def critical(
    function: Union[str, Callable[[np.ndarray], ArrayLike]],
    *,
    grad: Optional[Callable[[np.ndarray], ArrayLike]] = None,
    box=None,
    grid=None,
    starts: Optional[ArrayLike] = None,
    vars: Union[None, str, Sequence[str]] = None,
    params: Union[None, Mapping, Sequence[str]] = None,
    stencil: str = "central",
    max_iter: int = 100,
    backend: str = "auto",
    threads: Optional[int] = None,
    columns: Union[None, str, Sequence[str]] = None,
    batch_size: int = 65536,
) -> Result:
    """The stationary points of a function, each classified (``hessa critical``), as a :class:`Result`.

    function: as for :func:`analyze`: an expression, a catalogue name, or your own vectorized callable ``fn(X)``
        (with `grad` its gradient, for ``stencil="gradient"``), which runs on the CPU in blocks of `batch_size`.
    Starts: a grid over a box (``box=[(-3, 3), (-2, 2)], grid=(15, 15)``, or the CLI's "-3:3,-2:2" and "15x15"),
    or given points (``starts``, (S, n); with `box` they are confined to it). A Levenberg-Marquardt search on
    grad f = 0 runs from every start; the distinct points found are analyzed as :func:`analyze` would, with
    ``basin_count`` (the starts that converged to each).
    """
    fn, spec = _function(function, grad)
    box_text = _box(box)
    options = dict(
        box=box_text,
        dimension=len(box_text.split(",")) if box_text else 0,
        grid=_grid(grid),
        vars=_names(vars),
        params=_params(params),
        stencil=stencil,
        max_iter=max_iter,
        backend=backend,
        threads=threads,
        columns=_columns(columns),
        batch_size=batch_size,
    )
    array = None
    if starts is not None:
        array, options["column_names"] = _points(starts, "starts")
    result = Result(*_hessa.critical(spec, array, fn, grad, options, _interruptible()))
    _log_notices(result.notices)
    return result


def jacobian(
    functions: Union[str, Sequence[str], Callable[[np.ndarray], ArrayLike]],
    points: ArrayLike,
    *,
    vars: Union[None, str, Sequence[str]] = None,
    params: Union[None, Mapping, Sequence[str]] = None,
    mode: str = "central",
    step: Optional[float] = None,
    backend: str = "auto",
    chunk: Optional[int] = None,
    memory: Optional[str] = None,
    threads: Optional[int] = None,
    outputs: Optional[int] = None,
    batch_size: int = 65536,
) -> Result:
    """Jacobians of k functions of the n coordinates at every row of `points` (``hessa jacobian``).

    functions: k expressions (or one), or your own vectorized callable ``fn(X)`` mapping (m, n) points to (m, k)
        values ((m,) for k = 1), called on the CPU in blocks of `batch_size` stencil points. Its k is `outputs`,
        or else what ``fn`` returns for the first point (one extra call, on one point). Modes "central" and
        "richardson" only: "dual" needs expressions.
    Fields: ``points`` (B, n), ``f`` (B, k), ``J`` (B, k, n) with J[p, i, j] = df_i/dx_j, ``jac_err`` (B,) for
    mode "richardson", ``status`` (B,). Modes: "central", "richardson" or "dual" (exact, no step).
    """
    fn = None
    if callable(functions) and not isinstance(functions, str):
        fn, functions = functions, []
    elif isinstance(functions, str):
        functions = [functions]
    array, names = _points(points)
    options = dict(
        vars=_names(vars),
        params=_params(params),
        mode=mode,
        step=step,
        backend=backend,
        chunk=chunk,
        memory=memory,
        threads=threads,
        column_names=names,
        batch_size=batch_size,
    )
    if fn is not None:
        if params:
            raise InputError("params= are an expression's parameters; your own function has its own")
        options["outputs"] = outputs if outputs is not None else _outputs_of(fn, array)
        options["function_label"] = "python:" + getattr(fn, "__qualname__", type(fn).__name__)
    elif outputs is not None:
        raise InputError("outputs= is the number of values your own function returns; expressions count themselves")
    result = Result(*_hessa.jacobian(list(functions), array, fn, options, _interruptible()))
    _log_notices(result.notices)
    return result


def _outputs_of(fn, array: np.ndarray) -> int:
    """k of a vectorized function: the width of what it returns for the first point (a zero point if none)."""
    probe = array[:1] if array.shape[0] > 0 else np.zeros((1, array.shape[1]))
    answer = np.asarray(fn(probe.copy()), dtype=np.float64)
    if answer.ndim == 1 and answer.shape[0] == 1:
        return 1
    if answer.ndim == 2 and answer.shape[0] == 1 and answer.shape[1] >= 1:
        return int(answer.shape[1])
    raise InputError(
        f"the function returned an array of shape {answer.shape} for 1 point of {array.shape[1]} coordinates; "
        "expected (1, k) or (1,)"
    )


def _json_value(value):
    """numpy arrays and scalars (or anything array-like: a torch tensor) in a dict job, as JSON lists / numbers."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    try:
        array = np.asarray(value)  # integers stay integers (counts), floats floats
    except (TypeError, ValueError):
        array = None
    if array is None or array.dtype.kind not in "biuf":
        raise TypeError(f"a job's values are numbers, strings, lists and tables; got {type(value).__name__}")
    return array.tolist()


def run(
    job: Union[str, os.PathLike, Mapping],
    *,
    function: Optional[Callable[[np.ndarray], ArrayLike]] = None,
    grad: Optional[Callable[[np.ndarray], ArrayLike]] = None,
    batch_size: int = 65536,
    resume: bool = False,
    shard: Optional[str] = None,
    backend: Optional[str] = None,
    threads: Optional[int] = None,
    memory: Optional[str] = None,
    progress: Progress = None,
) -> dict:
    """Runs a batch job into its HDF5 result store (``hessa run``); returns what the CLI reports, as a dict.

    job: a TOML job file's path, or a dict of the same tables ({"function": {...}, "points": {...},
        "output": {"path": ...}}); a dict's relative paths are relative to the working directory.
    function, grad, batch_size: your own vectorized function (and gradient), as for :func:`analyze`, for a job
        whose [function] table says ``python = "name"`` (a dict without [function] gets it): a grid or a file of
        points, or a direction scan around an inline or file ``centre`` (how a torch model's loss landscape is
        scanned into the store).
    resume: continue an existing store (only the chunks not done). shard: "K/N", this process's share.
    backend, threads, memory: override the job's [run] table.
    The store (``out`` in the returned dict) is read with h5py or drawn with ``hessa plot``.
    """
    options = dict(resume=resume, shard=shard, backend=backend, threads=threads, memory=memory, batch_size=batch_size)
    if function is not None and not callable(function):
        raise TypeError("function: expected a callable fn(X) -> (m,) values")
    if grad is not None and function is None:
        raise InputError("grad= is the gradient of function=; give both")
    if isinstance(job, Mapping):
        if function is not None and "function" not in job:
            job = {**job, "function": {"python": getattr(function, "__qualname__", type(function).__name__)}}
        path, text = "job", json.dumps(job, default=_json_value)
    else:
        path, text = str(job), ""
    callback, bar = _progress(progress)
    try:
        outcome = _hessa.run(path, text, function, grad, options, callback, _interruptible())
    finally:
        if bar is not None:
            bar.close()
    _log_notices(outcome["notices"])
    outcome["settings"] = json.loads(outcome.pop("settings_json") or "{}")
    return outcome


def merge(inputs: Sequence[Union[str, os.PathLike]], out: Union[str, os.PathLike], *, allow_incomplete: bool = False) -> dict:
    """Merges the shard stores of one job (``run(job, shard="K/N")``) into `out` (``hessa merge``).

    Returns the counts the CLI prints (inputs, chunks, overlaps, missing chunk numbers). InputError when the inputs
    are not shards of one job, disagree, or (unless `allow_incomplete`) leave chunks missing; `out` must not exist.
    """
    return _hessa.merge([str(p) for p in inputs], str(out), allow_incomplete, _interruptible())


def bench(
    *,
    quick: bool = False,
    backend: str = "auto",
    dimensions: Optional[Sequence[int]] = None,
    stencils: Optional[Sequence[str]] = None,
    seconds_per_case: Optional[float] = None,
    function: str = "rosenbrock",
    model: bool = True,
    model_job: Optional[str] = None,
    threads: Optional[int] = None,
) -> dict:
    """Times the standard matrix of cases stage by stage on a backend (``hessa bench``): the dict its ``--json``
    writes (machine, backend, peak bandwidth, and per case points/s, evaluations/s, bytes and seconds per stage).

    quick: n = 2, 8, 32 and ~0.05 s a case. dimensions, stencils: the matrix (default n = 2, 8, 32, 128 and every
    stencil). model, model_job: the model case (default: the bundled MLP's job, examples/mlp_moons_line.toml).
    """
    options = dict(
        quick=quick,
        backend=backend,
        dimensions=None if dimensions is None else [int(d) for d in dimensions],
        stencils=None if stencils is None else list(stencils),
        seconds_per_case=seconds_per_case,
        function=function,
        model=model,
        model_job=model_job,
        threads=threads,
    )
    return json.loads(_hessa.bench(options, _interruptible()))


def functions() -> list:
    """The catalogue: a dict per function (name, dimension, description, expression), as ``hessa functions``."""
    return _hessa.functions()


def backends() -> list:
    """The backends of this build: a dict each (name, usable, device, why_not: why it cannot be used here)."""
    return _hessa.backends()
