"""Progress on stderr for the long commands (compare, generate, import, convert, download).

- on a terminal: a `tqdm <https://tqdm.github.io>`_ bar with the count, rate
  and ETA, redrawn in place at most 10 times a second;
- anywhere else (a log file, CI, a pipe): whole lines, no carriage returns,
  at every tenth of the work and at most every ``interval`` seconds otherwise
  (30 s), e.g. ``[########....................] 3/10 runs (2 resumed)  0.50/s
  elapsed 0:02  ETA 0:14``;
- ``enabled=False`` (``--quiet``): nothing at all.

Why tqdm rather than rich: tqdm is small and has no dependencies of its own,
writes to any stream (``file=``), is switched off with ``disable=`` and
rate-limited with ``mininterval`` -- all a progress line needs; rich would
bring a console/markup layer that nothing else here uses.  tqdm always redraws
with ``\\r``, so the few lines written off a terminal come from
:class:`Progress` itself rather than from tqdm.
"""
from __future__ import annotations

import math
import sys
import time
from typing import Callable, Optional

__all__ = ["Progress", "format_seconds", "format_bytes"]


def format_seconds(seconds: float) -> str:
    """3725 -> '1:02:05', 65 -> '1:05'; '?' for NaN or infinity."""
    if seconds != seconds or seconds in (float("inf"), float("-inf")):
        return "?"
    s = int(round(seconds))
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def format_bytes(n: float) -> str:
    """Decimal units, as the benchmarks' sizes are published (1 MB = 10**6 bytes)."""
    if abs(n) < 1000:
        return f"{n:.0f} B"
    for unit in ("kB", "MB", "GB", "TB"):
        n /= 1000.0
        if abs(n) < 1000:
            break
    return f"{n:.1f} {unit}"


def isatty(stream) -> bool:
    """``stream.isatty()``, False for streams without one or closed ones."""
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


class Progress:
    """``Progress(total, done=already_done, label="runs")``; call :meth:`advance`
    per finished item (or :meth:`update` with a byte count) and :meth:`close` at
    the end.  The rate and ETA count only the work done by this process
    (resumed items are free).

    ``bytes=True`` counts bytes (decimal units) and ``desc`` prefixes the line
    (a file name); ``total=None`` is an unknown total.  ``enabled=None`` draws
    only on a terminal; ``True`` also writes lines into a log; ``False`` is
    silent.  ``clock`` is for tests.
    """

    def __init__(self, total: Optional[int], done: int = 0, label: str = "runs", stream=None,
                 enabled: Optional[bool] = True, *, desc: str = "", bytes: bool = False,
                 interval: float = 30.0, width: int = 28,
                 clock: Callable[[], float] = time.monotonic):
        self.total = int(total) if total else None
        self.done = self.resumed = int(done)
        self.label, self.desc, self.bytes = label, desc, bytes
        self.stream = stream if stream is not None else sys.stderr
        tty = isatty(self.stream)
        self.enabled = tty if enabled is None else bool(enabled)
        self.width, self.interval, self.clock = width, interval, clock
        self.start = clock()
        self._bar = None
        self._last_line, self._last_decile, self._drawn_at = -math.inf, -1, None
        if self.enabled and tty:
            from tqdm import tqdm
            self._bar = tqdm(total=self.total, initial=self.done, desc=desc or None,
                             unit="B" if bytes else " " + label, unit_scale=bytes,
                             unit_divisor=1000, file=self.stream, mininterval=0.1,
                             dynamic_ncols=True, leave=True)
        elif self.enabled:
            self._write(force=True)

    @property
    def elapsed(self) -> float:
        return self.clock() - self.start

    def rate(self) -> float:
        elapsed = self.elapsed
        return (self.done - self.resumed) / elapsed if elapsed > 0 else 0.0

    def line(self) -> str:
        """The line written into logs."""
        rate, total = self.rate(), self.total
        parts = [self.desc] if self.desc else []
        if total:
            frac = min(self.done / total, 1.0)
            fill = int(round(frac * self.width))
            bar = f"[{'#' * fill}{'.' * (self.width - fill)}]"
        if self.bytes:
            if total:
                parts.append(f"{bar} {100 * frac:5.1f}% {format_bytes(self.done)}/"
                             f"{format_bytes(total)}")
            else:
                parts.append(format_bytes(self.done))
            parts.append(f"{format_bytes(rate)}/s")
        else:
            extra = f" ({self.resumed} resumed)" if self.resumed else ""
            count = f"{self.done}/{total}" if total else f"{self.done}"
            parts.append(f"{bar + ' ' if total else ''}{count} {self.label}{extra}")
            parts.append(f"{rate:.2f}/s")
        parts.append(f"elapsed {format_seconds(self.elapsed)}")
        if total:
            left = total - self.done
            eta = left / rate if rate > 0 else float("nan")
            parts.append("done" if left <= 0 else f"ETA {format_seconds(eta)}")
        return "  ".join(parts)

    def advance(self, n: int = 1) -> None:
        """``n`` more items (or bytes) done."""
        self.done += n
        if self._bar is not None:
            self._bar.update(n)
        elif self.enabled:
            self._write()

    update = advance

    def _write(self, force: bool = False) -> None:
        now = self.clock()
        decile = int(10 * self.done / self.total) if self.total else -1
        if force or decile > self._last_decile or now - self._last_line >= self.interval:
            self.stream.write(self.line() + "\n")
            self.stream.flush()
            self._last_line, self._last_decile = now, decile
            self._drawn_at = self.done

    def close(self) -> None:
        """End the bar; in a log, write the final state unless it is already there."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        elif self.enabled and self._drawn_at != self.done:
            self._write(force=True)
