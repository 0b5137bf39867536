"""`hwdb show` and `hwdb list`."""

import json

import pytest



def test_show_prints_figures_with_units_and_sources(db, cli):
    code, out, err = cli("show", "t4")
    assert code == 0 and err == ""
    assert out.startswith("NVIDIA T4 (nvidia-t4)\n")
    for needle in ("1.59 GHz", "16 GB", "320 GB/s", "70 W", "65 TFLOP/s", "130 TOP/s", "not supported: TF32, BF16, FP8", "Sources:", "https://"):
        assert needle in out, needle


def test_show_states_link_direction(db, cli):
    _, out, _ = cli("show", "a100")
    assert "300 GB/s each way (600 GB/s bidirectional)" in out


def test_show_json_round_trips(db, cli):
    code, out, _ = cli("show", "h100", "--json")
    data = json.loads(out)
    assert code == 0 and data["slug"] == "nvidia-h100-sxm" and data["specs"]["memory_bandwidth"]["value"] == 3.35e12


def test_list_sorts_by_a_precision(db, cli):
    code, out, _ = cli("list", "--sort", "fp16", "--json")
    data = json.loads(out)
    values = [d["fp16"] for d in data if d["fp16"]]
    assert code == 0 and values == sorted(values, reverse=True)
    assert all(d["fp16"] is None for d in data[len(values):])  # devices without the figure come last
    h100 = next(d for d in data if d["slug"] == "nvidia-h100-sxm")
    assert h100["fp16"] == 989.4e12


def test_list_where_and_sort_on_any_figure(db, cli):
    code, out, _ = cli("list", "--where", "memory_gb>=80", "--where", "vendor=nvidia", "--sort", "memory_bandwidth_tbs", "--json")
    data = json.loads(out)
    assert code == 0 and data and all(d["memory_bytes"] >= 80e9 and d["vendor"] == "NVIDIA" for d in data)
    known = [d["memory_bandwidth_tbs"] for d in data if d["memory_bandwidth_tbs"] is not None]
    assert known == sorted(known, reverse=True) and [d["memory_bandwidth_tbs"] for d in data][:len(known)] == known
    same = json.loads(cli("list", "--where", "memory>=80GB", "--where", "vendor=nvidia", "--json")[1])
    assert {d["slug"] for d in same} == {d["slug"] for d in data}
    _, out, _ = cli("list", "--where", "bf16_tflops>900", "--json")
    assert "nvidia-h100-sxm" in {d["slug"] for d in json.loads(out)}
    assert "nvidia-a100-sxm4-80gb" not in {d["slug"] for d in json.loads(out)}


@pytest.mark.parametrize(("args", "needle"), [
    (("--where", "memory_gb>=abc"), "not a number"),
    (("--where", "speed>3"), "unknown field"),
    (("--where", "memory_gb"), "FIELD OP VALUE"),
    (("--sort", "colour"), "unknown field"),
])
def test_list_bad_fields(db, cli, args, needle):
    code, out, err = cli("list", *args)
    assert code == 2 and out == "" and needle in err and err.count("\n") == 1


def test_list_filters(db, cli):
    _, out, _ = cli("list", "--vendor", "NVIDIA", "--kind", "gpu", "--json")
    assert len(json.loads(out)) >= 10
    code, out, err = cli("list", "--vendor", "nobody", "--json")  # a typo is an error, not an empty catalog
    assert code == 2 and out == "" and "no device of vendor 'nobody'" in err


def test_list_table(db, cli):
    code, out, _ = cli("list", "--sort", "int8")
    assert code == 0 and "nvidia-t4" in out and "INT8 peak" in out and "130 TOP/s" in out


def test_list_rejects_an_unknown_precision(db, cli):
    code, out, err = cli("list", "--sort", "fp12")
    assert code == 2 and out == "" and "unknown field 'fp12'" in err and err.count("\n") == 1


def test_show_unknown_device(db, cli):
    code, _, err = cli("show", "v100-pcie-64gb")
    assert code == 2 and err.startswith("hwdb: unknown device 'v100-pcie-64gb'; did you mean")


def test_prices_are_dated_and_sourced(db, cli):
    code, out, _ = cli("prices", "h100-sxm", "--json")
    data = json.loads(out)
    assert code == 0 and data and all(p["device"] == "nvidia-h100-sxm" and p["date"] and p["source"] for p in data)
    assert all(p["usd_per_device_hour"] == pytest.approx(p["usd"] / p["devices"]) for p in data)
    code, out, _ = cli("prices", "t4")
    assert code == 0 and out == "no dated price for nvidia-t4 in this release\n"
