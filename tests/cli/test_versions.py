"""`hwdb edit | add | history | diff | releases | show --rev/--as-of | db` from the command line."""

import json
from datetime import date, timedelta


SOURCE = "https://example.com/t4-v2.pdf"


def test_edit_then_history_and_show_rev(catalog_url, cli, monkeypatch):
    monkeypatch.setenv("HWDB_AUTHOR", "alice")
    code, out, err = cli("edit", "t4", "--set", "tdp_w=75", "--set", "l2_cache=4 MiB", "--source", SOURCE, "--note", "datasheet v2")
    assert (code, out, err) == (0, "nvidia-t4: revision 2\n", "")
    code, out, _ = cli("history", "t4")
    assert code == 0
    assert "nvidia-t4 revision 1" in out and "release 2026.11" in out
    assert "nvidia-t4 revision 2" in out and "user  by alice" in out and "note: datasheet v2" in out
    assert "  tdp: 70 W [pny-t4-product-brief-copy] -> 75 W [user-" in out
    data = json.loads(cli("history", "t4", "--json")[1])
    assert [r["number"] for r in data] == [1, 2] and {c["field"] for c in data[1]["changes"]} == {"l2_cache", "tdp"}
    _, out, _ = cli("show", "t4", "--rev", "1")
    assert "70 W" in out and "revision 1 (release 2026.11)" in out
    _, out, _ = cli("show", "t4")
    assert "75 W" in out and "revision 2 (local edit)" in out
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    assert "75 W" in cli("show", "t4", "--as-of", tomorrow)[1]


def test_edit_errors(catalog_url, cli):
    for args, needle in [
        (("edit", "t4", "--set", "tdp=75 W"), "--source"),
        (("edit", "t4", "--set", "tdp"), "NAME=VALUE"),
        (("edit", "t4"), "nothing to change"),
        (("edit", "t4", "--set", "boost_clock_mhz=1755", "--source", SOURCE), "over 2%"),
        (("edit", "t9", "--set", "tdp=75 W", "--source", SOURCE), "unknown device 't9'"),
        (("edit", "t4", "--set", "memory=lots", "--source", SOURCE), "not a quantity"),
        (("show", "t4", "--rev", "7"), "has no revision 7"),
        (("show", "t4", "--as-of", "yesterday"), "not a date"),
        (("show", "t4", "--rev", "1", "--as-of", "2026-01-01"), "not both"),
        (("diff", "1999.1"), "unknown release '1999.1'"),
        (("db", "downgrade", "0042"), "unknown revision '0042'"),
    ]:
        code, out, err = cli(*args)
        assert code == 2 and out == "" and needle in err and err.count("\n") == 1, (args, err)


def test_retire_hides_from_list(catalog_url, cli):
    assert cli("edit", "p100-pcie", "--retire", "--note", "end of life")[0] == 0
    assert "nvidia-p100-pcie" not in {d["slug"] for d in json.loads(cli("list", "--json")[1])}
    assert "nvidia-p100-pcie" in {d["slug"] for d in json.loads(cli("list", "--json", "--retired")[1])}
    assert "RETIRED" in cli("show", "p100-pcie")[1]


def test_add_from_a_json_file(catalog_url, cli, tmp_path):
    path = tmp_path / "cards.json"
    path.write_text(json.dumps({
        "source": {"lab": {"url": "https://example.com/lab", "title": "Lab sheet"}},
        "device": [{"slug": "lab-card", "name": "Lab Card", "vendor": "Lab", "kind": "gpu",
                    "specs": {"memory_bandwidth": {"value": "100 GB/s", "source": "lab"}},
                    "peak": [{"precision": "fp32", "engine": "vector", "value": "10 TFLOPS", "source": "lab"}]}],
    }))
    assert cli("add", str(path), "--note", "lab")[1] == "lab-card: revision 1\n"
    assert "Lab Card  FP32 vector, dense: 10 TFLOP/s" in cli("peak", "lab-card", "--fp32")[1]
    code, _, err = cli("add", str(tmp_path / "missing.toml"))
    assert code == 2 and "no such file" in err


def test_releases_diff_and_db_current(catalog_url, cli):
    cli("edit", "t4", "--set", "tdp=75 W", "--source", SOURCE)
    code, out, _ = cli("releases")
    assert code == 0 and "2026.11" in out
    code, out, _ = cli("diff", "2026.11")
    assert code == 0 and out.startswith("2026.11 -> current: 0 added, 0 removed, 1 changed\n~ nvidia-t4\n    tdp: 70 W")
    code, out, _ = cli("db", "current")
    assert code == 0 and out.startswith("schema 0003; this hwdb writes 0003")


def test_db_downgrade_and_upgrade(empty_url, cli):
    assert cli("db", "upgrade", "--db", empty_url)[1] == "schema at 0003\n"
    assert cli("db", "downgrade", "0001", "--db", empty_url)[1] == "schema at 0001\n"
    assert cli("db", "upgrade", "--db", empty_url)[1] == "schema at 0003\n"
