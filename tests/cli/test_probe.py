"""`hwdb probe --save`, then `hwdb estimate --on local`: calibrated by default, --pure on request; ONNX models."""

import json

import pytest


def test_probe_save_then_estimate_calibrated_and_pure(db, cli):
    code, out, err = cli("probe", "--quick", "--save", "--runtime", "numpy")
    assert code == 0, err
    assert "FP32 matmul" in out and "theoretical = cores x clock x FLOP/clock/core" in out and "STREAM" in out
    assert "saved       local (revision 1, origin measured)" in out
    code, out, _ = cli("estimate", "resnet18", "--on", "local")
    assert code == 0 and "(calibrated: numpy" in out
    code, out, _ = cli("estimate", "resnet18", "--on", "local", "--pure")
    assert code == 0 and "(pure roofline)" in out
    code, out, _ = cli("estimate", "resnet18", "--on", "local", "--json")
    assert json.loads(out)["calibration"]["by"] == "hwdb probe"
    code, out, _ = cli("history", "local")
    assert code == 0 and "revision 1" in out and "measured" in out
    code, out, _ = cli("peak", "local", "--fp32", "--explain")
    assert code == 0 and "measured:" in out
    # a transformer config on the measured CPU: its kernels run at the calibration's scalars
    code, out, _ = cli("estimate", "gpt2", "--on", "local", "--fp32", "--prompt", "16", "--generate", "4")
    assert code == 0 and "calibrated" in out


@pytest.mark.parametrize(("args", "message"), [
    (["--name", "Not A Slug"], "slug"),
    (["--clock", "4.1Q"], "--clock"),
    (["--runtime", "tensorflow"], "--runtime must be one of auto, numpy, onnxruntime"),
])
def test_probe_bad_input_is_one_line_and_exit_2(db, cli, args, message):
    code, out, err = cli("probe", "--quick", *args)
    assert code == 2 and out == "" and message in err and len(err.strip().splitlines()) == 1


def test_calibrated_without_a_calibration_says_so(db, cli):
    code, _, err = cli("estimate", "resnet18", "--on", "t4", "--calibrated")
    assert code == 1 and "has no calibration: run `hwdb probe --save`" in err


def test_estimate_an_onnx_graph(db, cli, tmp_path):
    onnx = pytest.importorskip("onnx")
    from estimator.onnx_io import encoder_onnx

    path = tmp_path / "encoder.onnx"
    onnx.save(encoder_onnx(), path)
    code, out, err = cli("estimate", str(path), "--on", "t4", "--fp16", "--batch", "8")
    assert code == 0, err
    assert "encoder on NVIDIA T4, FP16, batch 8 (pure roofline)" in out and "3.49 GMAC" in out


@pytest.mark.parametrize(("args", "message"), [
    (["resnet18", "--dim", "sequence"], "give NAME=N"),
    (["resnet18", "--dim", "sequence=128"], "not an .onnx file"),
    (["vit_b_16", "--fused"], "no graph"),
    (["missing.onnx"], "no such file"),
])
def test_estimate_bad_model_options(db, cli, args, message):
    code, out, err = cli("estimate", *args, "--on", "t4")
    assert code == 2 and out == "" and message in err and len(err.strip().splitlines()) == 1


def test_estimate_fused_cnn(db, cli):
    code, out, _ = cli("estimate", "resnet50", "--on", "t4", "--fp16", "--batch", "32", "--fused", "--json")
    fused = json.loads(out)
    code, out, _ = cli("estimate", "resnet50", "--on", "t4", "--fp16", "--batch", "32", "--json")
    plain = json.loads(out)
    assert fused["flops"] == plain["flops"] and fused["bytes"] < plain["bytes"] and fused["latency_s"] < plain["latency_s"]
