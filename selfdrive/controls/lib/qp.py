"""A small dense solver for piecewise-quadratic programs with box bounds:

  min |M x + c|^2 + sum_i |max(0, G_i x + h_i)|^2   subject to lb <= x <= ub

The first term is an ordinary least-squares cost, the second one-sided (hinge) penalties: soft constraints
G x + h <= 0. The objective is convex and once differentiable with a piecewise-constant Hessian, so a projected
(semismooth) Newton method converges in a few iterations: Newton steps on the variables not held at a bound, the
Hessian of the hinges active at the current point, and a projected Armijo line search (Bertsekas 1982). For the
twenty-odd variables of the longitudinal MPC that is well under a millisecond, with nothing beyond numpy.
"""
from dataclasses import dataclass

import numpy as np

MAX_ITERATIONS = 30     # the default cap; a caller on a deadline passes its own
STEP_TOLERANCE = 1e-4   # done when no variable moves more than this (the MPC's accelerations: m/s^2)
EPSILON = 1e-3       # a variable this close to a bound, pushed outwards, is held at it (Bertsekas' epsilon-active set)
ARMIJO = 1e-4
MIN_STEP = 1e-8
REGULARIZATION = 1e-9


@dataclass(frozen=True)
class Rows:
  """Residual rows m x + c (weights already folded in)."""
  m: np.ndarray
  c: np.ndarray


@dataclass(frozen=True)
class Result:
  x: np.ndarray
  iterations: int
  converged: bool


class _Objective:
  """The quadratic part folded into its Hessian once; the hinges evaluated row by row."""
  def __init__(self, quad: Rows, hinge: Rows):
    self.h = 2 * quad.m.T @ quad.m + REGULARIZATION * np.eye(quad.m.shape[1])
    self.q = 2 * quad.m.T @ quad.c
    self.c = float(quad.c @ quad.c)
    self.hinge = hinge
    self.hinge_grad = 2 * hinge.m.T   # made once, not at each of the ~14 evaluations of a solve

  def __call__(self, x: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """Value, gradient and the active hinge rows' residuals at x (zero where a row is inactive)."""
    hx = self.h @ x
    h = np.maximum(self.hinge.m @ x + self.hinge.c, 0.0)
    return float(0.5 * x @ hx + self.q @ x + self.c + h @ h), hx + self.q + self.hinge_grad @ h, h


def minimize(quad: Rows, hinge: Rows, lb: np.ndarray, ub: np.ndarray, x0: np.ndarray,
             max_iterations: int = MAX_ITERATIONS) -> Result:
  x = np.minimum(np.maximum(x0, lb), ub)
  objective = _Objective(quad, hinge)
  f, g, h = objective(x)
  near_lb, near_ub = lb + EPSILON, ub - EPSILON
  for it in range(1, max_iterations + 1):
    held = ((x <= near_lb) & (g > 0)) | ((x >= near_ub) & (g < 0))
    if held.all():
      return Result(x, it, True)
    hm = hinge.m[h > 0]
    hess = objective.h + 2 * hm.T @ hm
    if not held.any():   # the usual case: every variable free, no sub-matrix to take
      d = -np.linalg.solve(hess, g)
    else:
      free = ~held
      d = np.zeros_like(x)
      d[free] = -np.linalg.solve(hess[np.ix_(free, free)], g[free])
    step = 1.0
    while True:
      xn = np.minimum(np.maximum(x + step * d, lb), ub)
      fn, gn, hn = objective(xn)
      if fn <= f + ARMIJO * g @ (xn - x) or step < MIN_STEP:
        break
      step *= 0.5
    moved = np.abs(xn - x).max()
    x, f, g, h = xn, fn, gn, hn
    if moved < STEP_TOLERANCE:
      return Result(x, it, True)
  return Result(x, max_iterations, False)
