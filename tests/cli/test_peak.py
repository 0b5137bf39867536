"""`hwdb peak`: exact output lines and exit codes."""

import json

import pytest



@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["t4", "--fp16"], "NVIDIA T4  FP16 tensor, dense: 65 TFLOP/s"),
        (["t4", "--int8"], "NVIDIA T4  INT8 tensor, dense: 130 TOP/s"),
        (["t4", "--int4"], "NVIDIA T4  INT4 tensor, dense: 260 TOP/s"),
        (["t4", "--fp32"], "NVIDIA T4  FP32 vector, dense: 8.1 TFLOP/s"),
        (["p100", "--fp64"], "NVIDIA Tesla P100 SXM2 16GB  FP64 vector, dense: 5.3 TFLOP/s"),
        (["p100", "--fp32"], "NVIDIA Tesla P100 SXM2 16GB  FP32 vector, dense: 10.6 TFLOP/s"),
        (["p100", "--fp16"], "NVIDIA Tesla P100 SXM2 16GB  FP16 vector, dense: 21.2 TFLOP/s"),
        (["h100", "--bf16"], "NVIDIA H100 SXM5 80GB  BF16 tensor, dense: 989 TFLOP/s"),
        (["h100", "--bf16", "--sparse"], "NVIDIA H100 SXM5 80GB  BF16 tensor, sparse: 1.98 PFLOP/s"),
        (["a100", "--fp16", "--vector"], "NVIDIA A100 SXM4 80GB  FP16 vector, dense: 78 TFLOP/s"),
        (["l4", "--fp16"], "NVIDIA L4  FP16 tensor, dense: 121 TFLOP/s"),  # the datasheet prints 242 with sparsity
    ],
)
def test_peak_prints_one_line(db, cli, args, line):
    code, out, err = cli("peak", *args)
    assert (code, out, err) == (0, line + "\n", "")


def test_explain_shows_derivation_datasheet_and_sources(db, cli):
    code, out, _ = cli("peak", "t4", "--int4", "--explain")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "NVIDIA T4  INT4 tensor, dense: 260 TOP/s"
    assert lines[1] == "  derived:   1 chip x 1.59 GHz boost clock x 320 tensor cores x 512 OP/clock = 261 TOP/s"
    assert lines[2].startswith("             ops per clock: ") and "<http" in lines[2]
    assert lines[3].startswith("  datasheet: 260 TOP/s, ") and "<http" in lines[3]
    assert lines[4] == "  check:     derived / datasheet = 1.0019 (+0.19%; limit ±2%)"


def test_explain_names_the_clock_the_vendor_used(db, cli):
    _, out, _ = cli("peak", "h100-sxm", "--fp16", "--explain")
    assert "1.83 GHz clock the vendor's figure assumes (boost clock 1.98 GHz) x 528 tensor cores x 1024 FLOP/clock" in out


def test_json_is_si(db, cli):
    code, out, _ = cli("peak", "t4", "--fp16", "--json")
    data = json.loads(out)
    assert code == 0 and data["value"] == 65e12 and data["unit"] == "FLOP/s" and data["origin"] == "datasheet"
    assert data["derived_value"] == pytest.approx(65.1264e12)
    assert data["source"]["url"].startswith("http")


def test_all_peaks_without_a_precision_flag(db, cli):
    code, out, _ = cli("peak", "t4")
    assert code == 0 and "FP16 tensor, dense" in out and "65 TFLOP/s" in out and "260 TOP/s" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["p100", "--tf32"], "hwdb: NVIDIA Tesla P100 SXM2 16GB: TF32 not supported: neither its tensor nor its vector units execute TF32"),
        (["t4", "--fp16", "--sparse"], "hwdb: NVIDIA T4: FP16 sparse not supported: 2:4 structured sparsity does not apply to FP16 on this architecture"),
        (["mi350x", "--fp32"], "hwdb: AMD Instinct MI350X: FP32 matrix core unknown: no public source gives this figure; the dense vector figure is 144 TFLOP/s"),
        (["h100", "--int4"], "hwdb: NVIDIA H100 SXM5 80GB: INT4 tensor unknown: no public source gives this figure"),
    ],
)
def test_missing_figures_exit_1_and_say_which_kind(db, cli, args, message):
    code, out, err = cli("peak", *args)
    assert (code, out, err) == (1, "", message + "\n")


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["t5", "--fp16"], "unknown device 't5'; did you mean t4"),
        (["a100-", "--fp16"], "ambiguous device 'a100-'"),
        (["t4", "--fp16", "--int8"], "pick one precision, got --fp16 and --int8"),
        (["t4", "--fp15"], "No such option: --fp15"),
        ([], "Missing argument"),
        (["", "--fp16"], "unknown device ''"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(db, cli, args, needle):
    code, out, err = cli("peak", *args)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("hwdb: ") and needle in err


def test_accumulate_mode_is_chosen_explicitly(db, cli):
    code, out, err = cli("peak", "h100-sxm", "--fp16", "--accumulate", "fp16")
    assert code == 1 and "FP16 tensor unknown" in err  # H100's figure is not quoted per accumulate mode
    code, _, err = cli("peak", "t4", "--fp16", "--accumulate", "fp64")
    assert code == 2 and "--accumulate" in err
