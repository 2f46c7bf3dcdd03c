"""The record of one search: one row per finished evaluation."""
from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np

_FLOAT_COLUMNS = ("time", "fidelity", "value", "cost", "incumbent_value", "incumbent_report")
_STR_COLUMNS = ("cell", "incumbent")
#: What :attr:`Trajectory.cost_model` says of a trajectory stored before runs recorded it.
COST_MODEL_NOT_RECORDED = "cost model not recorded"


@dataclass
class Trajectory:
    """Per finished evaluation, in order of finishing: simulated ``time`` (s),
    ``cell`` (NB101 hash / NB201 arch string), ``fidelity`` (epochs), observed
    search metric ``value``, ``cost`` (s), the ``incumbent`` (best by search
    metric so far), its ``incumbent_value`` and its ``incumbent_report``
    (report metric). ``meta`` holds the configuration of the run, and
    ``meta["cost_model"]`` what its simulated seconds are (:attr:`cost_model`)."""

    time: np.ndarray
    cell: list
    fidelity: np.ndarray
    value: np.ndarray
    cost: np.ndarray
    incumbent: list
    incumbent_value: np.ndarray
    incumbent_report: np.ndarray
    meta: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.cell)

    @property
    def cost_model(self) -> str:
        """The cost model behind ``time`` and ``cost``, in words (e.g.
        "simulated: measured 200-epoch training time scaled to 12 epochs",
        "cost model: 1 s per epoch"); "cost model not recorded" for a
        trajectory stored before runs recorded it."""
        text = self.meta.get("cost_model")
        return text if isinstance(text, str) and text else COST_MODEL_NOT_RECORDED

    @property
    def final_report(self) -> float:
        """The incumbent's report metric at the end of the budget (NaN if empty)."""
        return float(self.incumbent_report[-1]) if len(self) else float("nan")

    @property
    def final_value(self) -> float:
        """The incumbent's search metric at the end of the budget (NaN if empty)."""
        return float(self.incumbent_value[-1]) if len(self) else float("nan")

    def to_dict(self) -> dict:
        """Plain JSON-able data: each column as a list (floats as Python
        floats, NaN kept) and ``meta``; :meth:`from_dict` reads it back."""
        d = {c: [float(x) for x in getattr(self, c)] for c in _FLOAT_COLUMNS}
        d.update({c: list(getattr(self, c)) for c in _STR_COLUMNS})
        d["meta"] = self.meta
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "Trajectory":
        """The trajectory of a :meth:`to_dict` mapping (``meta`` optional)."""
        kw = {c: np.asarray(d[c], dtype=np.float64) for c in _FLOAT_COLUMNS}
        kw.update({c: list(d[c]) for c in _STR_COLUMNS})
        return cls(meta=dict(d.get("meta", {})), **kw)

    def to_bytes(self) -> bytes:
        """Canonical JSON bytes (floats in shortest round-trip form, NaN kept):
        equal runs give equal bytes."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":")).encode("utf-8")

    @classmethod
    def from_bytes(cls, data: bytes) -> "Trajectory":
        """The trajectory of :meth:`to_bytes` output (UTF-8 JSON)."""
        return cls.from_dict(json.loads(data.decode("utf-8")))

    def save(self, path) -> None:
        """Writes :meth:`to_bytes` to ``path`` (overwriting it)."""
        with open(path, "wb") as f:
            f.write(self.to_bytes())

    @classmethod
    def load(cls, path) -> "Trajectory":
        """Reads a file written by :meth:`save`."""
        with open(path, "rb") as f:
            return cls.from_bytes(f.read())

    def __eq__(self, other) -> bool:
        return isinstance(other, Trajectory) and self.to_bytes() == other.to_bytes()
