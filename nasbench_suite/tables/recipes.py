"""Table recipes: where the public tables come from and how each becomes a
table (docs/FORMAT.md). Recipes name their search space; nothing else in
``tables/`` does.

- :data:`ARTIFACTS`: the official benchmark files ``nasbench-suite download``
  fetches (URLs, sizes, published checksums, converter).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Optional, Tuple


@dataclass(frozen=True)
class Artifact:
    """One published file.

    ``sha256`` is enforced (a mismatch deletes the file); it is set only where
    the authors publish it.  ``sha256_reference`` is a value recorded by a
    third party: a mismatch is reported, not enforced.  Either way the digest
    of what was downloaded is written next to it (``<file>.sha256``).
    """
    name: str
    benchmark: str
    space: str                     # the search space of the converted table
    filename: str
    urls: Tuple[str, ...]          # direct download URLs, tried in order
    page: str                      # where a person downloads it by hand
    source: str                    # where these facts are published
    size: str                      # as published ("~1.95 GB"), for the user
    sha256: Optional[str] = None
    sha256_reference: Optional[str] = None
    checksum_note: str = ""
    converter: Optional[Tuple[str, str]] = None   # (module, function)
    table: Optional[str] = None    # default converted table file name
    unpack: Optional[str] = None   # a tar archive: the directory it holds
    note: str = ""


def _drive(file_id: str) -> Tuple[Tuple[str, ...], str]:
    """(direct URLs, page) of a Google Drive file.  The direct form with
    confirm=t skips the "cannot scan for viruses" page Drive shows for big files."""
    return ((f"https://drive.usercontent.google.com/download?id={file_id}&export=download"
             f"&confirm=t",), f"https://drive.google.com/file/d/{file_id}/view")


_GCS = "https://storage.googleapis.com/nasbench/"
_NB101_SOURCE = "https://github.com/google-research/nasbench#download-the-dataset"
_NB201_SOURCE = "https://github.com/D-X-Y/NAS-Bench-201#preparation-and-download"
_NATS_SOURCE = "https://github.com/D-X-Y/NATS-Bench#preparation-and-download"
_NB101_CONVERT = ("nasbench_suite.tables.convert_nb101", "convert_nb101")
# convert_nb201 reads the NB201 .pth, the NATS .pickle.pbz2 and the NATS directory.
_NB201_CONVERT = ("nasbench_suite.tables.convert_nb201", "convert_nb201")
_COMPUTED = "no checksum published; computed after download and recorded"

ARTIFACTS: Dict[str, Artifact] = {a.name: a for a in (
    # google-research/nasbench README, "Download the dataset": URLs, sizes and SHA-256.
    Artifact("nb101-full", "nb101", "nb101", "nasbench_full.tfrecord",
             (_GCS + "nasbench_full.tfrecord",), _GCS + "nasbench_full.tfrecord",
             _NB101_SOURCE, "~1.95 GB",
             sha256="3d64db8180fb1b0207212f9032205064312b6907a3bbc81eabea10db2f5c7e9c",
             checksum_note="published in the google-research/nasbench README",
             converter=_NB101_CONVERT, table="nb101-full.h5",
             note="4, 12, 36 and 108 epochs, 3 repeats each"),
    Artifact("nb101-only108", "nb101", "nb101", "nasbench_only108.tfrecord",
             (_GCS + "nasbench_only108.tfrecord",), _GCS + "nasbench_only108.tfrecord",
             _NB101_SOURCE, "~499 MB",
             sha256="4c39c3936e36a85269881d659e44e61a245babcb72cb374eacacf75d0e5f4fd1",
             checksum_note="published in the google-research/nasbench README",
             converter=_NB101_CONVERT, table="nb101-only108.h5", note="108 epochs only"),
    # D-X-Y/NAS-Bench-201 README, "Preparation and Download": Drive ids and sizes.
    # The six hex digits in the names are the "last six digits for this file";
    # no full checksum is published.
    Artifact("nb201-v1_1", "nb201", "nb201", "NAS-Bench-201-v1_1-096897.pth",
             *_drive("16Y0UwGisiouVRxW-W5hEtbxmcHw_0hF_"), _NB201_SOURCE, "~4.7 GB",
             checksum_note=_COMPUTED, converter=_NB201_CONVERT, table="nb201-v1_1.h5",
             note="recommended by the authors; 12- and 200-epoch results"),
    Artifact("nb201-v1_0", "nb201", "nb201", "NAS-Bench-201-v1_0-e61699.pth",
             *_drive("1SKW0Cu0u8-gb18zDpaAGi0f74UdXeGKs"), _NB201_SOURCE, "~2.2 GB",
             checksum_note=_COMPUTED, converter=_NB201_CONVERT, table="nb201-v1_0.h5",
             note="deprecated by the authors"),
    # D-X-Y/NATS-Bench README, table of benchmark files (2020.08.31); no sizes
    # or checksums are published there.
    Artifact("nats-tss-simple", "nats-tss", "nb201", "NATS-tss-v1_0-3ffb9-simple.tar",
             *_drive("17_saCsj_krKjlCBLOJEpNtzPXArMCqxU"), _NATS_SOURCE,
             "~1.15 GB (not published; third-party figure)",
             sha256_reference="580fd8f3425fed9f495640b0f12ccb7744f89dec7aff263bd75aed37ab0b8bb6",
             checksum_note="not published by the authors; the reference value was recorded by "
                           "third-party download scripts and is checked but not enforced",
             converter=_NB201_CONVERT, table="nats-tss.h5", unpack="NATS-tss-v1_0-3ffb9-simple",
             note="the archive the official API reads with fast_mode=True"),
    Artifact("nats-tss-pbz2", "nats-tss", "nb201", "NATS-tss-v1_0-3ffb9.pickle.pbz2",
             *_drive("1vzyK0UVH2D3fTpa1_dSWnp1gvGpAxRul"), _NATS_SOURCE, "not published",
             checksum_note=_COMPUTED, converter=_NB201_CONVERT, table="nats-tss.h5",
             note="the single file the official API reads with fast_mode=False"),
    Artifact("nats-tss-full", "nats-tss", "nb201", "NATS-tss-v1_0-3ffb9-full", (),
             "https://drive.google.com/drive/folders/17S2Xg_rVkUul4KuJdq0WaWoUuDbo8ZKB",
             _NATS_SOURCE, "split into 30 GB chunks (join them with cat)",
             checksum_note="no checksum published",
             note="with trained weights; a Drive folder: by hand only"),
)}

DEFAULT_ARTIFACT = {"nb101": "nb101-full", "nb201": "nb201-v1_1", "nats-tss": "nats-tss-simple"}
BENCHMARKS = tuple(DEFAULT_ARTIFACT)

ONLY108 = "nb101-only108"  # what --only108 downloads
