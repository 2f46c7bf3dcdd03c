"""A progress bar with a rate and an ETA on stderr (no dependency).

On a terminal it redraws one line in place (at most 10 times a second); into
a file or a pipe it writes a line at every tenth of the work and at most
every 30 seconds otherwise, so logs stay short.
"""
from __future__ import annotations

import sys
import time


def format_seconds(seconds: float) -> str:
    """3725 -> '1:02:05', 65 -> '1:05'."""
    if seconds != seconds or seconds == float("inf"):
        return "?"
    s = int(round(seconds))
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class Progress:
    """``Progress(total, done=already_done, label="runs")``; call :meth:`advance`
    per finished item and :meth:`close` at the end. The rate and ETA count only
    the items finished by this process (resumed ones are free)."""

    def __init__(self, total: int, done: int = 0, label: str = "runs", stream=None,
                 enabled: bool = True, width: int = 28):
        self.total, self.done, self.label = int(total), int(done), label
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled
        self.width = width
        self.resumed = int(done)
        self.start = time.monotonic()
        self._last_draw = 0.0
        self._last_decile = -1
        self._tty = enabled and hasattr(self.stream, "isatty") and self.stream.isatty()
        self._draw(force=True)

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.start

    def line(self) -> str:
        frac = self.done / self.total if self.total else 1.0
        fill = int(round(frac * self.width))
        bar = "#" * fill + "." * (self.width - fill)
        new = self.done - self.resumed
        rate = new / self.elapsed if self.elapsed > 0 else 0.0
        left = self.total - self.done
        eta = left / rate if rate > 0 else float("nan")
        extra = f" ({self.resumed} resumed)" if self.resumed else ""
        eta_text = "done" if left == 0 else f"ETA {format_seconds(eta)}"
        return (f"[{bar}] {self.done}/{self.total} {self.label}{extra}  {rate:.2f}/s  "
                f"elapsed {format_seconds(self.elapsed)}  {eta_text}")

    def advance(self, n: int = 1) -> None:
        self.done += n
        self._draw()

    def _draw(self, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if self._tty:
            if force or now - self._last_draw >= 0.1 or self.done >= self.total:
                self.stream.write("\r" + self.line() + "\x1b[K")
                self.stream.flush()
                self._last_draw = now
            return
        decile = int(10 * self.done / self.total) if self.total else 10
        if force or decile > self._last_decile or now - self._last_draw >= 30:
            self.stream.write(self.line() + "\n")
            self.stream.flush()
            self._last_draw, self._last_decile = now, decile

    def close(self) -> None:
        if self.enabled and self._tty:
            self.stream.write("\r" + self.line() + "\x1b[K\n")
            self.stream.flush()
