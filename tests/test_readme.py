"""The README starts with the two commands a new user needs, and CI runs
exactly the README's test command (``.ci/run`` reads it from the README)."""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
CI_RUN = REPO / ".ci" / "run"


def _block_after(marker: str, text: str) -> str:
    m = re.search(re.escape(marker) + r"\s*\n```[a-z]*\n(.*?)\n```", text, re.S)
    assert m, f"README.md has no code block after {marker}"
    return m.group(1).strip()


def test_readme_starts_with_the_two_commands():
    text = README.read_text(encoding="utf-8")
    head = text.split("\n## ", 1)[0]  # everything before the first section
    main = _block_after("<!-- main-command -->", head)
    tests = _block_after("<!-- test-command -->", head)
    assert head.index("<!-- main-command -->") < head.index("<!-- test-command -->")
    for cmd in (main, tests):
        assert "\n" not in cmd, "one line, to paste as is"
        assert cmd.startswith("python3 -m venv .venv && . .venv/bin/activate && pip install -e")
    assert main.endswith("nasbench-suite space stats nb101")
    assert tests.endswith("python -m pytest -q")


def test_ci_runs_the_readme_test_command():
    if shutil.which("bash") is None:
        pytest.skip("bash not available")
    assert CI_RUN.stat().st_mode & 0o111, ".ci/run must be executable"
    expected = _block_after("<!-- test-command -->", README.read_text(encoding="utf-8"))
    out = subprocess.run(["bash", str(CI_RUN), "--print-command"], capture_output=True,
                         text=True, timeout=60, check=True).stdout.strip()
    assert out == expected


@pytest.mark.slow
def test_readme_python_example_runs():
    text = README.read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert blocks, "README.md has no Python example"
    namespace: dict = {}  # the blocks read as one session, top to bottom
    for code in blocks:
        exec(compile(code, "README.md", "exec"), namespace)
