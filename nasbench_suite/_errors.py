"""Exceptions shared across the package."""
from ._core import InvalidSpecError

# Raised by the compiled core; presented as part of the public package.
InvalidSpecError.__module__ = "nasbench_suite"
InvalidSpecError.__doc__ = (
    "An architecture (cell) that breaks a rule of its search space. "
    "A ValueError whose message names the rule broken."
)


class UsageError(Exception):
    """A mistake the user of the ``nasbench-suite`` command can fix (a bad
    argument, an unreadable input): reported on stderr, exit status 2.

    Raised by the command line only (:mod:`nasbench_suite.cli`); library code
    raises its own exceptions (``ValueError`` subclasses, ``TableError``,
    ``OSError``) and the command turns them into this one."""


__all__ = ["InvalidSpecError", "UsageError"]
