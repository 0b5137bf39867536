"""`hwdb compare` and `hwdb roofline` on the shipped catalog."""

import json

import pytest


def test_compare_ranks_cnn_workload_by_cloud_cost_per_million_images(db, cli):
    code, out, err = cli("compare", "t4", "l4", "a10g", "l40s", "h100-pcie", "--model", "resnet50", "--batch", "32", "--cloud", "--json")
    assert code == 0 and err == ""
    data = json.loads(out)
    assert data["sort"] == "cost" and data["workload"]["unit"] == "images"
    rows = {d["device"]: d for d in data["devices"]}
    ranked = [d for d in data["devices"] if d["rank"]]
    assert [d["rank"] for d in ranked] == list(range(1, len(ranked) + 1))
    costs = [d["cost_per_million_usd"] for d in ranked]
    assert costs == sorted(costs) and all(c > 0 for c in costs)
    # L40S: $18.00/h for 8 GPUs (CoreWeave, data/prices.toml)
    l40s = rows["nvidia-l40s"]
    assert l40s["cost"]["usd_per_hour"] == pytest.approx(2.25)
    assert l40s["cost_per_million_usd"] == pytest.approx(2.25 / (l40s["workload"]["throughput_per_s"] * 3600) * 1e6)
    # unknown figures stay unknown, with the reason, and are not ranked
    assert rows["nvidia-a10g"]["rank"] is None and rows["nvidia-a10g"]["workload"]["throughput_per_s"] is None
    assert "unknown" in rows["nvidia-a10g"]["workload"]["problem"]
    assert rows["nvidia-t4"]["cost"]["problem"] and rows["nvidia-t4"]["cost_per_million_usd"] is None


def test_compare_text_table(db, cli):
    code, out, _ = cli("compare", "t4", "a10g", "l40s", "--model", "resnet50", "--batch", "32", "--cloud")
    assert code == 0
    assert "resnet50, FP16, batch 32: ranked by cost" in out
    line = next(l for l in out.splitlines() if "nvidia-l40s" in l and "images" not in l and "ms" in l)
    assert line.split()[0] == "1" and "memory bandwidth" in line
    assert "unknown: NVIDIA A10G: FP16 unknown" in out
    assert "unknown: NVIDIA T4: no dated cloud price" in out


def test_compare_specs_without_workload(db, cli):
    code, out, _ = cli("compare", "h100-pcie", "t4", "--json")
    data = json.loads(out)
    assert code == 0 and [d["device"] for d in data["devices"]] == ["nvidia-h100-pcie", "nvidia-t4"]
    h100 = data["devices"][0]
    assert h100["peak_per_s"] == 756e12 and h100["ridge_point_flop_per_byte"] == pytest.approx(756e12 / h100["memory_bandwidth_byte_per_s"])
    assert "NVLink" in h100["scale_up"] and "each way" in h100["scale_up"]


def test_compare_power_filter_and_price_per_hour(db, cli):
    code, out, _ = cli("compare", "t4", "l40s", "--model", "resnet18", "--power", "100", "--price-per-hour", "0.5", "--json")
    data = json.loads(out)
    assert code == 0 and [d["device"] for d in data["devices"]] == ["nvidia-t4"]
    assert data["excluded"][0]["device"] == "nvidia-l40s" and "power" in data["excluded"][0]["reason"]
    assert data["devices"][0]["cost"]["usd_per_hour"] == 0.5


def test_compare_writes_a_chart(db, cli, tmp_path):
    path = tmp_path / "cmp.json"
    code, _, err = cli("compare", "t4", "l40s", "--model", "resnet50", "--cloud", "--chart", str(path))
    assert code == 0 and "wrote" in err
    spec = json.loads(path.read_text())
    assert spec["title"]["text"].startswith("Device comparison: resnet50")
    panels = [p["title"]["text"] for p in spec["concat"]]
    assert panels == ["images/s", "USD per million images", "images per USD", "images/s per W"]


def test_compare_sweep_chart(db, cli, tmp_path):
    path = tmp_path / "sweep.json"
    code, _, _ = cli("compare", "t4", "l40s", "--model", "resnet18", "--sweep", "1,8,64", "--chart", str(path))
    spec = json.loads(path.read_text())
    rows = spec["data"]["values"] if "values" in spec.get("data", {}) else next(iter(spec["datasets"].values()))
    assert code == 0 and {(r["device"], r["x"]) for r in rows} == {(d, b) for d in ("NVIDIA T4", "NVIDIA L40S") for b in (1, 8, 64)}


@pytest.mark.parametrize(("args", "needle"), [
    (("compare", "t4", "--model", "resnet50", "--prompt", "1024"), "only for transformer configs"),
    (("compare", "t4", "--model", "llama-3-8b", "--tp", "3"), "does not divide"),
    (("compare", "t4", "--prompt", "8"), "give --model"),
    (("compare", "t4", "--sort", "nonsense"), "unknown sort key"),
    (("compare", "t4", "--sort", "cost"), "needs a workload"),
    (("compare", "t4", "--cloud", "--kwh-price", "0.1"), "include energy"),
    (("compare", "t4", "--cloud", "--price-per-hour", "1"), "pick one"),
    (("compare", "t4", "--price-per-hour", "abc"), "not a positive price"),
    (("compare", "t4", "--chart", "out.gif"), "unsupported extension"),
    (("compare", "t4", "--metric", "cost", "--chart", "out.json"), "needs a workload"),
    (("compare", "t5"), "unknown device"),
    (("roofline", "t4", "--chart", "x.bmp"), "unsupported extension"),
])
def test_bad_input_is_one_line_exit_2(db, cli, args, needle):
    code, out, err = cli(*args)
    assert code == 2 and out == "" and needle in err and err.count("\n") == 1


def test_roofline_command(db, cli, tmp_path):
    code, out, _ = cli("roofline", "t4", "a10g", "--fp16", "--int8", "--json")
    data = json.loads(out)
    t4 = {r["precision"]: r for r in data["roofs"] if r["device"] == "NVIDIA T4"}
    assert code == 0 and t4["fp16"]["ridge_point"] == pytest.approx(65e12 / 320e9) and t4["int8"]["peak_per_s"] == 130e12
    assert all(r["problem"] for r in data["roofs"] if r["device"] == "NVIDIA A10G")
    path = tmp_path / "roof.json"
    code, out, _ = cli("roofline", "t4", "--model", "resnet18", "--chart", str(path))
    assert code == 0 and path.exists() and "compute-bound" in out


def test_estimate_chart(db, cli, tmp_path):
    path = tmp_path / "estimate.json"
    code, out, err = cli("estimate", "resnet18", "--on", "t4", "--fp16", "--chart", str(path), "--json")
    assert code == 0 and json.loads(out)["device"] == "NVIDIA T4" and f"wrote {path}" in err
    assert "layer" in path.read_text()


def test_readme_compare_example_is_the_real_output(db, cli):
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    block = readme.split("$ hwdb compare l40s a100-80gb h100-sxm h200-sxm --model resnet50 --batch 32 --cloud\n...\n", 1)[1].split("```", 1)[0]
    code, out, _ = cli(*"compare l40s a100-80gb h100-sxm h200-sxm --model resnet50 --batch 32 --cloud".split())
    real = [line.rstrip() for line in out.splitlines()]
    assert code == 0
    for line in block.strip("\n").splitlines():
        assert line.rstrip() in real, line


@pytest.mark.parametrize(("args", "needle"), [
    (("compare", "t4", "--budget", "100"), "every device was excluded (nvidia-t4: price unknown"),
    (("compare", "a10g", "--model", "resnet50"), "nothing to draw: no device has a known value"),
    (("roofline", "a10g"), "NVIDIA A10G: FP16 unknown"),
    (("compare", "a10g", "--model", "resnet50", "--sweep", "1,2"), "nothing to draw"),
])
def test_a_chart_with_nothing_to_draw_exits_1(db, cli, tmp_path, args, needle):
    path = tmp_path / "c.json"
    code, out, err = cli(*args, "--chart", str(path))
    assert code == 1 and out == "" and needle in err and err.count("\n") == 1 and not path.exists()


def test_tco_and_energy_from_the_cli(db, cli, tmp_path):
    code, out, _ = cli("compare", "t4", "--model", "resnet18", "--price-per-hour", "t4=0.4", "--kwh-price", "0.2", "--json")
    row = json.loads(out)["devices"][0]
    assert code == 0 and row["cost"]["usd_per_hour"] == pytest.approx(0.4 + 0.070 * 0.2)
    code, _, err = cli("compare", "t4", "--cloud", "--tco-years", "5")
    assert code == 2 and "--tco-years" in err


def test_launch_price_over_tco_years_plus_energy(db, cli):
    code, out, _ = cli("compare", "4090", "rtx-a6000", "--model", "resnet50", "--batch", "16", "--tco-years", "2", "--kwh-price", "0.15", "--json")
    data = json.loads(out)
    rtx = next(d for d in data["devices"] if d["device"] == "nvidia-geforce-rtx-4090")
    assert code == 0 and data["sort"] == "cost" and data["pricing"]["basis"] == "launch"
    assert rtx["cost"]["usd_per_hour"] == pytest.approx(1599 / (2 * 8766) + 450 / 1000 * 0.15)  # $1,599 launch, 450 W
    assert rtx["cost"]["budget_usd"] == 1599
    code, out, _ = cli("compare", "4090", "rtx-a6000", "--budget", "2000", "--json")
    assert [d["device"] for d in json.loads(out)["devices"]] == ["nvidia-geforce-rtx-4090"]
