"""Reports from results files: aggregation (:mod:`.aggregate`), paper
figures (:mod:`.plots`, matplotlib), Markdown and LaTeX tables (:mod:`.tables`)
and the ``nasbench-suite report`` command (:mod:`.cli`)."""
from .cli import make_report

__all__ = ["make_report"]
