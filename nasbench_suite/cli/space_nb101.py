"""``nasbench-suite space stats nb101`` and ``space export nb101``: the
NAS-Bench-101 parts of :mod:`.space` (what the space counts, how it prints,
the formats it exports)."""
from __future__ import annotations

import json
import os
import time
from typing import Iterable, Optional

from nasbench_suite.spaces import nb101

SPACE = nb101.SPACE

EXPORT_FORMATS = ("hashes", "jsonl")

# This space's paragraphs of the ``space stats`` and ``space export`` help.
STATS_HELP = """\
  nb101  labelled candidate cells (2..7 vertices, every vertex on an
         input-to-output path, at most 9 edges), unique cells after dedup
         (423,624), both per vertex count, plus the cumulative unique count.
"""

EXPORT_HELP = """\
  nb101 hashes        the official hash of every unique cell, sorted
                      (423,624 lines)
  nb101 jsonl         one {"hash", "matrix", "ops"} object per unique cell, in
                      its canonical (pruned) form, in the order of --format
                      hashes
"""


def stats() -> dict:
    """Enumerate the space: candidates and unique cells per vertex count."""
    start = time.perf_counter()
    space = nb101.enumerate_space()
    seconds = time.perf_counter() - start
    cand = {int(n): int(c) for n, c in dict(space.candidates_by_vertices).items()}
    uniq = {int(n): int(c) for n, c in dict(space.unique_by_vertices).items()}
    cumulative, total = {}, 0
    for n in sorted(uniq):
        total += uniq[n]
        cumulative[n] = total
    return {
        "space": SPACE.name,
        "candidates": sum(cand.values()),
        "unique": int(len(space.keys)),
        "candidates_by_vertices": {str(n): cand[n] for n in sorted(cand)},
        "unique_by_vertices": {str(n): uniq[n] for n in sorted(uniq)},
        "unique_cumulative_by_vertices": {str(n): c for n, c in cumulative.items()},
        "seconds": round(seconds, 4),
    }


def print_stats(s: dict, out) -> None:
    out.write("NAS-Bench-101 cell space (2..7 vertices, at most 9 edges)\n")
    out.write(f"  labelled candidates  {s['candidates']:>10,}\n")
    out.write(f"  unique cells         {s['unique']:>10,}\n")
    out.write("\n  vertices  candidates     unique  unique (cumulative)\n")
    keys = sorted(set(s["candidates_by_vertices"]) | set(s["unique_by_vertices"]), key=int)
    for n in keys:
        out.write(f"  {n:>8}  {s['candidates_by_vertices'].get(n, 0):>10,}"
                  f" {s['unique_by_vertices'].get(n, 0):>10,}"
                  f"  {s['unique_cumulative_by_vertices'].get(n, 0):>19,}\n")
    out.write(f"\n  time {s['seconds']:.2f} s\n")


def export(fmt: str, threads: Optional[int]) -> Iterable[str]:
    """The lines of ``space export`` in format ``fmt`` (one of :data:`EXPORT_FORMATS`)."""
    import numpy as np
    space = nb101.enumerate_space()
    if fmt == "hashes":
        return (str(h) for h in space.hashes(threads=threads))
    # jsonl: canonical cells, ordered by hash (line i matches --format hashes)
    mats, labs, nverts = space.cells()
    mats, labs, nverts = np.asarray(mats), np.asarray(labs), np.asarray(nverts)
    name_of = {nb101.LABEL_INPUT: nb101.INPUT, nb101.LABEL_OUTPUT: nb101.OUTPUT}
    name_of.update({i: op for i, op in enumerate(nb101.OPS)})
    hashes = np.empty(len(nverts), dtype="<U32")
    for n in np.unique(nverts):
        idx = np.nonzero(nverts == n)[0]
        n = int(n)
        sub_m = np.ascontiguousarray(mats[idx, :n, :n])
        sub_l = np.ascontiguousarray(labs[idx, :n])
        hashes[idx] = nb101.hash_many(sub_m, sub_l, threads=threads or (os.cpu_count() or 1))
    order = np.argsort(hashes, kind="stable")
    # Cells share few distinct matrices and op lists: render each once.
    # (The layout is json.dumps' default, so every line parses as JSON.)
    matrix_text, ops_text = {}, {}

    def lines():
        for k in order:
            n = int(nverts[k])
            mkey = (n, mats[k].tobytes())
            mtext = matrix_text.get(mkey)
            if mtext is None:
                mtext = matrix_text[mkey] = json.dumps(mats[k, :n, :n].astype(int).tolist())
            lkey = labs[k].tobytes()
            otext = ops_text.get(lkey)
            if otext is None:
                otext = ops_text[lkey] = json.dumps([name_of[int(x)] for x in labs[k, :n]])
            yield f'{{"hash": "{hashes[k]}", "matrix": {mtext}, "ops": {otext}}}'
    return lines()
