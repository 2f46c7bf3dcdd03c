"""``nasbench-suite download``: resumable, verified downloads.

Every test talks to a threaded HTTP server on 127.0.0.1 (port 0) that the
test starts and stops itself; nothing reaches the internet.  The server logs
each request (its Range header, the status, the bytes it sent), so a test can
check that a resume asked for the remaining bytes only.  Each test is bounded
by an alarm, and every client call uses a short timeout.
"""
from __future__ import annotations

import argparse
import hashlib
import http.server
import io
import random
import re
import signal
import socket
import sys
import tarfile
import threading
import time
import types
from dataclasses import replace

import pytest

from nasbench_suite.cli.tables import add_download_parser
from nasbench_suite.progress import Progress
from nasbench_suite.tables import download as dl

PAYLOAD = random.Random(1234).randbytes(300_000)
PAYLOAD_SHA = hashlib.sha256(PAYLOAD).hexdigest()
NAME = "fixture.bin"
TIMEOUT = 5.0
ZERO_SHA = "0" * 64


@pytest.fixture(autouse=True)
def _bounded(monkeypatch):
    """No proxy between us and 127.0.0.1, no stray mirror, and a hard time limit."""
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", dl.MIRROR_ENV):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    if not hasattr(signal, "SIGALRM"):
        yield
        return

    def _timeout(signum, frame):
        raise TimeoutError("test ran past its 30 s bound")

    previous = signal.signal(signal.SIGALRM, _timeout)
    signal.alarm(30)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


class _Handler(http.server.BaseHTTPRequestHandler):
    timeout = 10  # a stuck client cannot hold a server thread for long

    def log_message(self, *args):  # keep pytest output clean
        pass

    def do_GET(self):
        srv = self.server
        entry = {"path": self.path, "range": self.headers.get("Range"), "status": None, "sent": 0}
        srv.requests.append(entry)
        if self.path.startswith("/moved/"):  # as Google Drive redirects to its content host
            entry["status"] = 302
            self.send_response(302)
            self.send_header("Location", self.path[len("/moved"):])
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        data = srv.files.get(self.path.lstrip("/").split("?")[0])
        if data is None:
            entry["status"] = 404
            self.send_error(404, "Not Found")
            return
        start, status = 0, 200
        if srv.mode != "ignore-range" and entry["range"]:
            start = int(re.fullmatch(r"bytes=(\d+)-", entry["range"]).group(1))
            if start >= len(data):
                entry["status"] = 416
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            status = 206
        body = data[start:]
        entry["status"] = status
        self.send_response(status)
        self.send_header("Content-Type", srv.content_type)
        self.send_header("Content-Length", str(len(body)))
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        self.end_headers()
        if srv.cut_at is not None and srv.cuts_left > 0 and start < srv.cut_at:
            # Send part of the body, then either hang up or go silent.
            srv.cuts_left -= 1
            n = srv.cut_at - start
            self.wfile.write(body[:n])
            entry["sent"] = n
            if srv.mode == "stall":
                time.sleep(srv.stall_s)
            self.close_connection = True
            return
        self.wfile.write(body)
        entry["sent"] = len(body)


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, mode="range", cut_at=None, cuts=1, content_type="application/octet-stream"):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.mode, self.cut_at, self.cuts_left = mode, cut_at, cuts
        self.content_type, self.stall_s = content_type, 1.5
        self.files = {NAME: PAYLOAD}
        self.requests = []

    def url(self, name=NAME):
        return f"http://127.0.0.1:{self.server_address[1]}/{name}"


@pytest.fixture
def serve():
    servers = []

    def start(**kwargs):
        server = _Server(**kwargs)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def _fetch(url, path, **kwargs):
    kwargs.setdefault("timeout", TIMEOUT)
    kwargs.setdefault("retry_wait", 0.0)
    kwargs.setdefault("progress", False)
    return dl.fetch(url, str(path), **kwargs)


def _leftovers(tmp_path):
    return sorted(p.name for p in tmp_path.iterdir())


# --------------------------------------------------------------------------
# the downloader

def test_full_download_verified_and_renamed(serve, tmp_path):
    server = serve()
    target = tmp_path / "out.bin"
    result = _fetch(server.url(), target, sha256=PAYLOAD_SHA)
    assert target.read_bytes() == PAYLOAD
    assert result.sha256 == PAYLOAD_SHA and result.bytes == len(PAYLOAD)
    assert result.resumed_from == 0
    assert _leftovers(tmp_path) == ["out.bin", "out.bin.sha256"]  # no .part left
    assert (tmp_path / "out.bin.sha256").read_text() == f"{PAYLOAD_SHA}  out.bin\n"
    assert [(r["range"], r["status"]) for r in server.requests] == [(None, 200)]


def test_resume_requests_only_the_remaining_bytes(serve, tmp_path):
    server = serve()
    target = tmp_path / "out.bin"
    kept = 123_457
    (tmp_path / "out.bin.part").write_bytes(PAYLOAD[:kept])
    result = _fetch(server.url(), target, sha256=PAYLOAD_SHA)
    assert target.read_bytes() == PAYLOAD
    assert result.resumed_from == kept
    assert len(server.requests) == 1
    request = server.requests[0]
    assert request["range"] == f"bytes={kept}-"
    assert request["status"] == 206
    assert request["sent"] == len(PAYLOAD) - kept


def test_resume_survives_a_redirect(serve, tmp_path):
    server = serve()
    target = tmp_path / "out.bin"
    kept = 4096
    (tmp_path / "out.bin.part").write_bytes(PAYLOAD[:kept])
    _fetch(server.url("moved/" + NAME), target, sha256=PAYLOAD_SHA)
    assert target.read_bytes() == PAYLOAD
    assert [(r["path"], r["range"], r["status"]) for r in server.requests] == [
        (f"/moved/{NAME}", f"bytes={kept}-", 302), (f"/{NAME}", f"bytes={kept}-", 206)]


def test_server_ignoring_range_gets_a_fresh_download(serve, tmp_path):
    server = serve(mode="ignore-range")
    target = tmp_path / "out.bin"
    # Garbage in the .part proves it is discarded, not appended to.
    (tmp_path / "out.bin.part").write_bytes(b"x" * 5000)
    messages = []
    _fetch(server.url(), target, sha256=PAYLOAD_SHA, log=messages.append)
    assert target.read_bytes() == PAYLOAD
    assert [(r["range"], r["status"]) for r in server.requests] == [("bytes=5000-", 200)]
    assert any("does not support resuming" in m for m in messages)


def test_complete_part_file_answered_416_is_finished_without_a_body(serve, tmp_path):
    server = serve()
    target = tmp_path / "out.bin"
    (tmp_path / "out.bin.part").write_bytes(PAYLOAD)
    _fetch(server.url(), target, sha256=PAYLOAD_SHA)
    assert target.read_bytes() == PAYLOAD
    assert [(r["status"], r["sent"]) for r in server.requests] == [(416, 0)]


def test_part_file_longer_than_the_file_is_discarded(serve, tmp_path):
    # e.g. the file changed upstream: the server refuses the range (416) for a
    # size that is not ours, so the download starts over without a Range.
    server = serve()
    target = tmp_path / "out.bin"
    (tmp_path / "out.bin.part").write_bytes(PAYLOAD + b"stale tail")
    _fetch(server.url(), target, sha256=PAYLOAD_SHA)
    assert target.read_bytes() == PAYLOAD
    assert [(r["range"], r["status"]) for r in server.requests] == [
        (f"bytes={len(PAYLOAD) + 10}-", 416), (None, 200)]


def test_dropped_connection_is_resumed_within_one_call(serve, tmp_path):
    cut = 100_000
    server = serve(cut_at=cut)
    target = tmp_path / "out.bin"
    messages = []
    result = _fetch(server.url(), target, sha256=PAYLOAD_SHA, retries=2, log=messages.append)
    assert target.read_bytes() == PAYLOAD and result.sha256 == PAYLOAD_SHA
    assert [(r["range"], r["sent"]) for r in server.requests] == [
        (None, cut), (f"bytes={cut}-", len(PAYLOAD) - cut)]
    assert any("continuing at 100.0 kB" in m for m in messages)


def test_dropped_connection_keeps_the_part_for_the_next_run(serve, tmp_path):
    cut = 100_000
    server = serve(cut_at=cut)
    target = tmp_path / "out.bin"
    with pytest.raises(dl.DownloadError, match="run the same command again to resume") as info:
        _fetch(server.url(), target, sha256=PAYLOAD_SHA, retries=0)
    assert str(tmp_path / "out.bin.part") in str(info.value)
    assert not target.exists()
    assert (tmp_path / "out.bin.part").read_bytes() == PAYLOAD[:cut]
    # The next run (a new process in real life) asks for the rest only.
    _fetch(server.url(), target, sha256=PAYLOAD_SHA, retries=0)
    assert target.read_bytes() == PAYLOAD
    assert server.requests[-1]["range"] == f"bytes={cut}-"
    assert server.requests[-1]["sent"] == len(PAYLOAD) - cut


def test_stalled_connection_times_out_and_resumes(serve, tmp_path):
    cut = 50_000
    server = serve(mode="stall", cut_at=cut)
    target = tmp_path / "out.bin"
    started = time.monotonic()
    _fetch(server.url(), target, sha256=PAYLOAD_SHA, timeout=0.3, retries=1)
    assert time.monotonic() - started < 5
    assert target.read_bytes() == PAYLOAD
    assert server.requests[-1]["range"] == f"bytes={cut}-"


def test_checksum_mismatch_deletes_the_file_and_names_both_digests(serve, tmp_path):
    server = serve()
    target = tmp_path / "out.bin"
    with pytest.raises(dl.ChecksumError) as info:
        _fetch(server.url(), target, sha256=ZERO_SHA, page="https://example.org/page")
    message = str(info.value)
    assert ZERO_SHA in message and PAYLOAD_SHA in message
    assert "deleted" in message and "again" in message and "https://example.org/page" in message
    assert (info.value.expected, info.value.actual) == (ZERO_SHA, PAYLOAD_SHA)
    assert _leftovers(tmp_path) == []


def test_checksum_mismatch_after_resume_covers_the_kept_prefix(serve, tmp_path):
    # A corrupt kept prefix must fail the check even though the rest is right.
    server = serve()
    target = tmp_path / "out.bin"
    kept = 1000
    (tmp_path / "out.bin.part").write_bytes(b"\0" * kept)
    with pytest.raises(dl.ChecksumError):
        _fetch(server.url(), target, sha256=PAYLOAD_SHA)
    assert server.requests[0]["range"] == f"bytes={kept}-"
    assert _leftovers(tmp_path) == []


def test_http_404_is_a_clear_error_and_leaves_nothing(serve, tmp_path):
    server = serve()
    url = server.url("missing.bin")
    with pytest.raises(dl.HTTPStatusError) as info:
        _fetch(url, tmp_path / "out.bin", page="https://example.org/page",
               hint="nasbench-suite convert nb101 out.bin")
    assert info.value.status == 404
    message = str(info.value)
    assert "HTTP 404" in message and url in message
    assert "https://example.org/page" in message and "nasbench-suite convert" in message
    assert _leftovers(tmp_path) == []


def test_connection_refused_names_the_host_and_the_way_out(tmp_path):
    # A bound socket that does not listen refuses connections, and keeps the port ours.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        url = f"http://127.0.0.1:{port}/{NAME}"
        started = time.monotonic()
        with pytest.raises(dl.UnreachableError) as info:
            _fetch(url, tmp_path / "out.bin", page="https://example.org/page",
                   hint="nasbench-suite convert nb101 out.bin")
    assert time.monotonic() - started < 5
    message = str(info.value)
    assert message.startswith(f"cannot reach 127.0.0.1:{port}: ")
    assert "download it by hand from https://example.org/page" in message
    assert "run `nasbench-suite convert nb101 out.bin`" in message
    assert _leftovers(tmp_path) == []


def test_web_page_instead_of_the_file_is_refused(serve, tmp_path):
    server = serve(content_type="text/html; charset=utf-8")
    with pytest.raises(dl.DownloadError, match="web page instead of the file"):
        _fetch(server.url(), tmp_path / "out.bin")
    assert _leftovers(tmp_path) == []


# --------------------------------------------------------------------------
# progress bar

def test_progress_line_shows_percent_rate_and_eta():
    now = [100.0]
    out = io.StringIO()
    bar = Progress(10_000_000, stream=out, enabled=True, desc="f.bin", bytes=True,
                   clock=lambda: now[0])
    now[0] += 2.0
    bar.update(4_000_000)  # 2 MB/s, 6 MB left -> 3 s
    line = bar.line()
    assert "40.0%" in line and "4.0 MB/10.0 MB" in line
    assert "2.0 MB/s" in line and "ETA 0:03" in line
    bar.close()
    assert "ETA 0:03" in out.getvalue()  # forced on: lines on a non-terminal
    assert "\r" not in out.getvalue()


def test_progress_unknown_total_shows_bytes_and_rate():
    now = [0.0]
    bar = Progress(None, enabled=False, desc="f.bin", bytes=True, clock=lambda: now[0])
    now[0] += 1.0
    bar.update(1500)
    assert bar.line() == "f.bin  1.5 kB  1.5 kB/s  elapsed 0:01"


def test_progress_is_silent_off_a_terminal_unless_forced(serve, tmp_path):
    server = serve()
    quiet, loud = io.StringIO(), io.StringIO()
    _fetch(server.url(), tmp_path / "a.bin", progress=None, stream=quiet)
    _fetch(server.url(), tmp_path / "b.bin", progress=True, stream=loud)
    assert quiet.getvalue() == ""
    text = loud.getvalue()
    assert "b.bin" in text and "100.0%" in text and "B/s" in text and "ETA" in text


# --------------------------------------------------------------------------
# registry, download() and conversion

def test_registry_has_the_official_checksums_and_urls():
    nb101 = dl.ARTIFACTS["nb101-full"]
    assert nb101.urls == ("https://storage.googleapis.com/nasbench/nasbench_full.tfrecord",)
    assert nb101.sha256 == "3d64db8180fb1b0207212f9032205064312b6907a3bbc81eabea10db2f5c7e9c"
    only108 = dl.ARTIFACTS["nb101-only108"]
    assert only108.filename == "nasbench_only108.tfrecord"
    assert only108.sha256 == "4c39c3936e36a85269881d659e44e61a245babcb72cb374eacacf75d0e5f4fd1"
    for art in dl.ARTIFACTS.values():
        for digest in (art.sha256, art.sha256_reference):
            assert digest is None or re.fullmatch(r"[0-9a-f]{64}", digest)
        if art.benchmark != "nb101":  # the authors publish no checksum for these
            assert art.sha256 is None and art.checksum_note
    assert dl.select("nb101").name == "nb101-full"
    assert dl.select("nb101", only108=True).name == "nb101-only108"
    assert dl.select("nb201").filename == "NAS-Bench-201-v1_1-096897.pth"
    assert dl.select("nats-tss").filename == "NATS-tss-v1_0-3ffb9-simple.tar"
    with pytest.raises(dl.DownloadError, match="--only108 applies to nb101 only"):
        dl.select("nb201", only108=True)
    with pytest.raises(dl.DownloadError, match="nb201-v1_1"):
        dl.select("nb201", artifact="nb101-full")


def test_mirror_replaces_every_url(monkeypatch):
    art = dl.ARTIFACTS["nb201-v1_1"]
    assert dl.resolve_urls(art, "http://127.0.0.1:9/m/") == (
        "http://127.0.0.1:9/m/NAS-Bench-201-v1_1-096897.pth",)
    monkeypatch.setenv(dl.MIRROR_ENV, "http://127.0.0.1:9/env")
    assert dl.resolve_urls(art) == ("http://127.0.0.1:9/env/NAS-Bench-201-v1_1-096897.pth",)
    monkeypatch.delenv(dl.MIRROR_ENV)
    assert dl.resolve_urls(art) == art.urls


def _serving(server, art):
    server.files[art.filename] = PAYLOAD
    return server.url("")


def _fake_converter(monkeypatch, module, func):
    calls = []

    def convert(source, out, **kwargs):
        calls.append((source, out, kwargs))
        with open(out, "wb") as f:
            f.write(b"table")

    monkeypatch.setitem(sys.modules, module, types.SimpleNamespace(**{func: convert}))
    return calls


def test_download_converts_with_the_nb101_converter(serve, tmp_path, monkeypatch):
    server = serve()
    art = replace(dl.ARTIFACTS["nb101-only108"], sha256=PAYLOAD_SHA)
    monkeypatch.setitem(dl.ARTIFACTS, art.name, art)
    calls = _fake_converter(monkeypatch, "nasbench_suite.tables.convert_nb101", "convert_nb101")
    result = dl.download("nb101", tmp_path, only108=True, mirror=_serving(server, art),
                         timeout=TIMEOUT, progress=False)
    source = str(tmp_path / "nasbench_only108.tfrecord")
    assert result.path == source and result.downloaded
    assert result.checksum == "verified against the published sha256"
    assert calls == [(source, str(tmp_path / "nb101-only108.h5"),
                      {"overwrite": False, "progress": False})]
    assert result.table == str(tmp_path / "nb101-only108.h5")
    # Again: the file is verified in place, not fetched; the table is not rebuilt.
    again = dl.download("nb101", tmp_path, only108=True, mirror=_serving(server, art),
                        timeout=TIMEOUT, progress=False)
    assert not again.downloaded and len(server.requests) == 1 and len(calls) == 1


def test_existing_file_with_a_wrong_checksum_is_fetched_again(serve, tmp_path, monkeypatch):
    server = serve()
    art = replace(dl.ARTIFACTS["nb101-only108"], sha256=PAYLOAD_SHA)
    monkeypatch.setitem(dl.ARTIFACTS, art.name, art)
    (tmp_path / art.filename).write_bytes(b"truncated by hand")
    messages = []
    result = dl.download("nb101", tmp_path, only108=True, convert=False,
                         mirror=_serving(server, art), timeout=TIMEOUT, progress=False,
                         log=messages.append)
    assert result.downloaded and (tmp_path / art.filename).read_bytes() == PAYLOAD
    assert any("does not match the published sha256" in m for m in messages)


def test_missing_converter_keeps_the_download_and_says_so(serve, tmp_path, monkeypatch):
    server = serve()
    art = dl.ARTIFACTS["nb201-v1_1"]
    monkeypatch.setitem(sys.modules, "nasbench_suite.tables.convert_nb201", None)
    with pytest.raises(dl.DownloadError) as info:
        dl.download("nb201", tmp_path, mirror=_serving(server, art), timeout=TIMEOUT,
                    progress=False)
    message = str(info.value)
    assert "nasbench_suite.tables.convert_nb201.convert_nb201 is not available" in message
    assert "--no-convert" in message and "the download is kept" in message
    source, table = tmp_path / art.filename, tmp_path / "nb201-v1_1.h5"
    assert f"`nasbench-suite convert nb201 {source} -o {table}`" in message
    assert (tmp_path / art.filename).read_bytes() == PAYLOAD


def test_third_party_checksum_mismatch_warns_but_keeps_the_file(serve, tmp_path):
    server = serve()
    art = dl.ARTIFACTS["nats-tss-simple"]
    messages = []
    result = dl.download("nats-tss", tmp_path, convert=False, mirror=_serving(server, art),
                         timeout=TIMEOUT, progress=False, log=messages.append)
    assert (tmp_path / art.filename).read_bytes() == PAYLOAD
    assert result.sha256 == PAYLOAD_SHA and result.checksum.startswith("differs")
    assert any(art.sha256_reference in m and "kept" in m for m in messages)


def _tar(members):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def test_nats_archive_is_unpacked_and_the_directory_converted(serve, tmp_path, monkeypatch):
    server = serve()
    art = dl.ARTIFACTS["nats-tss-simple"]
    top = "NATS-tss-v1_0-3ffb9-simple"
    server.files[art.filename] = _tar([(f"{top}/meta.pickle.pbz2", b"meta"),
                                       (f"{top}/000000.pickle.pbz2", b"arch 0")])
    calls = _fake_converter(monkeypatch, "nasbench_suite.tables.convert_nb201", "convert_nb201")
    result = dl.download("nats-tss", tmp_path, mirror=server.url(""), timeout=TIMEOUT,
                         progress=False)
    unpacked = tmp_path / top
    assert sorted(p.name for p in unpacked.iterdir()) == ["000000.pickle.pbz2",
                                                          "meta.pickle.pbz2"]
    assert calls == [(str(unpacked), str(tmp_path / "nats-tss.h5"),
                      {"overwrite": False, "progress": False})]
    assert result.table == str(tmp_path / "nats-tss.h5")
    assert not any(p.name.endswith(".unpacking") for p in tmp_path.iterdir())


def test_archive_with_an_escaping_path_is_refused(serve, tmp_path, monkeypatch):
    server = serve()
    art = dl.ARTIFACTS["nats-tss-simple"]
    server.files[art.filename] = _tar([("../evil.txt", b"x")])
    calls = _fake_converter(monkeypatch, "nasbench_suite.tables.convert_nb201", "convert_nb201")
    with pytest.raises(dl.DownloadError, match="unsafe entry '../evil.txt'"):
        dl.download("nats-tss", tmp_path, mirror=server.url(""), timeout=TIMEOUT,
                    progress=False)
    assert calls == [] and not (tmp_path.parent / "evil.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [art.filename, art.filename + ".sha256"]


def test_end_to_end_with_the_real_nb101_converter(serve, tmp_path, monkeypatch):
    """A tiny TFRecord (the NB101 converter tests' fixture writer) through
    download + the real converter, read back with Benchmark."""
    fixtures = pytest.importorskip("test_convert_nb101")
    from nasbench_suite.tables import Benchmark
    from nasbench_suite.tables.tfrecord import write_records

    records, expected = fixtures.make_records(budgets=(108,))
    source = tmp_path / "fixture.tfrecord"
    write_records(source, records)
    data = source.read_bytes()
    server = serve()
    art = replace(dl.ARTIFACTS["nb101-only108"], sha256=hashlib.sha256(data).hexdigest())
    monkeypatch.setitem(dl.ARTIFACTS, art.name, art)
    server.files[art.filename] = data
    dest = tmp_path / "dest"
    result = dl.download("nb101", dest, only108=True, mirror=server.url(""), timeout=TIMEOUT,
                         progress=False)
    bench = Benchmark.open(result.table)
    assert bench.space == "nb101" and len(bench) == len({h for h, _ in expected})
    assert bench.fidelities("cifar10").tolist() == [108]


def test_by_hand_only_artifact_points_at_the_page(tmp_path):
    with pytest.raises(dl.DownloadError, match="download it by hand from https://drive"):
        dl.download("nats-tss", tmp_path, artifact="nats-tss-full", progress=False)


# --------------------------------------------------------------------------
# the command line

def _cli(argv, capsys):
    parser = argparse.ArgumentParser(prog="nasbench-suite")
    add_download_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    rc = args.run(args)
    out, err = capsys.readouterr()
    return rc, out, err


def test_cli_enforces_the_published_nb101_checksum(serve, tmp_path, capsys):
    server = serve()
    mirror = _serving(server, dl.ARTIFACTS["nb101-only108"])
    rc, out, err = _cli(["download", "nb101", "--only108", "--dest", str(tmp_path),
                         "--mirror", mirror, "--timeout", "5", "--no-convert"], capsys)
    assert rc == 2 and out == ""
    assert "checksum mismatch" in err and PAYLOAD_SHA in err
    assert dl.ARTIFACTS["nb101-only108"].sha256 in err
    assert "Traceback" not in err
    assert _leftovers(tmp_path) == []


def test_cli_downloads_through_the_mirror_env(serve, tmp_path, capsys, monkeypatch):
    server = serve()
    art = dl.ARTIFACTS["nb201-v1_1"]
    monkeypatch.setenv(dl.MIRROR_ENV, _serving(server, art))
    rc, out, err = _cli(["download", "nb201", "--dest", str(tmp_path), "--no-convert",
                         "--timeout", "5"], capsys)
    assert rc == 0, err
    assert f"sha256  {PAYLOAD_SHA}" in out and str(tmp_path / art.filename) in out
    assert (tmp_path / (art.filename + ".sha256")).read_text().split()[0] == PAYLOAD_SHA
    assert server.requests[0]["path"] == "/" + art.filename


def test_cli_unreachable_host_message(tmp_path, capsys):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        rc, out, err = _cli(["download", "nb101", "--dest", str(tmp_path), "--mirror",
                             f"http://127.0.0.1:{port}", "--timeout", "5", "-q"], capsys)
    assert rc == 2
    assert err.startswith(f"nasbench-suite: error: cannot reach 127.0.0.1:{port}: ")
    assert ("download it by hand from "
            "https://storage.googleapis.com/nasbench/nasbench_full.tfrecord into ") in err
    assert f"nasbench-suite convert nb101 {tmp_path / 'nasbench_full.tfrecord'} -o " in err


def test_cli_list_and_missing_benchmark(capsys):
    rc, out, _ = _cli(["download", "--list"], capsys)
    assert rc == 0
    assert "nasbench_only108.tfrecord" in out and "NATS-tss-v1_0-3ffb9-simple.tar" in out
    assert "3d64db8180fb1b0207212f9032205064312b6907a3bbc81eabea10db2f5c7e9c" in out
    rc, _, err = _cli(["download"], capsys)
    assert rc == 2 and "--list" in err
