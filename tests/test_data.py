"""The shipped catalog: every figure sourced, every derivable peak within 2% of its datasheet figure,
and the chapter's worked examples exact."""

import re
import tomllib

import pytest

from estimator.peak import DATASHEET_TOLERANCE, relative_error
from estimator.units import PRECISIONS, format_rate
from hwdb.loader import SPEC_TYPES, derivation_problems, load_catalog
from hwdb.resources import catalog_files, data_dir
from estimator.hardware import SPEC_NAMES

CATALOG = load_catalog(data_dir())
DEVICES = {d.slug: d for d in CATALOG.devices}

REQUIRED = [
    "nvidia-p100-sxm2", "nvidia-p100-pcie", "nvidia-v100-sxm2", "nvidia-t4", "nvidia-a10",
    "nvidia-a100-pcie-40gb", "nvidia-a100-sxm4-80gb", "nvidia-l4", "nvidia-h100-sxm", "nvidia-h100-pcie",
]


def test_required_devices_are_present():
    assert set(REQUIRED) <= set(DEVICES)


def test_spec_names_match_the_record_type():
    assert tuple(SPEC_TYPES) == SPEC_NAMES


@pytest.mark.parametrize("slug", sorted(DEVICES))
def test_every_figure_names_a_known_source(slug):
    record = DEVICES[slug]
    for spec in record.specs.values():
        assert spec.source in CATALOG.sources, (slug, spec.name)
    for peak in record.peaks:
        assert peak.source or peak.derivation_source, (slug, peak.precision)
        for source in (peak.source, peak.derivation_source):
            assert source is None or source in CATALOG.sources


@pytest.mark.parametrize("slug", sorted(DEVICES))
def test_derived_peaks_match_datasheet_within_two_percent(slug):
    assert derivation_problems(DEVICES[slug]) == []


def test_every_derivable_datasheet_peak_is_cross_checked():
    # Where the architecture gives an ops-per-clock rate for a figure's engine and precision, the
    # device must carry the unit count and clock that derive it, so that the 2% check runs. (Engines
    # with no public per-unit rate, such as Apple's Neural Engine, are datasheet figures only.)
    architectures = CATALOG.architectures
    unchecked = [
        (r.slug, p.precision, p.engine, p.sparse)
        for r in CATALOG.devices if r.architecture
        for p in r.peaks
        if p.datasheet_value is not None and p.derived_value is None
        and (p.engine, p.precision, p.accumulate) in architectures[r.architecture].rates
    ]
    # The L4's tensor-core count has no trustworthy public source (third-party pages print 240,
    # which contradicts its 7424 CUDA cores = 58 SMs), so its tensor figures cannot be derived.
    assert {u[0] for u in unchecked} <= {"nvidia-l4"}, unchecked


@pytest.mark.parametrize("slug", sorted(DEVICES))
def test_sparse_figures_are_twice_dense_where_both_are_printed(slug):
    record = DEVICES[slug]
    for peak in record.peaks:
        if peak.sparse and peak.datasheet_value:
            dense = next((p for p in record.peaks if (p.precision, p.engine, p.accumulate, p.sparse) == (peak.precision, peak.engine, peak.accumulate, False)), None)
            if dense is not None and dense.datasheet_value:
                assert abs(relative_error(peak.datasheet_value, 2 * dense.datasheet_value)) <= DATASHEET_TOLERANCE


def test_no_dense_figure_is_a_sparse_one_in_disguise():
    # H100 SXM BF16 is 989 TFLOP/s dense; the 1979 printed with an asterisk is the sparse figure.
    h100 = DEVICES["nvidia-h100-sxm"]
    assert h100.peak("bf16").value == pytest.approx(989.4e12, rel=0.01)
    assert h100.peak("bf16", sparse=True).value == pytest.approx(1979e12, rel=0.01)


@pytest.mark.parametrize(
    ("slug", "precision", "engine", "expected"),
    [
        ("nvidia-p100-sxm2", "fp64", "vector", "5.3 TFLOP/s"),
        ("nvidia-p100-sxm2", "fp32", "vector", "10.6 TFLOP/s"),
        ("nvidia-p100-sxm2", "fp16", "vector", "21.2 TFLOP/s"),
        ("nvidia-t4", "fp16", "matrix", "65 TFLOP/s"),
        ("nvidia-t4", "int8", "matrix", "130 TOP/s"),
        ("nvidia-t4", "int4", "matrix", "260 TOP/s"),
    ],
)
def test_chapter_worked_examples(slug, precision, engine, expected):
    peak = DEVICES[slug].peak(precision, engine=engine)
    assert format_rate(peak.value, precision) == expected
    assert peak.derivation is not None and abs(relative_error(peak.derived_value, peak.value)) < 0.003


def test_p100_alias_is_the_chapters_sxm2_part_at_1480_mhz():
    record = next(d for d in CATALOG.devices if "p100" in d.aliases)
    assert record.slug == "nvidia-p100-sxm2"
    assert record.spec("boost_clock") == 1.48e9
    assert record.spec("fp64_cores") == 1792 and record.spec("cuda_cores") == 3584


def test_h100_tensor_rates_use_the_clock_nvidia_quotes_them_at():
    peak = DEVICES["nvidia-h100-sxm"].peak("fp16")
    assert peak.derivation.clock_hz == 1.83e9 and DEVICES["nvidia-h100-sxm"].spec("boost_clock") == 1.98e9
    assert DEVICES["nvidia-h100-sxm"].peak("fp32").derivation.clock_hz == 1.98e9


def test_links_are_stored_per_direction():
    a100 = DEVICES["nvidia-a100-sxm4-80gb"].specs["scale_up_bandwidth"]
    assert a100.direction == "bidirectional" and a100.value == 300e9  # NVLink 3: 600 GB/s both ways


def test_memory_capacity_is_stored_as_the_vendor_prints_it():
    # NVIDIA prints "16 GB" and "80 GB": 10^9 bytes, never silently turned into GiB.
    assert DEVICES["nvidia-t4"].memory_bytes == 16e9
    assert DEVICES["nvidia-a100-sxm4-80gb"].memory_bytes == 80e9


def test_not_supported_differs_from_unknown():
    t4 = DEVICES["nvidia-t4"]
    assert not t4.is_supported("bf16")  # Turing tensor cores have no BF16
    assert t4.is_supported("int8")
    h100 = DEVICES["nvidia-h100-sxm"]
    assert h100.is_supported("int4")  # unknown: no source says either way
    assert all(p.precision != "int4" for p in h100.peaks)


def test_every_source_is_cited_by_a_figure_or_a_note():
    text = "".join(path.read_text() for path in catalog_files(data_dir()) if path.parent.name != "sources")
    cited = set(re.findall(r'source = "([^"]+)"', text))
    for source_id in CATALOG.sources:
        assert source_id in cited or source_id in text, f"{source_id} is cited nowhere"


def test_every_source_has_a_publisher_and_an_access_date():
    raw = {k: v for path in (data_dir() / "sources").glob("*.toml") for k, v in tomllib.loads(path.read_text()).items()}
    for key, entry in raw.items():
        assert entry.get("publisher"), key
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", entry.get("accessed", "")), key


def test_precisions_are_known():
    assert all(p.precision in PRECISIONS for d in CATALOG.devices for p in d.peaks)


def test_the_shipped_toml_is_toml_1_0():
    """hwdb parses TOML 1.1 (tomli); the shipped files stay TOML 1.0, read alike by the standard library and other tools."""
    import tomli

    for path in sorted(data_dir().rglob("*.toml")):
        text = path.read_text()
        assert tomllib.loads(text) == tomli.loads(text), path.name
