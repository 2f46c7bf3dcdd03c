"""Running searches on tabular benchmarks: budgets, a simulated clock with
asynchronous parallel workers, and trajectories."""
from .budget import Budget
from .search import run_search
from .trajectory import Trajectory

__all__ = ["Budget", "Trajectory", "run_search"]
