"""Plain-Python / networkx references for NAS-Bench-Graph, written from the
definitions, independent of the core (csrc/graph.cpp):

- the network of a raw choice (input node, one node per layer reading its
  link, every leaf feeding the output, which adds its inputs) as a networkx
  graph, and the same with every ``skip`` layer contracted (the identity);
- nested-tuple canonical forms of both (children sorted);
- the package's benchmark key: ``Arch.valid_hash()`` of nas_bench_graph
  (architecture.py, PyPI nas-bench-graph 1.4.0) as we read it, written here
  in plain Python on lists, the way the package works (in-place list edits).
Ops are full-list codes 0..8 with 8 = skip; links are lists of 4 node indices.
"""
from __future__ import annotations

import networkx as nx

LINKS = ([0, 0, 0, 0], [0, 0, 0, 1], [0, 0, 1, 1], [0, 0, 1, 2], [0, 0, 1, 3],
         [0, 1, 1, 1], [0, 1, 1, 2], [0, 1, 2, 2], [0, 1, 2, 3])
SKIP = 8


def _leaves(link):
    read = set(link)
    return [v for v in range(1, 5) if v not in read]


def dag(link, ops) -> nx.DiGraph:
    """The labelled DAG: nodes 'in', 1..4 (label = op code) and 'out'."""
    g = nx.DiGraph()
    g.add_node("in", label="in")
    g.add_node("out", label="out")
    for k in range(4):
        g.add_node(k + 1, label=ops[k])
    for k, p in enumerate(link):
        g.add_edge("in" if p == 0 else p, k + 1, count=1)
    for v in _leaves(link):
        g.add_edge(v, "out", count=1)
    return g


def contracted(link, ops) -> nx.DiGraph:
    """The network with skip layers removed: a skip's readers read its input,
    a skip leaf makes its input feed the output; edge ``count`` = how many times."""
    g = dag(link, ops)
    for v in range(1, 5):
        if ops[v - 1] != SKIP:
            continue
        (src,) = list(g.predecessors(v))
        for dst in list(g.successors(v)):
            n = g.edges[v, dst]["count"] * g.edges[src, v]["count"]
            if g.has_edge(src, dst):
                g.edges[src, dst]["count"] += n
            else:
                g.add_edge(src, dst, count=n)
        g.remove_node(v)
    return g


def isomorphic(a: nx.DiGraph, b: nx.DiGraph) -> bool:
    """Labelled isomorphism, edge counts included."""
    return nx.is_isomorphic(a, b, node_match=lambda x, y: x["label"] == y["label"],
                            edge_match=lambda x, y: x["count"] == y["count"])


def canonical_form(link, ops):
    """Nested tuples: (label, sorted children forms) from the input."""
    def form(v):
        label = "in" if v == 0 else ops[v - 1]
        return (str(label), tuple(sorted(form(k + 1) for k, p in enumerate(link) if p == v)))
    return form(0)


def functional_form(link, ops):
    """The canonical form of :func:`contracted` (a tree from 'in' plus the
    number of times each node feeds 'out')."""
    g = contracted(link, ops)

    def form(v):
        out = g.edges[v, "out"]["count"] if g.has_edge(v, "out") else 0
        kids = tuple(sorted(form(w) for w in g.successors(v) if w != "out"))
        return (str(g.nodes[v]["label"]), out, kids)
    return form("in")


def input_in_output(link, ops) -> bool:
    return contracted(link, ops).has_edge("in", "out")


# -------------------------------------------------------------- the package's folding
def _move_one(k, link, ops):
    ops = [ops[k]] + ops[:k] + ops[k + 1:]
    for i, father in enumerate(link):  # in place: link[k] is already shifted when i > k reads it
        if father == k + 1:
            link[i] = link[k]
        if father <= k:
            link[i] = link[i] + 1
    return [0] + link[:k] + link[k + 1:], ops


def _skips_up_to_input(k, link, ops):
    while k > -1:
        if ops[k] != SKIP:
            return False
        k = link[k] - 1
    return True


def benchmark_key(link, ops) -> int:
    """The package's valid_hash() of a raw choice in one of the 9 patterns
    (its regularize() leaves those as they are)."""
    link, ops = list(link), list(ops)
    for i in range(4):
        if ops[i] != SKIP:
            continue
        son = brother = False
        for j, fa in enumerate(link):
            if fa == i + 1:
                son = True
            elif j != i and fa == link[i]:
                brother = True
        if son or not brother or (_skips_up_to_input(i, link, ops) and not son):
            link, ops = _move_one(i, link, ops)
    if link == [0, 1, 2, 1]:
        link, ops = [0, 1, 1, 2], ops[:2] + [ops[3], ops[2]]
    elif link == [0, 1, 1, 3]:
        link, ops = [0, 1, 1, 2], [ops[0], ops[2], ops[1], ops[3]]
    parts = {0: [0, 1, 2, 3], 1: [1, 2], 2: [2, 3], 5: [1, 2, 3], 7: [2, 3]}
    p = LINKS.index(link)
    if p == 3:
        if ops[0] > ops[1] or (ops[0] == ops[1] and ops[2] > ops[3]):
            ops = [ops[1], ops[0], ops[3], ops[2]]
    elif p in parts:
        for pos, v in zip(parts[p], sorted(ops[i] for i in parts[p])):
            ops[pos] = v
    h = p
    for v in ops:
        h = h * 10 + v
    return h
