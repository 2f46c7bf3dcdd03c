"""NAS-Bench-Macro in the importer (:mod:`nasbench_suite.tables.importers`):
the ``nas-bench-macro`` recipe over ``../shared/data/macro``. Its keys are
the space's labels (the generic ``label`` kind)."""
from __future__ import annotations

from ..spaces import macro

# NAS-Bench-Macro (Su et al., CVPR 2021), read from the authors' repository
# xiusu/NAS-Bench-Macro: the README (the JSON's fields) and train/ (how they
# were made). train.py trains a network for 50 epochs (its --epochs default;
# the driver train_benchmark.py passes none) three times, seeding torch with 0,
# then 1, then 2 (main() increments the seed after using it), and keeps the
# best CIFAR-10 test accuracy over the epochs of each run; collect_benchmark.py
# stores the three as test_acc with their mean_acc (numpy mean) and std
# (numpy std, ddof 0).
_MACRO_COUNT = {"fidelity": None, "dataset": "cifar10", "units": "count"}
NAS_BENCH_MACRO = {
    "space": "macro",
    "description": "NAS-Bench-Macro from ../shared/data/macro: CIFAR-10 test accuracy of 3 seeds "
                   "(50 epochs), params, FLOPs",
    "sources": [
        {"file": "nas-bench-macro_cifar10.json",
         "sha256": "686dee8363cc21cca8c1f321ad5749454f2d9b9ca5972682e137e539bc522297", "rows": macro.NUM_ARCHS,
         "key": {"column": "arch", "kind": "label", "space": "macro"},
         # every entry holds exactly these fields: test_acc a list of 3, the others single values
         "fields": {"test_acc": 3, "mean_acc": None, "std": None, "params": None, "flops": None},
         "finite": True,
         "columns": {"test_acc[0]": ["test_acc", 50, "cifar10", 0],
                     "test_acc[1]": ["test_acc", 50, "cifar10", 1],
                     "test_acc[2]": ["test_acc", 50, "cifar10", 2],
                     "params": dict(_MACRO_COUNT, metric="params"),
                     "flops": dict(_MACRO_COUNT, metric="flops")}},
    ],
    # the suite grid (scripts/suite_report.py): the folder under the data root, and the metrics. The
    # table has no validation split: the search sees one seed's test_acc (a repeat drawn per query),
    # the report is the mean over the 3 seeds (optimistic: both are test-set accuracies)
    "source_dir": "macro",
    "protocol": {"search_metric": "test_acc@50", "report_metric": "test_acc@50"},
    "notes": {
        "source": "NAS-Bench-Macro (Su et al., 'Prioritized Architecture Sampling with Monto-Carlo Tree "
                  "Search', CVPR 2021): xiusu/NAS-Bench-Macro data/nas-bench-macro_cifar10.json",
        "space": "8 layers, each 0 = identity (a 1x1 stride-2 conv + BN at the first layer of a stage), "
                 "1 = MobileNetV2 block kernel 3 expansion 3, 2 = kernel 5 expansion 6; one row per key, "
                 "rows in index order (the base-3 value of the 8-digit key, not the JSON's key order)",
        "seeds": "seeds 0, 1, 2 = the three entries of test_acc, in order (the authors' train.py seeds "
                 "torch with 0, 1, 2 for its three runs)",
        "fidelities": "50 = the authors' 50-epoch run (SGD momentum 0.9, lr 0.1 cosine, weight decay 5e-4, "
                      "batch 256, crop + flip) on the 50k CIFAR-10 training images",
        "test_acc": "percent: the BEST CIFAR-10 test-set accuracy over the 50 epochs of the run (the "
                    "authors' train.py keeps the maximum), not the accuracy after the last epoch; there is "
                    "no validation split",
        "params": "count of all parameters, BN scales and shifts included",
        "flops": "count of multiply-accumulates for one 3x32x32 image, as the authors' count_FLOPs counts "
                 "them: the weights of every convolution and of the classifier; no biases, BN, pooling "
                 "or additions",
        "duplicates": "the authors trained one architecture per network (identity layers moved to the end "
                      "of their stage) and copied its entry to the other keys: 3,969 distinct networks "
                      "among the 6,561 keys (macro.Cell.canonical_key)",
        "cost_model": "the JSON holds no training time: the importer's default cost model, 1 simulated "
                      "second per epoch of the fidelity (50 s per query at fidelity 50)",
        "missing": "mean_acc and std (the mean and ddof-0 standard deviation of test_acc, which the "
                   "table's repeats give), training time, validation accuracy, losses, learning curves",
    },
}

RECIPES = {"nas-bench-macro": NAS_BENCH_MACRO}
