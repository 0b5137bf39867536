"""`hwdb estimate`, `hwdb util`, `hwdb models`."""

import csv
import io
import json

import pytest


def test_estimate_resnet50_on_t4(db, cli):
    code, out, err = cli("estimate", "resnet50", "--on", "t4", "--fp16", "--batch", "32")
    assert code == 0 and err == ""
    assert "resnet50 on NVIDIA T4, FP16, batch 32 (pure roofline)" in out
    assert "latency     17.6 ms  throughput 1,819 samples/s" in out
    assert "263 GFLOP (131 GMAC; FLOPs = 2 x MACs + non-MAC work)" in out
    assert "of the 65 TFLOP/s FP16 tensor, dense peak (MFU)" in out
    assert "ridge point 203 FLOP/byte (65 TFLOP/s / 320 GB/s)" in out


def test_estimate_layers_table(db, cli):
    code, out, _ = cli("estimate", "resnet50", "--on", "t4", "--fp16", "--batch", "32", "--layers")
    assert code == 0
    lines = {line.split()[0]: line for line in out.splitlines() if "│" in line}
    assert "3.78 GMAC" in lines["conv1.conv"] and "memory" in lines["conv1.conv"] and "191 µs" in lines["conv1.conv"]
    assert "compute" in lines["layer1.0.2.conv"] and "100.0%" in lines["layer1.0.2.conv"]
    assert out.count("│") >= 175 * 8  # one row per layer


def test_estimate_json_and_csv(db, cli):
    code, out, _ = cli("estimate", "resnet18", "--on", "a100", "--bf16", "--json")
    data = json.loads(out)
    assert code == 0 and data["precision"] == "bf16" and data["device"] == "NVIDIA A100 SXM4 80GB"
    assert data["latency_s"] > 0 and 0 < data["mfu"] <= 1 and "layers" not in data
    code, out, _ = cli("estimate", "resnet18", "--on", "a100", "--bf16", "--layers", "--csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 0 and len(rows) == 69 and rows[0]["name"] == "conv1.conv"
    assert float(rows[0]["time_s"]) >= float(rows[0]["memory_time_s"])


def test_estimate_with_efficiencies(db, cli):
    _, pure, _ = cli("estimate", "resnet18", "--on", "t4", "--fp16", "--json")
    _, tuned, _ = cli("estimate", "resnet18", "--on", "t4", "--fp16", "--json", "--compute-eff", "0.5", "--memory-eff", "0.5")
    assert json.loads(tuned)["latency_s"] == pytest.approx(2 * json.loads(pure)["latency_s"])


def test_estimate_a_model_file(db, cli, tmp_path):
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps({"name": "tiny", "input": [16], "layer": [{"op": "linear", "out_features": 4}]}))
    code, out, _ = cli("estimate", str(path), "--on", "t4", "--json")
    assert code == 0 and json.loads(out)["flops"] == 2 * 16 * 4 + 4


def test_unsupported_precision_exits_1(db, cli):
    code, out, err = cli("estimate", "resnet18", "--on", "t4", "--bf16")
    assert code == 1 and out == "" and "not supported" in err and err.count("\n") == 1


@pytest.mark.parametrize(("args", "needle"), [
    (("estimate", "resnet51", "--on", "t4"), "did you mean resnet50"),
    (("estimate", "resnet50", "--on", "t5"), "unknown device"),
    (("estimate", "resnet50", "--on", "t4", "--batch", "0"), "batch"),
    (("estimate", "resnet50", "--on", "t4", "--fp16", "--int8"), "pick one precision"),
    (("estimate", "resnet50", "--on", "t4", "--compute-eff", "0"), "efficienc"),
    (("estimate", "resnet50", "--on", "t4", "--overhead", "5 parsecs"), "duration"),
    (("estimate", "missing.toml", "--on", "t4"), "no such file"),
    (("util", "--on", "t4", "--time", "3.1ms"), "exactly one of"),
    (("util", "--on", "t4", "--time", "soon", "--flops", "8G"), "duration"),
    (("util", "--on", "t4", "--time", "3ms", "--flops", "8.2Q"), "unit"),
    (("util", "--on", "t4", "--time", "3ms", "--flops", "-5G"), "positive"),
])
def test_bad_input_is_one_line_exit_2(db, cli, args, needle):
    code, out, err = cli(*args)
    assert code == 2 and out == "" and err.count("\n") == 1 and needle in err and "Traceback" not in err


def test_bad_model_files(db, cli, tmp_path):
    empty = tmp_path / "empty.toml"
    empty.write_text("")
    binary = tmp_path / "model.toml"
    binary.write_bytes(b"\x00\xff\xfe")
    folder = tmp_path / "dir.toml"
    folder.mkdir()
    for path, needle in ((empty, "empty"), (binary, "UTF-8"), (folder, "not a file")):
        code, _, err = cli("estimate", str(path), "--on", "t4")
        assert code == 2 and needle in err


def test_util_from_flops_and_time(db, cli):
    code, out, _ = cli("util", "--flops", "8.2G", "--time", "3.1ms", "--on", "t4", "--fp16")
    assert code == 0
    assert "achieved     2.65 TFLOP/s" in out  # 8.2e9 / 3.1e-3
    assert "utilization  4.1% of the 65 TFLOP/s FP16 tensor, dense peak" in out


def test_util_macs_count_twice(db, cli):
    _, out, _ = cli("util", "--macs", "4.1G", "--time", "3.1ms", "--on", "t4", "--fp16", "--json")
    assert json.loads(out)["flops"] == 8.2e9


def test_util_from_a_model_compares_with_the_roofline(db, cli):
    code, out, _ = cli("util", "--model", "resnet50", "--batch", "32", "--time", "40ms", "--on", "t4", "--fp16", "--json")
    data = json.loads(out)
    assert code == 0
    assert data["achieved_per_s"] == pytest.approx(data["flops"] / 0.04)
    assert data["roofline_time_s"] == pytest.approx(0.01759, rel=1e-3)
    assert data["utilization_of_attainable"] == pytest.approx(data["roofline_time_s"] / 0.04)


def test_util_with_bytes_uses_the_memory_roof(db, cli):
    _, out, _ = cli("util", "--flops", "1G", "--bytes", "320MB", "--time", "2ms", "--on", "t4", "--fp16", "--json")
    data = json.loads(out)
    assert data["roofline_time_s"] == pytest.approx(1e-3)  # 320 MB at 320 GB/s
    assert data["utilization_of_attainable"] == pytest.approx(0.5)


def test_models_lists_the_zoo(cli):
    code, out, _ = cli("models")
    assert code == 0
    for name in ("alexnet", "vgg16", "resnet18", "resnet50", "mobilenet_v2", "efficientnet_b0", "vit_b_16", "lenet5"):
        assert name in out
    assert "25,557,032" in out and "torchvision's 'GFLOPS' column is MACs" in out
    data = json.loads(cli("models", "--json")[1])
    assert {m["name"]: m["params"] for m in data}["vit_b_16"] == 86_567_656


def test_a_device_without_a_memory_bandwidth_is_a_gap_exit_1(db, cli):
    code, out, err = cli("estimate", "resnet50", "--on", "xeon-platinum-8480p", "--bf16")
    assert code == 1 and out == "" and err == "hwdb: Intel Xeon Platinum 8480+: memory bandwidth unknown (no public source gives it), so there is no memory roof\n"
