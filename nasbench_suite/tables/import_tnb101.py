"""TransNAS-Bench-101 in the importer (:mod:`nasbench_suite.tables.importers`):
the ``transnas-bench-101-micro`` and ``transnas-bench-101-macro`` recipes over
``../shared/data/tnb101/micro`` and ``../shared/data/tnb101/macro``, each
importing the 7 tasks as the datasets of one table.

The files (NASLib's zero-cost benchmark JSON, branch ``zerocost``) list
``{"idx", "arch", "zen": {"score", "time"}, "val_accuracy"}``; each task is
split over several files (micro 5 of up to 1,000 records, macro 14 of up to
250), which together hold every architecture once. ``val_accuracy`` is what
NASLib's ``TransBench101SearchSpace{Micro,Macro}.query(Metric.VAL_ACCURACY)``
returns: the task's validation metric through the TNB101 API's
``get_single_metric`` in its default mode ``"best"``, the maximum over the
epochs of the run. So each task's value is stored under its own name
(:data:`TASKS`), at the task's number of training epochs (the authors'
``configs/train_from_scratch/<task>/config.py`` ``num_epochs``):

- ``class_scene``, ``class_object``: ``valid_acc`` (``valid_top1``, %), 25 epochs;
- ``jigsaw``: ``valid_acc`` (``valid_top1``, %), 10 epochs;
- ``room_layout``: ``valid_neg_loss`` (``valid_neg_loss``: minus the MSE
  loss, so higher is better and the value is <= 0), 25 epochs;
- ``segmentsemantic``: ``valid_pixel_acc`` (NASLib maps VAL_ACCURACY to the
  API's ``valid_acc``, pixel accuracy in %, not ``valid_mIoU``), 30 epochs;
- ``normal``, ``autoencoder``: ``valid_ssim`` (``valid_ssim``, SSIM), 30 epochs.

Every one is higher-is-better (``_schema.higher_is_better``; tested). The
static ``zen`` is the file's Zen-NAS score (``zen.score``), a zero-cost proxy
computed per task. The files hold no test metrics, losses or training time.
"""
from __future__ import annotations

from ..spaces import _tnb101
from ._import_files import EPOCH_COST

# sha256 of every part (../shared/data/SHA256SUMS): task -> ((first record, digest), ...)
_SHA256_MICRO = {
    'autoencoder': (
        (0, '3636d0fb9d0a68b2ef6ba2ff251fcbdd55dba6e599be2cb6191ea2ee8a894acf'),
        (1000, '21a4b99dddf15a36d68deb6ba3577a5ec56dbc97c8092e3d0b4daf5f726b8aec'),
        (2000, 'bd7738f0c587a5bdf25be59dd6967cec857f5b5e628dddb0f12c10d9d3db4cdd'),
        (3000, '6ef119c1a54553ad9814a945c1870f0753b0f156385ca3b1f6ea1cd0e945c9ca'),
        (4000, 'b3c1c8cea0c8ad1de99e0028a044d46391f8313b59cce5e4d4aae08f32bbad65'),
    ),
    'class_object': (
        (0, '222b2a558c13380fe824572b9503785e1f5d82834e3dfa6ee4a2f2869a5be571'),
        (1000, '5e81af32fadae47111ae387b689f7b7a33e2475de58b0100f17f5c98f5aa3f38'),
        (2000, '6844160f9ffa62acf3e61764b6d9eaa28c6451da43764aa18280a181489a70e5'),
        (3000, '9300dd828ca856e3743f4d40f3bd14d072e85319de6f79afee63e03f4eb43678'),
        (4000, '6f126fe396e7399ebdf51c289fdfccf085a02b3bdecf715f10616ae058445c75'),
    ),
    'class_scene': (
        (0, '0f8be52de9582550489ee9a9d6ee64070609b154c71cb57bf955de6ad5b01a32'),
        (1000, '62dda334222ca19f2f23e89ff76ead671f853f6c5c40570aa386d2c8a3aa1057'),
        (2000, 'ee1c976c874db893ddc3274afe2bd595a4fd8339786899bd972374fb2f1e7b91'),
        (3000, '833ae6db281e244007be70d40a5c48320373d4f8603b328a5f5673a4e8520c85'),
        (4000, 'a9f7ba65cf57eeeef0e711997ea5f4501516d2e43dd75e48b286ab20d7736595'),
    ),
    'jigsaw': (
        (0, '4f0bf4f237cc10b581162f7f0688190e6b0badda7c69f7608e14abcb3f8d72bc'),
        (1000, 'f801dc7bdf1560d92f90fbf6d5a13e280460d90560fa470116b2eb4a61f114ea'),
        (2000, '9017a56ca0f7f92c81375166c35754219969ef15ac264d7ec1a85d61914c583d'),
        (3000, '3e38f0d744a1153a7e6dbf475805e000482301663aae32fd0ad488b262bfde3a'),
        (4000, 'd324a6d3ee72aeace733b5d244182191532029fc20bea955b22edb9684169564'),
    ),
    'normal': (
        (0, '314579e51c727a303cce55256f6b8d6609ef7daa3dc018c014e8844681ec8488'),
        (1000, 'c4f063561129c0590b6db288382f2ef2a63052def3ec1c5470fe119629df0b02'),
        (2000, '427b9cdf5733ef0db66b71922367dd8f4a2a694eb201720c8270dd83ad58e811'),
        (3000, 'a7ba0852060013fec433c1649a3f1c713f85ac7eab25a5035783fc97d9ac3997'),
        (4000, 'af6b1f3e838e927dee1948fd15693cbc8b683d10200d944b62c43ac7fb6cb82c'),
    ),
    'room_layout': (
        (0, 'bd29528009995f5a92d5626ba21b53b191cebb90a2b5b34462a0c9205670b972'),
        (1000, '5500b50e6588f506875ce28fcbc31efcc623ee234e0ef8efb2b2dfe7bc2c85ec'),
        (2000, 'a6f6a111b1fade8a1bbb645dba4cd73cd935faa7ac55df104e976e22b90ce30e'),
        (3000, 'bb34cd6c1bb23f5ecef8e745c79ca4ef6dd402d613ba8995f009927d5cc48901'),
        (4000, 'd65f9334966e1b49dc345f2c4fc464df58283999662ec8f2d0b72f9b9a7991cf'),
    ),
    'segmentsemantic': (
        (0, '23706a5825ade8abbf801e998ac8d10f3db0d65ed906d11611d232c3533feeaf'),
        (1000, '0ce1253ffbb99ea0122583b0d59295d1d7fa708765bb782f745b6e440583e4f5'),
        (2000, '7ac2290ee569e10196a84aa451567470bfb62cac13e4bb7dd3ce6a8605688353'),
        (3000, 'f5f9f259df12c27bedb90384daa58f025a37e9f7819c6a97462a62ed185f4933'),
        (4000, 'f502656f324b8792e366d0e40d130e5daf8c7ea23f7abc51c7ced591475c4c39'),
    ),
}
_SHA256_MACRO = {
    'autoencoder': (
        (0, 'a81b46aa0792a106de8013522d1f9321986b274be92bdbe7240dbd1091ae1ad8'),
        (250, '3cfd81e284d87712192ee6ad2dce4d97aa0ccbcfb18ce32cf3e268780ce0d8ae'),
        (500, 'dd7c26cd1cf93db7074f494321d49f613f540f4500beda4d227ca9f93f48fef3'),
        (750, '3115aa59bd4244fd49fb12147bbe012a98d466f875cc758d782eb7bf2f7d016c'),
        (1000, 'b904a166665abd58f2ffef2a4055bfcc2b8cef555df3973475c5f1b6ecbec80b'),
        (1250, '7d98ea09067418a7c142e2de43089affbbfc47ea7b2692b1a2cd4409b3b03aab'),
        (1500, '617d825e2aa7888936ff47ba63f7da340ddeae276b42296f72637075aba66c50'),
        (1750, 'cbff27f3002663bc187fb69023ca3ee3578ff589cc3121e0b9d7f8df9cb7991e'),
        (2000, '7bbfdddf0fb43deb3e1409e1f494401ffa70f5b15e098be76f2b40610d44c144'),
        (2250, '099a4a80020604f90c93b3d3c835d3c9f924697d8883bbb3e879c20f05b347b8'),
        (2500, '880f2e3d7929d4c0773e5e22d873f361410e4ea19b89e0986a995e83cab0ba1e'),
        (2750, 'a6a284f49b546086c46c5150ccc645385e201a181dbae2abd72cfa88b2cef18e'),
        (3000, 'ff6f81e313d9dae9e8f35970eca219c5933fef384bbba7351adaf6f16e492bbe'),
        (3250, '293416fc5bf557890d83afb8c0521d4dc27fd7d2d636540c76fe14fcb57eabe3'),
    ),
    'class_object': (
        (0, '1e0518f9d13eec48b5d17e5d0de4967c20dcccfc2aa155eca95070ffff6b59e3'),
        (250, '85f43aa904c3ae72e3bd9bc4f8d56b9487179b626c5cd3122a3693741219d061'),
        (500, '70bf9f600d5d47beb78dd35074b09be52880dd5cf680de74cbe5e0649b896de2'),
        (750, '29ac7dc60fcb2c0260f2d4f242673ee0a2bbed4104a5f3296021fa1eada09fe1'),
        (1000, '655ecc1a8904421dadd2287c9fbafa3ab7c585aee8e05382d457c37b321e1afc'),
        (1250, 'e68c9263f2ed3819df1471c71641599e22e18ed7b37e6fa0a7ebe56acbf357fe'),
        (1500, '176ef282b6f5f2fcfec2dd457264e50ddcd647f332c962b4249e52eb570239cf'),
        (1750, '45527a6f136d6c59fc80a0e36a5d7a1ce37433e3462ddc7eecaea66ffd913e4f'),
        (2000, 'a7b749e173eb6993b1b3ea41be57099b8ff802320fcb39664f9937e2a35523b1'),
        (2250, 'cfea22e6eafee79c713ef911d40d953a4786deb617d71d6cfd0e483372a7c1df'),
        (2500, '897d39d9d7f2b630995fda10950d46320b07cc5b99d73844f9d524035422450b'),
        (2750, 'b9b45915ea783e07d12e30afc8f746540f3f023c30d778cb2d08e761110d47a3'),
        (3000, '2d74179f795e23850eb1dfd831cb01115f729e7a8fd016b61c225e53b55ca67a'),
        (3250, 'd31613b06665bc4375ce38d450fc1f74082bd7b4b5fc18ce0961d7744a11ed6b'),
    ),
    'class_scene': (
        (0, '3c50dbe8319f51a09182642058bbd2b9116ce4d6e782b14f40fd7adf1c3cbf7b'),
        (250, 'feca23aba65ead4d90aa229ab6d5ad9018ebb73d1fdfc2774957f086f72c856c'),
        (500, '6b90ccaa3e1f37384a04dd83b39b1a627a2c71946f6275fb3336fd193b36ba53'),
        (750, '03595197891c4c15d5a0055b550509b5f21947dfed9367cdb141b1dea54b564b'),
        (1000, '6a967ec39c5b21726cbe1d5e101a886c356726f237fb000807c2c92e0c210d1d'),
        (1250, 'ab6c6c5d8d21d016fb12f1fbdccca15d0816fafde411cec325366a8996288a48'),
        (1500, '5c84f74cc89ae9129d85d265f26b4f2a9e1f23ee3dac3cd60f6a37b81a1094e3'),
        (1750, '72594a60d1480a4b8f42283b2dd63d24c9a8747b005d139b58493bc1b0465637'),
        (2000, '41b6d2cfb16a80b65187fdc0166cbba8150b6b9e5184d4ed75db2b8b5d3b93f4'),
        (2250, '10e3f0b0b8b98e8436bb2d306ba115a7f7f13e3c71092d3594ea28d77e64c332'),
        (2500, '7315fe991cd622bf28ef69e7a72ebf0cd2c4d09484c01eddecdda4fd2c3cb916'),
        (2750, '65f84fc64e5934c1cf2dbb8a47e9d706875616952589bcf55a3bd8b71c9d5022'),
        (3000, '2101a7eb3a4c6278c047a41a8b5b081096403c887edbea871fc6ba918b51d68b'),
        (3250, 'b2f66fdd369a06160ea90feb44f40ee2726c7a59ae94c67935c6e537d032aebb'),
    ),
    'jigsaw': (
        (0, 'a53f4149be8c3ef5099aaf057dd4b73ffc1cd249dfb9103eb9176720205bafa6'),
        (250, '22f763299ec37ea3ee28771bb725b3956d57363d2d7f6eb133cc8a046b4c9b84'),
        (500, 'bbf349d320b71313a5a93520787b6b3a11f219ae82210e4dd3a4988fe7f176e9'),
        (750, '9e916cbf5a03cb25dff566880663c178ed327609f6f1f276ae21ad5e15308f00'),
        (1000, 'b23b19c29984fb6926340b088dc6849076ed153703ec90f76e2a1adbf8e0d412'),
        (1250, '07216bc1a7e0e5f2bab0935d8e1cd273424c697f3041e9d7f243c8efaae77c49'),
        (1500, '31a3dcfe315fe2ba285fb15949fb02145cb4784676691785d39bf65d55c47e5b'),
        (1750, '6398f855acc4cf72a038b049e4030d40610ed6f434f8d8ae1ac02db6b0047e88'),
        (2000, '182dd5a5401e45876f03b6c0a77571e348c567dad68c78a96d1a2a6fdb0c8a0e'),
        (2250, '768e8aab1619263a8edf04d8b5e9f646618c71d2e6cd5cfde66b452b8a2713ea'),
        (2500, 'f9fa08e0eff9eed7f66007d18c526c43dea5d1e5fe39b16bca9d93381a4ad508'),
        (2750, '9dd98f6943fb814b1d868407cfbc47f470126427aafd112dfda9c04f732de085'),
        (3000, 'a71e8010192f4877086673afe455d87eeb38d2fea53e8f0ad94a527f93baccdc'),
        (3250, '5ee6a2568e361cce63b12034f2e84ef146f30bd1b0f0e54fbc826f7b1bbaba9c'),
    ),
    'normal': (
        (0, '8014bed5b17dfa5b123020203c0b21ed0f3578440e1087a2e020d5b725c3c822'),
        (250, 'dce35dbe6a3015e513c7328e3d8f464a682e0f4a13fc3a662b374c7f78f79734'),
        (500, '0f462176dab4ed3a5e8b539955ad1d603eb96cca687005d72270d14377134b52'),
        (750, 'cc32b211471b017c90d20da1e8a955d9e3fd9ee07f19ea78b7ce8f441ae2303c'),
        (1000, 'e8c0b713edcc4a9f2e7e206e15789cea2bcae9eb9f124b0c275ee91605af7a02'),
        (1250, 'd0736eb6e59b020d8049b10100b780587bc0e628459c1f1e889ac8fd9d0a889c'),
        (1500, '528477d13a6b9f024bb781b844c394c0c4863c9017424dd46ddb0d12c25b729e'),
        (1750, '42d018d010a1a82ed96bb8226d7eb04f8c2970c04e910d835b88c9a00d6fff6c'),
        (2000, 'd530d5965a211aa5e130df6d73b19ac85a51fb31098c38327379935a65148425'),
        (2250, 'efa0f7759c4efc2b14684dc76a540552215ae3ff45256e3d380ae74fb957a988'),
        (2500, 'da16da47e2996bcc3cd6e68bd1672db08f2425be56712eb5d192cd788388bf22'),
        (2750, 'dd4a3faa3db83c3eaebfd3adba1a4ea882e6024e7ffb4a7e82b95bcbb7798016'),
        (3000, '2e17f49e701db390bbe985e416e1cd65d3a2ad19ce72da8834e3450fea0b6254'),
        (3250, 'd2e06062d3fde43fe753bc52e51e9cc080dbf25c796f88a24b38c572595ea3e7'),
    ),
    'room_layout': (
        (0, 'e9afaa32c1718eaa0324c7e433ebcbb847fd20495a5565ce221e78732c10ea26'),
        (250, '6cf0d895423d575779676013cf2eeda35c6de355bd4de55e9822855701c004d1'),
        (500, '4ef4b40d17966a1c17d57b126337db52c46ef21acc5977f3a9d4b5889869b678'),
        (750, 'f15f049ca0581139d9b9154935cb8685aa847bf08ff52525eca7a3baed586082'),
        (1000, '0d90555cd4dbebaa737f041b3ca1efc4f2a12134d3970dc9a27e551307f90eab'),
        (1250, '8c8f376a933489d034a31e21d6c0e1563bdde49aa1b63f64b577594b59dd3bd6'),
        (1500, '2d78e4d39bbf919bb7b6c8618322f0e05624bf877bf8aad1b30b2bb46540c912'),
        (1750, 'bcf954bb62b363c675bcef501d2d39ee740a671b58353d4e68a91e353d5c3367'),
        (2000, '29f65c40e1538892e65f9b5f7336a2cdd4217a76ebab6b40721eeffa05106372'),
        (2250, 'd4a594d77252cdbab9fd18e569db8047bdb044e19bb1d69fd6bfb5f3c31058a9'),
        (2500, '998567091561666d43f67bcb0191274c51585db8b3142492c806b87f0fb6c623'),
        (2750, '771938ad13cd3c02e77da06abf7220fd233654332ef29bb48dc4a50478d61c50'),
        (3000, 'fdb23d619411cb4d3ab725e8b7740b835c7e96bfcdf7c1eacb1a993f7261dd3c'),
        (3250, '1714a11adb53074ba2e32d4f12df59140d0eb67736505937e263a7f80af28927'),
    ),
    'segmentsemantic': (
        (0, '2f430d8b2b8c7b3b7c9f40058b536ffb25d6d7ddcbecc7f93e67795684d78bb3'),
        (250, 'ac2f61762d45c034bdd4b3513dc09f761c7aa7dfae08f671d5a744b67cb8dec7'),
        (500, '4e58789d0623771ea6ec7861e145843f4e04c44cfecdb7d2cb444d75d6eddba5'),
        (750, 'c9e78e1daacf647c7a464b5e2af40e12f72763d4211a8a5a513176e464a71da3'),
        (1000, 'e843a8442fb6226dba45618ce253c2a6a74fe12422087c4136814d6f992152a5'),
        (1250, 'cd04b5daffd17180fd84f0dc4e823ae6913a62a10d20f1c0f7e19edee73ae1a8'),
        (1500, 'ab13d6a34bafd544363ee6216956fc961d6ce30320250fb3d9653629f3e33556'),
        (1750, '48508c5f2687ecf02f5e59dd3846b3ef1857bf890a41c1c1350ae5b652dc664a'),
        (2000, '0dbddd3a04d9f9bfc5b6afa7878dcf651b89fd29b33da018d46e3de6512ddde9'),
        (2250, '4da586fbf2676f51d2a3200fa91674490ad408e9d9d0260771701799b883cb62'),
        (2500, '470e2c8b2e62333430adf212a3b6cdcb2c328ffee82e5255b859704428ae70c7'),
        (2750, 'a7b6910a5ec0cf2f3b5ffa103a7cb90e1c053a624be79059c31bb4eaf67280e6'),
        (3000, 'e0fa3d2a877826d1bb7705f37632a67e1e4c51927ded489e734db89088ad44dc'),
        (3250, '19c4e2e99dd501876d2fad7e429486dadbf5f4a3855bffde0369a5334bbc5b36'),
    ),
}

#: The 7 tasks in the authors' ``task_list`` order: task -> (metric, epochs,
#: units, what the value is).
TASKS = {
    "class_scene": ("valid_acc", 25, "percent", "best validation top-1 accuracy (%), scene classification"),
    "class_object": ("valid_acc", 25, "percent", "best validation top-1 accuracy (%), object classification"),
    "room_layout": ("valid_neg_loss", 25, "negated_mse",
                    "best validation negated loss: minus the MSE of the room layout regression (<= 0)"),
    "jigsaw": ("valid_acc", 10, "percent", "best validation top-1 accuracy (%) of the permutation class"),
    "segmentsemantic": ("valid_pixel_acc", 30, "percent",
                        "best validation pixel accuracy (%) of semantic segmentation (not mIoU)"),
    "normal": ("valid_ssim", 30, "ssim", "best validation SSIM of the predicted surface normals"),
    "autoencoder": ("valid_ssim", 30, "ssim", "best validation SSIM of the reconstructed image"),
}
#: The static metric of every task: the Zen-NAS score in the files.
ZEN = "zen"


def _source(space, kind: str, task: str, digests: tuple) -> dict:
    metric, epochs, units, _ = TASKS[task]
    return {
        "files": [{"file": f"benchmark--transbench101_{kind}--{task}--{start}.json", "sha256": digest}
                  for start, digest in digests],
        "rows": space.size, "finite": True,
        "key": {"column": "arch", "kind": "label", "space": space.name},
        # every record holds exactly these fields; idx is NASLib's enumeration order, not ours
        "fields": {"idx": None, "zen": ["score", "time"], "val_accuracy": None},
        "columns": {"val_accuracy": {"metric": metric, "fidelity": epochs, "dataset": task, "units": units},
                    "zen.score": {"metric": ZEN, "fidelity": None, "dataset": task, "units": "score"}},
    }


def _protocol() -> dict:
    by = {task: {"search_metric": f"{m}@{e}", "report_metric": f"{m}@{e}"} for task, (m, e, _, _) in TASKS.items()}
    first = next(iter(by.values()))
    return {"search_metric": first["search_metric"], "report_metric": first["report_metric"], "by_dataset": by}


# The archive in NASLib's repository that holds each space's files (PROVENANCE.md).
_ARCHIVE = {"micro": "naslib/data/zc_benchmarks/all_benchmarks_zen.zip",
            "macro": "run/results/benchmarks/tnb101_macro_zen.zip"}


def _recipe(space, kind: str, digests: dict, what: str) -> dict:
    return {
        "space": space.name,
        "description": f"TransNAS-Bench-101 {kind} from ../shared/data/tnb101/{kind}: {what} on 7 tasks, "
                       "each task's validation metric as NASLib names it, and the Zen-NAS score",
        "source_dir": f"tnb101/{kind}",
        "protocol": _protocol(),
        "sources": [_source(space, kind, task, digests[task]) for task in TASKS],
        "cost_model": EPOCH_COST,
        "notes": {
            "source": "TransNAS-Bench-101 (Duan et al., CVPR 2021) through automl/NASLib branch zerocost: "
                      f"{_ARCHIVE[kind]} -> benchmark--transbench101_{kind}--<task>--<start>.json (Apache-2.0)",
            "space": _tnb101.__doc__.split("**Micro**" if kind == "micro" else "**Macro**")[1].split("\n\n")[0]
                     .replace("\n", " ").strip(),
            "metrics": "; ".join(f"{task}: {m}@{e} = {text}" for task, (m, e, _, text) in TASKS.items()),
            "best_over_epochs": "val_accuracy is NASLib's query(Metric.VAL_ACCURACY): the TNB101 API's "
                                "get_single_metric(mode='best'), the maximum of the validation metric over "
                                "the run's epochs, stored at the run's number of epochs",
            "direction": "every metric is higher-is-better; room_layout's loss is stored negated "
                         "(valid_neg_loss), as NASLib and the TNB101 API give it",
            "seeds": "one value per architecture and task (seed 0)",
            "zen": "static zen = the file's zen.score (Zen-NAS zero-cost proxy, per task); zen.time "
                   "(its compute time) is not imported",
            "cost_model": "the files hold no training time: cost model 'epochs', 1 simulated second per "
                          "epoch of the fidelity",
            "missing": "test metrics, losses, training time, learning curves, params and FLOPs are not in "
                       "these files",
        },
    }


#: Import recipes by name.
RECIPES = {
    "transnas-bench-101-micro": _recipe(_tnb101.MICRO, "micro", _SHA256_MICRO, "4,096 cells"),
    "transnas-bench-101-macro": _recipe(_tnb101.MACRO, "macro", _SHA256_MACRO, "3,256 networks"),
}
