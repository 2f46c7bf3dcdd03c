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

import functools
import gzip
import os
import pickle
import struct
import tarfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DATASETS = ("cifar10", "cifar10-valid", "cifar100", "ImageNet16-120", "fashion-mnist", "digits")
_SPLIT_SEED = 20240617  # fixed: a split belongs to the data set, not to a run
_CIFAR_URL = "https://www.cs.toronto.edu/~kriz/cifar.html"


class DatasetNotFound(FileNotFoundError):
    """A data set whose files are not where they were looked for."""


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
def _unpickle(data: bytes) -> dict:
    obj = pickle.loads(data, encoding="latin1")
    return {(k.decode() if isinstance(k, bytes) else k): v for k, v in obj.items()}


def _cifar_members(root: Path, folder: str, archive: str, names: list[str], title: str) -> list[dict]:
    d = root / folder
    if all((d / n).is_file() for n in names):
        return [_unpickle((d / n).read_bytes()) for n in names]
    tar = root / archive
    if tar.is_file():
        with tarfile.open(tar, "r:gz") as tf:
            return [_unpickle(tf.extractfile(f"{folder}/{n}").read()) for n in names]
    raise _missing(title, root, f"{d}/{{{','.join(names)}}} or {tar} (the python version from {_CIFAR_URL})")


def _images(rows, size: int) -> np.ndarray:
    # Rows are the red plane, then green, then blue, each row-major.
    return np.ascontiguousarray(np.asarray(rows, dtype=np.uint8).reshape(-1, 3, size, size))


@functools.lru_cache(maxsize=4)
def _cifar10(root: Path):
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    parts = _cifar_members(root, "cifar-10-batches-py", "cifar-10-python.tar.gz", names, "CIFAR-10")
    xs = [_images(p["data"], 32) for p in parts]
    ys = [np.asarray(p["labels"], dtype=np.int64) for p in parts]
    return xs, ys


@functools.lru_cache(maxsize=4)
def _cifar100(root: Path):
    parts = _cifar_members(root, "cifar-100-python", "cifar-100-python.tar.gz", ["train", "test"], "CIFAR-100")
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
            p = _unpickle((d / n).read_bytes())
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


def load_dataset(name: str, root=None, splits: str = "nb201") -> Dataset:
    """The data set ``name`` (see the module docstring) split by ``splits``
    ("nb101" or "nb201"). Raises :class:`DatasetNotFound` naming the files
    and where to put them."""
    if name not in DATASETS:
        raise ValueError(f"unknown data set {name!r}; known: {', '.join(DATASETS)}")
    if splits not in ("nb101", "nb201", "thirds"):
        raise ValueError(f"unknown split convention {splits!r}; use 'nb101', 'nb201' or 'thirds'")
    if splits == "thirds" and name != "digits":
        raise ValueError(f"the 'thirds' split convention is for digits only, not {name!r}")
    root = Path(os.path.expanduser(os.fspath(root))) if root is not None else default_root()
    if name in ("cifar10", "cifar10-valid"):
        xs, ys = _cifar10(root)
        test = Split(xs[5], ys[5])
        kw = dict(num_classes=10, mean=_CIFAR10_MEAN, std=_CIFAR10_STD, crop_padding=4, flip=True)
        if name == "cifar10" and splits == "nb101":
            train = Split(np.concatenate(xs[:4]), np.concatenate(ys[:4]))
            return Dataset(name, train, Split(xs[4], ys[4]), test, **kw)
        full_x, full_y = np.concatenate(xs[:5]), np.concatenate(ys[:5])
        if name == "cifar10":
            return Dataset(name, Split(full_x, full_y), None, test, **kw)
        train, valid = _halves(full_x, full_y, 10)
        return Dataset(name, train, valid, test, **kw)
    if name == "cifar100":
        (xtr, ytr), (xte, yte) = _cifar100(root)
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
    tr, va, te = (perm[:600], perm[600:1200], perm[1200:]) if splits == "thirds" else \
        (perm[:1197], perm[1197:1497], perm[1497:])
    mean, std = _stats(x[tr])
    # Digits are not mirror-symmetric: no flips; a 1-pixel shift is the augmentation.
    return Dataset(name, Split(x[tr], y[tr]), Split(x[va], y[va]), Split(x[te], y[te]), 10, mean, std, 1, False)
