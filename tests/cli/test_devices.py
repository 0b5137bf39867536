"""`hwdb show` and `hwdb list`."""

import json



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
    assert code == 0 and data[0]["slug"] in {"nvidia-h100-sxm"}
    values = [d["fp16_peak"] for d in data if d["fp16_peak"]]
    assert values == sorted(values, reverse=True)


def test_list_filters(db, cli):
    _, out, _ = cli("list", "--vendor", "NVIDIA", "--kind", "gpu", "--json")
    assert len(json.loads(out)) >= 10
    _, out, _ = cli("list", "--vendor", "nobody", "--json")
    assert json.loads(out) == []


def test_list_table(db, cli):
    code, out, _ = cli("list", "--sort", "int8")
    assert code == 0 and "nvidia-t4" in out and "INT8 peak" in out and "130 TOP/s" in out


def test_list_rejects_an_unknown_precision(db, cli):
    code, out, err = cli("list", "--sort", "fp12")
    assert code == 2 and out == "" and "unknown precision 'fp12'" in err and err.count("\n") == 1


def test_show_unknown_device(db, cli):
    code, _, err = cli("show", "v100-pcie")
    assert code == 2 and err.startswith("hwdb: unknown device 'v100-pcie'; did you mean")
