"""Exceptions shared across the package."""
from ._core import InvalidSpecError

# Raised by the compiled core; presented as part of the public package.
InvalidSpecError.__module__ = "nasbench_suite"
InvalidSpecError.__doc__ = (
    "An architecture (cell) that breaks a rule of its search space. "
    "A ValueError whose message names the rule broken."
)

__all__ = ["InvalidSpecError"]
