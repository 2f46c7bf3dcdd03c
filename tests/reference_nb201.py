"""Plain-Python / networkx reference for NB201 isomorphism (REFERENCE.md,
Isomorphism), written from the definition, independent of the core."""
from __future__ import annotations

import networkx as nx

# Edges in arch-string order, written out here rather than taken from the package.
EDGES = ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))


def ref_graph(ops):
    """Op-on-node DAG of a cell, pruned; None when input cannot reach output.

    Nodes: 'in', 'out', and one node per non-'none' edge labelled by its op.
    The node of edge i->j feeds every edge node j->k; edges leaving cell node 0
    are fed by 'in'; edges entering cell node 3 feed 'out'.  Nodes that are not
    on an in->out path are removed.
    """
    g = nx.DiGraph()
    g.add_node("in", op="input")
    g.add_node("out", op="output")
    live = [k for k, op in enumerate(ops) if op != "none"]
    for k in live:
        g.add_node(k, op=ops[k])
    for k in live:
        i, j = EDGES[k]
        if i == 0:
            g.add_edge("in", k)
        if j == 3:
            g.add_edge(k, "out")
        for m in live:
            if EDGES[m][0] == j:
                g.add_edge(k, m)
    down = nx.descendants(g, "in")
    if "out" not in down:
        return None
    keep = (down & nx.ancestors(g, "out")) | {"in", "out"}
    return g.subgraph(keep).copy()
