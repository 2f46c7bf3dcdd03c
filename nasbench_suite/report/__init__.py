"""Reports from results files: aggregation (:mod:`.aggregate`), paper
figures (:mod:`.plots`, matplotlib), Markdown and LaTeX tables (:mod:`.tables`)
and all of them at once (:func:`make_report`, what ``nasbench-suite report``
runs)."""
from .make import make_report

__all__ = ["make_report"]
