"""Fetch the official benchmark files, check them, convert them (``nasbench-suite download``).

The registry :data:`ARTIFACTS` (``recipes.py``) lists the files the authors
publish, with the sha256 where the authors publish one.  :func:`fetch` hands
each download to :func:`pooch.retrieve` (cache directory :func:`default_dest`,
``known_hash`` from the registry, a temporary file moved into place only once
its hash matches) with :class:`_ResumingDownloader` as the transfer: pooch has
no HTTP range resume, and these files are gigabytes, so a ``.part`` file is
continued with a ``Range`` request (from scratch when the server ignores it)
and a dropped connection is resumed in place.  Progress is
:class:`nasbench_suite.progress.Progress` (tqdm on a terminal).
:func:`download` picks an artifact, fetches it, unpacks an archive (our own
member checks: pooch's ``Untar`` extracts unfiltered before Python 3.12) and
calls the converter.

Every URL can be redirected to a mirror (``mirror=`` / ``--mirror`` / the
``NASBENCH_SUITE_MIRROR`` environment variable: ``BASE/<file name>``), which
is also how the tests serve fixtures from 127.0.0.1.
"""
from __future__ import annotations

import contextlib
import hashlib
import http.client
import importlib
import logging
import os
import shutil
import socket
import tarfile
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Callable, Optional, Sequence, TextIO, Tuple

from .. import __version__
from ..progress import Progress, format_bytes
from ._schema import _fsync_dir
from .writer import sha256_of

MIRROR_ENV = "NASBENCH_SUITE_MIRROR"
HOME_ENV = "NASBENCH_SUITE_HOME"
USER_AGENT = f"nasbench-suite/{__version__} (download)"
CHUNK = 1 << 20


# --------------------------------------------------------------------------
# the registry

from .recipes import ARTIFACTS, BENCHMARKS, DEFAULT_ARTIFACT, ONLY108, Artifact  # noqa: E402,F401


# --------------------------------------------------------------------------
# errors

class DownloadError(Exception):
    """A download or conversion that failed; the message says what to do."""


class HTTPStatusError(DownloadError):
    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.status = status


class UnreachableError(DownloadError):
    """The host could not be reached (DNS, refused, timed out, TLS)."""


class ChecksumError(DownloadError, ValueError):
    def __init__(self, message: str, expected: str, actual: str):
        super().__init__(message)
        self.expected, self.actual = expected, actual


class _Interrupted(Exception):
    """The stream ended early: the .part file keeps what arrived, ``hasher`` has digested it."""

    def __init__(self, reason: str, hasher):
        super().__init__(reason)
        self.hasher = hasher


# --------------------------------------------------------------------------
# the downloader

@dataclass
class FetchResult:
    path: str
    sha256: str
    bytes: int
    resumed_from: int = 0     # bytes of a .part file that were kept


def _host(url: str) -> str:
    return urllib.parse.urlsplit(url).netloc or url


def _open(url: str, offset: int, timeout: float):
    headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    request = urllib.request.Request(url, headers=headers)
    return urllib.request.build_opener().open(request, timeout=timeout)


def _content_range(header: Optional[str]) -> Tuple[Optional[int], Optional[int]]:
    """(first byte, total) of a ``Content-Range: bytes a-b/total`` header."""
    if not header or not header.startswith("bytes "):
        return None, None
    span, _, total = header[6:].partition("/")
    first = span.split("-")[0]
    return (int(first) if first.isdigit() else None,
            int(total) if total.strip().isdigit() else None)


def _stream(url: str, part: str, hasher, offset: int, timeout: float,
            progress_factory, log, by_hand: str):
    """One request: append to (or restart) ``part``; return (its size, hasher).

    Raises :class:`_Interrupted` when the body ends early, with the bytes
    that did arrive written and fsync'd, so the next request resumes there.
    """
    try:
        response = _open(url, offset, timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and offset:
            _, total = _content_range(exc.headers.get("Content-Range"))
            exc.close()
            if total == offset:  # the .part already holds the whole file
                return offset, hasher
            _discard(part)
            raise _Interrupted(f"the server refused to resume at byte {offset}",
                               hashlib.sha256()) from None
        raise HTTPStatusError(
            f"{url}: HTTP {exc.code} {exc.reason}; the file may have moved or the host "
            f"may be limiting downloads: {by_hand}", exc.code) from None
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
        reason = getattr(exc, "reason", None) or exc
        if isinstance(reason, (socket.timeout, TimeoutError)):
            reason = f"no answer within {timeout:g} s"
        raise UnreachableError(f"cannot reach {_host(url)}: {reason}; {by_hand}") from None
    with response:
        status = getattr(response, "status", None) or response.getcode() or 200
        ctype = response.headers.get("Content-Type", "")
        if ctype.split(";")[0].strip().lower() == "text/html":
            raise DownloadError(
                f"{_host(url)} answered with a web page instead of the file (Google Drive "
                f"does this when the file's download quota is exceeded or it needs a "
                f"sign-in); {by_hand}")
        length = response.headers.get("Content-Length")
        length = int(length) if length and length.isdigit() else None
        first, total = _content_range(response.headers.get("Content-Range"))
        if status == 206 and first != offset:
            _discard(part)
            raise _Interrupted(f"the server sent bytes from {first} when asked for {offset}",
                               hashlib.sha256())
        if offset and status != 206:
            log(f"{_host(url)} does not support resuming; downloading from the start")
            offset, hasher = 0, hashlib.sha256()
        mode = "ab" if offset else "wb"
        if total is None and length is not None:
            total = offset + length
        if total is not None:
            _check_space(os.path.dirname(part) or ".", total - offset)
        bar = progress_factory(total, offset)
        size, reason = offset, None
        # read1 returns what has arrived (one socket read), so a stall that
        # ends in a timeout loses nothing that was already received.
        read = getattr(response, "read1", response.read)
        try:
            with open(part, mode) as out:
                while True:
                    try:
                        block = read(CHUNK)
                    except (OSError, http.client.HTTPException) as exc:
                        # A reset, a read timeout, a broken chunk: keep what came.
                        reason = str(exc) or type(exc).__name__
                        break
                    if not block:
                        break
                    out.write(block)
                    hasher.update(block)
                    size += len(block)
                    bar.update(len(block))
                out.flush()
                os.fsync(out.fileno())
        finally:
            bar.close()
    if reason is None and total is not None and size < total:
        reason = f"connection closed after {size} of {total} bytes"
    if reason is not None:
        raise _Interrupted(reason, hasher)
    return size, hasher


def _discard(path: str) -> None:
    if os.path.exists(path):
        os.remove(path)


def _check_space(directory: str, needed: int) -> None:
    try:
        free = shutil.disk_usage(directory).free
    except OSError:
        return
    if needed > free:
        raise DownloadError(f"not enough disk space in {directory}: the download needs "
                            f"{format_bytes(needed)} more, {format_bytes(free)} is free; "
                            f"free some space or pass another --dest")


class _ResumingDownloader:
    """A pooch downloader (``downloader(url, output_file, pooch)``) that can resume.

    pooch's own HTTP downloader starts over after every failure; a 2-5 GB file
    on a flaky link needs more, so this one streams into ``<file>.part``,
    continues it with ``Range: bytes=<size>-`` (from scratch when the server
    ignores the range), resumes a connection that drops mid-file up to
    ``retries`` times (waiting ``retry_wait * 2**k`` s; the budget is per
    stall), and keeps the ``.part`` for the next run when it gives up.  The
    complete ``.part`` is handed to pooch as ``output_file``; pooch checks the
    sha256 and moves it into place.
    """

    def __init__(self, part: str, *, timeout: float, retries: int, retry_wait: float,
                 progress: Optional[bool], stream: Optional[TextIO], log, by_hand: str):
        self.part, self.timeout, self.retries, self.retry_wait = part, timeout, retries, retry_wait
        self.progress, self.stream, self.log, self.by_hand = progress, stream, log, by_hand
        self.digest: Optional[str] = None   # of the complete file, once downloaded
        self.size = self.resumed_from = 0

    def __call__(self, url: str, output_file, pooch_obj=None, check_only: bool = False):
        if check_only:
            return True
        part, log = self.part, self.log
        label = os.path.basename(part)[:-len(".part")]

        def progress_factory(total, initial):
            return Progress(total, initial, stream=self.stream, enabled=self.progress,
                            desc=label, bytes=True, interval=2.0)

        hasher = hashlib.sha256()
        offset = os.path.getsize(part) if os.path.isfile(part) else 0
        self.resumed_from = offset
        if offset:
            log(f"resuming {label} at {format_bytes(offset)}")
            with open(part, "rb") as f:  # the digest covers the kept prefix too
                for block in iter(lambda: f.read(CHUNK), b""):
                    hasher.update(block)
        attempt = 0
        while True:
            try:
                self.size, hasher = _stream(url, part, hasher, offset, self.timeout,
                                            progress_factory, log, self.by_hand)
                break
            except _Interrupted as exc:
                hasher = exc.hasher
                previous, offset = offset, (os.path.getsize(part) if os.path.exists(part) else 0)
                if offset > previous:  # progress was made: the retry budget is per stall
                    attempt = 0
                if attempt >= self.retries:
                    raise DownloadError(
                        f"the download of {url} was interrupted ({exc}); {format_bytes(offset)} "
                        f"are kept in {part}: run the same command again to resume") from None
                wait = self.retry_wait * (2 ** attempt)
                attempt += 1
                log(f"interrupted ({exc}); continuing at {format_bytes(offset)} "
                    f"(retry {attempt}/{self.retries})")
                time.sleep(wait)
            except OSError as exc:  # writing the .part, not the network
                raise DownloadError(f"cannot write {part}: {exc.strerror or exc}") from None
        self.digest = hasher.hexdigest()
        os.replace(part, output_file)


@contextlib.contextmanager
def _pooch_silenced():
    """pooch logs each download at INFO on stderr; our messages say it already."""
    import pooch  # imported when needed: 60 ms that --list and --help do without

    logger = pooch.get_logger()
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


def fetch(url: str, path: str, *, sha256: Optional[str] = None, page: Optional[str] = None,
          hint: str = "", timeout: float = 60.0, retries: int = 5, retry_wait: float = 1.0,
          progress: Optional[bool] = None, stream: Optional[TextIO] = None,
          log: Optional[Callable[[str], None]] = None) -> FetchResult:
    """Download ``url`` to ``path`` with :func:`pooch.retrieve`, resuming ``path + '.part'``.

    - the transfer is :class:`_ResumingDownloader` (``Range`` resume, retries
      per stall, the ``.part`` kept when it gives up);
    - ``sha256`` (lowercase hex), when given, is pooch's ``known_hash``: a
      mismatch deletes the file and raises :class:`ChecksumError`;
    - pooch moves the complete file to ``path``; the digest is recorded in
      ``path + '.sha256'``.
    ``page`` and ``hint`` only shape the error messages (where to download by
    hand, and what to run after).
    """
    log = log or (lambda message: None)
    path = os.fspath(path)
    directory = os.path.dirname(path) or "."
    os.makedirs(directory, exist_ok=True)
    label = os.path.basename(path)
    by_hand = f"download it by hand from {page or url} into {directory}" + (
        f" and run `{hint}`" if hint else "")
    downloader = _ResumingDownloader(path + ".part", timeout=timeout, retries=retries,
                                     retry_wait=retry_wait, progress=progress, stream=stream,
                                     log=log, by_hand=by_hand)
    import pooch

    expected = sha256.lower() if sha256 else None
    try:
        with _pooch_silenced():
            pooch.retrieve(url, known_hash=f"sha256:{expected}" if expected else None,
                           fname=label, path=directory, downloader=downloader)
    except ValueError as exc:  # pooch: the hash does not match (the file is deleted)
        if isinstance(exc, DownloadError) or expected is None or downloader.digest is None:
            raise
        actual = downloader.digest
        raise ChecksumError(
            f"checksum mismatch for {label}: expected sha256 {expected}, got {actual}. "
            f"The file was corrupted in transit or changed upstream; the bad file was "
            f"deleted. Run the same command again to download it afresh, or {by_hand} after "
            f"checking it with `sha256sum`", expected, actual) from None
    except OSError as exc:  # pooch could not create its temporary file or move it
        raise DownloadError(f"cannot write into {directory}: {exc.strerror or exc}") from None
    actual = downloader.digest or sha256_of(path)  # None: pooch found the file in place
    _fsync_dir(directory)
    _write_sidecar(path, actual)
    return FetchResult(path, actual, downloader.size or os.path.getsize(path),
                       resumed_from=downloader.resumed_from)


def _write_sidecar(path: str, digest: str) -> None:
    """Record the digest in ``<file>.sha256`` (the format `sha256sum -c` reads)."""
    with open(path + ".sha256", "w", encoding="utf-8") as f:
        f.write(f"{digest}  {os.path.basename(path)}\n")


def _read_sidecar(path: str) -> Optional[str]:
    try:
        with open(path + ".sha256", encoding="utf-8") as f:
            return f.read().split()[0]
    except (OSError, IndexError):
        return None


# --------------------------------------------------------------------------
# choosing, downloading and converting a benchmark

def select(benchmark: str, only108: bool = False, artifact: Optional[str] = None) -> Artifact:
    """The artifact to fetch for ``benchmark`` (``--only108`` / ``--artifact``)."""
    if benchmark not in DEFAULT_ARTIFACT:
        raise DownloadError(f"unknown benchmark {benchmark!r}; choose one of "
                            f"{', '.join(BENCHMARKS)}")
    if only108 and benchmark != ARTIFACTS[ONLY108].benchmark:
        raise DownloadError(f"--only108 applies to {ARTIFACTS[ONLY108].benchmark} only")
    if artifact is None:
        return ARTIFACTS[ONLY108 if only108 else DEFAULT_ARTIFACT[benchmark]]
    chosen = ARTIFACTS.get(artifact)
    if chosen is None or chosen.benchmark != benchmark or (only108 and artifact != ONLY108):
        names = [a.name for a in ARTIFACTS.values() if a.benchmark == benchmark]
        raise DownloadError(f"no artifact {artifact!r} for {benchmark}; choose one of "
                            f"{', '.join(names)}")
    return chosen


def resolve_urls(artifact: Artifact, mirror: Optional[str] = None) -> Tuple[str, ...]:
    """The URLs to try: ``<mirror>/<file name>`` when a mirror is set (argument,
    else ``$NASBENCH_SUITE_MIRROR``), the official ones otherwise."""
    mirror = mirror if mirror is not None else os.environ.get(MIRROR_ENV, "")
    if mirror:
        return (mirror.rstrip("/") + "/" + urllib.parse.quote(artifact.filename),)
    return artifact.urls


def default_dest() -> str:
    """``$NASBENCH_SUITE_HOME``, else ``$XDG_CACHE_HOME/nasbench-suite`` (``~/.cache``)."""
    home = os.environ.get(HOME_ENV)
    if home:
        return home
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(cache, "nasbench-suite")


def convert_command(artifact: Artifact, path: str, out: str) -> str:
    """The commands that convert ``path`` by hand (for error messages)."""
    space = artifact.space
    if artifact.unpack:
        directory = os.path.dirname(path) or "."
        return (f"tar xf {path} -C {directory} && nasbench-suite convert {space} "
                f"{os.path.join(directory, artifact.unpack)} -o {out}")
    return f"nasbench-suite convert {space} {path} -o {out}"


@dataclass
class DownloadResult:
    artifact: Artifact
    path: str
    sha256: str
    checksum: str                 # how the digest was checked, in words
    downloaded: bool              # False when a complete file was already there
    table: Optional[str] = None   # the converted table, if converted


def _checksum_status(artifact: Artifact, digest: str, log) -> str:
    if artifact.sha256:
        return "verified against the published sha256"
    if artifact.sha256_reference:
        if digest == artifact.sha256_reference:
            return "matches the third-party reference sha256 (none is published)"
        log(f"warning: sha256 {digest} of {artifact.filename} differs from the third-party "
            f"reference {artifact.sha256_reference}; no official checksum exists, so the "
            f"file is kept. If conversion fails, delete it and download again.")
        return "differs from the third-party reference sha256 (none is published)"
    return "no sha256 published; computed and recorded in the .sha256 file"


def _existing(artifact: Artifact, path: str, log) -> Optional[str]:
    """The digest of a complete file already at ``path``, or None to download it."""
    if not os.path.isfile(path):
        return None
    if artifact.sha256:
        log(f"checking the sha256 of the existing {path}")
        digest = sha256_of(path)
        if digest != artifact.sha256:
            log(f"the existing {path} does not match the published sha256 "
                f"(got {digest}); downloading it again")
            os.remove(path)
            return None
        _write_sidecar(path, digest)
        return digest
    # Files only reach their final name complete, so trust one we (or the user) put there.
    digest = _read_sidecar(path)
    if digest is None:
        log(f"computing the sha256 of the existing {path}")
        digest = sha256_of(path)
        _write_sidecar(path, digest)
    return digest


def _unpack(artifact: Artifact, archive: str, log) -> str:
    """Extract the archive's directory next to it, atomically; return its path.

    Only plain files and directories inside the archive are accepted (no
    links, no absolute or ``..`` paths).  The directory appears under its
    final name only once complete, so an existing one is reused.
    """
    parent = os.path.dirname(archive) or "."
    target = os.path.join(parent, artifact.unpack)  # type: ignore[arg-type]
    if os.path.isdir(target):
        return target
    staging = target + ".unpacking"
    shutil.rmtree(staging, ignore_errors=True)
    log(f"unpacking {archive}")
    try:
        with tarfile.open(archive) as tar:
            members = tar.getmembers()
            for m in members:
                parts = m.name.replace("\\", "/").split("/")
                if not (m.isfile() or m.isdir()) or m.name.startswith("/") or ".." in parts:
                    raise DownloadError(f"{archive}: unsafe entry {m.name!r} in the archive; "
                                        f"it was not unpacked")
            # The "data" filter (Python >= 3.12, backported to 3.8.17+) checks it all again.
            safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
            tar.extractall(staging, members=members, **safe)
    except (tarfile.TarError, EOFError) as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise DownloadError(f"{archive} is not a readable tar archive ({exc}); delete it and "
                            f"download it again") from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    # The official archive holds one top directory; accept its contents bare too.
    entries = os.listdir(staging)
    root = staging
    if len(entries) == 1 and os.path.isdir(os.path.join(staging, entries[0])):
        root = os.path.join(staging, entries[0])
    os.replace(root, target)
    shutil.rmtree(staging, ignore_errors=True)
    return target


def _convert(artifact: Artifact, path: str, out: str, force: bool, progress: bool,
             log) -> str:
    module_name, func_name = artifact.converter  # type: ignore[misc]
    try:
        converter = getattr(importlib.import_module(module_name), func_name)
    except (ImportError, AttributeError) as exc:
        raise DownloadError(
            f"cannot convert {path}: {module_name}.{func_name} is not available in this "
            f"installation ({exc}); the download is kept. Convert it later with "
            f"`{convert_command(artifact, path, out)}`, or pass --no-convert") from None
    from .errors import TableError
    try:
        source = _unpack(artifact, path, log) if artifact.unpack else path
        log(f"converting {source} -> {out}")
        converter(source, out, overwrite=force, progress=progress)
    except (TableError, ValueError, OSError) as exc:
        raise DownloadError(f"the conversion of {path} failed: {exc}; the download is kept "
                            f"at {path}") from None
    return out


def download(benchmark: str, dest: Optional[str] = None, *, only108: bool = False,
             artifact: Optional[str] = None, convert: bool = True, output: Optional[str] = None,
             mirror: Optional[str] = None, urls: Optional[Sequence[str]] = None,
             force: bool = False, timeout: float = 60.0, retries: int = 5,
             retry_wait: float = 1.0, progress: Optional[bool] = None,
             stream: Optional[TextIO] = None,
             log: Optional[Callable[[str], None]] = None) -> DownloadResult:
    """Fetch a benchmark's official file into ``dest`` and convert it to a table.

    ``urls`` replaces the registry's URLs and ``mirror`` (or
    ``$NASBENCH_SUITE_MIRROR``) serves ``<mirror>/<file name>``; tests use
    them to stay off the internet.  With ``force`` the file is fetched again
    and the table rebuilt.  Raises :class:`DownloadError` (with subclasses per
    failure) whose message says what to do.
    """
    log = log or (lambda message: None)
    art = select(benchmark, only108, artifact)
    dest = os.fspath(dest) if dest is not None else default_dest()
    path = os.path.join(dest, art.filename)
    candidates = tuple(urls) if urls else resolve_urls(art, mirror)
    if force:
        for stale in (path, path + ".part"):
            _discard(stale)
        if art.unpack:
            shutil.rmtree(os.path.join(dest, art.unpack), ignore_errors=True)
    digest = _existing(art, path, log)
    downloaded = digest is None
    if digest is not None:
        log(f"{path} is already complete")
    elif not candidates:
        raise DownloadError(f"{art.name} cannot be downloaded automatically ({art.note}); "
                            f"download it by hand from {art.page}")
    else:
        hint = (convert_command(art, path, _table_path(art, dest, output))
                if art.converter else "")
        for i, url in enumerate(candidates):
            log(f"downloading {url}\n  -> {path} ({art.size})")
            try:
                digest = fetch(url, path, sha256=art.sha256, page=art.page, hint=hint,
                               timeout=timeout, retries=retries, retry_wait=retry_wait,
                               progress=progress, stream=stream, log=log).sha256
                break
            except (UnreachableError, HTTPStatusError) as exc:
                if i == len(candidates) - 1:
                    raise
                log(f"{exc}\n  trying the next URL")
    assert digest is not None
    result = DownloadResult(art, path, digest, _checksum_status(art, digest, log), downloaded)
    if not convert:
        return result
    if art.converter is None:
        log(f"no converter reads {art.filename}; it is kept at {path}")
        return result
    out = _table_path(art, dest, output)
    if os.path.exists(out) and not force:
        log(f"{out} already exists; pass --force to rebuild it")
    else:
        _convert(art, path, out, force, progress is not False, log)
    result.table = out
    return result


def _table_path(art: Artifact, dest: str, output: Optional[str]) -> str:
    return os.fspath(output) if output else os.path.join(dest, art.table or art.name + ".h5")


def list_artifacts(out: TextIO) -> None:
    """Write the known files (size, checksum, URL, source) to ``out``."""
    for a in ARTIFACTS.values():
        default = "  (default)" if DEFAULT_ARTIFACT[a.benchmark] == a.name else ""
        out.write(f"{a.benchmark:<9} {a.name:<16} {a.filename}{default}\n")
        out.write(f"    size: {a.size}; {a.note}\n")
        check = a.sha256 or a.sha256_reference
        out.write(f"    sha256: {check + ' ' if check else ''}({a.checksum_note})\n")
        out.write(f"    url: {a.urls[0] if a.urls else 'by hand only: ' + a.page}\n")
        out.write(f"    source: {a.source}\n")
