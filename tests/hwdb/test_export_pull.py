"""`hwdb export` and `hwdb pull`: a round trip that is exact, and clean failures served from 127.0.0.1."""

import http.server
import json
import shutil
import socket
import threading
import time

import pytest
from sqlalchemy import create_engine, text

from hwdb.catalog import Catalog
from hwdb.versions import Versions


def versions(url: str, *, fill: bool = True) -> Versions:
    return Versions(Catalog(url).ensure(fill=fill))


class Handler(http.server.BaseHTTPRequestHandler):
    routes: dict = {}

    def do_GET(self):  # noqa: N802 (http.server's name)
        self.routes.setdefault("_seen", []).append((self.path, self.headers.get("Authorization")))
        status, headers, body, delay = self.routes.get(self.path, (404, {}, b"not found", 0))
        time.sleep(delay)
        self.send_response(status)
        for key, value in headers.items():
            if value:  # an empty value means: do not send this header
                self.send_header(key, value)
        if "Content-Length" not in headers:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, *args):
        pass


def _serve():
    """An HTTP server on 127.0.0.1 in a thread: (routes, base URL, stop)."""
    routes: dict = {}
    handler = type("H", (Handler,), {"routes": routes})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()

    def stop():
        httpd.shutdown()
        httpd.server_close()

    return routes, f"http://127.0.0.1:{httpd.server_address[1]}", stop


@pytest.fixture
def server():
    """An HTTP server on 127.0.0.1; tests put (status, headers, body, delay) under a path; "_seen" lists the
    (path, Authorization header) of every request."""
    routes, base, stop = _serve()
    yield routes, base
    stop()


@pytest.fixture
def other_server():
    """A second server: another origin (port), for redirects between hosts."""
    routes, base, stop = _serve()
    yield routes, base
    stop()


def revisions_in(url: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return connection.execute(text("SELECT count(*) FROM spec_revision")).scalar()
    finally:
        engine.dispose()


def test_export_then_pull_into_an_empty_catalog_is_exact(catalog_url, empty_url, server, cli):
    a = versions(catalog_url)
    a.edit("t4", {"tdp": "75 W"}, source_url="https://example.com/t4.pdf", note="lab measurement")
    a.edit("p100-pcie", retire=True)
    exported = a.export()
    routes, base = server
    routes["/catalog.json"] = (200, {"Content-Type": "application/json"}, json.dumps(exported).encode(), 0)
    code, out, err = cli("pull", f"{base}/catalog.json", "--db", empty_url)
    assert code == 0, err
    assert out.startswith("copied ")
    b = versions(empty_url)
    assert b.export() == exported  # identical, revision for revision
    assert b.catalog.device("t4").tdp_w == 75 and b.revisions("t4")[-1].note == "lab measurement"
    assert b.catalog.device("p100-pcie").retired
    assert [r.name for r in b.releases()] == [r.name for r in a.releases()]
    assert b.diff("2026.11", None).changed.keys() == a.diff("2026.11", None).changed.keys()


def test_pull_into_a_filled_catalog_adds_revisions(catalog_url, tmp_path, server, cli):
    source_db = f"sqlite:///{tmp_path / 'other.sqlite'}"
    other = versions(source_db)
    other.edit("a10", {"tdp": "160 W"}, source_url="https://example.com/a10.pdf")
    routes, base = server
    routes["/x.json"] = (200, {}, json.dumps(other.export()).encode(), 0)
    code, out, _ = cli("pull", f"{base}/x.json", "--db", catalog_url)
    assert code == 0 and out.strip().endswith(": 1 device changed")
    mine = versions(catalog_url)
    assert mine.catalog.device("a10").tdp_w == 160
    last = mine.revisions("a10")[-1]
    assert last.origin == "pull" and f"{base}/x.json" in last.note


def test_export_csv_and_release_filter(catalog_url, cli, tmp_path):
    v = versions(catalog_url)
    v.edit("t4", {"tdp": "75 W"}, source_url="https://example.com/t4.pdf")
    assert all(len(d["revisions"]) == 1 for d in v.export("2026.11")["devices"])
    code, out, _ = cli("export", "--format", "csv", "--db", catalog_url)
    lines = out.splitlines()
    assert code == 0 and lines[0] == "device,revision,created_at,release,origin,author,field,value"
    assert any(line.startswith("nvidia-t4,2,") and ",tdp,75 W" in line for line in lines)
    target = tmp_path / "out.json"
    code, out, _ = cli("export", "-o", str(target), "--db", catalog_url)
    assert code == 0 and json.loads(target.read_text())["format"] == "hwdb-export"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bad_export(kind: str, good: dict) -> dict:
    data = json.loads(json.dumps(good))
    if kind == "version":
        data["version"] = 99
    elif kind == "figure":
        t4 = next(d for d in data["devices"] if d["slug"] == "nvidia-t4")
        t4["revisions"][-1]["entry"]["specs"]["boost_clock"]["value"] = "1755 MHz"  # derived no longer matches the datasheet
    elif kind == "source":
        data["sources"].pop(next(iter(data["sources"])))
    return data


@pytest.mark.parametrize(("route", "needle"), [
    ("refused", "cannot connect"),
    ("/slow", "timed out"),
    ("/404", "HTTP 404"),
    ("/500", "HTTP 500"),
    ("/truncated", "truncated"),
    ("/html", "not a JSON document"),
    ("/empty", "empty response"),
    ("/version", "export version 99 is not supported"),
    ("/figure", "over 2%"),
    ("/source", "unknown sources"),
    ("/huge", "over the 50 MB limit"),
    ("/huge-declared", "over the 50 MB limit"),
    ("ftp", "only http:// and https:// URLs"),
])
def test_pull_failures_are_one_line_and_change_nothing(catalog_url, server, cli, route, needle):
    routes, base = server
    good = versions(catalog_url).export()
    routes["/slow"] = (200, {}, b"{}", 3)
    routes["/500"] = (500, {}, b"oops", 0)
    routes["/truncated"] = (200, {"Content-Length": "100000"}, b'{"format": "hwdb-export"', 0)
    routes["/html"] = (200, {"Content-Type": "text/html"}, b"<html>hello</html>", 0)
    routes["/empty"] = (200, {}, b"", 0)
    for kind in ("version", "figure", "source"):
        routes[f"/{kind}"] = (200, {}, json.dumps(bad_export(kind, good)).encode(), 0)
    routes["/huge"] = (200, {"Content-Length": ""}, b" " * (50 * 2**20 + 10), 0)  # no usable length: counted as it streams
    routes["/huge-declared"] = (200, {"Content-Length": str(60 * 2**20)}, b"{}", 0)
    url = {"refused": f"http://127.0.0.1:{_closed_port()}/x.json", "ftp": "ftp://127.0.0.1/x.json"}.get(route, base + route)
    before = revisions_in(catalog_url)
    code, out, err = cli("pull", url, "--timeout", "1", "--db", catalog_url)
    assert code == 2 and out == "" and err.count("\n") == 1 and needle in err and "Traceback" not in err, err
    assert revisions_in(catalog_url) == before


# -- security: schemes, redirects, credentials ---------------------------------------------------------
def _chain(routes: dict, base: str, hops: int, end: str) -> str:
    """/r0 -> /r1 -> ... -> /r{hops-1} -> `end`: `hops` redirects."""
    for i in range(hops):
        routes[f"/r{i}"] = (302, {"Location": f"{base}/r{i + 1}" if i + 1 < hops else end}, b"", 0)
    return f"{base}/r0"


def test_pull_follows_five_redirects_and_refuses_six(db, server, cli):
    routes, base = server
    good = versions(f"sqlite:///{db}").export()
    routes["/catalog.json"] = (200, {}, json.dumps(good).encode(), 0)
    code, out, err = cli("pull", _chain(routes, base, 5, "/catalog.json"), "--db", str(db))
    assert code == 0 and "0 devices changed" in out, err
    code, out, err = cli("pull", _chain(routes, base, 6, "/catalog.json"), "--db", str(db))
    assert code == 2 and out == "" and "more than 5 redirects" in err and err.count("\n") == 1


@pytest.mark.parametrize("target", ["file:///etc/passwd", "ftp://127.0.0.1/catalog.json", "gopher://127.0.0.1/x"])
def test_pull_refuses_a_redirect_to_another_scheme(db, server, cli, target):
    routes, base = server
    routes["/go"] = (302, {"Location": target}, b"", 0)
    before = db.read_bytes()
    code, out, err = cli("pull", base + "/go", "--db", str(db))
    assert code == 2 and out == "" and "only http:// and https:// URLs" in err and target.split(":")[0] in err
    assert db.read_bytes() == before


def test_credentials_in_the_url_are_never_printed_stored_or_sent_elsewhere(db, tmp_path, server, other_server, cli):
    routes, base = server
    other_routes, other = other_server
    theirs = tmp_path / "theirs.sqlite"
    shutil.copy(db, theirs)
    assert cli("edit", "t4", "--set", "tdp_w=75", "--source", "https://example.com/t4.pdf", "--db", str(theirs))[0] == 0
    good = versions(f"sqlite:///{theirs}").export()
    other_routes["/catalog.json"] = (200, {}, json.dumps(good).encode(), 0)
    routes["/start"] = (302, {"Location": "/same-host"}, b"", 0)
    routes["/same-host"] = (302, {"Location": other + "/catalog.json"}, b"", 0)
    secret_url = base.replace("http://", "http://alice:s3cret@") + "/start"
    code, out, err = cli("pull", secret_url, "--db", str(db))
    assert code == 0, err
    assert "s3cret" not in out + err and "alice:***@" in out
    assert [auth is not None for _, auth in routes["_seen"]] == [True, True]  # its own host: the password goes
    assert [auth for _, auth in other_routes["_seen"]] == [None]  # the host a redirect named: it does not
    notes = _notes(db)
    assert any("pulled from http://alice:***@" in n for n in notes) and not any("s3cret" in n for n in notes)
    code, out, err = cli("pull", base.replace("http://", "http://alice:s3cret@") + "/404", "--db", str(db))
    assert code == 2 and "s3cret" not in err and "alice:***@" in err
    code, out, err = cli("pull", f"http://alice:s3cret@127.0.0.1:{_closed_port()}/x", "--db", str(db))
    assert code == 2 and "s3cret" not in err and "cannot connect" in err


def _notes(path) -> list[str]:
    import sqlite3

    with sqlite3.connect(path) as connection:  # reads the WAL too
        return [row[0] or "" for row in connection.execute("SELECT note FROM spec_revision")]
