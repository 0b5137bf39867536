"""Bad input: one line on stderr, exit 2, no traceback, and nothing written where it should not be."""

import os
import subprocess
import sys

import pytest



@pytest.mark.parametrize(
    ("make_db", "needle"),
    [
        (lambda tmp: str(tmp), "is a folder, not a database file"),
        (lambda tmp: str(tmp / "missing" / "x.sqlite"), "does not exist"),
        (lambda tmp: (tmp / "notes.txt").write_text("not a database") and str(tmp / "notes.txt"), "file is not a database"),
        (lambda tmp: "postgresql://user:secret@127.0.0.1:1/hwdb", "postgresql://user:***@127.0.0.1:1/hwdb"),
    ],
)
def test_bad_database_is_one_line_and_exit_2(tmp_path, cli, make_db, needle):
    tmp_path = tmp_path / "user"  # the test's own XDG data folder sits beside it
    tmp_path.mkdir()
    before = sorted(p.name for p in tmp_path.iterdir())
    code, out, err = cli("peak", "t4", "--fp16", "--db", make_db(tmp_path))
    assert code == 2 and out == "" and err.count("\n") == 1 and needle in err
    assert "secret" not in err
    after = sorted(p.name for p in tmp_path.iterdir())
    assert after == before or after == sorted(before + ["notes.txt"])  # no lock or journal left beside the user's files


def test_not_a_database_file_is_left_byte_for_byte(tmp_path, cli):
    path = tmp_path / "notes.txt"
    path.write_text("not a database")
    cli("show", "t4", "--db", str(path))
    assert path.read_text() == "not a database"


def test_no_arguments_prints_help(cli):
    code, out, _ = cli()
    assert code == 0 and "peak" in out and "show" in out and "list" in out


def test_console_script_errors_have_no_traceback(db):
    env = {**os.environ, "HWDB_URL": str(db)}
    for args in (["peak", "nope", "--fp16"], ["peak", "t4", "--fp16", "--int4"], ["show"], ["list", "--sort", "x"]):
        result = subprocess.run([sys.executable, "-m", "hwdb", *args], capture_output=True, text=True, env=env)
        assert result.returncode == 2, args
        assert result.stdout == "" and result.stderr.count("\n") == 1 and "Traceback" not in result.stderr, args
