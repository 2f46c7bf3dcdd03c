"""The embedded default table, ``tabular_data/nb201-digits.h5`` in the
repository (made by ``nasbench-suite generate nb201 --dataset digits``): what
``nasbench-suite compare`` uses when no ``--benchmark`` is given."""
from __future__ import annotations

import os
from pathlib import Path

EMBEDDED_NAME = "nb201-digits.h5"
ENV = "NASBENCH_SUITE_TABLE"


def embedded_table() -> Path | None:
    """The embedded table's path: ``$NASBENCH_SUITE_TABLE``, else
    ``tabular_data/`` of the repository this package lives in, else of the
    current directory; None when there is none."""
    if os.environ.get(ENV):
        return Path(os.environ[ENV])
    for root in (Path(__file__).resolve().parents[2], Path.cwd()):
        p = root / "tabular_data" / EMBEDDED_NAME
        if p.is_file():
            return p
    return None


def incomplete_reason(path) -> str | None:
    """Why a generated table cannot serve yet (its generation is unfinished), or None."""
    from ._schema import check_root, open_h5

    with open_h5(path) as h5:
        prov = check_root(h5, path)["provenance"]
    if prov.get("converter", "").startswith("nasbench-suite generate") and not prov.get("complete", False):
        runs = prov.get("totals", {}).get("runs", 0)
        return (f"{path} is still being generated ({runs} runs trained so far); finish it with "
                "`nasbench-suite generate nb201 --dataset digits -o " + os.fspath(path) + "` "
                "(it resumes) or pass --benchmark TABLE.h5")
    return None
