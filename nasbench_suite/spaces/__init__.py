"""Search spaces: typed Python facades over the compiled core.

- :mod:`nasbench_suite.spaces.nb101`: NAS-Bench-101 cells (Ying et al., 2019).
- :mod:`nasbench_suite.spaces.nb201`: NAS-Bench-201 / NATS-Bench topology cells
  (Dong & Yang, 2020).
"""
from . import nb101, nb201

__all__ = ["nb101", "nb201"]
