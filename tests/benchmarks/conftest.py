"""The benchmarks compare the core with the plain-Python references that live
in ``tests/`` (``reference_nb101.py``); make them importable from here."""
import sys
from pathlib import Path

_TESTS = str(Path(__file__).resolve().parents[1])
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)
