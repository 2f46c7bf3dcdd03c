"""nasbench-suite: a benchmark-backed evaluation suite for neural architecture search.

The compiled core (``nasbench_suite._core``) is private; use the search-space
modules in :mod:`nasbench_suite.spaces`.
"""
from ._errors import InvalidSpecError

__version__ = "0.1.0"

__all__ = ["InvalidSpecError", "__version__"]
