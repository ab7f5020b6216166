"""The Python module against the CLI, the mathematics and hostile callers.

Tolerances: the module and the CLI run the same engine on the same machine and threads, so their results are
compared bit for bit. Against other derivatives, a central-difference Hessian carries truncation ~h^2 f''''/12 and
rounding ~eps |f| / h^2 with h = 2^-13 max(|x|, 1): ~1e-8 relative to the function's scale, so 1e-6 leaves two
orders of margin; differences of exact gradients (h = 2^-17) have truncation ~h^2 f'''' ~ 6e-11 and rounding
~eps |g| / h ~ 3e-11, so 1e-7.
"""

import csv
import json
import os
import pathlib
import signal
import subprocess
import sys
import threading
import time
import tracemalloc

import numpy as np
import pytest

import hessa

SADDLE_EXPR = "x^3 - 3*x*y^2 + x^2 + y^2 * cos(x)"  # a smooth function with saddles, minima and a tape


def rng_points(count, n, seed=1, scale=2.0):
    return np.random.default_rng(seed).uniform(-scale, scale, size=(count, n))


def assert_same_arrays(expected, got, what):
    """Every array of `expected` (an .npz or a dict) equal to `got`'s, NaN where NaN; the same set of names."""
    names = {k for k in expected if k not in ("coordinate_names", "metadata")}
    assert names == set(got), f"{what}: fields differ: {sorted(names ^ set(got))}"
    for k in names:
        e, g = np.asarray(expected[k]), got[k]
        assert e.dtype == g.dtype and e.shape == g.shape, f"{what}: {k}: {e.dtype}{e.shape} vs {g.dtype}{g.shape}"
        if e.dtype.kind == "f":
            assert np.array_equal(e, g, equal_nan=True), f"{what}: {k} differs"
        else:
            assert np.array_equal(e, g), f"{what}: {k} differs"


# --- the package -------------------------------------------------------------------------------------------------


def test_version_backends_and_catalogue(cli):
    assert hessa.__version__.count(".") == 2
    names = {b["name"]: b for b in hessa.backends()}
    assert names["cpu"]["usable"] and names["cpu"]["device"].startswith("cpu")
    cuda = names["cuda"]
    assert cuda["usable"] or cuda["why_not"], "an unusable GPU says why"
    catalogue = {f["name"]: f for f in hessa.functions()}
    if cli is not None:
        listed = [line.split()[0] for line in cli("functions").stdout.splitlines()[1:]]
        assert listed[:-1] == list(catalogue) and listed[-1] == "quadratic:FILE"
    assert catalogue["himmelblau"]["dimension"] == "2" and catalogue["rosenbrock"]["expression"]
    assert "second-derivative test" in hessa.__doc__ and "points" in hessa.analyze.__doc__


# --- every CLI command's result equals the module's -----------------------------------------------------------------


def test_analyze_equals_the_cli_on_every_field(cli, tmp_path):
    points = rng_points(300, 2)
    points[7] = [0.0, 0.0]
    np.save(tmp_path / "p.npy", points)
    flags = ["--gradient", "--hessian", "--eigenvalues", "--eigenvectors", "--lr", "0.01"]
    cli("analyze", "--function", SADDLE_EXPR, "--vars", "x,y", "--points", tmp_path / "p.npy", "--out",
        tmp_path / "r.npz", "--backend", "cpu", "--direction", "1,0", "--direction", "0.5,-2", "--stencil",
        "central", "--chunk", "64", *flags)
    r = hessa.analyze(SADDLE_EXPR, points, vars="x,y", backend="cpu", directions=[[1, 0], [0.5, -2]],
                      stencil="central", gradient=True, hessian=True, eigenvalues=True, eigenvectors=True, lr=0.01)
    with np.load(tmp_path / "r.npz") as expected:
        assert_same_arrays(expected, r, "analyze")
        meta = json.loads(str(expected["metadata"]))
    for key in ("function", "stencil", "thresholds", "lr", "directions", "backend"):
        assert r.meta[key] == meta[key], key
    assert r.meta["summary"]["points"] == 300 and r.coordinate_names == ["x", "y"]
    assert np.array_equal(r["x"], points[:, 0])


@pytest.mark.parametrize("stencil", ["auto", "exact", "hyperdual", "richardson", "compact", "gradient"])
def test_analyze_equals_the_cli_for_each_stencil(cli, tmp_path, stencil):
    points = rng_points(50, 3, seed=2)
    np.save(tmp_path / "p.npy", points)
    cli("analyze", "--function", "rosenbrock", "--points", tmp_path / "p.npy", "--out", tmp_path / "r.npz",
        "--backend", "cpu", "--stencil", stencil, "--hessian")
    r = hessa.analyze("rosenbrock", points, backend="cpu", stencil=stencil, hessian=True)
    with np.load(tmp_path / "r.npz") as expected:
        assert_same_arrays(expected, r, stencil)


def test_critical_equals_the_cli(cli, tmp_path):
    cli("critical", "--function", "six_hump_camel", "--box", "-3:3,-2:2", "--grid", "9x9", "--out",
        tmp_path / "c.npz", "--backend", "cpu")
    r = hessa.critical("six_hump_camel", box=[(-3, 3), (-2, 2)], grid=(9, 9), backend="cpu")
    with np.load(tmp_path / "c.npz") as expected:
        assert_same_arrays(expected, r, "critical")
    assert r.count == 15 and sorted(set(r["class"])) == ["maximum", "minimum", "saddle"]
    # Given starts instead of a grid: the same search from those points.
    starts = np.array([[0.1, -0.7], [-0.1, 0.7], [1.7, -0.8]])
    np.save(tmp_path / "s.npy", starts)
    cli("critical", "--function", "six_hump_camel", "--points", tmp_path / "s.npy", "--out", tmp_path / "s.npz",
        "--backend", "cpu")
    with np.load(tmp_path / "s.npz") as expected:
        assert_same_arrays(expected, hessa.critical("six_hump_camel", starts=starts, backend="cpu"), "starts")


def read_csv_columns(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    return {name: [row[i] for row in rows[1:]] for i, name in enumerate(rows[0])}


@pytest.mark.parametrize("mode", ["central", "richardson", "dual"])
def test_jacobian_equals_the_cli(cli, tmp_path, mode):
    points = rng_points(40, 2, seed=3) + [3.0, 0.0]
    np.save(tmp_path / "p.npy", points)
    funcs = ["r*cos(t)", "r*sin(t)", "r^2"]
    args = ["jacobian", "--vars", "r,t", "--points", tmp_path / "p.npy", "--out", tmp_path / "J.csv", "--mode", mode]
    for f in funcs:
        args += ["--function", f]
    cli(*args)
    r = hessa.jacobian(funcs, points, vars="r,t", mode=mode, backend="cpu")
    cols = read_csv_columns(tmp_path / "J.csv")
    num = lambda name: np.array([float(v) if v else np.nan for v in cols[name]])  # noqa: E731
    assert np.array_equal(r.points, np.stack([num("r"), num("t")], axis=1))
    for i in range(3):
        assert np.array_equal(r.f[:, i], num(f"f_{i}"), equal_nan=True)
        for j in range(2):
            assert np.array_equal(r.J[:, i, j], num(f"J_{i}_{j}"), equal_nan=True)
    assert list(r.status) == cols["status"]
    assert ("jac_err" in r) == (mode == "richardson")
    if mode == "richardson":
        assert np.array_equal(r.jac_err, num("jac_err"))
    # The mathematics: d(r cos t)/dt = -r sin t.
    assert np.allclose(r.J[:, 0, 1], -points[:, 0] * np.sin(points[:, 1]), rtol=1e-7)


def test_run_equals_the_cli(cli, tmp_path):
    h5py = pytest.importorskip("h5py")
    job = {
        "function": {"catalogue": "himmelblau", "vars": ["x", "y"]},
        # numpy arrays and scalars in a dict job are written out as lists and numbers
        "points": {
            "kind": "grid",
            "lower": np.full(2, -5.0),
            "upper": [5.0, np.float64(5.0)],
            "counts": np.array([21, 17]),
        },
        "analysis": {"eigenvalues": True},
        "output": {"path": str(tmp_path / "py.h5"), "chunk": 100},
        "run": {"backend": "cpu"},
    }
    toml = tmp_path / "job.toml"
    toml.write_text(
        '[function]\ncatalogue = "himmelblau"\nvars = ["x", "y"]\n'
        '[points]\nkind = "grid"\nlower = [-5.0, -5.0]\nupper = [5.0, 5.0]\ncounts = [21, 17]\n'
        f'[analysis]\neigenvalues = true\n[output]\npath = "{tmp_path / "cli.h5"}"\nchunk = 100\n'
        '[run]\nbackend = "cpu"\n'
    )
    cli("run", toml, "--quiet")
    seen = []
    outcome = hessa.run(job, progress=lambda done, total: seen.append((done, total)))
    assert outcome["out"] == str(tmp_path / "py.h5") and outcome["summary"]["points"] == 21 * 17
    assert sum(outcome["summary"]["per_class"].values()) == 357 and seen[-1] == (357, 357)
    with h5py.File(tmp_path / "cli.h5") as a, h5py.File(tmp_path / "py.h5") as b:
        names = []
        a.visit(lambda name: names.append(name) if isinstance(a[name], h5py.Dataset) else None)
        assert "points" in names and "eigenvalues" in names
        for name in names:
            if name.startswith("_") or "time" in name:
                continue
            x, y = a[name][()], b[name][()]
            assert np.array_equal(x, y, equal_nan=x.dtype.kind == "f"), name
    # A TOML path works as the CLI's argument does, and resume of a complete store computes nothing.
    again = hessa.run(toml, resume=True)
    assert again["already_complete"]


# --- a classification table from Python ----------------------------------------------------------------------------


def test_saddle_minimum_maximum_degenerate_table():
    cases = {
        "x^2 + 2*y^2": "minimum",
        "-x^2 - y^2": "maximum",
        "x^2 - y^2": "saddle",
        "x^4 + y^2": "degenerate",  # H = diag(0, 2): the test cannot decide
        "x^3 - 3*x*y^2": "degenerate",  # the monkey saddle: H = 0
    }
    origin = np.zeros((1, 2))
    for expression, expected in cases.items():
        r = hessa.analyze(expression, origin, vars="x,y", stencil="central")
        assert r["class"][0] == expected, expression
    # Away from a stationary point: noncritical, with the optimal step of a quadratic (exactly 1/lambda on an axis).
    r = hessa.analyze("x^2 + 2*y^2", [[1.0, 0.0]], vars="x,y", stencil="exact")
    assert r["class"][0] == "noncritical" and r.step_opt[0] == pytest.approx(0.5, rel=1e-12)
    codes, names = hessa.analyze("x^2 - y^2", [[0, 0], [1, 1]], vars="x,y").class_codes()
    assert [names[c] for c in codes] == ["saddle", "noncritical"]


# --- zero-copy input ---------------------------------------------------------------------------------------------


def numpy_peak_bytes(call):
    """Peak bytes numpy allocated (tracemalloc's numpy domain) while `call` ran: a copy of the input shows here;
    the engine's own memory (C++) and the result arrays it fills do not."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        call()
        snapshot = tracemalloc.take_snapshot()  # noqa: F841 (keeps the peak measured until here)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_c_contiguous_float64_points_are_read_without_a_copy():
    points = rng_points(1_000_000, 2, seed=4)  # 16 MB
    size = points.nbytes
    in_place = numpy_peak_bytes(lambda: hessa.analyze("x0^2 - x1^2", points, columns="f", stencil="central"))
    assert in_place < size / 8, f"{in_place} bytes allocated for a {size}-byte input"
    # The check can fail: a Fortran-ordered array is copied (converted), and that copy is seen.
    fortran = np.asfortranarray(points)
    copied = numpy_peak_bytes(lambda: hessa.analyze("x0^2 - x1^2", fortran, columns="f", stencil="central"))
    assert copied >= size


# --- user functions ---------------------------------------------------------------------------------------------


def numpy_saddle(X):
    x, y = X[:, 0], X[:, 1]
    return x**3 - 3 * x * y**2 + x**2 + y**2 * np.cos(x)


def numpy_saddle_gradient(X):
    x, y = X[:, 0], X[:, 1]
    return np.stack([3 * x**2 - 3 * y**2 + 2 * x - y**2 * np.sin(x), -6 * x * y + 2 * y * np.cos(x)], axis=1)


def test_a_numpy_function_gives_the_expressions_hessians():
    points = rng_points(500, 2, seed=5)
    exact = hessa.analyze(SADDLE_EXPR, points, vars="x,y", stencil="exact", hessian=True)
    calls = []

    def counted(X):
        calls.append(len(X))
        return numpy_saddle(X)

    mine = hessa.analyze(counted, points, stencil="central", hessian=True, batch_size=2000)
    assert mine.meta["stencil"]["kind"] == "central"
    scale = np.abs(exact.hessian).max()
    assert np.max(np.abs(mine.hessian - exact.hessian)) <= 1e-6 * scale
    assert max(calls) == 2000 and len(calls) >= 500 * 9 // 2000, "called in blocks, not per evaluation"
    # With its gradient: the gradient stencil (auto's choice), differences of exact gradients.
    with_grad = hessa.analyze(numpy_saddle, points, grad=numpy_saddle_gradient, hessian=True, gradient=True)
    assert with_grad.meta["stencil"]["kind"] == "gradient"
    assert np.max(np.abs(with_grad.hessian - exact.hessian)) <= 1e-7 * scale
    assert np.allclose(with_grad.gradient, numpy_saddle_gradient(points), rtol=0, atol=1e-7 * scale)


def test_critical_of_a_numpy_function_finds_the_expressions_stationary_points():
    # The same four stationary points in the box, classes and basins as for the expression; the two evaluate f in
    # different orders, so the points agree to the search's resolution (1e-6 of a 3.6 diagonal), not bit for bit.
    box, grid = [(-1.5, 1.5), (-1, 1)], (9, 9)
    reference = hessa.critical(SADDLE_EXPR, vars="x,y", box=box, grid=grid, backend="cpu")
    assert reference.count == 4
    for kwargs in ({}, {"grad": numpy_saddle_gradient, "stencil": "gradient"}):
        mine = hessa.critical(numpy_saddle, box=box, grid=grid, **kwargs)
        assert mine.count == reference.count, kwargs
        assert np.max(np.abs(mine.points - reference.points)) <= 1e-6
        assert list(mine["class"]) == list(reference["class"])
        assert list(mine.basin_count) == list(reference.basin_count)
        assert mine.meta["function"]["kind"] == "the caller's vectorized function"
    starts = np.array([[0.1, 0.1], [-0.6, 0.05]])
    assert hessa.critical(numpy_saddle, starts=starts).count == 2
    with pytest.raises(hessa.InputError):  # the GPU: refused (or absent)
        hessa.critical(numpy_saddle, box=box, grid=grid, backend="cuda")
    with pytest.raises(hessa.InputError, match="batch_size"):
        hessa.critical(numpy_saddle, box=box, grid=grid, batch_size=0)


def numpy_polar_and_square(X):
    r, t = X[:, 0], X[:, 1]
    return np.stack([r * np.cos(t), r * np.sin(t), r**2], axis=1)


def numpy_polynomials(X):
    r, t = X[:, 0], X[:, 1]
    return np.stack([r * t, r * r - t, t * t * t], axis=1)


@pytest.mark.parametrize("mode", ["central", "richardson"])
def test_jacobian_of_a_numpy_function_is_the_expressions(mode):
    # The same stencil points and assembly as the expressions': with only + - * (rounded alike everywhere) the
    # bits agree, also when small blocks (batch_size=5) straddle a point's rows. numpy's cos / sin may be SIMD code
    # that differs from libm in the last bit, which central differences amplify to ~eps |f| / h ~ 1e-10 of J:
    # against the analytic J those are held to 1e-8 of max(|J|, 1) (two orders of margin).
    points = rng_points(40, 2, seed=3) + [3.0, 0.0]
    reference = hessa.jacobian(["r*t", "r*r - t", "t*t*t"], points, vars="r,t", mode=mode, backend="cpu")
    for batch_size in (5, 65536):
        mine = hessa.jacobian(numpy_polynomials, points, vars="r,t", mode=mode, batch_size=batch_size)
        for name in ("points", "f", "J", "status") + (("jac_err",) if mode == "richardson" else ()):
            assert np.array_equal(mine[name], reference[name]), (name, batch_size)
        assert mine.meta["function_kind"] == "the caller's vectorized function"
        assert mine.meta["functions"] == ["python:numpy_polynomials"]
    trig = hessa.jacobian(numpy_polar_and_square, points, mode=mode)
    r, t = points[:, 0], points[:, 1]
    exact = np.stack(
        [
            np.stack([np.cos(t), -r * np.sin(t)], axis=1),
            np.stack([np.sin(t), r * np.cos(t)], axis=1),
            np.stack([2 * r, 0 * r], axis=1),
        ],
        axis=1,
    )
    assert np.max(np.abs(trig.J - exact)) <= 1e-8 * max(np.max(np.abs(exact)), 1.0)


def test_jacobian_of_a_numpy_function_takes_k_from_its_answer_and_refuses_what_it_cannot_serve():
    points = rng_points(6, 2, seed=4)
    one = hessa.jacobian(lambda X: X[:, 0] * X[:, 1], points)  # (m,): k = 1
    assert one.J.shape == (6, 1, 2)
    assert np.allclose(one.J[:, 0, :], points[:, ::-1], rtol=0, atol=1e-9)
    assert hessa.jacobian(numpy_polar_and_square, points, outputs=3).J.shape == (6, 3, 2)
    assert hessa.jacobian(numpy_polar_and_square, np.zeros((0, 2))).J.shape == (0, 3, 2)
    with pytest.raises(hessa.InputError, match="dual"):
        hessa.jacobian(numpy_polar_and_square, points, mode="dual")
    with pytest.raises(hessa.InputError):  # the GPU: refused (or absent)
        hessa.jacobian(numpy_polar_and_square, points, backend="cuda")
    with pytest.raises(hessa.InputError, match=r"expected \(\d+, 2\)"):  # a wrong width after the probe
        hessa.jacobian(numpy_polar_and_square, points, outputs=2)
    with pytest.raises(hessa.InputError, match="outputs"):
        hessa.jacobian("x0", points, outputs=1)
    with pytest.raises(hessa.InputError, match="params"):
        hessa.jacobian(numpy_polar_and_square, points, params={"a": 1.0})
    with pytest.raises(hessa.InputError, match="outputs"):  # beyond an int: not wrapped to a negative k
        hessa.jacobian(numpy_polar_and_square, points, outputs=2**31 + 5)
    with pytest.raises(ValueError, match="from the model"):

        def failing(X):
            raise ValueError("from the model")

        hessa.jacobian(failing, points, outputs=1)


def test_a_torch_model_gives_autograds_hessians():
    torch = pytest.importorskip("torch")
    try:
        from torch.func import functional_call, vmap
    except ImportError:  # torch < 2.0 (Debian 12's 1.13): the same functions, from functorch
        from functorch import vmap
        from torch.nn.utils.stateless import functional_call

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Tanh(), torch.nn.Linear(3, 1)).double()
    X = torch.randn(16, 2, dtype=torch.float64)
    y = torch.randn(16, 1, dtype=torch.float64)
    names = [n for n, _ in model.named_parameters()]
    shapes = [p.shape for _, p in model.named_parameters()]
    sizes = [p.numel() for _, p in model.named_parameters()]
    theta0 = torch.cat([p.detach().ravel() for p in model.parameters()])

    def loss_of(theta):
        params, offset = {}, 0
        for name, shape, size in zip(names, shapes, sizes):
            params[name] = theta[offset : offset + size].view(shape)
            offset += size
        return torch.mean((functional_call(model, params, (X,)) - y) ** 2)

    batched = vmap(loss_of)

    def loss(thetas):  # (m, P) numpy -> (m,) numpy, one vmapped call per block
        with torch.no_grad():
            return batched(torch.from_numpy(thetas)).numpy()

    P = theta0.numel()
    thetas = theta0.numpy()[None, :] + 0.1 * rng_points(3, P, seed=6)
    r = hessa.analyze(loss, thetas, stencil="central", hessian=True, eigenvalues=True)
    for p in range(len(thetas)):
        H = torch.autograd.functional.hessian(loss_of, torch.from_numpy(thetas[p])).numpy()
        scale = np.abs(H).max()
        assert np.max(np.abs(r.hessian[p] - H)) <= 1e-5 * scale, p  # FD on a loss of O(1) scale: ~1e-8 relative
        assert np.allclose(r.eigenvalues[p], np.linalg.eigvalsh(H), atol=1e-5 * scale)


# --- errors -----------------------------------------------------------------------------------------------------


def test_bad_input_raises_the_clis_message(cli, tmp_path):
    np.save(tmp_path / "p.npy", np.zeros((2, 2)))
    done = cli("analyze", "--function", "x^2 +* y", "--vars", "x,y", "--points", tmp_path / "p.npy", "--out",
               tmp_path / "r.csv", check=False)
    assert done.returncode == 2
    with pytest.raises(hessa.InputError) as error:
        hessa.analyze("x^2 +* y", np.zeros((2, 2)), vars="x,y")
    assert isinstance(error.value, ValueError)
    first = str(error.value).splitlines()[0]
    assert first in done.stderr, (first, done.stderr)
    for call, text in [
        (lambda: hessa.analyze("rosenbrock", np.zeros(3)), "2-D array"),
        (lambda: hessa.analyze("himmelblau", np.zeros((2, 3))), "himmelblau"),
        (lambda: hessa.analyze("x0", [[np.nan]]), "coordinates must be finite"),
        (lambda: hessa.analyze("x0", [[1.0]], stencil="fancy"), "fancy"),
        (lambda: hessa.analyze("x0", [[1.0]], backend="gpu"), "backend"),
        (lambda: hessa.analyze("x0^2", [[1.0]], columns="f,nope"), "nope"),
        (lambda: hessa.analyze(numpy_saddle, np.zeros((2, 2)), stencil="hyperdual"), "hyperdual"),
        (lambda: hessa.analyze(numpy_saddle, np.zeros((2, 2)), stencil="gradient"), "gradient"),
        (lambda: hessa.analyze(lambda X: X, np.zeros((2, 2))), "shape (18, 2)"),
        (lambda: hessa.critical("himmelblau", box="-5:5"), "box"),
        (lambda: hessa.jacobian("x0", [[1.0]], mode="fancy"), "mode"),
        (lambda: hessa.run({"function": {"catalogue": "himmelblau"}}), "points"),
        (lambda: hessa.run({"function": None}), "None"),
    ]:
        with pytest.raises(hessa.InputError, match=None) as e:
            call()
        assert text in str(e.value), (text, str(e.value))


def test_an_exception_in_a_user_function_propagates_unchanged():
    class Mine(Exception):
        pass

    raised = Mine("from the model")

    def broken(X):
        if len(X) > 0:
            raise raised
        return X[:, 0]

    with pytest.raises(Mine) as e:
        hessa.analyze(broken, np.zeros((4, 2)))
    assert e.value is raised
    with pytest.raises(ZeroDivisionError):
        hessa.analyze(numpy_saddle, np.zeros((4, 2)), grad=lambda X: 1 / 0)


def test_non_finite_values_of_a_user_function_are_per_point_statuses():
    def f(X):
        v = (X**2).sum(axis=1)
        v[X[:, 0] > 0.5] = np.nan  # every stencil point of a point right of 0.5
        return v

    points = np.array([[0.0, 0.0], [1.0, 0.0], [2.0, 1.0], [-1.0, 0.0]])
    r = hessa.analyze(f, points)
    assert list(r.status) == ["ok", "nonfinite_f", "nonfinite_f", "ok"]
    assert r["class"][0] == "minimum"


def test_an_empty_point_set_gives_empty_arrays():
    r = hessa.analyze("x0^2 + x1^2", np.zeros((0, 2)), hessian=True)
    assert r.count == 0 and r.hessian.shape == (0, 2, 2) and r.meta["summary"]["points"] == 0


# --- Ctrl-C --------------------------------------------------------------------------------------------------------


def test_keyboard_interrupt_stops_a_long_call_and_the_next_call_works():
    def slow(X):
        time.sleep(0.05)
        return (X**2).sum(axis=1)

    points = rng_points(20_000, 2, seed=7)  # 180 000 evaluations in blocks of 100: ~90 s uninterrupted
    timer = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT))
    start = time.monotonic()
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            hessa.analyze(slow, points, batch_size=100)
    finally:
        timer.cancel()
    assert time.monotonic() - start < 10
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler, "Python's handler is back"
    assert hessa.analyze("x0^2 + x1^2", [[0.0, 0.0]])["class"][0] == "minimum"


def test_keyboard_interrupt_of_an_expression_run_in_a_subprocess():
    # A separate interpreter, interrupted from outside as a terminal's Ctrl-C would: it prints and exits cleanly.
    code = (
        "import hessa, numpy as np, sys\n"
        "p = np.random.default_rng(0).uniform(-1, 1, (40000, 24))\n"
        "print('started', flush=True)\n"
        "try:\n"
        "    hessa.analyze('sum(i, 0, n-1, x[i]^4 - 3*x[i]^2)', p, stencil='central', chunk=50, eigenvectors=True)\n"
        "except KeyboardInterrupt:\n"
        "    print('interrupted', flush=True); sys.exit(7)\n"
        "print('finished', flush=True)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "started"
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 7 and "interrupted" in out, (proc.returncode, out)


# --- the GIL, progress, shards, the package's files ------------------------------------------------------------------


def test_the_gil_is_released_while_the_engine_computes():
    ticks = []
    stop = threading.Event()

    def count():
        while not stop.is_set():
            ticks.append(1)
            time.sleep(0.001)

    points = rng_points(200_000, 3, seed=8)
    thread = threading.Thread(target=count)
    thread.start()
    try:
        # Calls long enough to tell (> 0.2 s) on a fast machine too: the same call repeated within one timing.
        start = time.monotonic()
        calls = 0
        while time.monotonic() - start < 0.2 or calls == 0:
            hessa.analyze("rosenbrock", points, stencil="central", eigenvectors=True, chunk=20_000)
            calls += 1
        seconds = time.monotonic() - start
    finally:
        stop.set()
        thread.join()
    # With the GIL held the whole call, the thread would not tick at all meanwhile (it ticks ~1000 times a second),
    # except between calls: one tick a call at most.
    assert len(ticks) > 20 * seconds + calls, (len(ticks), seconds, calls)


def test_progress_is_called_after_each_chunk():
    seen = []
    hessa.analyze("x0^2", rng_points(1000, 1), chunk=300, progress=lambda done, total: seen.append((done, total)))
    assert seen == [(300, 1000), (600, 1000), (900, 1000), (1000, 1000)]
    with pytest.raises(hessa.InputError, match="callable"):
        hessa.analyze("x0^2", [[1.0]], progress="yes")


def test_shards_and_their_merge_equal_the_cli(cli, tmp_path):
    h5py = pytest.importorskip("h5py")
    job = {
        "function": {"expression": "x^2 - y^2", "vars": ["x", "y"]},
        "points": {"kind": "grid", "lower": [-1.0, -1.0], "upper": [1.0, 1.0], "counts": [10, 10]},
        "output": {"path": str(tmp_path / "s.h5"), "chunk": 10},
    }
    first = hessa.run(job, shard="1/2", backend="cpu")
    assert first["out"] == str(tmp_path / "s.shard-1-of-2.h5") and first["chunks_in_shard"] == 5
    assert first["summary"]["points"] == 50
    shards = [first["out"]]
    with pytest.raises(hessa.InputError, match="done in none of the inputs"):
        hessa.merge(shards, tmp_path / "m.h5")
    shards.append(hessa.run(job, shard="2/2", backend="cpu")["out"])
    merged = hessa.merge(shards, tmp_path / "m.h5")
    assert merged["chunks"] == 10 and merged["missing"] == [] and merged["inputs"] == 2
    cli("merge", *shards, "-o", tmp_path / "cli.h5", "--quiet")
    with h5py.File(tmp_path / "cli.h5") as a, h5py.File(tmp_path / "m.h5") as b:
        for name in ("f", "class", "lambda_min", "points", "done", "checksum"):
            assert np.array_equal(a[name][()], b[name][()], equal_nan=a[name].dtype.kind == "f"), name


def test_the_package_carries_type_stubs_and_docstrings():
    import importlib.resources
    import pydoc

    files = importlib.resources.files("hessa")
    assert (files / "_hessa.pyi").is_file() and (files / "py.typed").is_file()
    text = pydoc.render_doc(hessa.analyze, renderer=pydoc.plaintext)
    assert "batch_size" in text and "C-contiguous float64 array is read in place" in text


def test_the_readmes_python_example_prints_what_it_says():
    # README.md, "Python": the `python -c` line and the output written under it.
    lines = (pathlib.Path(__file__).resolve().parents[2] / "README.md").read_text().splitlines()
    start = lines.index("## Python")
    command = next(line for line in lines[start:] if line.startswith(".venv/bin/python -c "))
    expected = lines[lines.index(command) + 1]
    assert expected.startswith("# ")
    code = command[len('.venv/bin/python -c "') : -1]
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == expected[2:]


def test_lanczos_and_direction_probes_of_a_python_function_with_its_gradient(tmp_path):
    # H d by differences of the given gradients (h = 2^-17 max(|x|, 1) / |d|_inf): truncation ~h^2 |f''''|,
    # rounding ~eps |g| / h, ~1e-10 of the spectrum's scale here; Lanczos converges its extremes to ~1e-10 too.
    h5py = pytest.importorskip("h5py")
    rng = np.random.default_rng(9)
    n = 30
    A = rng.normal(size=(n, n))
    A = A + A.T

    def f(X):
        return 0.5 * np.einsum("mi,ij,mj->m", X, A, X) + 0.1 * (X**4).sum(axis=1)

    def g(X):
        return X @ A + 0.4 * X**3

    centres = rng.normal(size=(3, n)) * 0.5
    np.save(tmp_path / "c.npy", centres)
    probe = np.zeros(n)
    probe[0] = 1.0
    job = {
        "points": {"kind": "file", "file": str(tmp_path / "c.npy"), "hessian": "lanczos"},
        "lanczos": {"k": 2},
        "analysis": {"direction": [",".join(repr(float(v)) for v in probe)]},
        "output": {"path": str(tmp_path / "lz.h5"), "chunk": 2},
    }
    hessa.run(job, function=f, grad=g)
    with h5py.File(tmp_path / "lz.h5") as store:
        lo, hi, curv = store["lambda_min"][()], store["lambda_max"][()], store["direction_curvature"][()]
    for p, x in enumerate(centres):
        H = A + np.diag(1.2 * x**2)
        e = np.linalg.eigvalsh(H)
        scale = np.abs(e).max()
        assert lo[p] == pytest.approx(e[0], abs=1e-8 * scale) and hi[p] == pytest.approx(e[-1], abs=1e-8 * scale)
        assert curv[p] == pytest.approx(H[0, 0], abs=1e-8 * scale)
    # Without a gradient there are no Hessian-vector products to take: one clear message.
    job["output"]["path"] = str(tmp_path / "no.h5")
    with pytest.raises(hessa.InputError, match="grad="):
        hessa.run(job, function=f)


def test_bench_reports_what_the_clis_json_does(cli, tmp_path):
    # Timings differ run to run: the structure is compared (the same cases, the same figures per case and stage).
    cli("bench", "--quick", "--n", "2,8", "--stencil", "central,exact", "--no-model", "--backend", "cpu", "--json",
        tmp_path / "b.json")
    expected = json.loads((tmp_path / "b.json").read_text())
    got = hessa.bench(quick=True, dimensions=[2, 8], stencils=["central", "exact"], model=False, backend="cpu")
    assert set(got) == set(expected) and got["machine"] == expected["machine"]
    assert [(c["n"], c["stencil"]) for c in got["cases"]] == [(c["n"], c["stencil"]) for c in expected["cases"]]
    for mine, theirs in zip(got["cases"], expected["cases"]):
        assert set(mine) == set(theirs) and set(mine["stages_seconds"]) == set(theirs["stages_seconds"])
        assert mine["points"] > 0 and mine["points_per_second"] > 0
    with pytest.raises(hessa.InputError):
        hessa.bench(quick=True, stencils=["fancy"], model=False)


def test_a_result_copies_and_pickles():
    import copy
    import pickle

    r = hessa.analyze("x0^2 - x1^2", [[0.0, 0.0], [1.0, 0.5]], hessian=True)
    for other in (copy.deepcopy(r), pickle.loads(pickle.dumps(r))):
        assert list(other) == list(r) and np.array_equal(other.hessian, r.hessian) and other.meta == r.meta
    with pytest.raises(AttributeError):
        r.nosuchfield
