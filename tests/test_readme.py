"""The README starts with the two commands a new user needs, and CI runs
exactly the README's test command (``.ci/run`` reads it from the README)."""
from __future__ import annotations

import re
import shutil
import subprocess
import textwrap
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
    # the main job: a comparison of >= 4 strategies over >= 10 seeds on the embedded default, then the report
    compare = re.search(r"nasbench-suite compare (.*?) && nasbench-suite report results.h5 -o report/$", main)
    assert compare, main
    flags = compare.group(1)
    assert "--benchmark" not in flags, "the main job runs on the embedded default table"
    assert len(re.search(r"--strategies (\S+)", flags).group(1).split(",")) >= 4
    assert int(re.search(r"--seeds (\d+)", flags).group(1)) >= 10
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
    # the pandas example reads the main command's results.h5: tests/test_frames.py runs it beside one
    blocks = [b for b in blocks if 'load_results("results.h5")' not in b]
    namespace: dict = {}  # the blocks read as one session, top to bottom
    for code in blocks:
        exec(compile(code, "README.md", "exec"), namespace)


@pytest.mark.slow
def test_readme_main_job_runs_on_the_embedded_table(tmp_path):
    """The main command after its setup part, as a user runs it from the
    repository root (here from an empty directory, with the embedded table
    found through the package's repository) and without PyTorch: 4 strategies x
    10 seeds, a report."""
    import shlex
    import sys

    from nasbench_suite.runner.results import load_results

    main = _block_after("<!-- main-command -->", README.read_text(encoding="utf-8"))
    steps = [s for s in main.split(" && ") if s.startswith("nasbench-suite ")]
    assert [s.split()[1] for s in steps] == ["compare", "report"]
    # without PyTorch, as the main command installs no extra
    no_torch = textwrap.dedent("""
        import sys
        class NoTorch:  # as if torch were not installed (sys.modules["torch"] = None confuses scipy)
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] == "torch":
                    raise ModuleNotFoundError("No module named 'torch'")
        sys.meta_path.insert(0, NoTorch())
        from nasbench_suite.cli import main
        sys.exit(main())
    """)
    for step in steps:
        argv = [sys.executable, "-c", no_torch] + shlex.split(step)[1:]
        proc = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stderr
    runs = load_results(tmp_path / "results.h5").runs
    assert len(runs) == 4 * 10  # one per (benchmark, strategy, seed)
    report = tmp_path / "report"
    assert (report / "report.md").is_file() and (report / "table.tex").is_file()
    for name in ("curve_queries", "curve_time", "final", "rank_queries"):
        assert (report / f"{name}.pdf").read_bytes()[:5] == b"%PDF-"
        assert (report / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

