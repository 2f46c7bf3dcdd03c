"""What every command module shares: the program name, the parser class,
argument types, and the translation of library errors into usage errors.

Library code raises its own exceptions and knows nothing of argv; a command
handler names the ones a user can fix (:func:`user_errors`) and they reach
:func:`nasbench_suite.cli.main` as :class:`UsageError`: one line on stderr,
exit status 2.
"""
from __future__ import annotations

import argparse
import contextlib
import math
import os
import sys
from typing import Iterator, Optional, Type

from nasbench_suite._errors import UsageError

#: The command's name, as messages and ``--help`` print it.
PROG = "nasbench-suite"

# Descriptions and epilogs are laid out by hand (examples, tables).
RAW = argparse.RawDescriptionHelpFormatter

__all__ = ["INT64_MAX", "MAX_THREADS", "PROG", "RAW", "Parser", "UsageError", "bounded_float", "bounded_int",
           "error", "input_file", "isatty", "output_file", "plural", "positive_int", "progress", "user_errors"]

INT64_MAX = 2 ** 63 - 1  # seeds and counts are stored as int64
MAX_THREADS = 1024  # threads or processes of one command on one machine


class Parser(argparse.ArgumentParser):
    """An ArgumentParser that names the program and points at --help, on one
    line (no usage block: the message says what is wrong, --help the rest)."""

    def error(self, message: str):  # pragma: no cover - exercised via main
        message = " ".join(str(message).split())
        self.exit(2, f"{self.prog}: error: {message}; see '{self.prog} --help'\n")


def bounded_int(lo: int, hi: Optional[int] = INT64_MAX, what: str = "") -> "callable":
    """An argparse type: an integer in ``[lo, hi]`` (``hi`` None: no upper bound)."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
        if value < lo:
            raise argparse.ArgumentTypeError(f"must be at least {lo}{what}, got {value}")
        if hi is not None and value > hi:
            raise argparse.ArgumentTypeError(f"must be at most {hi}{what}, got {value}")
        return value
    parse.__name__ = "integer"  # argparse names the type in its messages
    return parse


def bounded_float(lo: float, hi: float = math.inf, lo_open: bool = True) -> "callable":
    """An argparse type: a finite number above ``lo`` (or at least ``lo``) and at most ``hi``."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if not math.isfinite(value) or (value <= lo if lo_open else value < lo) or value > hi:
            bounds = f"{'above' if lo_open else 'at least'} {lo:g}" + ("" if math.isinf(hi) else f" and at most {hi:g}")
            raise argparse.ArgumentTypeError(f"must be a finite number {bounds}, got {text!r}")
        return value
    parse.__name__ = "number"
    return parse


#: An argparse type: a thread or process count, 1 to :data:`MAX_THREADS`.
positive_int = bounded_int(1, MAX_THREADS)


def plural(n: int, word: str, many: Optional[str] = None) -> str:
    """``1 worker``, ``2 workers`` (``many``: an irregular plural)."""
    return f"{n} {word if n == 1 else (many or word + 's')}"


def output_file(path, what: str = "the file to write", example: str = "out.h5") -> None:
    """:class:`UsageError` if ``path`` (an ``-o FILE``) names a directory or
    sits in a directory that does not exist."""
    if path is None:
        return
    path = os.fspath(path)
    if os.path.isdir(path):
        suggestion = os.path.join(path, example)
        raise UsageError(f"{path}: is a directory; -o names {what}, e.g. -o {suggestion}")
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise UsageError(f"{path}: directory {parent} does not exist; create it first or choose another -o")


def input_file(path, what: str = "file") -> None:
    """:class:`UsageError` if ``path`` names a directory (where a file is read)."""
    if path is not None and os.path.isdir(os.fspath(path)):
        raise UsageError(f"{os.fspath(path)}: is a directory, not a {what}; name the file itself")


@contextlib.contextmanager
def user_errors(*kinds: Type[BaseException]) -> Iterator[None]:
    """Re-raise the library exceptions ``kinds`` (mistakes the user can fix:
    a bad table, a file that exists, a wrong setting) as :class:`UsageError`
    with the same message."""
    try:
        yield
    except kinds as exc:
        raise UsageError(str(exc)) from None


def error(message: str) -> None:
    """Print ``nasbench-suite: error: MESSAGE`` on stderr (for handlers that
    choose their own exit status)."""
    print(f"{PROG}: error: {message}", file=sys.stderr)


def isatty(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def progress(message: str) -> None:
    """A progress message on stderr, only when a person is watching it."""
    if isatty(sys.stderr):
        print(message, file=sys.stderr, flush=True)
