"""nasbench_suite.progress: tqdm on a terminal, periodic lines elsewhere, nothing when quiet."""
from __future__ import annotations

import io

from nasbench_suite.progress import Progress, format_bytes, format_seconds


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_format_helpers():
    assert format_seconds(3725) == "1:02:05" and format_seconds(65) == "1:05"
    assert format_seconds(float("nan")) == "?"
    assert format_bytes(999) == "999 B" and format_bytes(1_500_000) == "1.5 MB"


def test_terminal_gets_a_tqdm_bar_with_rate_and_eta():
    out = _Terminal()
    bar = Progress(10, done=2, label="runs", stream=out)
    for _ in range(8):
        bar.advance()
    bar.close()
    text = out.getvalue()
    assert "\r" in text and "10/10" in text and "runs/s" in text and "<" in text  # elapsed<ETA
    assert (bar.done, bar.resumed) == (10, 2)


def test_log_lines_at_every_tenth_and_a_final_one():
    now = [0.0]
    out = io.StringIO()
    bar = Progress(100, done=20, label="networks", stream=out, clock=lambda: now[0])
    for _ in range(80):
        now[0] += 1.0
        bar.advance()
    bar.close()
    lines = out.getvalue().splitlines()
    assert "\r" not in out.getvalue()
    assert lines[0] == "[" + "#" * 6 + "." * 22 + "] 20/100 networks (20 resumed)  0.00/s  elapsed 0:00  ETA ?"
    assert lines[1].startswith("[") and " 30/100 networks" in lines[1] and "1.00/s" in lines[1]
    assert lines[1].endswith("ETA 1:10")
    assert lines[-1].endswith("done") and len(lines) == 9  # start + 30%, 40%, ..., 100%


def test_disabled_counts_but_writes_nothing():
    out = _Terminal()
    bar = Progress(5, stream=out, enabled=False)
    bar.advance(5)
    bar.close()
    assert out.getvalue() == "" and bar.done == 5
