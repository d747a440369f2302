"""The neural tangent kernel of the two-layer model, its margin gamma and the kernel-limit teacher.

docs/theory.md section 3. Public API:

- :func:`limiting_ntk`, :func:`empirical_ntk`: the closed-form and finite-width NTK Gram matrices.
- :func:`estimate_margin` -> :class:`MarginEstimate`: gamma with a primal/dual certificate.
- :func:`cached_margin`: the same through a disk cache keyed by the inputs and settings.
- :class:`KernelTeacher`: the teacher F(x) = beta E_z[<v(z), x> 1[<z, x> > 0]] of the theorem.
- :data:`SETTING_BOUNDS`, :func:`bound_problems`: the estimator's setting bounds, one table for
  the Python API and ``softhard margin``.
"""

from softhard.config import DEFAULT_MARGIN_SEED, DEFAULT_NUM_DIRECTIONS
from softhard.ntk._inputs import SETTING_BOUNDS, bound_problems
from softhard.ntk.cache import cached_margin
from softhard.ntk.kernel import empirical_ntk, limiting_ntk
from softhard.ntk.margin import MarginEstimate, estimate_margin, margin_directions, project_simplex
from softhard.ntk.teacher import KernelTeacher

__all__ = [
    "DEFAULT_MARGIN_SEED",
    "DEFAULT_NUM_DIRECTIONS",
    "SETTING_BOUNDS",
    "KernelTeacher",
    "MarginEstimate",
    "bound_problems",
    "cached_margin",
    "empirical_ntk",
    "estimate_margin",
    "limiting_ntk",
    "margin_directions",
    "project_simplex",
]
