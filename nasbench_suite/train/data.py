"""Data sets for training, read from local files (nothing is downloaded).

Every data set comes as three splits of uint8 images (N, C, H, W) and int64
labels, held in memory; see :func:`load_dataset`. Names and where the files
go (``root`` is ``data_root=``, else ``$NASBENCH_SUITE_TRAIN_DATA``, else
``~/.cache/nasbench-suite/data``):

============== ===================================================================
name           files
============== ===================================================================
cifar10        ``root/cifar-10-batches-py/{data_batch_1..5,test_batch}`` or
cifar10-valid  ``root/cifar-10-python.tar.gz`` (the "CIFAR-10 python version")
cifar100       ``root/cifar-100-python/{train,test}`` or ``root/cifar-100-python.tar.gz``
ImageNet16-120 ``root/ImageNet16/{train_data_batch_1..10,val_data}`` (the
               16x16 down-sampled ImageNet, Chrabaszcz et al. 2017), classes 1..120
fashion-mnist  ``root/fashion-mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]``
digits         scikit-learn's bundled 8x8 digits (no files; needs scikit-learn)
============== ===================================================================

Splits (``splits=`` of the preset): ``"nb101"``: CIFAR-10 train = batches 1-4
(40k), valid = batch 5 (10k), test = the test set (NB101: 40k / 10k / 10k).
``"nb201"``: as in NAS-Bench-201: ``cifar10-valid`` trains on one half of the
CIFAR-10 train set and validates on the other; ``cifar10`` trains on all
50k and has no validation split; ``cifar100`` and ``ImageNet16-120`` split
their test / validation set into two halves, valid and test. The halves are
a fixed seeded permutation, not the authors' split files. ``digits`` is
split 1197 / 300 / 300 (``splits="thirds"``: 600 / 600 / 597, the embedded
default benchmark's split) and ``fashion-mnist`` 50k / 10k (the last 10k training
images) / 10k whatever the convention.
"""
from __future__ import annotations

import codecs
import functools
import hashlib
import gzip
import io
import os
import pickle
import struct
import tarfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .presets import SPLIT_CONVENTIONS, SPLITS_NB101, SPLITS_NB201, SPLITS_THIRDS

#: The data set names :func:`load_dataset` knows (files: the module docstring).
DATASETS = ("cifar10", "cifar10-valid", "cifar100", "ImageNet16-120", "fashion-mnist", "digits")
_SPLIT_SEED = 20240617  # fixed: a split belongs to the data set, not to a run
_CIFAR_URL = "https://www.cs.toronto.edu/~kriz/cifar.html"


class DatasetNotFound(FileNotFoundError):
    """A data set whose files are not where they were looked for."""


class DataFileError(ValueError):
    """A data file that is not what its name says: a pickle that asks for
    anything but the dicts, lists, strings, numbers and numpy arrays of the
    official CIFAR / ImageNet16 batches, or that lacks their keys. The message
    names the file."""


@dataclass(frozen=True)
class Split:
    x: np.ndarray  # (N, C, H, W) uint8
    y: np.ndarray  # (N,) int64

    def __len__(self) -> int:
        return int(self.y.shape[0])


@dataclass(frozen=True)
class Dataset:
    """Three splits (``valid`` may be None) and how to feed them to a network."""

    name: str
    train: Split
    valid: Split | None
    test: Split
    num_classes: int
    mean: tuple  # per channel, on the 0..1 scale
    std: tuple
    crop_padding: int  # random-crop padding of the training augmentation (0: none)
    flip: bool  # random horizontal flips

    @property
    def image_shape(self) -> tuple:
        """(C, H, W) of one image, e.g. (3, 32, 32) for CIFAR-10."""
        return tuple(int(s) for s in self.train.x.shape[1:])


def default_root() -> Path:
    env = os.environ.get("NASBENCH_SUITE_TRAIN_DATA")
    return Path(env) if env else Path.home() / ".cache" / "nasbench-suite" / "data"


def _missing(name: str, root: Path, what: str) -> DatasetNotFound:
    return DatasetNotFound(
        f"{name} not found under {root}: expected {what}. Put the files there, pass data_root= "
        f"(the Trainer's data root), or set NASBENCH_SUITE_TRAIN_DATA to the folder that holds them."
    )


# ------------------------------------------------------------------ readers
def _latin1_encode(obj, encoding="latin1", errors="strict"):
    """``_codecs.encode`` as protocol-2 pickles of bytes use it: latin-1 only."""
    if not isinstance(obj, str) or codecs.lookup(encoding).name != "iso8859-1":
        raise pickle.UnpicklingError(f"_codecs.encode with {encoding!r}: only latin-1 text makes bytes")
    return codecs.encode(obj, "latin1", errors)


def _allowed_globals() -> dict:
    """What the official batch pickles reference: numpy arrays (the data),
    numpy scalars and dtypes, and latin-1 bytes of protocol-2 pickles. Both
    numpy module names (numpy 1 wrote ``numpy.core``, numpy 2 ``numpy._core``)
    map to the functions this numpy uses to pickle arrays."""
    a = np.zeros(1, dtype=np.uint8)
    reconstruct = a.__reduce__()[0]
    scalar = np.float64(0).__reduce__()[0]
    frombuffer = a.__reduce_ex__(5)[0]
    out = {("_codecs", "encode"): _latin1_encode, ("numpy", "ndarray"): np.ndarray, ("numpy", "dtype"): np.dtype}
    for core in ("numpy.core", "numpy._core"):
        out[(f"{core}.multiarray", "_reconstruct")] = reconstruct
        out[(f"{core}.multiarray", "scalar")] = scalar
        out[(f"{core}.numeric", "_frombuffer")] = frombuffer
    return out


class _BatchUnpickler(pickle.Unpickler):
    """Unpickles only what the official CIFAR / ImageNet16 batches hold;
    anything else (a function to call, a class to build) is refused before it
    is looked up, so a crafted file cannot run code."""

    def __init__(self, file, where: str):
        super().__init__(file, encoding="latin1")
        self.where = where
        self.allowed = _allowed_globals()

    def find_class(self, module, name):
        found = self.allowed.get((module, name))
        if found is None:
            raise DataFileError(
                f"{self.where}: refused to unpickle {module}.{name}: a data batch holds only dicts, lists, "
                "strings, numbers and numpy arrays, so this is not the official file (it could run code); "
                "delete it and put the official one there"
            )
        return found

    def persistent_load(self, pid):
        raise DataFileError(f"{self.where}: refused to unpickle a persistent reference: not an official data batch")


def _unpickle(data: bytes, where, keys: tuple = ("data", "labels")) -> dict:
    """A data batch (a dict) from pickle bytes, by the restricted unpickler;
    DataFileError naming ``where`` for anything else."""
    try:
        obj = _BatchUnpickler(io.BytesIO(data), str(where)).load()
    except DataFileError:
        raise
    except Exception as exc:  # noqa: BLE001 - a damaged file: any unpickling error
        raise DataFileError(f"{where}: cannot be read as a data batch ({type(exc).__name__}: {exc}); the file is "
                            "damaged or not the official one: replace it") from None
    if not isinstance(obj, dict):
        raise DataFileError(f"{where}: a data batch is a pickled dict, this file holds a {type(obj).__name__}; "
                            "replace it with the official file")
    out = {(k.decode("latin1") if isinstance(k, bytes) else k): v for k, v in obj.items()}
    missing = [k for k in keys if k not in out]
    if missing:
        raise DataFileError(f"{where}: a data batch without {', '.join(repr(k) for k in missing)} (it has "
                            f"{', '.join(repr(k) for k in out)}); replace it with the official file")
    return out


# The published md5 of each member of the official python versions
# (https://www.cs.toronto.edu/~kriz/cifar.html archives; the per-file values
# torchvision and most loaders check). ImageNet16 publishes none.
PUBLISHED_MD5 = {
    "cifar-10-batches-py": {
        "data_batch_1": "c99cafc152244af753f735de768cd75f", "data_batch_2": "d4bba439e000b95fd0a9bffe97cbabec",
        "data_batch_3": "54ebc095f3ab1f0389bbae665268c751", "data_batch_4": "634d18415352ddfa80567beed471001a",
        "data_batch_5": "482c414d41f54cd18b22e5b47cb7c3cb", "test_batch": "40351d587109b95175f43aff81a1287e"},
    "cifar-100-python": {"train": "16019d7e3df5f24257cddd939b257f8d", "test": "f0ef6b0ae62326f3e7ffdfab6717acfc"},
}


def _checked(data: bytes, where, folder: str, name: str, verify: bool) -> bytes:
    """The bytes of a data file, refused unless they are the published file."""
    want = PUBLISHED_MD5.get(folder, {}).get(name)
    if verify and want is not None:
        got = hashlib.md5(data).hexdigest()  # noqa: S324 - the published digests are md5
        if got != want:
            raise DataFileError(f"{where}: md5 {got} is not the published {want} of the official {name} "
                                f"({_CIFAR_URL}); the file is damaged or not the official one: replace it "
                                "(load_dataset(..., verify=False) or Trainer(..., verify_data=False) reads "
                                "a file you made yourself)")
    return data


def _cifar_members(root: Path, folder: str, archive: str, names: list[str], title: str,
                   keys: tuple = ("data", "labels"), verify: bool = True) -> list[dict]:
    d = root / folder
    if all((d / n).is_file() for n in names):
        return [_unpickle(_checked((d / n).read_bytes(), d / n, folder, n, verify), d / n, keys) for n in names]
    tar = root / archive
    if tar.is_file():
        with tarfile.open(tar, "r:gz") as tf:
            out = []
            for n in names:
                member = tf.extractfile(f"{folder}/{n}")
                if member is None:
                    raise DataFileError(f"{tar}: {folder}/{n} is not a regular file; replace the archive with "
                                        f"the official one ({_CIFAR_URL})")
                where = f"{tar}:{folder}/{n}"
                out.append(_unpickle(_checked(member.read(), where, folder, n, verify), where, keys))
            return out
    raise _missing(title, root, f"{d}/{{{','.join(names)}}} or {tar} (the python version from {_CIFAR_URL})")


def _images(rows, size: int) -> np.ndarray:
    # Rows are the red plane, then green, then blue, each row-major.
    return np.ascontiguousarray(np.asarray(rows, dtype=np.uint8).reshape(-1, 3, size, size))


@functools.lru_cache(maxsize=4)
def _cifar10(root: Path, verify: bool = True):
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    parts = _cifar_members(root, "cifar-10-batches-py", "cifar-10-python.tar.gz", names, "CIFAR-10",
                           verify=verify)
    xs = [_images(p["data"], 32) for p in parts]
    ys = [np.asarray(p["labels"], dtype=np.int64) for p in parts]
    return xs, ys


@functools.lru_cache(maxsize=4)
def _cifar100(root: Path, verify: bool = True):
    parts = _cifar_members(root, "cifar-100-python", "cifar-100-python.tar.gz", ["train", "test"], "CIFAR-100",
                           keys=("data", "fine_labels"), verify=verify)
    return [(_images(p["data"], 32), np.asarray(p["fine_labels"], dtype=np.int64)) for p in parts]


@functools.lru_cache(maxsize=2)
def _imagenet16(root: Path, classes: int = 120):
    d = root / "ImageNet16"
    names = [f"train_data_batch_{i}" for i in range(1, 11)] + ["val_data"]
    if not all((d / n).is_file() for n in names):
        raise _missing("ImageNet16-120", root, f"{d}/{{train_data_batch_1..10,val_data}} (the 16x16 "
                       "down-sampled ImageNet of Chrabaszcz et al. 2017, as NAS-Bench-201 uses it)")
    out = []
    for group in (names[:-1], names[-1:]):
        xs, ys = [], []
        for n in group:
            p = _unpickle((d / n).read_bytes(), d / n)
            y = np.asarray(p["labels"], dtype=np.int64)  # 1-based ImageNet classes
            keep = y <= classes
            xs.append(_images(np.asarray(p["data"])[keep], 16))
            ys.append(y[keep] - 1)
        out.append((np.concatenate(xs), np.concatenate(ys)))
    return out


def _idx(path: Path) -> np.ndarray:
    data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    zero, dtype_code, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype_code != 0x08:
        raise ValueError(f"{path}: not an IDX file of unsigned bytes")
    dims = struct.unpack(f">{ndim}I", data[4:4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def _find(root: Path, stem: str) -> Path | None:
    for d in (root / "fashion-mnist", root / "FashionMNIST" / "raw", root):
        for suffix in ("", ".gz"):
            if (d / (stem + suffix)).is_file():
                return d / (stem + suffix)
    return None


@functools.lru_cache(maxsize=2)
def _fashion(root: Path):
    stems = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]
    paths = [_find(root, s) for s in stems]
    if any(p is None for p in paths):
        raise _missing("Fashion-MNIST", root, f"{root}/fashion-mnist/{{{','.join(stems)}}}[.gz] (IDX files)")
    arrays = [_idx(p) for p in paths]
    return [(arrays[i][:, None].copy(), arrays[i + 1].astype(np.int64)) for i in (0, 2)]


@functools.lru_cache(maxsize=1)
def _digits():
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise DatasetNotFound("the digits data set comes with scikit-learn: pip install scikit-learn "
                              "(it is in the nasbench-suite[train] extra)") from None
    d = load_digits()
    x = np.round(d.images * (255.0 / 16.0)).astype(np.uint8)[:, None]  # 0..16 -> 0..255
    return x, d.target.astype(np.int64)


# ------------------------------------------------------------------ splits
def _halves(x: np.ndarray, y: np.ndarray, salt: int) -> tuple[Split, Split]:
    perm = np.random.default_rng([_SPLIT_SEED, salt]).permutation(len(y))
    a, b = np.sort(perm[: len(y) // 2]), np.sort(perm[len(y) // 2:])
    return Split(x[a], y[a]), Split(x[b], y[b])


def _stats(x: np.ndarray) -> tuple[tuple, tuple]:
    f = x.astype(np.float64) / 255.0
    return tuple(f.mean(axis=(0, 2, 3)).tolist()), tuple(f.std(axis=(0, 2, 3)).tolist())


# Normalisation constants of NAS-Bench-201 (xautodl datasets/get_dataset_with_transform.py).
_CIFAR10_MEAN = tuple(v / 255 for v in (125.3, 123.0, 113.9))
_CIFAR10_STD = tuple(v / 255 for v in (63.0, 62.1, 66.7))
_CIFAR100_MEAN = tuple(v / 255 for v in (129.3, 124.1, 112.4))
_CIFAR100_STD = tuple(v / 255 for v in (68.2, 65.4, 70.4))
_IMAGENET16_MEAN = tuple(v / 255 for v in (122.68, 116.66, 104.01))
_IMAGENET16_STD = tuple(v / 255 for v in (63.22, 61.26, 65.09))


def load_dataset(name: str, root=None, splits: str = SPLITS_NB201, verify: bool = True) -> Dataset:
    """The data set ``name`` (see the module docstring) split by ``splits``
    ("nb101" or "nb201"). Raises :class:`DatasetNotFound` naming the files
    and where to put them. CIFAR files must be the official ones (their
    published md5, :data:`PUBLISHED_MD5`); ``verify=False`` reads files you
    made in the official format yourself."""
    if name not in DATASETS:
        raise ValueError(f"unknown data set {name!r}; known: {', '.join(DATASETS)}")
    if splits not in SPLIT_CONVENTIONS:
        raise ValueError(f"unknown split convention {splits!r}; use "
                         f"{', '.join(repr(s) for s in SPLIT_CONVENTIONS[:-1])} or {SPLIT_CONVENTIONS[-1]!r}")
    if splits == SPLITS_THIRDS and name != "digits":
        raise ValueError(f"the 'thirds' split convention is for digits only, not {name!r}")
    root = Path(os.path.expanduser(os.fspath(root))) if root is not None else default_root()
    if name in ("cifar10", "cifar10-valid"):
        xs, ys = _cifar10(root, bool(verify))
        test = Split(xs[5], ys[5])
        kw = dict(num_classes=10, mean=_CIFAR10_MEAN, std=_CIFAR10_STD, crop_padding=4, flip=True)
        if name == "cifar10" and splits == SPLITS_NB101:
            train = Split(np.concatenate(xs[:4]), np.concatenate(ys[:4]))
            return Dataset(name, train, Split(xs[4], ys[4]), test, **kw)
        full_x, full_y = np.concatenate(xs[:5]), np.concatenate(ys[:5])
        if name == "cifar10":
            return Dataset(name, Split(full_x, full_y), None, test, **kw)
        train, valid = _halves(full_x, full_y, 10)
        return Dataset(name, train, valid, test, **kw)
    if name == "cifar100":
        (xtr, ytr), (xte, yte) = _cifar100(root, bool(verify))
        valid, test = _halves(xte, yte, 100)
        return Dataset(name, Split(xtr, ytr), valid, test, 100, _CIFAR100_MEAN, _CIFAR100_STD, 4, True)
    if name == "ImageNet16-120":
        (xtr, ytr), (xva, yva) = _imagenet16(root)
        valid, test = _halves(xva, yva, 120)
        return Dataset(name, Split(xtr, ytr), valid, test, 120, _IMAGENET16_MEAN, _IMAGENET16_STD, 2, True)
    if name == "fashion-mnist":
        (xtr, ytr), (xte, yte) = _fashion(root)
        cut = max(len(ytr) - 10_000, 0)  # the last 10k training images validate
        mean, std = _stats(xtr[:cut])
        return Dataset(name, Split(xtr[:cut], ytr[:cut]), Split(xtr[cut:], ytr[cut:]),
                       Split(xte, yte), 10, mean, std, 2, True)
    x, y = _digits()
    perm = np.random.default_rng(_SPLIT_SEED).permutation(len(y))
    tr, va, te = (perm[:600], perm[600:1200], perm[1200:]) if splits == SPLITS_THIRDS else \
        (perm[:1197], perm[1197:1497], perm[1497:])
    mean, std = _stats(x[tr])
    # Digits are not mirror-symmetric: no flips; a 1-pixel shift is the augmentation.
    return Dataset(name, Split(x[tr], y[tr]), Split(x[va], y[va]), Split(x[te], y[te]), 10, mean, std, 1, False)
