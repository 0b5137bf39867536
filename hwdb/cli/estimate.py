"""`hwdb estimate MODEL --on DEVICE`, `hwdb util`, `hwdb models`: the roofline from the command line."""

import csv
import sys
from typing import Annotated, Optional

import typer

from estimator.units import FLOPS_PER_MAC, UnitError, format_rate, format_si, format_time, parse_duration, parse_quantity
from hwdb import api
from hwdb.cli import _output as out
from hwdb.cli._options import (
    Bf16, DbOpt, Fp4, Fp6, Fp8, Fp16, Fp32, Fp64, Int4, Int8, JsonOpt, Tf32, chosen_precision,
)

OnOpt = Annotated[str, typer.Option("--on", help="Device slug or alias, e.g. t4, a100, h100-sxm.")]
BatchOpt = Annotated[int, typer.Option("--batch", min=1, help="Batch size: scales activations, not weights.")]
ComputeEffOpt = Annotated[float, typer.Option("--compute-eff", min=0.0, max=1.0, help="Fraction of peak FLOP/s attained (1 = pure roofline).")]
MemoryEffOpt = Annotated[float, typer.Option("--memory-eff", min=0.0, max=1.0, help="Fraction of peak bandwidth attained (1 = pure roofline).")]
OverheadOpt = Annotated[Optional[str], typer.Option("--overhead", metavar="TIME", help="Fixed time added per layer (kernel launch), e.g. 5us.")]
_LLM = "Transformer configs (LLMs)"
DtypeOpt = Optional[str]


def _efficiency(compute: float, memory: float, overhead: str | None):
    from estimator.roof import Efficiency

    if compute <= 0 or memory <= 0:
        raise typer.BadParameter("efficiencies must be greater than 0")
    try:
        seconds = parse_duration(overhead) if overhead else 0.0
    except UnitError as error:
        raise typer.BadParameter(str(error), param_hint="--overhead") from None
    return Efficiency(compute=compute, memory=memory, overhead_s=seconds)


def _pure(efficiency) -> bool:
    return efficiency.compute == 1 and efficiency.memory == 1 and efficiency.overhead_s == 0


def _dims(given: list[str] | None) -> dict[str, int]:
    """--dim NAME=N options as a dict, each N a positive integer."""
    dims = {}
    for item in given or ():
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or not value.strip().isdigit() or int(value) < 1:
            raise typer.BadParameter(f"{item!r}: give NAME=N with N a positive integer, e.g. sequence=128", param_hint="--dim")
        dims[name.strip()] = int(value)
    return dims


def _graph_batch(network, batch: int, dims: dict[str, int]) -> int:
    """The batch of an ONNX graph whose batch dimension --dim set (its costs are per sample), else --batch."""
    symbol = (getattr(network, "reference", None) or {}).get("batch_symbol")  # a transformer config has no reference
    if symbol and symbol in dims:
        if batch not in (1, dims[symbol]):
            raise typer.BadParameter(f"--dim {symbol}={dims[symbol]} and --batch {batch} disagree: give one")
        return dims[symbol]
    return batch


def _how(efficiency, roof) -> str:
    """How the estimate was made: pure roofline, given efficiencies, or the device's calibration."""
    if roof.calibration is not None:
        fitted = roof.calibration.fitted
        return f"calibrated: {fitted.get('runtime', 'probe')}, {str(fitted.get('at', '?'))[:10]}"
    if _pure(efficiency):
        return "pure roofline"
    return f"compute x{efficiency.compute:g}, memory x{efficiency.memory:g}, +{format_time(efficiency.overhead_s)} per layer"


def estimate(
    model: Annotated[str, typer.Argument(help="A built-in model or transformer config (see `hwdb models`), a .toml/.json model file, or a Hugging Face config.json (or its folder).")],
    on: OnOpt,
    fp64: Fp64 = False, fp32: Fp32 = False, tf32: Tf32 = False, bf16: Bf16 = False, fp16: Fp16 = False,
    fp8: Fp8 = False, fp6: Fp6 = False, fp4: Fp4 = False, int8: Int8 = False, int4: Int4 = False,
    batch: BatchOpt = 1,
    layers: Annotated[bool, typer.Option("--layers", help="Per-layer table: MACs, bytes, intensity, bound, time, share, utilization.")] = False,
    compute_eff: ComputeEffOpt = 1.0,
    memory_eff: MemoryEffOpt = 1.0,
    overhead: OverheadOpt = None,
    json: JsonOpt = False,
    csv_out: Annotated[bool, typer.Option("--csv", help="Print CSV (SI units): one row per layer with --layers, else the totals.")] = False,
    prompt: Annotated[Optional[int], typer.Option("--prompt", min=1, help="Prompt tokens per sequence (prefill). Default 512.", rich_help_panel=_LLM)] = None,
    generate: Annotated[Optional[int], typer.Option("--generate", min=0, help="Output tokens per sequence (decode). Default 128; 0 for encoders.", rich_help_panel=_LLM)] = None,
    tp: Annotated[int, typer.Option("--tp", min=1, help="Tensor parallelism: split the matmuls over N chips, all-reduce on the scale-up link (else PCIe).", rich_help_panel=_LLM)] = 1,
    compute: Annotated[DtypeOpt, typer.Option("--compute", metavar="DTYPE", help="Matrix-engine precision of the linear layers (same as the precision flags). Default fp16.", rich_help_panel=_LLM)] = None,
    weights: Annotated[DtypeOpt, typer.Option("--weights", metavar="DTYPE", help="Block weight storage: fp16, bf16, fp8, int8, int4, fp4... Default: the compute precision.", rich_help_panel=_LLM)] = None,
    kv: Annotated[DtypeOpt, typer.Option("--kv", metavar="DTYPE", help="KV-cache dtype: fp16, bf16, fp8, int8, int4. Default: the activation dtype.", rich_help_panel=_LLM)] = None,
    activations: Annotated[DtypeOpt, typer.Option("--activations", metavar="DTYPE", help="Activation dtype: fp32, bf16, fp16. Default: the compute precision, FP16 below 16 bits.", rich_help_panel=_LLM)] = None,
    attention: Annotated[str, typer.Option("--attention", metavar="KERNEL", help="flash (scores stay on chip) or plain (scores written).", rich_help_panel=_LLM)] = "flash",
    causal: Annotated[Optional[bool], typer.Option("--causal/--no-causal", help="Causal mask (default: decoders yes, encoders no).", show_default=False, rich_help_panel=_LLM)] = None,
    chart: Annotated[Optional[str], typer.Option("--chart", metavar="PATH", help="Write the roofline chart with the layers: .html, .json, .png or .svg.")] = None,
    calibrated: Annotated[Optional[bool], typer.Option("--calibrated/--pure", help="Use the device's measured calibration (hwdb probe --save), or the pure roofline. Default: calibrated where the device has one.", show_default=False)] = None,
    fused: Annotated[bool, typer.Option("--fused", help="Cost the model as an inference runtime runs it: batch norms folded, activations and residual adds fused into the convolution or linear layer before them.")] = False,
    dim: Annotated[Optional[list[str]], typer.Option("--dim", metavar="NAME=N", help="Set an ONNX graph's dynamic dimension, e.g. --dim sequence=128 (repeatable); the batch one sets --batch.")] = None,
    db: DbOpt = None,
) -> None:
    """Predicted latency, throughput and utilization of a model on a device (roofline).

    CNNs, layer descriptions and ONNX graphs (model.onnx, the onnx extra): per-layer roofline, FP32
    unless a precision flag is given; ops an ONNX import cannot cost are listed, one line per op type.
    A device measured by `hwdb probe --save` is estimated with its calibration unless --pure.
    Transformer configs (llama-3-8b, ...): prefill and decode with TTFT, TPOT, tokens/s, KV cache and
    memory fit, FP16 unless a precision flag or --compute is given.

    Example: hwdb estimate resnet50 --on t4 --fp16 --batch 32 --layers

    Example: hwdb estimate llama-3-8b --on h100-sxm --prompt 2048 --generate 256 --batch 8 --tp 2

    Example: hwdb estimate model.onnx --on local --dim sequence=128 --fused
    """
    from estimator.roofline import estimate as run_estimate
    from estimator.transformer import TransformerConfig
    from hwdb.workloads import load_model

    if json and csv_out:
        raise typer.BadParameter("pick one of --json and --csv")
    flag = chosen_precision(fp64=fp64, fp32=fp32, tf32=tf32, bf16=bf16, fp16=fp16, fp8=fp8, fp6=fp6, fp4=fp4, int8=int8, int4=int4)
    if flag and compute and flag != compute.lower():
        raise typer.BadParameter(f"--{flag} and --compute {compute} disagree: give one")
    efficiency = _efficiency(compute_eff, memory_eff, overhead)
    explicit = not _pure(efficiency)
    if calibrated and explicit:
        raise typer.BadParameter("--calibrated and --compute-eff/--memory-eff/--overhead disagree: give one")
    dims = _dims(dim)
    network = load_model(model, dims)
    batch = _graph_batch(network, batch, dims)
    llm_options = {"--prompt": prompt, "--generate": generate, "--compute": compute, "--weights": weights, "--kv": kv,
                   "--activations": activations, "--causal/--no-causal": causal}
    if isinstance(network, TransformerConfig):
        if fused:
            raise typer.BadParameter("--fused is for layer models and ONNX graphs; a transformer config's kernels are already fused")
        _estimate_llm(network, on, flag or (compute or "fp16").lower(), batch, prompt, generate, tp, weights, kv, activations,
                      attention, causal, efficiency if explicit else None, calibrated, layers, json, csv_out, chart, db)
        return
    given = [name for name, value in llm_options.items() if value is not None] + (["--tp"] if tp != 1 else []) \
        + (["--attention"] if attention != "flash" else [])
    if given:
        raise typer.BadParameter(f"{', '.join(given)}: only for transformer configs (e.g. llama-3-8b); {network.name} is a layer model")
    precision = flag or "fp32"
    if fused:
        from estimator.models import fuse

        try:
            network = fuse(network)
        except ValueError as error:
            raise typer.BadParameter(str(error), param_hint="--fused") from None
    record = api.device(on, db=db)
    result = run_estimate(network, record, precision, batch, efficiency if explicit else None, calibrated)
    if chart:
        from hwdb.export import write_estimate_chart

        out.note(f"wrote {write_estimate_chart(result, chart)}")
    if json:
        data = result.to_dict()
        if not layers:
            data.pop("layers")
        out.print_json(data)
    elif csv_out:
        _print_csv(result, layers)
    else:
        _print_estimate(result, record, layers)


def _print_estimate(result, record, with_layers: bool) -> None:
    roof, precision = result.roof, result.precision
    matrix = record.peak(precision)
    label = out.peak_label(record, matrix)
    eff = roof.efficiency
    how = _how(eff, roof)
    if with_layers:
        rows = [
            [l.name, l.op, format_si(l.macs, "MAC") if l.macs else "-", format_si(l.bytes, "B"),
             f"{l.intensity:.3g}" if l.intensity == l.intensity else "-", l.bound, format_time(l.time_s),
             f"{l.share:.1%}", f"{l.utilization:.1%}" if l.flops else "-"]
            for l in result.layers
        ]
        out.table(None, ["layer", "op", "MACs", "bytes", "FLOP/B", "bound", "time", "share", "util"], rows, right=(2, 3, 4, 6, 7, 8))
    out.echo(f"{result.model} on {result.device}, {precision.upper()}, batch {result.batch} ({how})")
    out.echo(f"  latency     {format_time(result.latency_s)}  throughput {result.throughput:,.4g} samples/s")
    out.echo(f"  work        {format_si(result.flops, 'FLOP')} ({format_si(result.macs, 'MAC')}; FLOPs = {FLOPS_PER_MAC} x MACs + non-MAC work), "
             f"{format_si(result.bytes, 'B')} moved")
    unit = "OP" if precision.startswith("int") else "FLOP"
    out.echo(f"  achieved    {format_rate(result.achieved, precision)} = {result.mfu:.1%} of the {format_rate(matrix.value, precision)} {label} peak (MFU)")
    out.echo(f"  roof        ridge point {roof.ridge_point:.3g} {unit}/byte ({format_rate(roof.matrix_peak * eff.compute, precision)} / "
             f"{format_si(roof.bandwidth * eff.memory, 'B/s')}); {result.compute_bound_share:.0%} of the time in compute-bound layers")
    for note in result.notes:
        out.echo(f"  note        {note}")


def _print_csv(result, with_layers: bool) -> None:
    writer = csv.writer(sys.stdout, lineterminator="\n")
    if with_layers:
        fields = ["name", "op", "engine", "params", "macs", "flops", "bytes", "intensity", "compute_time_s", "memory_time_s",
                  "time_s", "bound", "achieved", "utilization", "share"]
        writer.writerow(fields)
        for layer in result.layers:
            writer.writerow([getattr(layer, f) for f in fields])
        return
    data = result.to_dict()
    data.pop("layers")
    data.pop("notes")
    efficiency = data.pop("efficiency")
    data.update({f"{k}_efficiency" if k != "overhead_s" else k: v for k, v in efficiency.items()})
    writer.writerow(list(data))
    writer.writerow(list(data.values()))


def util(
    on: OnOpt,
    time: Annotated[str, typer.Option("--time", metavar="TIME", help="Measured time per batch, e.g. 3.1ms.")],
    flops: Annotated[Optional[str], typer.Option("--flops", metavar="COUNT", help="FLOPs of the measured work, e.g. 8.2G (not MACs).")] = None,
    macs: Annotated[Optional[str], typer.Option("--macs", metavar="COUNT", help=f"MACs of the measured work, e.g. 4.1G (counted as {FLOPS_PER_MAC} FLOPs each).")] = None,
    model: Annotated[Optional[str], typer.Option("--model", help="Take the FLOPs (and bytes) from a model instead.")] = None,
    batch: BatchOpt = 1,
    bytes_moved: Annotated[Optional[str], typer.Option("--bytes", metavar="SIZE", help="Bytes moved, e.g. 120MB: adds the memory roof to --flops.")] = None,
    fp64: Fp64 = False, fp32: Fp32 = False, tf32: Tf32 = False, bf16: Bf16 = False, fp16: Fp16 = False,
    fp8: Fp8 = False, fp6: Fp6 = False, fp4: Fp4 = False, int8: Int8 = False, int4: Int4 = False,
    json: JsonOpt = False,
    db: DbOpt = None,
) -> None:
    """Utilization of a measured run: achieved FLOP/s against the peak and against the roofline.

    The chapter's 利用率: work / measured time = achieved FLOP/s; achieved / theoretical peak = utilization.

    Example: hwdb util --flops 8.2G --time 3.1ms --on t4 --fp16
    """
    given = [name for name, value in (("--flops", flops), ("--macs", macs), ("--model", model)) if value]
    if len(given) != 1:
        raise typer.BadParameter("give exactly one of --flops, --macs and --model")
    if model and bytes_moved:
        raise typer.BadParameter("--bytes goes with --flops/--macs; a model's bytes come from its layers")
    if batch != 1 and not model:
        raise typer.BadParameter("--batch goes with --model (--flops is the whole measured work)")
    precision = chosen_precision(fp64=fp64, fp32=fp32, tf32=tf32, bf16=bf16, fp16=fp16, fp8=fp8, fp6=fp6, fp4=fp4, int8=int8, int4=int4) or "fp32"
    try:
        seconds = parse_duration(time)
        work = parse_quantity(flops, "FLOP") if flops else parse_quantity(macs, "MAC") * FLOPS_PER_MAC if macs else None
        traffic = parse_quantity(bytes_moved, "B") if bytes_moved else None
    except UnitError as error:
        raise typer.BadParameter(str(error)) from None
    if (work is not None and work <= 0) or (traffic is not None and traffic <= 0):
        raise typer.BadParameter("--flops, --macs and --bytes must be positive")
    record = api.device(on, db=db)
    peak = record.peak(precision)
    predicted = None
    if model:
        from estimator.roofline import estimate as run_estimate  # numpy: only with a model
        from hwdb.workloads import load_model

        result = run_estimate(load_model(model), record, precision, batch)
        work, traffic, predicted = result.flops, result.bytes, result.latency_s
    bandwidth = record.memory_bandwidth
    if predicted is None and traffic is not None and bandwidth:
        predicted = max(work / peak.value, traffic / bandwidth)
    achieved = work / seconds
    attainable = work / predicted if predicted else peak.value
    data = {
        "device": record.slug, "precision": precision, "flops": work, "bytes": traffic, "time_s": seconds,
        "achieved_per_s": achieved, "peak_per_s": peak.value, "utilization": achieved / peak.value,
        "roofline_time_s": predicted, "attainable_per_s": attainable, "utilization_of_attainable": achieved / attainable,
    }
    if json:
        out.print_json(data)
        return
    label = out.peak_label(record, peak)
    out.echo(f"{record.name}, {precision.upper()}: {format_si(work, 'FLOP')} in {format_time(seconds)}")
    out.echo(f"  achieved     {format_rate(achieved, precision)}")
    out.echo(f"  utilization  {achieved / peak.value:.1%} of the {format_rate(peak.value, precision)} {label} peak")
    if predicted:
        out.echo(f"  roofline     {format_time(predicted)} predicted at best, attainable {format_rate(attainable, precision)}: "
                 f"{achieved / attainable:.1%} of attainable")
    else:
        out.echo("  roofline     give --bytes (or --model) to compare with the memory roof as well")
    if achieved > peak.value * 1.0001:
        out.echo("  note         achieved exceeds the peak: check the work count (FLOPs, not MACs), the time and the precision")


def models(json: JsonOpt = False) -> None:
    """The built-in models: layer models (parameters, MACs and FLOPs per sample) and transformer configs.

    Example: hwdb models
    """
    from estimator.transformer import TransformerConfig
    from hwdb.workloads import load_model, model_names

    loaded = [load_model(name) for name in model_names()]
    networks = [m for m in loaded if not isinstance(m, TransformerConfig)]
    configs = [m for m in loaded if isinstance(m, TransformerConfig)]
    if json:
        out.print_json([
            *({"name": m.name, "kind": "layers", "description": m.description, "input_shape": list(m.input_shape), "params": m.params,
               "macs": m.macs, "flops": m.flops, "layers": len(m.layers), "reference": dict(m.reference) or None} for m in networks),
            *({"name": c.name, "kind": "transformer", "family": c.family, "params": c.params, "active_params": c.active_params,
               "layers": c.num_layers, "hidden_size": c.hidden_size, "heads": c.num_heads, "kv_heads": c.num_kv_heads,
               "head_dim": c.head_dim, "intermediate_size": c.intermediate_size, "vocab_size": c.vocab_size,
               "experts": c.num_experts, "experts_per_token": c.experts_per_token, "context": c.max_positions,
               "sliding_window": c.sliding_window, "source": c.source} for c in configs),
        ])
        return
    rows = [
        [m.name, f"{m.params:,}", format_si(m.macs, "MAC"), format_si(m.flops, "FLOP"), "x".join(map(str, m.input_shape)),
         str(len(m.layers)), m.description]
        for m in networks
    ]
    out.table("Layer models", ["model", "params", "MACs", "FLOPs", "input", "layers", "description"], rows, right=(1, 2, 3, 5))
    out.echo("MACs per sample; FLOPs = 2 x MACs + non-MAC work. torchvision's 'GFLOPS' column is MACs.")
    rows = [
        [c.name, f"{c.params:,}", f"{c.active_params:,}" if c.num_experts else "", str(c.num_layers), str(c.hidden_size),
         f"{c.num_heads}/{c.num_kv_heads} {c.attention}", f"{c.mlp} {c.intermediate_size}" + (f" x{c.num_experts}" if c.num_experts else ""),
         f"{c.max_positions:,}", c.family]
        for c in configs
    ]
    out.table("Transformer configs (hwdb estimate NAME --on DEV --prompt N --generate N)",
              ["model", "params", "active", "layers", "d", "heads q/kv", "MLP", "context", "family"], rows, right=(1, 2, 3, 4, 7))


# -- transformers ------------------------------------------------------------------------------------------
def _estimate_llm(config, on, compute, batch, prompt, generate, tp, weights, kv, activations, attention, causal, efficiency, calibrated,
                  with_layers, json, csv_out, chart, db) -> None:
    from estimator.llm import Dtypes, Workload, estimate_llm

    def dtype(value):
        return value.lower() if value else None

    if generate is None:
        generate = 128 if config.is_decoder else 0
    try:
        dtypes = Dtypes(compute, dtype(weights), dtype(activations), dtype(kv)).resolved()
        workload = Workload(prompt=prompt or 512, generate=generate, batch=batch, tp=tp, attention=attention.lower(), causal=causal)
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None
    record = api.device(on, db=db)
    try:
        result = estimate_llm(config, record, dtypes, workload, efficiency, calibrated)
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None
    if chart:
        from hwdb.export import write_estimate_chart

        out.note(f"wrote {write_estimate_chart(result, chart)}")
    if json:
        data = result.to_dict()
        if not with_layers:
            for phase in ("prefill", "decode"):
                data[phase].pop("kernels")
            data.pop("decode_step_time_s")
        out.print_json(data)
    elif csv_out:
        _print_llm_csv(result, with_layers)
    else:
        _print_llm(result, record, with_layers)


def _print_llm(result, record, with_layers: bool) -> None:
    from estimator.units import format_bytes

    w, d, roof = result.workload, result.dtypes, result.roof
    eff = roof.efficiency
    if with_layers:
        for phase in (result.prefill, result.decode):
            if not phase.steps:
                continue
            total = phase.time_s or 1.0
            rows = [
                [k.name, f"x{k.repeat}" if k.repeat > 1 else "", f"{k.engine} {k.precision}" if k.engine in ("matrix", "vector") else k.engine,
                 format_si(k.flops, "FLOP") if k.flops else "-",
                 *(format_si(getattr(k, role), "B") if getattr(k, role) else "-" for role in ("weights", "act_in", "act_out", "kv_read", "kv_write")),
                 format_time(k.time_s), f"{k.time_s / total:.1%}", k.bound]
                for k in phase.kernels
            ]
            title = "Prefill" if phase.name == "prefill" else f"Decode ({phase.steps} steps, KV {int(phase.kv_length[0]):,} to {int(phase.kv_length[-1]):,})"
            out.table(f"{title}: each kernel over all blocks", ["kernel", "blocks", "engine", "FLOPs", "weights", "act in", "act out",
                      "KV read", "KV write", "time", "share", "bound"], rows, right=tuple(range(3, 11)))
    how = _how(eff, roof).replace("per layer", "per kernel")
    cfg = f"prompt {w.prompt:,}" + (f", generate {w.generate:,}" if w.generate or result.decode.steps else "")
    out.echo(f"{result.model} ({result.params / 1e9:.3g} B params) on {result.device}: batch {w.batch}, {cfg}"
             + (f", tensor parallel {w.tp}" if w.tp > 1 else "") + f" ({how})")
    out.echo(f"  dtypes      {d.describe()}; {w.attention} attention, {'causal' if result.causal else 'bidirectional'}")
    pre = result.prefill
    label = "time to first token" if result.output_tokens else "latency"
    out.echo(f"  {label:<19} {format_time(result.ttft_s)}  prefill of {pre.tokens:,} tokens: {format_si(pre.flops, 'FLOP')}, "
             f"{format_si(pre.bytes, 'B')} moved, MFU {result.prefill_mfu:.1%}")
    if result.tpot_s is not None:
        steps = result.decode.step_time_s
        out.echo(f"  {'time per out token':<19} {format_time(result.tpot_s)}  mean of {result.decode.steps:,} decode steps "
                 f"({format_time(float(steps[0]))} at KV {int(result.decode.kv_length[0]):,}, {format_time(float(steps[-1]))} at KV {int(result.decode.kv_length[-1]):,})")
    if result.output_tokens:
        out.echo(f"  {'end to end':<19} {format_time(result.e2e_s)}  {result.tokens_per_s:,.4g} output tokens/s over the request"
                 + (f", {result.decode_tokens_per_s:,.4g} tokens/s while decoding" if result.decode_tokens_per_s else ""))
    else:
        out.echo(f"  {'throughput':<19} {result.sequences_per_s:,.4g} sequences/s")
    m = result.memory
    per = " per device" if w.tp > 1 else ""
    fit = "unknown device memory" if m.fits is None else (f"fits ({m.total / m.available:.0%})" if m.fits else
                                                          f"does NOT fit: {format_bytes(m.shortfall)} over")
    cache = f"{format_bytes(m.kv_cache)} KV cache ({m.kv_tokens:,} tokens x {w.batch})" if result.output_tokens or m.kv_cache else "no KV cache"
    out.echo(f"  {'memory' + per:<19} {format_bytes(m.weights)} weights + {cache} "
             f"+ {format_bytes(m.activations)} activations = {format_bytes(m.total)}"
             + (f" of {format_bytes(m.available)}: {fit}" if m.available else f": {fit}"))
    if m.fits is False or (m.min_devices and m.min_devices != w.tp):
        need = f"fewest devices that hold it: {m.min_devices} (--tp {m.min_devices})" if m.min_devices else "no tensor-parallel split of its heads holds it"
        out.echo(f"  {'':<19} {need}")
    if result.link is not None:
        link = result.link
        out.echo(f"  {'interconnect':<19} {link.name} ({link.kind} link), {format_si(link.bandwidth, 'B/s')} per direction; "
                 f"ring all-reduce 2(N-1)/N x bytes / bandwidth, 2 per block")
    shares = result.time_by_bound()
    total = sum(shares.values()) or 1.0
    split = ", ".join(f"{k} {v / total:.0%}" for k, v in sorted(shares.items(), key=lambda kv: -kv[1]) if k != "none")
    out.echo(f"  {'limited by':<19} {result.limited_by} (time by bound: {split})")
    out.echo(f"  {'roof':<19} {format_rate(roof.matrix_peak, roof.precision)} {out.peak_label(record, record.peak(roof.precision))}, "
             f"{format_si(roof.bandwidth, 'B/s')}; FLOPs = {FLOPS_PER_MAC} x MACs + non-MAC work")
    for note in result.notes:
        out.echo(f"  note        {note}")


def _print_llm_csv(result, with_layers: bool) -> None:
    writer = csv.writer(sys.stdout, lineterminator="\n")
    if with_layers:
        fields = ["name", "op", "engine", "precision", "repeat", "macs", "flops", "weights", "act_in", "act_out", "kv_read", "kv_write",
                  "link_bytes", "compute_time_s", "memory_time_s", "link_time_s", "time_s", "bound"]
        writer.writerow(["phase", *fields])
        for phase in (result.prefill, result.decode):
            for kernel in phase.kernels:
                writer.writerow([phase.name, *(getattr(kernel, f) for f in fields)])
        return
    data = {"model": result.model, "device": result.device, "batch": result.workload.batch, "prompt": result.workload.prompt,
            "generate": result.workload.generate, "tp": result.workload.tp, **{f"{k}_dtype": v for k, v in result.dtypes.__dict__.items()},
            "ttft_s": result.ttft_s, "tpot_s": result.tpot_s, "e2e_s": result.e2e_s, "tokens_per_s": result.tokens_per_s,
            "memory_bytes": result.memory.total, "fits": result.memory.fits, "limited_by": result.limited_by}
    writer.writerow(list(data))
    writer.writerow(list(data.values()))
