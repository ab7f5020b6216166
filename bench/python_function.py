#!/usr/bin/env python3
"""What a Python function costs in hessa.analyze against the same function as an expression (README, "Python").

  python3 bench/python_function.py     # with the hessa module installed (python3 -m pip install .)

200 000 points, n = 2, central stencil (9 evaluations a point), best of 3: the expression in hessa's interpreter,
the numpy function called in blocks of 65 536 points, and the 9 numpy evaluations of the whole set alone.
"""
import time, numpy as np, hessa
p = np.random.default_rng(0).uniform(-2, 2, (200_000, 2))
def f(X): x, y = X[:, 0], X[:, 1]; return x**3 - 3*x*y**2 + x**2 + y**2*np.cos(x)
def best(call, k=3):
    t = []
    for _ in range(k):
        s = time.perf_counter(); call(); t.append(time.perf_counter() - s)
    return min(t)
e = best(lambda: hessa.analyze("x^3 - 3*x*y^2 + x^2 + y^2*cos(x)", p, vars="x,y", stencil="central"))
u = best(lambda: hessa.analyze(f, p, stencil="central"))
r = best(lambda: [f(p) for _ in range(9)])
print(f"expression {e:.3f} s, numpy function {u:.3f} s, the 9 numpy calls alone {r:.3f} s")
