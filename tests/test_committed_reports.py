"""Committed reports regenerate the same numbers on any x86-64 machine: the
README main job's searches on the embedded table, rerun at a small size, give
the trajectory digests committed beside its report (issue 18)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))

import report_digests  # noqa: E402


def test_the_embedded_report_grid_reproduces_its_committed_digests():
    committed = json.loads((REPO / "reports" / "embedded" / "compare" / "digests.json").read_text())
    assert committed["queries"] == report_digests.QUERIES
    now = report_digests.digests()
    differ = sorted(k for k in committed["digests"] if committed["digests"][k] != now.get(k))
    assert set(now) == set(committed["digests"])
    assert not differ, f"trajectories differ from reports/embedded/compare/digests.json: {differ}"
