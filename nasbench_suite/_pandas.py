"""pandas, imported only by the methods that return DataFrames (an optional
dependency: ``pip install 'nasbench-suite[analysis]'``)."""
from __future__ import annotations

INSTALL_HINT = "pip install 'nasbench-suite[analysis]'"


def import_pandas(what: str):
    """The ``pandas`` module, or an ImportError that says how to install it.

    ``what`` names the caller in the message (``"Benchmark.to_frame"``)."""
    try:
        import pandas
    except ImportError:
        raise ImportError(f"{what} needs pandas, an optional dependency: {INSTALL_HINT} "
                          "(or pip install pandas)") from None
    return pandas
