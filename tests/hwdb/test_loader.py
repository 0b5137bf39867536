"""The loader rejects malformed data with one clear line naming the file and key."""


import pytest

from hwdb.errors import InvalidSpecError
from hwdb.loader import load_catalog

T4 = "devices/nvidia/turing.toml"


def edit(root, relative, old, new):
    path = root / relative
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


def test_shipped_data_loads(data_copy):
    catalog = load_catalog(data_copy)
    assert catalog.release and len(catalog.devices) >= 10


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('source = "heise-tesla-t4-announcement"', 'source = "nowhere"', "unknown source 'nowhere'"),
        ('value = "1590 MHz"', 'value = "1590 MB"', "is in B, expected Hz"),
        ('value = "65 TFLOPS"', 'value = "65 TOPS"', "is in OP/s, expected FLOP/s"),
        ('value = "130 TOPS"', 'value = "130 TFLOPS"', "is in FLOP/s, expected OP/s"),
        ('precision = "int4"', 'precision = "int3"', "unknown precision"),
        ('engine = "vector"', 'engine = "simd"', "engine must be"),
        ('value = "65 TFLOPS"', 'value = "75 TFLOPS"', "over 2%"),
        ('value = 2560,', 'value = "many",', "positive integer"),
        ('tdp = {', 'tdpp = {', "unknown spec name"),
        ('value = "2018-09-13"', 'value = "2018-13-01"', "must be a date"),
        ('sparse = false\nvalue = "65 TFLOPS"', 'sparse = "no"\nvalue = "65 TFLOPS"', "sparse must be true or false"),
    ],
)
def test_bad_device_data_is_rejected(data_copy, old, new, message):
    edit(data_copy, T4, old, new)
    with pytest.raises(InvalidSpecError, match=message) as error:
        load_catalog(data_copy)
    assert "\n" not in str(error.value)
    assert "turing.toml" in str(error.value) or "T4" in str(error.value) or "t4" in str(error.value)


def test_link_bandwidth_needs_a_direction(data_copy):
    edit(data_copy, "devices/nvidia/ampere.toml", 'direction = "bidirectional", ', "")
    with pytest.raises(InvalidSpecError, match="needs direction"):
        load_catalog(data_copy)


def test_invalid_toml_is_one_line(data_copy):
    (data_copy / T4).write_text("[[device]\nslug = ")
    with pytest.raises(InvalidSpecError, match="not valid TOML"):
        load_catalog(data_copy)


def test_binary_file_is_rejected(data_copy):
    (data_copy / T4).write_bytes(b"\x00\xff\xfe binary")
    with pytest.raises(InvalidSpecError):
        load_catalog(data_copy)


def test_duplicate_alias_is_rejected(data_copy):
    edit(data_copy, "devices/nvidia/ada.toml", 'aliases = ["l4"]', 'aliases = ["l4", "t4"]')
    with pytest.raises(InvalidSpecError, match="'t4' is used by both"):
        load_catalog(data_copy)


def test_source_url_must_be_http(data_copy):
    edit(data_copy, "sources/nvidia.toml", 'url = "http', 'url = "file')
    with pytest.raises(InvalidSpecError, match="url must be http"):
        load_catalog(data_copy)


def test_sparse_factor_needs_its_precisions(data_copy):
    edit(data_copy, "architectures/nvidia.toml", 'sparse_precisions = ["tf32", "bf16", "fp16", "fp8", "int8"]\n', "")
    with pytest.raises(InvalidSpecError, match="needs sparse_precisions"):
        load_catalog(data_copy)


def test_missing_folder(tmp_path):
    with pytest.raises(InvalidSpecError, match="not a catalog folder"):
        load_catalog(tmp_path / "nope")


def test_missing_release_file(data_copy):
    (data_copy / "release.toml").unlink()
    with pytest.raises(InvalidSpecError, match="cannot read"):
        load_catalog(data_copy)
