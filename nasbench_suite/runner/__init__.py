"""Running searches on tabular benchmarks: budgets, a simulated clock with
asynchronous parallel workers, and trajectories.

- :func:`run_search`: one strategy, one seed, one :class:`Budget` on a table;
  returns a :class:`Trajectory` (one row per finished evaluation).
- :mod:`.grid`: benchmarks x strategies x seeds into a results file
  (``nasbench-suite compare``); :func:`load_results` reads one back as
  :class:`Results`.

Guide: docs/RUNNER.md.
"""
from .budget import Budget
from .results import Results, load_results
from .search import run_search
from .trajectory import Trajectory

__all__ = ["Budget", "Results", "Trajectory", "load_results", "run_search"]
