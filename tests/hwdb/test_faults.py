"""Faults: a writer killed mid-transaction, a full or read-only disk. The catalog stays consistent (and readable).

A writer is stopped inside its transaction deterministically: the child process wraps
`Catalog._write_revision` so that, after writing (and flushing) a revision, it touches a file and sleeps;
the test then SIGKILLs it. A database from a newer hwdb is covered in test_migrations.py.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.hwdb.test_export_pull import _serve

REPO = Path(__file__).resolve().parents[2]

CHILD = '''
import sys, time, pathlib
from hwdb.catalog import Catalog
signal_file, action = pathlib.Path(sys.argv[1]), sys.argv[2]
original = Catalog._write_revision
def write_then_hang(self, session, *args, **kwargs):
    revision = original(self, session, *args, **kwargs)
    session.flush()  # the revision's rows are in the database, uncommitted
    signal_file.write_text("inside the transaction")
    time.sleep(600)
    return revision
Catalog._write_revision = write_then_hang
if action == "pull":
    from hwdb.cli import run
    sys.exit(run(["pull", sys.argv[3], "--db", sys.argv[4]]))
else:
    Catalog(sys.argv[3], data=pathlib.Path(sys.argv[4])).ensure()
'''


def _counts(url: str) -> dict:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return {t: connection.execute(text(f"SELECT count(*) FROM {t}")).scalar()
                    for t in ("device", "spec_revision", "spec_value", "peak", "catalog_release", "device_current", "source")}
    finally:
        engine.dispose()


def _kill_inside_transaction(tmp_path: Path, *args: str) -> None:
    signal_file = tmp_path / "inside"
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(signal_file), *args], cwd=REPO,
                             env={**os.environ, "PYTHONPATH": str(REPO)}, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not signal_file.exists():
        if child.poll() is not None:
            pytest.fail(f"the writer ended before its transaction: {child.stderr.read().decode()[-2000:]}")
        if time.monotonic() > deadline:
            child.kill()
            pytest.fail("the writer never reached its transaction")
        time.sleep(0.05)
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL


def _consistent(url: str) -> None:
    if url.startswith("sqlite:///"):
        import sqlite3

        with sqlite3.connect(url.removeprefix("sqlite:///")) as connection:
            assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            assert connection.execute("PRAGMA foreign_key_check").fetchall() == []


@pytest.fixture
def remote(filled_db, tmp_path):
    """A server on 127.0.0.1 serving an export in which three devices were edited."""
    theirs = tmp_path / "theirs.sqlite"
    shutil.copy(filled_db, theirs)
    from hwdb.cli import run

    for device, tdp in (("t4", "75"), ("a100", "401"), ("l4", "73")):
        assert run(["edit", device, "--set", f"tdp_w={tdp}", "--source", "https://example.com/lab.pdf", "--db", str(theirs)]) == 0
    from hwdb.catalog import Catalog
    from hwdb.versions import Versions

    routes, base, stop = _serve()
    routes["/catalog.json"] = (200, {}, json.dumps(Versions(Catalog(str(theirs)).ensure()).export()).encode(), 0)
    yield base + "/catalog.json"
    stop()


def test_sigkill_during_pull_leaves_the_catalog_as_it_was(catalog_url, remote, tmp_path, cli):
    before = _counts(catalog_url)
    _kill_inside_transaction(tmp_path, "pull", remote, catalog_url)
    _consistent(catalog_url)
    assert _counts(catalog_url) == before
    code, out, _ = cli("show", "t4", "--json", "--db", catalog_url)
    assert code == 0 and json.loads(out)["specs"]["tdp"]["value"] == 70
    # and the next pull (its lock released with the dead process) applies all of it
    code, out, err = cli("pull", remote, "--db", catalog_url)
    assert code == 0 and "3 devices changed" in out, err
    assert _counts(catalog_url)["spec_revision"] == before["spec_revision"] + 3


def test_sigkill_during_a_release_upgrade_leaves_the_old_release(catalog_url, data_copy, tmp_path):
    path = data_copy / "devices/nvidia/turing.toml"
    path.write_text(path.read_text().replace('value = "70 W"', 'value = "75 W"'))
    (data_copy / "release.toml").write_text((data_copy / "release.toml").read_text().replace("2026.11", "2026.12"))
    before = _counts(catalog_url)
    _kill_inside_transaction(tmp_path, "release", catalog_url, str(data_copy))
    _consistent(catalog_url)
    assert _counts(catalog_url) == before
    from hwdb.catalog import Catalog

    catalog = Catalog(catalog_url, data=data_copy).ensure()  # the next start applies the release, once
    assert catalog.device("t4").tdp_w == 75 and catalog.device("t4").revision == 2
    assert _counts(catalog_url)["catalog_release"] == before["catalog_release"] + 1
    catalog.close()


# -- a full disk and a read-only disk (a small tmpfs in a private mount namespace) ------------------------
DISK_CHILD = r'''
import hashlib, json, os, sqlite3, sys
from hwdb.cli import run
folder, mode = sys.argv[1], sys.argv[2]
db, filler = os.path.join(folder, "hwdb.sqlite"), os.path.join(folder, "filler")
def state():
    if mode == "readonly":  # sqlite3 cannot open a WAL database here for writing: compare the bytes
        return hashlib.sha256(open(db, "rb").read()).hexdigest()
    with sqlite3.connect(db) as c:
        return [c.execute("SELECT count(*) FROM spec_revision").fetchone()[0], c.execute("PRAGMA integrity_check").fetchone()[0]]
before = state()
if mode == "full":
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)  # take every free byte
    try:
        while os.write(fd, b"\0" * 4096):
            pass
    except OSError:
        pass
    os.close(fd)
edit = run(["edit", "t4", "--set", "tdp_w=75", "--source", "https://example.com/t4.pdf", "--note", "x" * 2000000, "--db", db])
peak = run(["peak", "t4", "--fp16", "--db", db])
history = run(["history", "t4", "--db", db])
if mode == "full":
    os.remove(filler)
print(json.dumps({"edit": edit, "peak": peak, "history": history, "before": before, "after": state()}))
'''


def _private_tmpfs(tmp_path: Path, filled_db: Path, mode: str) -> tuple[dict, str]:
    if shutil.which("unshare") is None:
        pytest.skip("no unshare(1) to mount a private tmpfs")
    mount = tmp_path / "disk"
    mount.mkdir()
    size = filled_db.stat().st_size + 512 * 1024
    script = (f"mount -t tmpfs -o size={size} tmpfs {mount} && cp {filled_db} {mount}/hwdb.sqlite && "
              + (f"mount -o remount,ro {mount} && " if mode == "readonly" else "")
              + f'"{sys.executable}" -c \'{DISK_CHILD}\' {mount} {mode}')
    flags = "-m" if os.geteuid() == 0 else "-rm"
    result = subprocess.run(["unshare", flags, "sh", "-c", script], capture_output=True, text=True, cwd=REPO,
                            env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=120)
    if result.returncode != 0 and "mount" in result.stderr and "{" not in result.stdout:
        pytest.skip(f"cannot mount a tmpfs here: {result.stderr.strip()[:200]}")
    lines = result.stdout.strip().splitlines()
    assert lines, result.stderr
    return json.loads(lines[-1]), result.stderr


@pytest.mark.parametrize("mode", ["full", "readonly"])
def test_a_full_or_read_only_disk_is_one_clear_line_and_changes_nothing(tmp_path, filled_db, mode):
    found, stderr = _private_tmpfs(tmp_path, filled_db, mode)
    assert found["edit"] == 2 and found["after"] == found["before"], (found, stderr)
    if mode == "full":
        assert found["after"][1] == "ok"
    if mode == "readonly":  # reads still work: a catalog on a read-only mount is opened as immutable
        assert found["peak"] == found["history"] == 0, (found, stderr)
    errors = [line for line in stderr.splitlines() if line.startswith("hwdb:")]
    assert "Traceback" not in stderr and len(errors) == sum(found[c] == 2 for c in ("edit", "peak", "history")), stderr
    assert all(("disk" in e and "full" in e) if mode == "full" else "read-only file system" in e for e in errors), errors
