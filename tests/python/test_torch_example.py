"""examples/torch_loss_landscape.py: a PyTorch model's loss landscape through a user function, into the HDF5 store
and maps. The 2 x 2 Hessians in the store are checked against torch's own autograd Hessian of the restricted
function (alpha, beta) -> loss(theta* + alpha d1 + beta d2): the gradient stencil differences exact gradients
(truncation ~h^2 |f''''| with h = 2^-17 max(|y|, 1), rounding ~eps |g| / h), ~1e-9 of the largest eigenvalue, so
1e-6 relative."""

import importlib.util
import pathlib

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


def load_example():
    spec = importlib.util.spec_from_file_location("torch_loss_landscape", ROOT / "examples" / "torch_loss_landscape.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_example_scans_a_torch_model_into_the_store_and_maps(tmp_path):
    torch = pytest.importorskip("torch")
    h5py = pytest.importorskip("h5py")
    pytest.importorskip("matplotlib")
    example = load_example()
    out = tmp_path / "scan.h5"
    assert example.main(["--counts", "7", "--steps", "50", "--out", str(out)]) == 0
    with h5py.File(out) as store:
        points, eigenvalues, f = store["points"][()], store["eigenvalues"][()], store["f"][()]
        centre, directions = store["scan"]["centre"][()], store["scan"]["directions"][()]
        assert store["done"][()].all() and points.shape == (49, 2)
    pngs = sorted(p.name for p in (tmp_path / "plots").glob("*.png"))
    assert "scan_overview.png" in pngs and "scan_lambda_min.png" in pngs
    assert (tmp_path / "plots" / "scan_f.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    data = np.loadtxt(ROOT / "examples" / "mlp_moons" / "moons.csv", delimiter=",", skiprows=1)
    model, X, y, loss_fn = example.trained_model(data, 50, seed=0)
    names = [n for n, _ in model.named_parameters()]
    shapes = [p.shape for _, p in model.named_parameters()]

    def restricted(ab):
        theta = torch.from_numpy(centre) + ab[0] * torch.from_numpy(directions[0]) + ab[1] * torch.from_numpy(
            directions[1]
        )
        params, offset = {}, 0
        for name, shape in zip(names, shapes):
            size = int(np.prod(shape))
            params[name] = theta[offset : offset + size].view(shape)
            offset += size
        return loss_fn(example.functional_call(model, params, (X,)), y)

    for i in (0, 10, 24, 37, 48):
        ab = torch.from_numpy(points[i].copy())
        assert f[i] == pytest.approx(float(restricted(ab)), rel=1e-12)
        H = torch.autograd.functional.hessian(restricted, ab).numpy()
        expected = np.linalg.eigvalsh(H)
        assert np.allclose(eigenvalues[i], expected, rtol=0, atol=1e-6 * np.abs(expected).max()), i
    # A second run finds the store complete and computes nothing (the job's resume).
    assert example.main(["--counts", "7", "--steps", "50", "--out", str(out), "--no-plots"]) == 0
