"""Converts the official NAS-Bench-201 and NATS-Bench topology archives into a
nasbench-suite table, without the official API and, unless the archive needs
it, without PyTorch.

Sources (Dong & Yang, ICLR 2020; Dong et al., TPAMI 2021), as read by the
official code (D-X-Y/NAS-Bench-201 ``nas_201_api/api_201.py``, D-X-Y/NATS-Bench
``nats_bench/api_topology.py`` and ``api_utils.py``):

- ``NAS-Bench-201-v1_0-e61699.pth`` and ``NAS-Bench-201-v1_1-096897.pth``: a
  ``torch.save`` archive (legacy or zip format) of the dict ``{"meta_archs":
  [arch string of index i], "arch2infos": {index: {"less": A, "full": A}},
  "evaluated_indexes": ...}``; ``less`` is the 12-epoch preset, ``full`` the
  200-epoch one (v1_0's ``less`` holds cifar10-valid only).
- ``NATS-tss-v1_0-3ffb9.pickle.pbz2``: one bz2-compressed pickle of the same
  dict with ``arch2infos[index] = {"12": A, "200": A}``.
- the directories ``NATS-tss-v1_0-3ffb9-full/`` (with weights) and ``-simple/``:
  ``meta.pickle.pbz2`` (``{"meta_archs": [...], ...}``) and one
  ``{index:06d}.pickle.pbz2`` (or ``{index}.pickle.pbz2``) per architecture
  holding ``{"12": A, "200": A}``.

Each ``A`` is an ``ArchResults.state_dict()``: ``arch_index``, ``arch_str``,
``dataset_seed`` ({dataset: [seeds]}) and ``all_results`` keyed by
``(dataset, seed)``, each a ``ResultsCount.state_dict()`` with ``epochs``,
``train_acc1es`` / ``train_losses`` / ``train_times`` ({epoch index: value},
times in seconds per epoch), ``eval_acc1es`` / ``eval_losses`` / ``eval_times``
keyed ``"<set>@<epoch index>"`` (e.g. ``"ori-test@199"``), ``params`` (MB, i.e.
millions), ``flop`` (millions), ``latency`` (list of seconds) and
``net_state_dict`` (weights; never read here).

Table written (docs/FORMAT.md): space ``nb201``, one row per architecture of
the archive in official index order; one training preset per table (``hp``:
``"200"`` or ``"12"``; the two use different learning-rate schedules, so their
epochs are not one fidelity axis). Datasets keep the official names; the
seed axis holds the seeds present (777, 888, 999); the fidelity axis is epochs
1..E, official epoch index ``e - 1`` -> fidelity ``e``. Splits:

============== =================================== ===============================
dataset        ``valid_acc`` / ``valid_loss``       ``test_acc`` / ``test_loss``
============== =================================== ===============================
cifar10-valid  ``x-valid``: the 25k held-out half  ``ori-test``: CIFAR-10 test set
               of the CIFAR-10 train set (the
               model trains on the other 25k)
cifar10        none (trained on train + valid)     ``ori-test``: CIFAR-10 test set
cifar100       ``x-valid``: one half of the        ``x-test``: the other half
               original test set
ImageNet16-120 ``x-valid``: one half of the        ``x-test``: the other half
               original validation set
============== =================================== ===============================

(``ori-test`` of cifar100 / ImageNet16-120 is the union of the two halves and
is not stored.) ``train_acc`` / ``train_loss`` are on the training set of the
run; ``epoch_time`` is ``train_times[e-1]`` and ``train_time`` its cumulative
sum (training only, evaluation excluded). Static metrics per dataset, averaged
over the seeds as the official ``get_compute_costs`` does: ``params`` and
``flops`` (counts: official millions x 1e6) and ``latency_gpu`` (ms: the
official ``get_latency``, seconds x 1000, documented as the batch-256 latency
on the authors' GPU).
"""
from __future__ import annotations

import builtins
import bz2
import collections
import functools
import hashlib
import importlib.util
import io
import os
import pickle
import re
import sys
import zipfile

import numpy as np

from ..progress import Progress
from ..spaces import nb201
from .errors import TableFormatError
from .writer import TableWriter

CONVERTER = "nb201-official"
CONVERTER_VERSION = "1"
HP_KEYS = {"200": ("200", "full"), "12": ("12", "less")}  # preset -> keys in NATS / NB201 v1 files
DATASETS = ("cifar10-valid", "cifar10", "cifar100", "ImageNet16-120")
# (validation set, test set) of each dataset, as the official get_more_info reads them.
EVAL_SETS = {
    "cifar10-valid": ("x-valid", "ori-test"),
    "cifar10": (None, "ori-test"),
    "cifar100": ("x-valid", "x-test"),
    "ImageNet16-120": ("x-valid", "x-test"),
}
DYNAMIC = ("train_acc", "train_loss", "valid_acc", "valid_loss", "test_acc", "test_loss",
           "epoch_time", "train_time")
LATENCY = "latency_gpu"
STATIC = ("params", "flops", LATENCY)
_STATIC_SCALE = (1e6, 1e6, 1e3)  # MB -> count, MFLOPs -> count, s -> ms
_PER_ARCH = re.compile(r"^(\d+)\.pickle\.pbz2$")
_META = "meta.pickle.pbz2"
_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C  # first pickle of a pre-1.6 torch.save file
_TORCH_HINT = "install PyTorch (pip install 'nasbench-suite[train]') and convert again"

_PROVENANCE = {
    "source": "NAS-Bench-201 (Dong & Yang, ICLR 2020) / NATS-Bench topology space "
              "(Dong et al., TPAMI 2021), D-X-Y/NAS-Bench-201, D-X-Y/NATS-Bench",
    "seeds": "the official random seed of each training run (777, 888, 999); not every "
             "architecture has every seed: NaN where a run is missing",
    "fidelities": "epochs 1..E of the run's preset; official epoch index e-1 is fidelity e",
    "splits": {"cifar10-valid": "valid = x-valid (25k held-out half of the CIFAR-10 train set), "
                                "test = ori-test (CIFAR-10 test set)",
               "cifar10": "trained on train+valid: no valid; test = ori-test (CIFAR-10 test set)",
               "cifar100": "valid = x-valid, test = x-test (the two halves of the original test set)",
               "ImageNet16-120": "valid = x-valid, test = x-test (the two halves of the original "
                                 "validation set)"},
    "train_time": "train_times cumulative to the epoch, seconds, evaluation excluded; "
                  "epoch_time = train_times of that epoch",
    "params": "official params (MB = millions) x 1e6; mean over seeds",
    "flops": "official flop (millions) x 1e6; mean over seeds",
    LATENCY: "official latency (get_latency: seconds, batch of 256 on the authors' GPU) x 1000 "
             "= milliseconds; mean over seeds with a positive latency",
}


class SourceError(TableFormatError):
    """An archive that is not an official NAS-Bench-201 / NATS-Bench topology file."""


@functools.lru_cache(maxsize=1)
def official_arch_strings() -> tuple:
    """Arch strings in official index order (15,625)."""
    ops = nb201.OPS
    return tuple("|{}~0|+|{}~0|{}~1|+|{}~0|{}~1|{}~2|".format(*(ops[c] for c in row))
                 for row in nb201.all_codes())


# ------------------------------------------------------------------ reading archives
class _Dropped:
    """Stands in for a tensor, storage or other torch object (network weights):
    the table needs none of them, so none is rebuilt."""

    __slots__ = ()

    def __new__(cls, *args, **kwargs):
        return _DROPPED

    def __init__(self, *args, **kwargs):
        pass

    def __setstate__(self, state):
        pass

    def __repr__(self) -> str:
        return "<dropped torch object>"


_DROPPED = object.__new__(_Dropped)
_BUILTINS = {"set", "frozenset", "list", "dict", "tuple", "int", "float", "str", "bool", "complex",
             "bytes", "bytearray", "slice"}


def _numpy_multiarray():
    core = getattr(np, "_core", None) or np.core  # numpy 2 / numpy 1
    return core.multiarray


# What a file may make the unpickler allocate. Official archives carry their
# data in the file (numbers, lists, arrays whose bytes follow); no constructor
# call in them asks for memory by a size argument, so a small cap on those
# stops a tiny file that asks for gigabytes (bytearray(3 << 30), an ndarray
# of a huge shape). Compressed input (bz2, a zip member) may expand to at
# most _MAX_RATIO times its compressed size (and at least _MIN_EXPANDED
# bytes): a 1 KB bz2 that expands to 3 GB is refused once past that.
_MAX_OBJECT_BYTES = 1 << 28  # 256 MiB per object built by a size argument
_MAX_RATIO = 200
_MIN_EXPANDED = 1 << 28


def _alloc_error(where: str, what: str, nbytes) -> "SourceError":
    return SourceError(f"{where}: asks for {what} of {nbytes:,} bytes (the limit is {_MAX_OBJECT_BYTES:,}): "
                       "official NAS-Bench-201 / NATS-Bench archives make no such request; is this an "
                       "official file?")


def _nbytes(shape, dtype) -> int:
    n = 1
    for d in (shape if isinstance(shape, (tuple, list)) else (shape,)):
        n *= max(int(d), 0)
    return n * max(np.dtype(dtype).itemsize, 1)


def _capped_constructors(where: str) -> dict:
    """bytes/bytearray/ndarray/_reconstruct/scalar that refuse a size argument over the cap."""
    multiarray = _numpy_multiarray()

    def sized(kind):
        def make(*args):
            if args and isinstance(args[0], int) and not isinstance(args[0], bool) and args[0] > _MAX_OBJECT_BYTES:
                raise _alloc_error(where, f"a {kind.__name__}", args[0])
            return kind(*args)
        return make

    def ndarray(shape, dtype=float, *args, **kwargs):
        if _nbytes(shape, dtype) > _MAX_OBJECT_BYTES:
            raise _alloc_error(where, "a numpy array", _nbytes(shape, dtype))
        return np.ndarray(shape, dtype, *args, **kwargs)

    def reconstruct(subtype, shape, dtype):
        if _nbytes(shape, np.uint8) > _MAX_OBJECT_BYTES:
            raise _alloc_error(where, "a numpy array", _nbytes(shape, np.uint8))
        # The pickle names numpy.ndarray as the subtype, which find_class gave
        # as the capped constructor above: the real type is what numpy takes.
        return multiarray._reconstruct(np.ndarray if subtype is ndarray else subtype, shape, dtype)

    def scalar(dtype, *args):
        if np.dtype(dtype).itemsize > _MAX_OBJECT_BYTES:
            raise _alloc_error(where, "a numpy scalar", np.dtype(dtype).itemsize)
        return multiarray.scalar(dtype, *args)

    def encode(obj, encoding="utf-8", errors="strict"):
        import codecs
        if codecs.lookup(encoding).name != "iso8859-1":  # protocol-2 bytes are latin-1 text
            raise SourceError(f"{where}: asks for _codecs.encode with {encoding!r}; official archives "
                              "use latin-1 only; is this an official file?")
        return codecs.encode(obj, encoding, errors)

    return {"bytes": sized(bytes), "bytearray": sized(bytearray), "ndarray": ndarray,
            "_reconstruct": reconstruct, "scalar": scalar, "encode": encode}


class _CappedReader:
    """A file object that refuses to yield more than ``limit`` bytes (the
    expansion cap of compressed input); ``peek`` lets the C unpickler buffer."""

    def __init__(self, raw, limit: int, where: str):
        self.raw, self.limit, self.where, self.seen = raw, int(limit), where, 0

    def _count(self, n: int) -> None:
        self.seen += n
        if self.seen > self.limit:
            raise SourceError(f"{self.where}: expands to more than {self.limit:,} bytes, over {_MAX_RATIO} times "
                              "its compressed size: a decompression bomb, not an official archive (if it is "
                              "official, report it)")

    def read(self, n=-1):
        if n is None or n < 0:
            n = self.limit - self.seen + 1  # never more than one byte past the cap at once
        data = self.raw.read(min(n, self.limit - self.seen + 1))
        self._count(len(data))
        return data

    def readinto(self, buf):
        view = memoryview(buf).cast("B")
        got = self.raw.readinto(view[: max(0, min(len(view), self.limit - self.seen + 1))])
        self._count(got or 0)
        return got

    def readline(self, size=-1):
        line = self.raw.readline(size)
        self._count(len(line))
        return line

    def peek(self, n=0):
        return self.raw.peek(n)


def _expansion_limit(compressed: int) -> int:
    return max(_MIN_EXPANDED, _MAX_RATIO * int(compressed))


class _SafeUnpickler(pickle.Unpickler):
    """Rebuilds plain Python containers and numbers, numpy scalars and arrays;
    torch objects become :class:`_Dropped`; anything else is refused, so
    unpickling never runs code from the file."""

    def __init__(self, file, where: str):
        super().__init__(file)
        self.where = where
        self.capped = _capped_constructors(where)  # nothing built by a size argument over the cap

    def find_class(self, module, name):
        if module == "collections" and name in ("OrderedDict", "defaultdict"):
            return getattr(collections, name)
        if module in ("builtins", "__builtin__") and name in _BUILTINS:
            return self.capped.get(name) or getattr(builtins, name)
        if module == "_codecs" and name == "encode":  # protocol-2 pickles of bytes
            return self.capped["encode"]
        if module in ("numpy.core.multiarray", "numpy._core.multiarray") and name in ("scalar", "_reconstruct"):
            return self.capped[name]
        if module == "numpy" and name in ("dtype", "ndarray"):
            return self.capped["ndarray"] if name == "ndarray" else np.dtype
        if module == "numpy.dtypes" and name.endswith("DType"):
            return getattr(np.dtypes, name)
        if module == "torch" or module.startswith("torch."):
            return _Dropped
        raise SourceError(
            f"{self.where}: holds a {module}.{name} object; official NAS-Bench-201 / NATS-Bench "
            "archives hold only dicts, lists and numbers (ArchResults.state_dict()); is this an "
            "official file? (pickles of the API's objects are not read)"
        )

    def persistent_load(self, pid):
        return _DROPPED  # a tensor storage of a torch.save archive


def _unpickle(fileobj, where: str):
    try:
        return _SafeUnpickler(fileobj, where).load()
    except SourceError:
        raise
    except MemoryError:
        raise SourceError(f"{where}: unpickling it asks for more memory than there is; official archives "
                          "fit in memory as they are: is this an official file?") from None
    except (pickle.UnpicklingError, EOFError, OSError, ValueError, TypeError, AttributeError,
            IndexError, KeyError, zipfile.BadZipFile) as exc:
        raise SourceError(f"{where}: cannot be unpickled ({type(exc).__name__}: {exc}); the file is "
                          "truncated or corrupt: download it again") from None


def _unpickle_bz2(raw, compressed: int, where: str):
    """The pickle in bz2 bytes read from ``raw``, expanded at most to the cap."""
    return _unpickle(_CappedReader(bz2.BZ2File(raw), _expansion_limit(compressed), where), where)


def _load_bz2(path: str):
    with open(path, "rb") as raw:
        return _unpickle_bz2(raw, os.path.getsize(path), path)


def _load_torch_restricted(path: str):
    """A torch.save archive (zip or legacy format) read without torch."""
    if zipfile.is_zipfile(path):
        try:
            with zipfile.ZipFile(path) as z:
                names = [n for n in z.namelist() if n.endswith("/data.pkl") and n.count("/") == 1]
                if len(names) != 1:
                    raise SourceError(f"{path}: a zip file without one <archive>/data.pkl: not a "
                                      "torch.save archive")
                info = z.getinfo(names[0])
                with z.open(names[0]) as f:
                    return _unpickle(_CappedReader(f, _expansion_limit(info.compress_size), path), path)
        except zipfile.BadZipFile as exc:
            raise SourceError(f"{path}: corrupt zip archive ({exc}); download it again") from None
    with open(path, "rb") as f:
        magic = _unpickle(f, path)
        if not (isinstance(magic, int) and magic == _LEGACY_MAGIC):  # an array would compare elementwise
            raise SourceError(f"{path}: neither a torch.save archive nor a pickle this converter "
                              f"reads; {_TORCH_HINT} if it is an old torch file")
        protocol = _unpickle(f, path)
        _unpickle(f, path)  # sys_info: endianness and type sizes, as torch checks them
        if protocol != 1001:
            raise SourceError(f"{path}: torch legacy format version {protocol!r} (expected 1001); "
                              f"{_TORCH_HINT}")
        return _unpickle(f, path)  # the object; the storages' bytes follow and are not needed


def _load_torch(path: str, use_torch):
    if use_torch is None:
        use_torch = importlib.util.find_spec("torch") is not None
    if use_torch:
        import torch

        try:
            return torch.load(path, map_location="cpu", weights_only=True)
        except pickle.UnpicklingError:
            pass  # e.g. numpy scalars, outside torch's allow-list: the reader below knows them
        except (RuntimeError, EOFError, OSError, IndexError, ValueError, KeyError, TypeError) as exc:
            raise SourceError(f"{path}: torch cannot read it ({type(exc).__name__}: {exc}); the file is "
                              "truncated, corrupt or not a torch archive: download it again") from None
    return _load_torch_restricted(path)


def load_archive(path, *, use_torch=None):
    """The object in an official ``.pth`` or ``.pickle.pbz2`` archive, chosen by
    its first bytes. ``.pth``: ``torch.load(weights_only=True)`` when torch is
    installed (``use_torch=None``), else (or if that refuses the file) a
    restricted unpickler that reads torch's zip and legacy formats without
    torch. Tensors come back as :class:`_Dropped` from the latter."""
    path = os.fspath(path)
    with open(path, "rb") as f:
        head = f.read(4)
    if head.startswith(b"BZh"):
        return _load_bz2(path)
    return _load_torch(path, use_torch)


# ------------------------------------------------------------------ staging
@functools.lru_cache(maxsize=64)
def _eval_keys(name: str, epochs: int) -> tuple:
    return tuple(f"{name}@{e}" for e in range(epochs))


def _series(values, keys, where: str, what: str):
    """values[k] for k in keys as float64 (NaN where missing); None if no values."""
    if values is None:
        return None
    if isinstance(values, dict):
        items = [values.get(k) for k in keys]
    elif isinstance(values, (list, tuple)) and keys and isinstance(keys[0], int):
        items = [values[k] if k < len(values) else None for k in keys]
    else:
        raise SourceError(f"{where}: {what} is a {type(values).__name__}, expected a dict keyed by epoch")
    try:
        return np.array(items, dtype=np.float64)
    except (TypeError, ValueError):
        bad = next((v for v in items if v is not None and not isinstance(v, (int, float, np.number))), None)
        raise SourceError(f"{where}: {what} holds {type(bad).__name__} values, not numbers; if they "
                          f"are tensors, {_TORCH_HINT}") from None


class _Stage:
    """One preset's values: dataset -> seed -> metric -> (N, E) float64, NaN-filled,
    and per-dataset sums and counts of the static metrics."""

    def __init__(self, n: int):
        self.n, self.epochs = n, None
        self.runs: dict = {}
        self.static: dict = {}  # dataset -> [(N, 3) sums, (N, 3) counts]

    def add_run(self, row: int, dataset: str, seed: int, run, where: str) -> None:
        if not isinstance(run, dict) or "epochs" not in run:
            raise SourceError(f"{where}: not a ResultsCount state dict (no 'epochs')")
        epochs = int(run["epochs"])
        if self.epochs is None:
            self.epochs = epochs
        elif epochs != self.epochs:
            raise SourceError(f"{where}: a run of {epochs} epochs among runs of {self.epochs}")
        steps = tuple(range(epochs))
        valid_set, test_set = EVAL_SETS.get(dataset, ("x-valid", "x-test"))
        cols = {
            "train_acc": _series(run.get("train_acc1es"), steps, where, "train_acc1es"),
            "train_loss": _series(run.get("train_losses"), steps, where, "train_losses"),
            "epoch_time": _series(run.get("train_times"), steps, where, "train_times"),
        }
        for split, name in (("valid", valid_set), ("test", test_set)):
            if name is not None:
                keys = _eval_keys(name, epochs)
                cols[f"{split}_acc"] = _series(run.get("eval_acc1es"), keys, where, "eval_acc1es")
                cols[f"{split}_loss"] = _series(run.get("eval_losses"), keys, where, "eval_losses")
        if cols["epoch_time"] is not None:
            cols["train_time"] = np.cumsum(cols["epoch_time"])
        arrays = self.runs.setdefault(dataset, {}).setdefault(seed, {})
        for metric, values in cols.items():
            if values is None or np.isnan(values).all():
                continue
            arr = arrays.get(metric)
            if arr is None:
                arr = arrays[metric] = np.full((self.n, epochs), np.nan)
            arr[row] = values
        latency = run.get("latency")
        if isinstance(latency, (list, tuple)):
            latency = np.mean(latency) if latency else None
        static = _series([run.get("params"), run.get("flop"), latency], (0, 1, 2), where, "params/flop/latency")
        static[2] = static[2] if static[2] > 0 else np.nan  # official: -1 / None = not measured
        sums, counts = self.static.setdefault(dataset, [np.zeros((self.n, 3)), np.zeros((self.n, 3))])
        ok = ~np.isnan(static)
        sums[row, ok] += static[ok]
        counts[row, ok] += 1

    def add_arch(self, row: int, index: int, by_hp, hp: str, where: str) -> bool:
        """Stages one architecture's runs of preset ``hp``; False if it has none."""
        if not isinstance(by_hp, dict):
            raise SourceError(f"{where}: architecture {index} is a {type(by_hp).__name__}, expected "
                              "a dict of training presets")
        state = next((by_hp[k] for k in HP_KEYS[hp] if k in by_hp), None)
        if state is None:
            return False
        official = official_arch_strings()[index]
        if not isinstance(state, dict) or state.get("arch_str") != official:
            got = state.get("arch_str") if isinstance(state, dict) else state
            raise SourceError(f"{where}: architecture {index} is {got!r}, but index {index} is "
                              f"{official!r} in the official order; the archive is not an official file")
        for key, run in (state.get("all_results") or {}).items():
            if not (isinstance(key, tuple) and len(key) == 2):
                raise SourceError(f"{where}: all_results key {key!r} is not (dataset, seed)")
            dataset, seed = key
            self.add_run(row, str(dataset), int(seed), run, f"{where}: arch {index}, {dataset}, seed {seed}")
        return True


def _check_meta(meta_archs, where: str) -> None:
    official = official_arch_strings()
    if not isinstance(meta_archs, (list, tuple)) or len(meta_archs) > len(official):
        raise SourceError(f"{where}: meta_archs is not a list of at most {len(official)} arch strings")
    for i, s in enumerate(meta_archs):
        if s != official[i]:
            raise SourceError(f"{where}: meta_archs[{i}] is {s!r}, the official index {i} is "
                              f"{official[i]!r}: the archive is not in the official order")


def _index(key, n_meta: int, where: str) -> int:
    try:
        i = int(key)
    except (TypeError, ValueError):
        raise SourceError(f"{where}: arch2infos key {key!r} is not an architecture index") from None
    if not 0 <= i < n_meta:
        raise SourceError(f"{where}: architecture index {i} outside meta_archs (0..{n_meta - 1})")
    return i


def _read_file(path: str, hp: str, use_torch, say):
    say(f"reading {path} ({os.path.getsize(path) / 1e6:,.0f} MB; the whole archive is unpickled)")
    data = load_archive(path, use_torch=use_torch)
    if not isinstance(data, dict) or "meta_archs" not in data or "arch2infos" not in data:
        raise SourceError(f"{path}: not an official NAS-Bench-201 / NATS-Bench archive (expected a "
                          "dict with meta_archs and arch2infos)")
    _check_meta(data["meta_archs"], path)
    infos = data["arch2infos"]
    indices = sorted(_index(k, len(data["meta_archs"]), path) for k in infos)
    by_index = {int(k): v for k, v in infos.items()}
    stage = _Stage(len(indices))
    for row, index in enumerate(indices):
        stage.add_arch(row, index, by_index[index], hp, path)
    return indices, stage


def _read_directory(path: str, hp: str, progress: bool):
    meta_path = os.path.join(path, _META)
    if not os.path.isfile(meta_path):
        raise SourceError(f"{path}: no {_META}; expected a NATS-Bench archive directory "
                          "(NATS-tss-v1_0-3ffb9-full or -simple)")
    meta = _load_bz2(meta_path)
    meta_archs = meta.get("meta_archs") if isinstance(meta, dict) else None
    _check_meta(meta_archs, meta_path)
    files = {}
    for name in os.listdir(path):
        m = _PER_ARCH.match(name)
        if m:
            i = _index(m.group(1), len(meta_archs), os.path.join(path, name))
            if i in files:
                raise SourceError(f"{path}: two files for architecture {i}: {files[i]} and {name}")
            files[i] = name
    if not files:
        raise SourceError(f"{path}: no per-architecture files ({{index:06d}}.pickle.pbz2)")
    indices = sorted(files)
    stage, manifest, total = _Stage(len(indices)), [], 0
    bar = Progress(len(indices), label="architectures", enabled=progress)
    for row, index in enumerate(indices):
        file = os.path.join(path, files[index])
        with open(file, "rb") as f:
            raw = f.read()
        manifest.append(f"{files[index]} {hashlib.sha256(raw).hexdigest()}\n")
        total += len(raw)
        stage.add_arch(row, index, _unpickle_bz2(io.BytesIO(raw), len(raw), file), hp, file)
        bar.advance()
    bar.close()
    digest = hashlib.sha256("".join(sorted(manifest)).encode()).hexdigest()
    source = {"directory": os.path.basename(os.path.normpath(path)), "files": len(indices),
              "bytes": total, "sha256_manifest": digest,
              "manifest_rule": "sha256 of the lines '<file name> <sha256>\\n', sorted"}
    return indices, stage, meta_path, source


def convert_nb201(source, out, *, hp: str = "200", progress: bool = True, overwrite: bool = False,
                  use_torch=None) -> str:
    """Converts an official NAS-Bench-201 ``.pth``, NATS-Bench topology
    ``.pickle.pbz2`` file or NATS-Bench archive directory to a table at ``out``
    holding the ``hp`` preset (``"200"`` or ``"12"`` epochs). Returns ``out``.

    Every architecture string is checked against the official index order.
    Writes through :class:`TableWriter`: an error leaves nothing at ``out``.
    Raises :class:`SourceError` (a :class:`TableFormatError`) for a file that
    is not an official archive, ``FileExistsError`` when ``out`` exists and
    ``overwrite`` is false. Memory: a single-file archive is unpickled whole
    (tens of GB for the official files); a directory is read one file at a time.
    """
    source, out, hp = os.fspath(source), os.fspath(out), str(hp)
    if hp not in HP_KEYS:
        raise ValueError(f"hp must be one of {', '.join(HP_KEYS)} (training epochs of the preset), got {hp!r}")
    if os.path.exists(out) and not overwrite:
        raise FileExistsError(f"{out} already exists; pass overwrite=True (--overwrite) to replace it")

    def say(msg):
        if progress:
            print(msg, file=sys.stderr, flush=True)

    with TableWriter(out, space="nb201", overwrite=overwrite) as w:
        if os.path.isdir(source):
            indices, stage, meta_path, dir_source = _read_directory(source, hp, progress)
            w.add_source(meta_path)
            w.provenance["source_directory"] = dir_source
            fmt = "nats-directory"
        elif os.path.isfile(source):
            indices, stage = _read_file(source, hp, use_torch, say)
            w.add_source(source)
            fmt = "nats-pbz2" if source.endswith(".pbz2") else "nb201-pth"
        else:
            raise SourceError(f"{source}: no such file or directory; give the .pth, .pickle.pbz2 "
                              "file or the NATS-Bench archive directory")
        if stage.epochs is None:
            raise SourceError(f"{source}: no architecture has results for the {hp}-epoch preset")
        rows = w.add_cells(indices)
        datasets = [d for d in DATASETS if d in stage.runs] + sorted(set(stage.runs) - set(DATASETS))
        for dataset in datasets:
            by_seed = stage.runs.pop(dataset)
            seeds = sorted(by_seed)
            w.add_dataset(dataset, seeds=seeds, fidelities=range(1, stage.epochs + 1))
            for metric in DYNAMIC:
                for seed in seeds:
                    values = by_seed[seed].pop(metric, None)  # freed as the writer takes it
                    if values is not None:
                        w.set(dataset, metric, rows, values, seed=seed)
            sums, counts = stage.static[dataset]
            with np.errstate(invalid="ignore"):
                means = sums / counts * np.array(_STATIC_SCALE)
            for k, metric in enumerate(STATIC):
                if counts[:, k].any():
                    w.set_static(dataset, metric, rows, means[:, k])
        w.provenance.update(converter=CONVERTER, converter_version=CONVERTER_VERSION,
                            source_format=fmt, hp=hp, epochs=stage.epochs, cells=len(indices),
                            notes=_PROVENANCE)
    return out
