"""`hwdb estimate` on transformer configs: TTFT, TPOT, tokens/s, memory fit, tensor parallelism, bad input."""

import csv
import io
import json

import pytest


def test_llama_2_7b_on_a100_40gb(db, cli):
    """The issue's command; the catalog's A100 SXM4 40GB is 312 TFLOP/s FP16 tensor and 1,555 GB/s."""
    code, out, err = cli("estimate", "llama-2-7b", "--on", "a100-sxm4-40gb", "--prompt", "1024", "--generate", "128")
    assert code == 0 and err == ""
    assert "llama-2-7b (6.74 B params) on NVIDIA A100 SXM4 40GB: batch 1, prompt 1,024, generate 128 (pure roofline)" in out
    assert "FP16 compute, FP16 weights, FP16 KV, FP16 activations; flash attention, causal" in out
    assert "time to first token 47.8 ms" in out  # tests/estimator/test_llm.py derives 47.79 ms by hand
    assert "time per out token  8.87 ms  mean of 127 decode steps (8.85 ms at KV 1,024, 8.89 ms at KV 1,150)" in out
    assert "109 output tokens/s over the request" in out
    assert "13.5 GB weights + 604 MB KV cache (1,152 tokens x 1)" in out and "of 40 GB: fits" in out
    assert "limited by          memory bandwidth" in out


def test_the_readme_example_is_the_real_output(db, cli):
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    block = readme.split("$ hwdb estimate llama-2-7b --on a100-sxm4-40gb --prompt 1024 --generate 128\n", 1)[1].split("```", 1)[0]
    code, out, _ = cli("estimate", "llama-2-7b", "--on", "a100-sxm4-40gb", "--prompt", "1024", "--generate", "128")
    assert code == 0 and out == block


def test_layers_table_splits_bytes_by_role(db, cli):
    code, out, _ = cli("estimate", "llama-3-8b", "--on", "h100-sxm", "--prompt", "2048", "--generate", "256", "--batch", "8",
                       "--tp", "2", "--layers")
    assert code == 0
    assert "Prefill: each kernel over all blocks" in out and "Decode (255 steps, KV 2,048 to 2,302)" in out
    header = next(line for line in out.splitlines() if "kernel" in line and "KV read" in line)
    for column in ("weights", "act in", "act out", "KV read", "KV write", "bound"):
        assert column in header
    rows = [line for line in out.splitlines() if line.strip().startswith("attn_allreduce")]
    assert len(rows) == 2 and all("interconnect" in row for row in rows)
    assert "NVLink 4 (scale-up link), 450 GB/s per direction" in out


def test_json_and_csv(db, cli):
    code, out, _ = cli("estimate", "mistral-7b", "--on", "l40s", "--weights", "int4", "--kv", "fp8", "--compute", "fp16", "--json")
    data = json.loads(out)
    assert code == 0 and data["dtypes"] == {"compute": "fp16", "weights": "int4", "activations": "fp16", "kv": "fp8"}
    assert data["ttft_s"] > 0 and data["tpot_s"] > 0 and data["memory"]["fits"] is True and "kernels" not in data["prefill"]
    assert set(data["decode"]["bytes_by_role"]) == {"weights", "act_in", "act_out", "kv_read", "kv_write"}
    code, out, _ = cli("estimate", "gpt2", "--on", "t4", "--layers", "--csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 0 and {r["phase"] for r in rows} == {"prefill", "decode"} and rows[0]["name"] == "embed"


def test_a_model_that_does_not_fit_names_the_devices_it_needs(db, cli):
    code, out, _ = cli("estimate", "llama-3-70b", "--on", "a100-sxm4-40gb", "--prompt", "1024", "--generate", "1024")
    assert code == 0
    assert "does NOT fit: 102 GB over" in out and "fewest devices that hold it: 4 (--tp 4)" in out
    assert "limited by          capacity" in out


def test_pcie_is_the_link_without_nvlink(db, cli):
    code, out, _ = cli("estimate", "llama-3-8b", "--on", "l40s", "--tp", "2")
    assert code == 0 and "PCIe 4.0 x16 (host link), 32 GB/s per direction" in out


def test_encoder_has_no_decode(db, cli):
    code, out, _ = cli("estimate", "bert-base", "--on", "t4", "--fp16", "--prompt", "128", "--batch", "32")
    assert code == 0 and "latency" in out and "sequences/s" in out and "no KV cache" in out and "bidirectional" in out


def test_models_lists_the_transformer_configs(db, cli):
    code, out, _ = cli("models")
    assert code == 0 and "6,738,415,616" in out and "llama-3-70b" in out and "mixtral-8x7b" in out


@pytest.mark.parametrize("args, message", [
    (("resnet50", "--on", "t4", "--prompt", "8"), "--prompt: only for transformer configs"),
    (("llama-2-7b", "--on", "a100", "--tp", "3"), "does not divide"),
    (("llama-2-7b", "--on", "a100", "--weights", "int3"), "weights dtype 'int3' is not supported"),
    (("llama-2-7b", "--on", "a100", "--fp16", "--compute", "int8"), "disagree"),
    (("llama-2-7b", "--on", "a100", "--attention", "sdpa"), "flash"),
    (("bert-base", "--on", "t4", "--generate", "4"), "encoder"),
    (("gpt2", "--on", "t4", "--prompt", "1000", "--generate", "100"), "1024 learned positions"),
    (("llama-2-7b", "--on", "a100", "--prompt", "0"), "--prompt"),
])
def test_bad_input_is_one_line_and_exit_2(db, cli, args, message):
    code, out, err = cli("estimate", *args)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_config_json_from_a_path(db, cli, tmp_path):
    folder = tmp_path / "tiny-llama"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({
        "model_type": "llama", "vocab_size": 1000, "hidden_size": 256, "intermediate_size": 688, "num_hidden_layers": 4,
        "num_attention_heads": 8, "num_key_value_heads": 2}))
    code, out, _ = cli("estimate", str(folder), "--on", "t4", "--prompt", "64", "--generate", "16")
    assert code == 0 and "tiny-llama" in out
    (tmp_path / "bad.json").write_text(json.dumps({"model_type": "llama", "hidden_size": 256, "num_attention_heads": 8}))
    code, _, err = cli("estimate", str(tmp_path / "bad.json"), "--on", "t4")
    assert code == 2 and "no 'vocab_size'" in err


def test_estimate_chart_draws_prefill_and_decode_kernels(db, cli, tmp_path):
    path = tmp_path / "llm.json"
    code, out, err = cli("estimate", "llama-3-8b", "--on", "h100-sxm", "--prompt", "2048", "--generate", "256", "--batch", "8", "--chart", str(path))
    assert code == 0 and "wrote" in err
    spec = json.loads(path.read_text())
    rows = [row for layer in spec["layer"] for row in layer["data"].get("values", []) if "layer" in row]
    runs = {row["run"] for row in rows}
    assert runs == {"llama-3-8b prefill on NVIDIA H100 SXM5 80GB FP16", "llama-3-8b decode on NVIDIA H100 SXM5 80GB FP16"}
    decode_attention = next(r for r in rows if r["layer"] == "attention" and "decode" in r["run"])
    assert decode_attention["bound"] == "memory" and decode_attention["intensity"] < 295  # below the ridge
    assert "prompt 2048, generate 256" in json.dumps(spec["title"])
