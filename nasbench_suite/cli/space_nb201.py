"""``nasbench-suite space stats nb201`` and ``space export nb201``: the
NAS-Bench-201 parts of :mod:`.space` (what the space counts, how it prints,
the formats it exports)."""
from __future__ import annotations

import time
from typing import Iterable, Optional

from nasbench_suite.spaces import nb201

SPACE = nb201.SPACE

EXPORT_FORMATS = ("arch-strings", "classes")

# This space's paragraphs of the ``space stats`` and ``space export`` help.
STATS_HELP = """\
  nb201  cells (5^6 = 15,625), cells with no input-to-output path of
         non-'none' edges, and isomorphism classes of the connected cells
         (two cells are one class when they compute the same network).
"""

EXPORT_HELP = """\
  nb201 arch-strings  the arch string of every cell in the official index
                      order (line i+1 = index i; 15,625 lines)
  nb201 classes       CSV with a header: index,arch_string,class; class is the
                      isomorphism class id (0.. by first appearance in index
                      order), -1 for a disconnected cell
"""


def stats() -> dict:
    """Count the cells, the disconnected ones and the isomorphism classes."""
    import numpy as np
    start = time.perf_counter()
    classes = np.asarray(nb201.isomorphism_classes())
    seconds = time.perf_counter() - start
    connected = classes >= 0
    return {
        "space": SPACE.name,
        "cells": int(classes.size),
        "disconnected": int((~connected).sum()),
        "connected": int(connected.sum()),
        "isomorphism_classes": int(np.unique(classes[connected]).size),
        "seconds": round(seconds, 4),
    }


def print_stats(s: dict, out) -> None:
    out.write("NAS-Bench-201 topology space (4 nodes, 6 edges, 5 ops)\n")
    out.write(f"  cells                {s['cells']:>8,}\n")
    out.write(f"  disconnected         {s['disconnected']:>8,}\n")
    out.write(f"  connected            {s['connected']:>8,}\n")
    out.write(f"  isomorphism classes  {s['isomorphism_classes']:>8,}\n")
    out.write(f"\n  time {s['seconds']:.2f} s\n")


def export(fmt: str, threads: Optional[int] = None) -> Iterable[str]:
    """The lines of ``space export`` in format ``fmt`` (one of
    :data:`EXPORT_FORMATS`); ``threads`` is unused (nothing is hashed)."""
    n = int(nb201.NUM_CELLS)
    if fmt == "arch-strings":
        return (nb201.arch_string(i) for i in range(n))
    import numpy as np
    classes = np.asarray(nb201.isomorphism_classes())

    def lines():
        yield "index,arch_string,class"
        for i in range(n):
            yield f"{i},{nb201.arch_string(i)},{int(classes[i])}"
    return lines()
