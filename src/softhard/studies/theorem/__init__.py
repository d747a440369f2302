"""The theorem study (``softhard theorem SPEC``): the bounds' exponents where they live.

- :func:`reference_point`: the proof's reference point U = W0 + s V-bar;
- :func:`run_theorem`: the reference-point width law over families of levels (docs/theorem.md).
"""

from softhard.studies.theorem.reference import (
    HARD_CONSTANT,
    ReferencePoint,
    hard_scale,
    reference_point,
)
from softhard.studies.theorem.run import TheoremResult, run_theorem
from softhard.studies.theorem.spec import TheoremSpec, load_theorem_spec

__all__ = [
    "HARD_CONSTANT",
    "ReferencePoint",
    "TheoremResult",
    "TheoremSpec",
    "hard_scale",
    "load_theorem_spec",
    "reference_point",
    "run_theorem",
]
