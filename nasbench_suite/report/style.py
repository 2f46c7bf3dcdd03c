"""One colour and one marker per strategy, kept across every figure, and
figure sizes for one- and two-column papers.

Registered strategies keep a fixed colour in every report (the order of
:data:`nasbench_suite.strategies.REGISTRY`); other labels (variants with
their own hyper-parameters) take the remaining colours in the order given.
Colours: the Okabe-Ito palette (distinguishable with colour blindness,
Okabe & Ito 2008) without its yellow, extended by three darker tones.
"""
from __future__ import annotations

PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#56B4E9", "#E69F00", "#000000", "#882255",
           "#117733", "#999933")
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "<", ">")

# Text widths of common two-column templates (NeurIPS/ICML/IEEE): a column
# is about 3.3 in, the full width about 6.9 in.
WIDTHS = {"one": 3.3, "two": 6.9}
HEIGHTS = {"one": 2.4, "two": 2.7}


def strategy_styles(labels) -> dict:
    """``label -> {"color", "marker"}``, stable across figures and reports."""
    from ..strategies import REGISTRY

    fixed = list(REGISTRY)[:len(PALETTE)]
    index = {label: fixed.index(label) for label in labels if label in fixed}
    free = iter([i for i in range(len(PALETTE)) if i not in index.values()])
    overflow = 0
    for label in labels:
        if label not in index:
            i = next(free, None)
            if i is None:  # more strategies than colours: colours repeat
                i, overflow = overflow % len(PALETTE), overflow + 1
            index[label] = i
    return {label: {"color": PALETTE[i], "marker": MARKERS[i]} for label, i in index.items()}


def rc_params(column: str) -> dict:
    """Matplotlib settings for paper figures: small type, embedded TrueType fonts."""
    size = 7.5 if column == "one" else 8.5
    return {
        "font.size": size, "axes.labelsize": size, "axes.titlesize": size, "legend.fontsize": size - 1,
        "xtick.labelsize": size - 1, "ytick.labelsize": size - 1, "lines.linewidth": 1.2,
        "lines.markersize": 3.5, "axes.linewidth": 0.6, "grid.linewidth": 0.4, "grid.alpha": 0.4,
        "pdf.fonttype": 42, "ps.fonttype": 42, "savefig.bbox": "tight", "savefig.pad_inches": 0.02,
        "axes.spines.top": False, "axes.spines.right": False, "legend.frameon": False,
    }
