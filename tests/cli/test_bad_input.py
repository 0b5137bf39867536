"""Bad input, every command: one line on stderr, exit code 2, no traceback, and the catalog unchanged.

One table of cases covers every command (a test checks that none is missing). Each case runs against
a filled catalog on SQLite (the database file and its WAL compared byte for byte) and on PostgreSQL
(every row of every table compared).
"""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

from hwdb.cli import app

SPARSE_BYTES = 2**30


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> Path:
    """Every malformed file the table names, in one folder."""
    folder = tmp_path_factory.mktemp("bad")
    (folder / "empty.toml").write_text("")
    (folder / "empty.json").write_text("")
    (folder / "empty.onnx").write_bytes(b"")
    (folder / "blank.toml").write_text("  \n\t\n")
    (folder / "binary.toml").write_bytes(bytes(range(256)) * 8)
    (folder / "binary.json").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(200))
    (folder / "binary.onnx").write_bytes(b"\xff\xfe garbage \x00" * 50)
    with open(folder / "huge.toml", "wb") as handle:  # a 1 GB sparse file: nothing may read it whole
        handle.truncate(SPARSE_BYTES)
    shutil.copy(folder / "huge.toml", folder / "huge.json")
    shutil.copy(folder / "huge.toml", folder / "huge.onnx")
    (folder / "a-folder.toml").mkdir()
    (folder / "a-folder.onnx").mkdir()
    (folder / "broken.toml").write_text("[[device]\nslug = ")
    (folder / "broken.json").write_text('{"device": [')
    (folder / "list.json").write_text("[1, 2, 3]")
    device = {"slug": "lab-card", "name": "Lab card", "vendor": "NVIDIA", "kind": "gpu",
              "specs": {"memory": {"value": "16 GB", "source": "lab"}}}
    source = {"lab": {"url": "https://example.com/lab.pdf", "title": "Lab card datasheet"}}

    def toml_device(**changes) -> str:
        import tomli_w

        entry = json.loads(json.dumps(device))
        for key, value in changes.items():
            if value is None:
                entry.pop(key)
            else:
                entry[key] = value
        return tomli_w.dumps({"device": [entry], "source": source})

    (folder / "wrong-type.toml").write_text(toml_device(name=123))
    (folder / "wrong-type-figure.toml").write_text(toml_device(specs={"memory": {"value": [16], "source": "lab"}}))
    (folder / "wrong-unit.toml").write_text(toml_device(specs={"memory": {"value": "16 GHz", "source": "lab"}}))
    (folder / "malformed-unit.toml").write_text(toml_device(specs={"memory": {"value": "4.1Q", "source": "lab"}}))
    (folder / "nan.toml").write_text(toml_device(specs={"memory": {"value": float("nan"), "source": "lab"}}))
    (folder / "implausible.toml").write_text(toml_device(specs={"memory": {"value": "16 kB", "source": "lab"}}))
    (folder / "no-source.toml").write_text(toml_device(specs={"memory": {"value": "16 GB"}}))
    (folder / "unknown-source.toml").write_text(toml_device(specs={"memory": {"value": "16 GB", "source": "nowhere"}}))
    (folder / "no-kind.toml").write_text(toml_device(kind=None))
    (folder / "taken-alias.toml").write_text(toml_device(aliases=["t4"]))
    (folder / "typo-key.toml").write_text(toml_device().replace("[[device]]", "[[devices]]"))
    two = json.loads(json.dumps(device))
    two["slug"] = "lab-card-2"
    two["name"] = "Lab card 2"
    two["aliases"] = ["lab"]
    one = {**device, "aliases": ["lab"]}
    (folder / "alias-twice.json").write_text(json.dumps({"device": [one, two], "source": source}))
    (folder / "mismatch.toml").write_text(
        'name = "mismatch"\ninput = [3, 32, 32]\n'
        '[[layer]]\nop = "conv2d"\nname = "a"\nout_channels = 8\nkernel = 3\n'
        '[[layer]]\nop = "conv2d"\nname = "b"\nout_channels = 4\nkernel = 1\ninput = "a"\n'
        '[[layer]]\nop = "add"\nname = "sum"\ninputs = ["a", "b"]\n')
    (folder / "bad-kernel.toml").write_text('name = "k"\ninput = [3, 4, 4]\n[[layer]]\nop = "conv2d"\nout_channels = 8\nkernel = 9\n')
    (folder / "bad-arg.toml").write_text('name = "k"\ninput = [3, 8, 8]\n[[layer]]\nop = "conv2d"\nout_channels = "eight"\nkernel = 3\n')
    (folder / "config.json").write_text(json.dumps({"model_type": "llama", "hidden_size": 4096, "num_hidden_layers": 2,
                                                    "num_attention_heads": 30, "intermediate_size": 11008, "vocab_size": 32000}))
    import onnx
    from onnx import TensorProto, helper

    a = helper.make_tensor_value_info("a", TensorProto.FLOAT, [1, 3, 4])
    b = helper.make_tensor_value_info("b", TensorProto.FLOAT, [1, 5, 6])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    graph = helper.make_graph([helper.make_node("MatMul", ["a", "b"], ["y"])], "g", [a, b], [y])
    onnx.save(helper.make_model(graph), str(folder / "mismatch.onnx"))
    (folder / "data-tree").mkdir()
    (folder / "data-tree" / "release.toml").write_text('name = 5\n')
    return folder


# (command line, text the one line must contain). {F} is the folder of bad files; --db is appended to every
# command that reads or writes the catalog.
CASES = [
    # peak
    ("peak t4 --fp16 --int8", "pick one precision"),
    ("peak t4 --fp99", "No such option: --fp99"),
    ("peak t5 --fp16", "unknown device 't5'; did you mean"),
    ("peak mi2 --fp16", "ambiguous device 'mi2'"),
    ("peak t4 --accumulate fp99 --fp16", "--accumulate"),
    ("peak", "Missing argument"),
    # show
    ("show h300", "unknown device 'h300'"),
    ("show t4 --rev 0", "--rev"),
    ("show t4 --rev 99", "has no revision 99"),
    ("show t4 --as-of 2026-02-30", "not a date"),
    ("show t4 --rev 1 --as-of 2026-01-01", "not both"),
    # list
    ("list --where memory_gb>>80", "not a number"),
    ("list --where bogus>1", "unknown field 'bogus'"),
    ("list --where memory_gb>4.1Q", "'4.1Q' is not a number"),
    ("list --sort bogus", "unknown field 'bogus'"),
    ("list --kind xpu", "unknown kind 'xpu'"),
    ("list --vendor nvidai", "did you mean NVIDIA"),
    # prices
    ("prices h300", "unknown device"),
    # compare
    ("compare t4 l4 --model resnet50 --batch 0", "--batch"),
    ("compare t4 l4 --model resnet50 --batch -4", "--batch"),
    ("compare t4 l4 --model resnet50 --fp16 --int8", "pick one precision"),
    ("compare t4 h300", "unknown device 'h300'"),
    ("compare t4 mi2", "ambiguous device"),
    ("compare t4 l4 --price-per-hour 4.1Q", "not a positive price"),
    ("compare t4 l4 --price-per-hour -2", "not a positive price"),
    ("compare t4 l4 --tco-years 0 --model resnet50", "--tco-years must be positive"),
    ("compare t4 l4 --kwh-price -1", "--kwh-price"),
    ("compare t4 l4 --budget -1", "must be positive"),
    ("compare t4 l4 --sort bogus", "unknown sort key"),
    ("compare t4 l4 --model resnet50 --sweep 1,x --chart {F}/s.json", "--sweep"),
    ("compare t4 l4 --model resnet50 --sweep 0,4 --chart {F}/s.json", "--sweep"),
    ("compare t4 l4 --model resnet50 --chart {F}/c.txt", "unsupported extension"),
    ("compare t4 l4 --model resnet50 --chart {F}/missing/c.png", "does not exist"),
    ("compare t4 l4 --model {F}/mismatch.toml", "cannot add tensors of shapes"),
    ("compare t4 --prompt 5", "give --model"),
    # roofline
    ("roofline h300 --fp16", "unknown device"),
    ("roofline t4 --model nope", "unknown model 'nope'"),
    ("roofline t4 --model resnet50 --batch 0", "--batch"),
    ("roofline t4 --chart {F}/a-folder.toml/x.bmp", "unsupported extension"),
    # estimate: options
    ("estimate resnet50 --on t4 --batch 0", "--batch"),
    ("estimate resnet50 --on t4 --batch -1", "--batch"),
    ("estimate resnet50 --on t4 --fp99", "No such option"),
    ("estimate resnet50 --on t4 --fp16 --int8", "pick one precision"),
    ("estimate resnet50 --on h300", "unknown device 'h300'"),
    ("estimate resnet50 --on mi2", "ambiguous device"),
    ("estimate resnet50", "Missing option '--on'"),
    ("estimate resnett50 --on t4", "did you mean resnet50"),
    ("estimate resnet50 --on t4 --compute-eff 0", "efficiencies"),
    ("estimate resnet50 --on t4 --compute-eff 1.5", "--compute-eff"),
    ("estimate resnet50 --on t4 --overhead 4.1Q", "not a duration"),
    ("estimate resnet50 --on t4 --calibrated --compute-eff 0.5", "disagree"),
    ("estimate resnet50 --on t4 --dim batch=x", "--dim"),
    ("estimate resnet50 --on t4 --dim seq=4", "not an .onnx file"),
    ("estimate resnet50 --on t4 --chart {F}/missing/x.png", "does not exist"),
    ("estimate resnet50 --on t4 --json --csv", "--json"),
    ("estimate llama-2-7b --on t4 --prompt 0", "--prompt"),
    ("estimate llama-2-7b --on t4 --generate -1", "--generate"),
    ("estimate llama-2-7b --on t4 --tp 0", "--tp"),
    ("estimate llama-2-7b --on t4 --weights int3", "weights dtype 'int3'"),
    ("estimate llama-2-7b --on t4 --kv fp99", "kv dtype"),
    ("estimate llama-2-7b --on t4 --compute bogus", "unknown compute precision"),
    ("estimate llama-2-7b --on t4 --attention sparse", "attention"),
    # estimate: files
    ("estimate {F}/empty.toml --on t4", "empty file"),
    ("estimate {F}/blank.toml --on t4", "empty file"),
    ("estimate {F}/empty.onnx --on t4", "empty file"),
    ("estimate {F}/binary.toml --on t4", "not a UTF-8 text file"),
    ("estimate {F}/binary.json --on t4", "not a UTF-8 text file"),
    ("estimate {F}/binary.onnx --on t4", "not an ONNX model"),
    ("estimate {F}/huge.toml --on t4", "too large for a model description"),
    ("estimate {F}/huge.onnx --on t4", "not an ONNX model"),
    ("estimate {F}/a-folder.toml --on t4", "not a file"),
    ("estimate {F}/a-folder.onnx --on t4", "is a folder"),
    ("estimate {F}/missing.toml --on t4", "no such file"),
    ("estimate {F}/missing.onnx --on t4", "no such file"),
    ("estimate {F}/broken.toml --on t4", "not valid TOML"),
    ("estimate {F}/broken.json --on t4", "not valid JSON"),
    ("estimate {F}/list.json --on t4", "must be a table"),
    ("estimate {F}/mismatch.toml --on t4", "cannot add tensors of shapes [(8, 30, 30), (4, 30, 30)]"),
    ("estimate {F}/mismatch.onnx --on t4", "shape inference failed"),
    ("estimate {F}/bad-kernel.toml --on t4", "does not fit an input of size 4"),
    ("estimate {F}/bad-arg.toml --on t4", "out_channels must be a positive integer"),
    ("estimate {F}/config.json --on t4", "not divisible by 30 heads"),
    # util
    ("util --on t4 --flops 4.1Q --time 1ms", "unknown unit in '4.1Q'"),
    ("util --on t4 --flops 1G --time 4.1Q", "not a duration"),
    ("util --on t4 --flops -1G --time 1ms", "must be positive"),
    ("util --on t4 --flops 1G --time 0s", "must be positive"),
    ("util --on t4 --flops 1G --time 1ms --bytes 3 apples", "Got unexpected extra argument"),
    ("util --on t4 --time 1ms", "exactly one of"),
    ("util --on t4 --flops 1G --macs 1G --time 1ms", "exactly one of"),
    ("util --on h300 --flops 1G --time 1ms", "unknown device"),
    ("util --on t4 --flops 1G --time 1ms --fp16 --bf16", "pick one precision"),
    # models
    ("models --bogus", "No such option"),
    # probe (every case fails before a measurement starts)
    ("probe --clock 4.1Q", "--clock"),
    ("probe --clock 0GHz", "--clock"),
    ("probe --runtime bogus", "--runtime must be one of"),
    ("probe --threads 0", "--threads"),
    ("probe --save --name Bad_Name", "a slug is lower-case"),
    ("probe --save --name nvidia-t4", "nvidia-t4 is a catalog device"),
    ("probe --save --name tesla-t4", "already names nvidia-t4"),
    # validate
    ("validate {F}/missing", "no such folder"),
    ("validate {F}/empty.toml", "not a folder"),
    # add
    ("add {F}/empty.toml", "empty file"),
    ("add {F}/binary.toml", "not a UTF-8 text file"),
    ("add {F}/huge.toml", "too large for a catalog file"),
    ("add {F}/huge.json", "too large for a catalog file"),
    ("add {F}/a-folder.toml", "not a file"),
    ("add {F}/missing.toml", "no such file"),
    ("add {F}/broken.toml", "not valid TOML"),
    ("add {F}/broken.json", "not valid JSON"),
    ("add {F}/list.json", "expected a table of [[device]] entries"),
    ("add {F}/wrong-type.toml", "'name' must be str, got int"),
    ("add {F}/wrong-type-figure.toml", "not a quantity"),
    ("add {F}/wrong-unit.toml", "is in Hz, expected B"),
    ("add {F}/malformed-unit.toml", "4.1Q"),
    ("add {F}/nan.toml", "not a finite quantity"),
    ("add {F}/implausible.toml", "outside the plausible range"),
    ("add {F}/no-source.toml", "missing 'source'"),
    ("add {F}/unknown-source.toml", "unknown source 'nowhere'"),
    ("add {F}/no-kind.toml", "missing 'kind'"),
    ("add {F}/taken-alias.toml", "'t4' of lab-card already names nvidia-t4"),
    ("add {F}/typo-key.toml", "unknown top-level keys ['devices']"),
    ("add {F}/alias-twice.json", "name 'lab' is used by both lab-card and lab-card-2"),
    # edit
    ("edit t4 --set tdp_w=4.1Q --source https://example.com/t4.pdf", "not a quantity"),
    ("edit t4 --set tdp_w=-5 --source https://example.com/t4.pdf", "must be positive"),
    ("edit t4 --set tdp_w=0.001 --source https://example.com/t4.pdf", "outside the plausible range"),
    ("edit t4 --set bogus=5 --source https://example.com/t4.pdf", "not a figure"),
    ("edit t4 --set tdp_w=75", "needs its source"),
    ("edit t4 --set tdp_w=75 --source file:///etc/passwd", "url must be http(s)"),
    ("edit t4 --set =5 --source https://example.com/t4.pdf", "expected NAME=VALUE"),
    ("edit t4 --set boost_clock_mhz=1755 --source https://example.com/t4.pdf", "%"),
    ("edit h300 --set tdp_w=75 --source https://example.com/t4.pdf", "unknown device"),
    ("edit t4", "nothing to change"),
    # history, diff, releases
    ("history h300", "unknown device"),
    ("history mi2", "ambiguous device"),
    ("diff 1999.01", "unknown release '1999.01'"),
    ("diff 2026.11 1999.01", "unknown release '1999.01'"),
    ("releases --bogus", "No such option"),
    # export, pull
    ("export --format xml", "choose json or csv"),
    ("export -o {F}/a-folder.toml", "is a folder"),
    ("export -o {F}/missing/x.json", "No such file or directory"),
    ("export --release 1999.01", "unknown release"),
    ("export --indent -1", "greater than or equal to 0"),
    ("export --format csv --indent 2", "indents JSON only"),
    ("pull file:///etc/passwd", "only http:// and https://"),
    ("pull ftp://127.0.0.1/x.json", "only http:// and https://"),
    ("pull javascript:alert(1)", "only http:// and https://"),
    ("pull http://127.0.0.1:9/x.json --timeout 0", "timeout must be positive"),
    ("pull http://127.0.0.1:9/x.json --timeout -1", "timeout must be positive"),
    # db
    ("db upgrade 9999", "unknown revision '9999'"),
    ("db upgrade 0001", "use `hwdb db downgrade 0001`"),
    ("db downgrade 9999", "unknown revision '9999'"),
    ("db current --bogus", "No such option"),
]

NO_DB = {"models", "validate"}
"""Commands that never open the catalog (and have no --db)."""


def _command(line: str) -> str:
    words = line.split()
    return " ".join(words[:2]) if words[0] == "db" else words[0]


def _args(line: str, files: Path, url: str | None) -> list[str]:
    args = [w.replace("{F}", str(files)) for w in line.split()]
    if url is not None and _command(line).split()[0] not in NO_DB:
        args += ["--db", url]
    return args


def test_every_command_has_bad_input_cases():
    commands = {c.name for c in app.registered_commands} | {f"db {c.name}" for c in app.registered_groups[0].typer_instance.registered_commands}
    covered = {_command(line) for line, _ in CASES}
    assert commands <= covered, f"no bad-input case for {sorted(commands - covered)}"


# -- the catalog before and after: bytes on SQLite, rows on PostgreSQL ------------------------------------
def _state(url: str):
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        wal = path.with_name(path.name + "-wal")
        return path.read_bytes(), wal.read_bytes() if wal.exists() else b""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            tables = sorted(inspect(connection).get_table_names())
            # Every row of every table, as text, digested by the server: one round trip per table.
            return {t: connection.execute(text(f'SELECT count(*), md5(coalesce(string_agg(r::text, chr(10) ORDER BY r::text), \'\')) FROM "{t}" r')).one()
                    for t in tables}
    finally:
        engine.dispose()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def catalog(request, filled_db, tmp_path_factory):
    """One filled catalog per backend for the whole table (each case checks it is unchanged)."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("bad-sqlite") / "catalog.sqlite"
        shutil.copy(filled_db, path)
        yield f"sqlite:///{path}"
        return
    from tests.conftest import _drop, _pg_database, _pg_database_url

    admin, name = _pg_database(request.getfixturevalue("pg_template"))
    yield _pg_database_url(name)
    _drop(admin, name)


@pytest.mark.parametrize(("line", "needle"), CASES, ids=[line for line, _ in CASES])
def test_bad_input_is_one_line_exit_2_and_changes_nothing(catalog, files, cli, line, needle):
    before = _state(catalog)
    code, out, err = cli(*_args(line, files, catalog))
    assert (code, out) == (2, ""), (code, out, err)
    assert err.count("\n") == 1 and err.startswith("hwdb: ") and "Traceback" not in err, err
    assert needle in err, err
    assert _state(catalog) == before, "the catalog changed"


def test_the_console_script_prints_no_traceback(files, db):
    """The same cases through the real entry point, a sample of them (each process costs ~0.3 s)."""
    for line, needle in CASES[::12]:
        result = subprocess.run([sys.executable, "-m", "hwdb", *_args(line, files, str(db))], capture_output=True, text=True)
        assert result.returncode == 2 and result.stdout == "", (line, result.stderr)
        assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr and needle in result.stderr, (line, result.stderr)


def test_the_comparison_sees_a_write(catalog, cli):
    """The check above is not blind: one good edit changes the state it compares (and a read does not)."""
    before = _state(catalog)
    assert cli("show", "t4", "--db", catalog)[0] == 0
    assert _state(catalog) == before
    code, _, err = cli("edit", "a100", "--set", "tdp_w=401", "--source", "https://example.com/a100.pdf", "--db", catalog)
    assert code == 0, err
    assert _state(catalog) != before


# -- a --db that is not a database ---------------------------------------------------------------------
GOOD = [
    "peak t4 --fp16", "show t4", "show t4 --rev 1", "list", "prices", "compare t4 a100", "roofline t4",
    "estimate resnet50 --on t4", "util --flops 8.2G --time 3.1ms --on t4", "add {F}/good.json", "edit t4 --retire",
    "history t4", "diff 2026.11", "releases", "export", "db upgrade", "db downgrade 0001", "db current",
]
NOT_OPENED_FIRST = {"pull": "fetches the URL before it opens the catalog", "probe": "measures for seconds before it opens the catalog"}


def test_a_db_that_is_not_a_database_is_one_line_and_left_alone(files, cli, tmp_path):
    """Every command that opens the catalog, given a file that is not a database: exit 2, one line
    naming the cause, and the file untouched (no WAL or journal beside it either)."""
    commands = {c.name for c in app.registered_commands} | {f"db {c.name}" for c in app.registered_groups[0].typer_instance.registered_commands}
    assert commands - NO_DB - set(NOT_OPENED_FIRST) <= {_command(line) for line in GOOD}
    (files / "good.json").write_text(json.dumps({
        "source": {"lab": {"url": "https://example.com/lab", "title": "Lab sheet"}},
        "device": [{"slug": "lab-card", "name": "Lab Card", "vendor": "Lab", "kind": "gpu",
                    "specs": {"memory_bandwidth": {"value": "100 GB/s", "source": "lab"}}}],
    }))
    (tmp_path / "mine").mkdir()
    garbage = tmp_path / "mine" / "notes.sqlite"
    garbage.write_bytes(b"these are my notes, not a database\n" * 200)
    before = garbage.read_bytes()
    for line in GOOD:
        code, out, err = cli(*_args(line, files, str(garbage)))
        assert (code, out) == (2, ""), (line, code, out, err)
        assert err.count("\n") == 1 and "file is not a database" in err and "Traceback" not in err, (line, err)
        assert garbage.read_bytes() == before and [p.name for p in garbage.parent.iterdir()] == ["notes.sqlite"], line


def test_db_current_reads_without_creating(cli, tmp_path, filled_db):
    missing = tmp_path / "nothing-here.sqlite"
    assert cli("db", "current", "--db", str(missing)) == (0, "schema none (no database file yet); this hwdb writes 0003\n", "")
    assert not missing.exists()
    empty = tmp_path / "empty.sqlite"
    empty.touch()
    assert cli("db", "current", "--db", str(empty))[1] == "schema none (empty database); this hwdb writes 0003\n"
    assert empty.read_bytes() == b""
    assert cli("db", "current", "--db", str(filled_db))[1] == "schema 0003; this hwdb writes 0003\n"
