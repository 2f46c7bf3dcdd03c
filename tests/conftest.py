"""Shared fixtures: synthetic tables (session-scoped, built once) and the data path."""
from __future__ import annotations

import os
import pathlib
import sys

import pytest
from hypothesis import settings

# CI (CI=true) draws the same hypothesis examples every run, so a submission's
# verdict does not depend on luck; locally the search stays randomized.
settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

sys.path.insert(0, str(pathlib.Path(__file__).parent))

from synthetic_tables import make_nb101_table, make_nb201_table  # noqa: E402

REPO = pathlib.Path(__file__).resolve().parents[1]


def data_dir() -> pathlib.Path:
    return pathlib.Path(os.environ.get("NASBENCH_SUITE_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def nb201_synthetic(tmp_path_factory):
    return make_nb201_table(tmp_path_factory.mktemp("tables") / "nb201_synthetic.h5")


@pytest.fixture(scope="session")
def nb101_synthetic(tmp_path_factory):
    return make_nb101_table(tmp_path_factory.mktemp("tables") / "nb101_synthetic.h5")


@pytest.fixture(scope="session")
def nb201_public(tmp_path_factory):
    """The real NB201 table built by the nb201-public recipe (skips without the data)."""
    from nasbench_suite.tables.importers import import_table

    source = data_dir() / "nb201"
    if not source.is_dir():
        pytest.skip(f"public NB201 data not found at {source} (set NASBENCH_SUITE_DATA)")
    out = tmp_path_factory.mktemp("public") / "nb201_public.h5"
    return import_table(recipe="nb201-public", source=str(source), out=str(out))
