"""LLM inference on the roofline, checked by hand: one decoder block in prefill and decode, the decode sum
over steps, the A100 Llama-2-7B figures, dtypes by role, memory fit, tensor parallelism, MoE, windows."""

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from estimator.hardware import Hardware, Peak, PeakUnavailable, Spec
from estimator.llm import Dtypes, Workload, estimate_llm, memory_fit
from estimator.transformer import TransformerConfig
from hwdb.resources import data_dir


def shipped(name: str) -> TransformerConfig:
    return TransformerConfig.from_hf(json.loads((data_dir() / "models" / f"{name}.json").read_text()), name)


def gpu(name="A100-40GB", *, fp16=312e12, fp16_vector=78e12, fp32_vector=19.5e12, fp8=None, int8=None, bandwidth=1555e9,
        memory=40e9, scale_up=None, host=32e9) -> Hardware:
    """A plain record with the figures the issue names (A100 SXM4 40GB: 312 TFLOP/s FP16 tensor, 1555 GB/s)."""
    peaks = [Peak("fp16", "matrix", False, fp16, "datasheet"), Peak("fp32", "vector", False, fp32_vector, "datasheet")]
    peaks += [Peak("fp16", "vector", False, fp16_vector, "datasheet")] if fp16_vector else []
    peaks += [Peak("fp8", "matrix", False, fp8, "datasheet")] if fp8 else []
    peaks += [Peak("int8", "matrix", False, int8, "datasheet")] if int8 else []
    specs = {"memory_bandwidth": Spec("memory_bandwidth", bandwidth, "B/s"), "memory": Spec("memory", memory, "B"),
             "host_link": Spec("host_link", "PCIe 4.0 x16"), "host_link_bandwidth": Spec("host_link_bandwidth", host, "B/s")}
    if scale_up:
        specs |= {"scale_up_link": Spec("scale_up_link", "NVLink 3"), "scale_up_bandwidth": Spec("scale_up_bandwidth", scale_up, "B/s")}
    unsupported = frozenset() if fp8 else frozenset({("fp8", "matrix"), ("fp8", "vector")})
    return Hardware(slug=name.lower(), name=name, vendor="test", kind="gpu", peaks=tuple(peaks), specs=specs,
                    unsupported=unsupported, matrix_label="tensor")


A100 = gpu()
LLAMA2 = shipped("llama-2-7b")


def kernel(phase, name):
    return next(k for k in phase.kernels if k.name == name)


# -- one Llama-2-7B block, by hand (d 4096, 32 heads of 128, MLP 11008, FP16 = 2 bytes) ------------------------
def test_one_decoder_block_in_prefill_by_hand():
    e = estimate_llm(LLAMA2, A100, Dtypes("fp16"), Workload(prompt=1024, generate=1))
    p, n, d, i = e.prefill, 1024, 4096, 11008
    per_block = {k.name: k for k in p.kernels}
    # qkv: 1024 tokens x 4096 x 3*4096 MACs; weights once; x in, q k v out
    qkv = per_block["qkv"]
    assert qkv.repeat == 32
    assert qkv.macs == 32 * n * d * 3 * d and qkv.flops == 2 * qkv.macs
    assert (qkv.weights, qkv.act_in, qkv.act_out) == (32 * d * 3 * d * 2, 32 * n * d * 2, 32 * n * 3 * d * 2)
    # flash attention, causal: 1024*1025/2 = 524,800 query-key pairs per head; QK^T and PV
    att = per_block["attention"]
    pairs = 1024 * 1025 // 2
    assert att.macs == 32 * 32 * pairs * 128 * 2
    assert att.flops == 32 * (2 * 32 * pairs * 128 * 2 + 6 * 32 * pairs)  # + scale and softmax, 6 per score
    assert att.kv_read == 32 * n * 2 * d * 2 and att.act_out == 32 * n * d * 2  # K and V once each; no scores written
    # the cache write: 1024 tokens x (K, V) x 4096 at FP16
    assert per_block["kv_write"].kv_write == 32 * n * 2 * d * 2
    # the gated MLP: gate+up 4096 -> 2*11008, SiLU*mul (6 FLOPs per element), down 11008 -> 4096
    assert per_block["gate_up"].macs == 32 * n * d * 2 * i
    assert per_block["act_mul"].flops == 32 * n * i * 6
    assert (per_block["act_mul"].act_in, per_block["act_mul"].act_out) == (32 * n * 2 * i * 2, 32 * n * i * 2)
    assert per_block["down"].weights == 32 * i * d * 2
    # residual add fused with RMS norm: (4d + 2) + d FLOPs per token; reads x and the residual, writes both
    norm = per_block["attn_norm"]
    assert norm.flops == 32 * n * (5 * d + 2) and norm.act_in == norm.act_out == 32 * 2 * n * d * 2 and norm.weights == 32 * d * 2
    # the LM head runs on the last position only
    assert per_block["lm_head"].macs == d * 32_000 and per_block["lm_head"].repeat == 1


def test_the_a100_llama_2_7b_prefill_by_hand():
    """Issue figure "about 44 ms": 13.54 TFLOP of matrix work at 312 TFLOP/s = 43.39 ms, + 0.04 ms of
    softmax on the vector units. The memory-bound kernels between them (norms, rotary, cache write,
    SiLU*mul, LM head) add 4.36 ms at 1555 GB/s: 47.79 ms."""
    e = estimate_llm(LLAMA2, A100, Dtypes("fp16"), Workload(prompt=1024, generate=128))
    matrix = sum(k.compute_time_s for k in e.prefill.kernels if k.engine == "matrix" and k.bound == "compute")
    linear_flops = 32 * 2 * 1024 * (4 * 4096 * 4096 + 3 * 4096 * 11008)  # 13,262,859,010,048
    attention_flops = 32 * 2 * 2 * 32 * 524_800 * 128  # 275,146,342,400
    assert matrix == pytest.approx(linear_flops / 312e12 + attention_flops / 312e12 + 32 * 6 * 32 * 524_800 / 78e12, rel=1e-9)
    assert matrix == pytest.approx(43.43e-3, abs=0.01e-3)
    per_block_memory = (2 * 4 * 1024 * 4096 * 2 + 2 * 4096 * 2  # two add+norms: x, residual in and out; weights
                        + 2 * 1024 * 8192 * 2 + 2 * 1024 * 8192 * 2  # rotary on q, k; cache write K, V
                        + 3 * 1024 * 11008 * 2) / 1555e9  # SiLU*mul
    head = (1024 * 4096 * 2 + 1024 * 8 + 1024 * 4096 * 2 + 4 * 1024 * 4096 * 2 + 4096 * 2  # embed gather, final add+norm
            + 32_000 * 4096 * 2 + 4096 * 2 + 32_000 * 2) / 1555e9  # LM head weights, in, logits out
    assert e.ttft_s == pytest.approx(matrix + 32 * per_block_memory + head, rel=1e-6)
    assert e.ttft_s == pytest.approx(47.79e-3, abs=0.01e-3)


def test_one_decode_step_at_kv_1024_by_hand():
    """Issue figure "about 8.8 ms": every weight but the embedding table (13.215 GB: one row of it is
    gathered) + the cache of 1025 entries (537 MB) + 12.6 MB of activations, at 1555 GB/s = 8.85 ms."""
    e = estimate_llm(LLAMA2, A100, Dtypes("fp16"), Workload(prompt=1024, generate=2))  # one decode step, n = 1024
    assert e.decode.steps == 1 and e.decode.kv_length.tolist() == [1024]
    weights = (LLAMA2.params - 32_000 * 4096) * 2
    assert e.decode.bytes_by_role()["weights"] == weights + 4096 * 2  # + the gathered embedding row
    assert e.decode.bytes_by_role()["kv_read"] == 32 * 1025 * 2 * 4096 * 2
    assert e.decode.bytes_by_role()["kv_write"] == 32 * 2 * 4096 * 2
    per_block_activations = 2 * (2 + 2) * 4096 + 4096 + 3 * 4096 + 2 * 8192 + 8192 + 2 * 4096 + 2 * 4096 + 4096 + 2 * 11008 + 3 * 11008 + 11008 + 4096
    activations = 32 * per_block_activations * 2 + (8 + 4096 * 2) + 4 * 4096 * 2 + 4096 * 2 + 32_000 * 2
    assert e.decode.bytes_by_role()["act_in"] + e.decode.bytes_by_role()["act_out"] == activations
    hand = (weights + 4096 * 2 + 32 * 1025 * 2 * 4096 * 2 + 32 * 2 * 4096 * 2 + activations) / 1555e9
    att = kernel(e.decode, "attention")  # per block: one query per head over 1025 keys
    assert att.macs == 32 * 32 * 1025 * 128 * 2 and att.kv_read == 32 * 1025 * 2 * 4096 * 2 and att.act_in == 32 * 4096 * 2
    qkv = kernel(e.decode, "qkv")
    assert qkv.macs == 32 * 4096 * 3 * 4096 and qkv.weights == 32 * 4096 * 3 * 4096 * 2  # all weights for one token
    assert all(k.bound in ("memory", "none") for k in e.decode.kernels)  # batch 1: nothing is compute bound
    assert e.tpot_s == pytest.approx(hand, rel=1e-9)
    assert e.tpot_s == pytest.approx(8.85e-3, abs=0.01e-3)


def test_decode_sums_every_step_as_the_cache_grows():
    """generate 128 after 1024: 127 steps at n = 1024 ... 1150; equal to costing each step on its own."""
    e = estimate_llm(LLAMA2, A100, Dtypes("fp16"), Workload(prompt=1024, generate=128))
    assert e.decode.steps == 127 and e.decode.kv_length[[0, -1]].tolist() == [1024, 1150]
    singles = [estimate_llm(LLAMA2, A100, Dtypes("fp16"), Workload(prompt=n, generate=2)).decode.time_s for n in (1024, 1087, 1150)]
    assert e.decode.step_time_s[[0, 63, 126]] == pytest.approx(singles, rel=1e-12)
    assert np.all(np.diff(e.decode.step_time_s) > 0)  # each step reads one more K and V entry
    step_growth = 32 * 2 * 4096 * 2 / 1555e9  # 524,288 more bytes of cache per step
    assert np.diff(e.decode.step_time_s) == pytest.approx(np.full(126, step_growth), rel=1e-6)
    assert e.e2e_s == pytest.approx(e.ttft_s + e.decode.step_time_s.sum())
    assert e.tpot_s == pytest.approx(e.decode.step_time_s.mean())
    assert e.tokens_per_s == pytest.approx(128 / e.e2e_s) and e.decode_tokens_per_s == pytest.approx(1 / e.tpot_s)
    # not the final length for every token: the last step reads 126 entries more than the first
    assert kernel(e.decode, "attention").kv_read == pytest.approx(32 * 2 * 4096 * 2 * sum(range(1025, 1152)))


def test_gqa_reads_kv_heads_and_computes_query_heads():
    l3 = shipped("llama-3-8b")
    e = estimate_llm(l3, A100, Dtypes("fp16"), Workload(prompt=1, generate=2))
    att = kernel(e.decode, "attention")
    assert att.kv_read == 32 * 2 * 2 * 8 * 128 * 2  # n = 1: 2 entries, 8 KV heads
    assert att.macs == 32 * 32 * 2 * 128 * 2  # 32 query heads over 2 keys, QK^T and PV


def test_plain_attention_writes_scores_and_ignores_the_mask():
    flash = estimate_llm(LLAMA2, A100, Dtypes("fp16"), Workload(prompt=512, generate=1))
    plain = estimate_llm(LLAMA2, A100, Dtypes("fp16"), Workload(prompt=512, generate=1, attention="plain"))
    scores = kernel(plain.prefill, "scores")
    assert scores.act_out == 32 * 32 * 512 * 512 * 2  # every score of every head written
    assert kernel(plain.prefill, "softmax").act_in == scores.act_out
    assert scores.macs == 32 * 32 * 512 * 512 * 128  # the full square, masked afterwards
    assert kernel(flash.prefill, "attention").macs == 32 * 32 * (512 * 513 // 2) * 128 * 2  # flash skips masked blocks
    bidirectional = estimate_llm(LLAMA2, A100, Dtypes("fp16"), Workload(prompt=512, generate=1, causal=False))
    assert kernel(bidirectional.prefill, "attention").macs == 32 * 32 * 512 * 512 * 128 * 2
    assert plain.ttft_s > flash.ttft_s


# -- dtypes by role -------------------------------------------------------------------------------------------
def test_int4_weights_shrink_bytes_not_compute():
    fp16 = estimate_llm(LLAMA2, A100, Dtypes("fp16"), Workload(prompt=1024, generate=2))
    int4 = estimate_llm(LLAMA2, A100, Dtypes("fp16", weights="int4"), Workload(prompt=1024, generate=2))
    for name in ("qkv", "o_proj", "gate_up", "down"):
        a, b = kernel(fp16.prefill, name), kernel(int4.prefill, name)
        assert b.weights == pytest.approx(a.weights / 2 * (0.5 + 2 / 128))  # 4 bits + an FP16 scale per 128
        assert b.macs == a.macs  # the same FP16 tensor-core work ...
        assert b.flops == a.flops + 2 * a.weights / 2  # ... plus 2 dequantisation FLOPs per weight
        assert b.compute_time_s > a.compute_time_s
    assert kernel(int4.decode, "lm_head").weights == kernel(fp16.decode, "lm_head").weights  # the head stays FP16
    assert int4.tpot_s < fp16.tpot_s / 2.5  # decode reads ~3.6x fewer bytes


def test_fp8_kv_and_fp8_compute_use_their_own_bytes_and_engines():
    h100 = gpu("H100", fp16=989e12, fp16_vector=134e12, fp32_vector=67e12, fp8=1979e12, bandwidth=3.35e12, memory=80e9)
    base = estimate_llm(LLAMA2, h100, Dtypes("fp16"), Workload(prompt=2048, generate=2))
    kv8 = estimate_llm(LLAMA2, h100, Dtypes("fp16", kv="fp8"), Workload(prompt=2048, generate=2))
    assert kv8.decode.bytes_by_role()["kv_read"] == base.decode.bytes_by_role()["kv_read"] / 2
    assert kv8.memory.kv_cache == base.memory.kv_cache / 2
    w8a8 = estimate_llm(LLAMA2, h100, Dtypes("fp8"), Workload(prompt=2048, generate=2))
    assert w8a8.dtypes == Dtypes("fp8", "fp8", "fp16", "fp16")
    a, b = kernel(base.prefill, "gate_up"), kernel(w8a8.prefill, "gate_up")
    assert b.compute_time_s == pytest.approx(a.compute_time_s * 989 / 1979)  # the FP8 engine, no dequantisation
    assert b.weights == a.weights / 2


def test_dtype_rules():
    assert Dtypes("int8").resolved() == Dtypes("int8", "int8", "fp16", "fp16")
    assert Dtypes("tf32").resolved() == Dtypes("tf32", "fp32", "fp32", "fp32")
    with pytest.raises(ValueError, match="W8A8"):
        Dtypes("int8", weights="int4").resolved()
    with pytest.raises(ValueError, match="narrower"):
        Dtypes("fp8", weights="fp16").resolved()
    with pytest.raises(ValueError, match="kv dtype"):
        Dtypes("fp16", kv="fp6").resolved()
    with pytest.raises(PeakUnavailable):
        estimate_llm(LLAMA2, A100, Dtypes("fp8"), Workload())


# -- memory fit and tensor parallelism ---------------------------------------------------------------------------
def test_memory_fit_by_hand_and_the_fewest_devices():
    l70 = shipped("llama-3-70b")
    fit = memory_fit(l70, Dtypes("fp16"), Workload(prompt=1024, generate=1024, batch=1), 40e9)
    assert fit.weights == pytest.approx(70_553_706_496 * 2)  # 141.1 GB
    assert fit.kv_cache == 2048 * 2 * 80 * 8 * 128 * 2  # 671 MB: 2048 tokens x 320 KiB
    assert fit.fits is False and fit.shortfall == pytest.approx(fit.total - 40e9)
    assert fit.min_devices == 4  # 35.3 GB each; 2 devices need 70.6 GB each
    split = memory_fit(l70, Dtypes("fp16"), Workload(prompt=1024, generate=1024, tp=4), 40e9)
    assert split.fits and split.kv_cache == fit.kv_cache / 4 and split.weights == pytest.approx(fit.weights / 4, rel=1e-3)
    e = estimate_llm(l70, A100, Dtypes("fp16"), Workload(prompt=1024, generate=8))
    assert e.limited_by == "capacity"


def test_kv_heads_replicate_beyond_their_count():
    l70 = shipped("llama-3-70b")  # 8 KV heads
    fit = memory_fit(l70, Dtypes("fp16"), Workload(prompt=1000, generate=24, tp=16), None)
    assert fit.kv_cache == 1024 * 2 * 80 * 1 * 128 * 2  # one KV head per device, not half of one
    assert fit.fits is None and fit.min_devices is None


def test_tensor_parallel_all_reduce_on_the_scale_up_link_by_hand():
    nvlink = gpu(scale_up=300e9)
    e = estimate_llm(LLAMA2, nvlink, Dtypes("fp16"), Workload(prompt=1024, generate=2, tp=2))
    assert e.link.kind == "scale-up" and e.link.name == "NVLink 3"
    reduce = kernel(e.prefill, "attn_allreduce")
    tensor = 1024 * 4096 * 2  # the hidden state of 1024 tokens at FP16
    assert reduce.link_bytes == 32 * tensor and reduce.bound == "interconnect"
    assert reduce.time_s == pytest.approx(32 * 2 * (2 - 1) / 2 * tensor / 300e9)  # ring: 2(N-1)/N x bytes / per-direction bandwidth
    assert kernel(e.prefill, "qkv").macs == 32 * 1024 * 4096 * 3 * 4096 / 2  # half the heads per device
    pcie = estimate_llm(LLAMA2, gpu(), Dtypes("fp16"), Workload(prompt=1024, generate=2, tp=2))
    assert pcie.link.kind == "host" and kernel(pcie.prefill, "mlp_allreduce").time_s == pytest.approx(32 * tensor / 32e9)
    with pytest.raises(ValueError, match="does not divide"):
        estimate_llm(LLAMA2, nvlink, Dtypes("fp16"), Workload(tp=3))


# -- architectures ------------------------------------------------------------------------------------------------
def test_moe_decode_reads_the_experts_its_tokens_touch():
    mixtral = shipped("mixtral-8x7b")
    expert = 3 * 4096 * 14336 * 2  # one expert's gate, up and down at FP16
    one = estimate_llm(mixtral, gpu(memory=None), Dtypes("fp16"), Workload(prompt=16, generate=2))
    moe = kernel(one.decode, "gate_up").weights + kernel(one.decode, "down").weights
    assert moe == pytest.approx(32 * 2 * expert)  # one token: its two experts
    many = estimate_llm(mixtral, gpu(memory=None), Dtypes("fp16"), Workload(prompt=16, generate=2, batch=64))
    touched = 8 * (1 - (1 - 2 / 8) ** 64)  # uniform routing: all but 8 x 0.75^64
    assert kernel(many.decode, "gate_up").weights + kernel(many.decode, "down").weights == pytest.approx(32 * touched * expert)
    assert kernel(many.decode, "gate_up").macs == 32 * 64 * 2 * 4096 * 2 * 14336  # each token runs 2 experts


def test_sliding_window_caps_the_cache():
    mistral = shipped("mistral-7b")
    e = estimate_llm(mistral, A100, Dtypes("fp16"), Workload(prompt=6000, generate=2))
    assert kernel(e.decode, "attention").kv_read == 32 * 4096 * 2 * 1024 * 2  # 4096 of the 6001 entries
    assert e.memory.kv_tokens == 4096


def test_bert_is_one_bidirectional_pass():
    bert = shipped("bert-base")
    t4 = gpu("T4", fp16=65e12, fp16_vector=None, fp32_vector=8.1e12, bandwidth=320e9, memory=16e9)
    e = estimate_llm(bert, t4, Dtypes("fp16"), Workload(prompt=128, generate=0, batch=32))
    assert e.decode.steps == 0 and e.tpot_s is None and e.tokens_per_s is None
    assert e.memory.kv_cache == 0 and e.causal is False
    assert kernel(e.prefill, "attention").macs == 12 * 32 * 12 * 128 * 128 * 64 * 2
    assert kernel(e.prefill, "pooler").macs == 32 * 768 * 768
    assert any("FP32 vector rate" in note for note in e.notes)
    with pytest.raises(ValueError, match="encoder"):
        estimate_llm(bert, t4, Dtypes("fp16"), Workload(prompt=128, generate=4))


# -- invariants ------------------------------------------------------------------------------------------------------
@settings(max_examples=40, deadline=None)
@given(prompt=st.integers(1, 4096), generate=st.integers(2, 64), batch=st.integers(1, 64),
       weights=st.sampled_from(["fp16", "int8", "int4", "fp8"]), kv=st.sampled_from(["fp16", "fp8", "int4"]))
def test_roofline_invariants(prompt, generate, batch, weights, kv):
    e = estimate_llm(LLAMA2, A100, Dtypes("fp16", weights=weights, kv=kv), Workload(prompt=prompt, generate=generate, batch=batch))
    for phase in (e.prefill, e.decode):
        for k in phase.kernels:  # a kernel takes at least as long as its work at peak and its bytes at bandwidth
            assert k.time_s >= k.compute_time_s * (1 - 1e-12) and k.time_s >= k.memory_time_s * (1 - 1e-12)
    assert np.all(np.diff(e.decode.step_time_s) >= 0)  # a longer cache never makes a step faster
    longer = estimate_llm(LLAMA2, A100, Dtypes("fp16", weights=weights, kv=kv), Workload(prompt=prompt + 64, generate=generate, batch=batch))
    assert longer.ttft_s > e.ttft_s and longer.tpot_s >= e.tpot_s
    assert e.e2e_s == pytest.approx(e.ttft_s + e.tpot_s * (generate - 1))
