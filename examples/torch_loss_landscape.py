#!/usr/bin/env python3
"""The loss landscape of your own PyTorch model, scanned by hessa through a user function.

  python3 examples/torch_loss_landscape.py [--counts 41] [--out examples/out/torch_moons_scan.h5]

1. Builds a small PyTorch MLP (2-16-16-1, tanh, float64) and trains it for a few hundred full-batch Adam steps on
   the bundled two-moons data (examples/mlp_moons/moons.csv: 200 samples, label in the last column).
2. Turns its loss into a vectorized function of flat parameter vectors, loss(thetas: (m, P)) -> (m,), with
   torch.func.functional_call + vmap (one batched call per block of evaluation points), and its gradient likewise.
3. Draws two filter-normalized directions (Li et al. 2018: each neuron's slice of a random direction scaled to the
   norm of that neuron's weights) in torch, and runs a hessa direction-scan job around the trained parameters:
   f(theta* + alpha d1 + beta d2) on a counts x counts grid over [-1, 1]^2, with the 2 x 2 Hessian of the plotted
   surface (the gradient stencil: differences of the model's exact gradients), its eigenvalues and the
   classification at every point, into a resumable HDF5 store.
4. Draws the maps with scripts/hessa-plot (the same tooling as `hessa run` stores) into <out dir>/plots/.

Needs torch (Debian: python3-torch) and the hessa module (python3 -m pip install .).
"""

import argparse
import pathlib
import subprocess
import sys

import numpy as np
import torch

import hessa

try:
    from torch.func import functional_call, grad, vmap
except ImportError:  # torch < 2.0 (Debian 12's 1.13): the same functions, from functorch
    from functorch import grad, vmap
    from torch.nn.utils.stateless import functional_call

HERE = pathlib.Path(__file__).resolve().parent


def trained_model(data: np.ndarray, steps: int, seed: int):
    torch.manual_seed(seed)
    X = torch.from_numpy(data[:, :2].copy())
    y = torch.from_numpy(data[:, 2:3].copy())
    model = torch.nn.Sequential(
        torch.nn.Linear(2, 16), torch.nn.Tanh(), torch.nn.Linear(16, 16), torch.nn.Tanh(), torch.nn.Linear(16, 1)
    ).double()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    for _ in range(steps):
        optimizer.zero_grad()
        loss = loss_fn(model(X), y)
        loss.backward()
        optimizer.step()
    return model, X, y, loss_fn


def flat_loss(model, X, y, loss_fn):
    """loss(theta) of one flat parameter vector, and the (m, P) -> (m,) numpy functions hessa calls."""
    names = [n for n, _ in model.named_parameters()]
    shapes = [p.shape for _, p in model.named_parameters()]
    sizes = [p.numel() for _, p in model.named_parameters()]

    def unflatten(theta):
        params, offset = {}, 0
        for name, shape, size in zip(names, shapes, sizes):
            params[name] = theta[offset : offset + size].view(shape)
            offset += size
        return params

    def loss_of(theta):
        return loss_fn(functional_call(model, unflatten(theta), (X,)), y)

    batched_loss, batched_grad = vmap(loss_of), vmap(grad(loss_of))

    def loss(thetas: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return batched_loss(torch.from_numpy(thetas)).numpy()

    def loss_gradient(thetas: np.ndarray) -> np.ndarray:
        return batched_grad(torch.from_numpy(thetas)).detach().numpy()

    return loss, loss_gradient


def filter_normalized_direction(model, generator):
    """A random direction, each neuron's (output row's) slice scaled to that row's norm; biases zero (Li et al.)."""
    parts = []
    for p in model.parameters():
        d = torch.randn(p.shape, generator=generator, dtype=torch.float64)
        if p.dim() == 2:  # weights: one row per neuron
            d = d * (p.detach().norm(dim=1, keepdim=True) / d.norm(dim=1, keepdim=True))
        else:
            d = torch.zeros_like(d)
        parts.append(d.ravel())
    return torch.cat(parts)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--counts", type=int, default=41, help="grid points per axis (default 41)")
    parser.add_argument("--steps", type=int, default=300, help="Adam steps of the training (default 300)")
    parser.add_argument("--out", default=str(HERE / "out" / "torch_moons_scan.h5"), help="the HDF5 store")
    parser.add_argument("--no-plots", action="store_true", help="skip scripts/hessa-plot")
    args = parser.parse_args(argv)

    data = np.loadtxt(HERE / "mlp_moons" / "moons.csv", delimiter=",", skiprows=1)
    model, X, y, loss_fn = trained_model(data, args.steps, seed=0)
    loss, loss_gradient = flat_loss(model, X, y, loss_fn)
    centre = torch.cat([p.detach().ravel() for p in model.parameters()]).numpy()
    generator = torch.Generator().manual_seed(1)
    d1, d2 = (filter_normalized_direction(model, generator).numpy() for _ in range(2))
    print(f"model: {centre.size} parameters, trained loss {loss(centre[None, :])[0]:.4f}")

    out = pathlib.Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    job = {
        "function": {"python": "torch_mlp_moons"},
        "points": {
            "kind": "directions",
            "lower": [-1.0, -1.0],
            "upper": [1.0, 1.0],
            "counts": [args.counts, args.counts],
            "centre": centre.tolist(),
            "directions": [d1.tolist(), d2.tolist()],
            "hessian": "restricted",
        },
        "analysis": {"eigenvalues": True},
        "output": {"path": str(out), "chunk": 256},
    }
    # An existing store of the same job is continued (or found complete), as `hessa run --resume` would.
    outcome = hessa.run(job, function=loss, grad=loss_gradient, batch_size=4096, resume=out.exists())
    s = outcome["summary"]
    if outcome["already_complete"]:
        print(f"{outcome['out']}: complete already (verified); nothing computed")
    else:
        print(
            f"{outcome['out']}: {s['points']} points in {s['seconds']:.2f} s ({outcome['stencil']} stencil, "
            f"{outcome['backend'].split(';')[0]}); classes {({k: v for k, v in s['per_class'].items() if v})}"
        )
    if not args.no_plots:
        plot = HERE.parent / "scripts" / "hessa-plot"
        subprocess.run([sys.executable, str(plot), str(out), "-o", str(out.parent / "plots")], check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
