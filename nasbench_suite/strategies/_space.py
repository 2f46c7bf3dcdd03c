"""What a strategy may do with a search space: sample, mutate, take
neighbours, recognise isomorphic cells, encode. One small adapter per space
over :mod:`nasbench_suite.spaces`."""
from __future__ import annotations

import numpy as np

from ..spaces import nb101, nb201


class SpaceOps:
    """Operations of one search space, with the space's published defaults."""

    def __init__(self, name: str, module):
        self.name = name
        self.module = module

    def sample(self, rng):
        """A uniform sample; ``rng`` is a Generator or a strategy's Stream."""
        if self.name == "nb201" and hasattr(rng, "below"):
            return nb201.Cell._from_codes([rng.below(5) for _ in range(nb201.NUM_EDGES)])
        if hasattr(rng, "pool"):  # NB101: 64 official samples per core call
            return rng.pool("nb101-sample", lambda g: nb101.sample_many(g, 64))
        return self.module.sample(rng)

    def mutate(self, cell, rng):
        """The space's standard mutation (NB101: official notebook rule with
        mutation rate 1; NB201: one edge to a different op). ``rng`` is a
        Generator or a strategy's Stream."""
        if self.name == "nb201" and hasattr(rng, "below"):
            codes = cell.codes.tolist()
            edge, other = rng.below(nb201.NUM_EDGES), rng.below(len(nb201.OPS) - 1)
            codes[edge] = other + (other >= codes[edge])
            return nb201.Cell._from_codes(codes)
        if self.name == "nb101" and hasattr(rng, "below"):
            full, labels = nb101._padded_original(cell, rng.generator)
            return nb101._mutate_seeded(full, labels, rng.below(1 << 53))
        return self.module.mutate(cell, getattr(rng, "generator", rng))

    def neighbours(self, cell) -> list:
        return self.module.neighbours(cell)

    def canonical(self, cell) -> int:
        return cell.canonical_key()

    def label(self, cell) -> str:
        """How a trajectory names the cell: NB101 hash, NB201 arch string."""
        return cell.hash() if self.name == "nb101" else cell.to_string()

    def encode(self, cells, kind: str = "path") -> np.ndarray:
        return self.module.encode(cells, kind)

    def categorical(self, cell) -> np.ndarray:
        """A fixed-length categorical vector of the cell (for REINFORCE/BOHB):
        NB201 the 6 op codes; NB101 the 21 upper-triangular entries of the
        7-vertex original, then the 5 interior op labels."""
        if self.name == "nb201":
            return cell.codes.astype(np.int64)
        full, labels = nb101._padded_original(cell, None)
        iu = np.triu_indices(nb101.MAX_VERTICES, 1)
        return np.concatenate([full[iu].astype(np.int64), np.clip(labels[1:-1], 0, 2)])

    def categorical_sizes(self) -> np.ndarray:
        if self.name == "nb201":
            return np.full(nb201.NUM_EDGES, len(nb201.OPS))
        return np.array([2] * 21 + [len(nb101.OPS)] * 5)

    def from_categorical(self, x: np.ndarray):
        """The cell of a categorical vector, or None when it is invalid."""
        if self.name == "nb201":
            return nb201.Cell(list(int(v) for v in x))
        m = np.zeros((7, 7), dtype=np.uint8)
        m[np.triu_indices(7, 1)] = x[:21]
        labels = np.concatenate([[nb101.LABEL_INPUT], x[21:], [nb101.LABEL_OUTPUT]])
        try:
            return nb101.Cell.from_labels(m, labels)
        except nb101.InvalidSpecError:
            return None


_SPACES = {"nb101": SpaceOps("nb101", nb101), "nb201": SpaceOps("nb201", nb201)}


def get_space(space) -> SpaceOps:
    if isinstance(space, SpaceOps):
        return space
    name = getattr(space, "__name__", space)
    if isinstance(name, str):
        name = name.rsplit(".", 1)[-1]
    if name not in _SPACES:
        raise ValueError(f"unknown search space {space!r}; known: {', '.join(_SPACES)}")
    return _SPACES[name]
