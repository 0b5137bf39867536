"""The catalog database: created and filled on first use, releases applied as revisions, lookups."""

import json

import pytest

import hwdb
from hwdb.catalog import Catalog
from hwdb.current import read_sqlite
from hwdb.errors import AmbiguousDeviceError, UnknownDeviceError
from hwdb.resources import data_dir, fingerprint


def rows(where, sql):
    """Rows of `sql` on an SQLite path or any database URL."""
    from sqlalchemy import create_engine, text

    engine = create_engine(where if "://" in str(where) else f"sqlite:///{where}")
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(sql))]
    finally:
        engine.dispose()


def test_first_use_creates_and_fills_the_default_database(tmp_path):
    # No HWDB_URL: the file goes to the user's data folder (XDG_DATA_HOME in tests).
    assert hwdb.peak("t4", "fp16") == 65e12
    path = tmp_path / "xdg" / "hwdb" / "hwdb.sqlite"
    assert path.is_file()
    assert rows(path, "SELECT count(*) FROM device")[0][0] >= 10


def test_api_returns_si_values(catalog_url):
    assert hwdb.peak("p100", "fp64") == 5.3e12
    assert hwdb.peak("t4", "int8") == 130e12
    assert hwdb.peak("t4", "int4") == 260e12
    assert hwdb.peak("h100", "bf16", sparse=True) == 1979e12
    assert hwdb.peak("t4", "fp16", engine="vector") == pytest.approx(16.28e12, rel=1e-3)


def test_device_record_is_usable_without_a_session(catalog_url):
    record = hwdb.device("T4")
    assert isinstance(record, hwdb.Hardware)
    assert record.slug == "nvidia-t4" and record.memory_bandwidth == 320e9
    assert record.revision == 1 and record.release == "2026.11"
    assert hwdb.Hardware.from_dict(json.loads(json.dumps(record.to_dict()))) == record


@pytest.mark.parametrize(
    ("name", "slug"),
    [("t4", "nvidia-t4"), ("Tesla T4", "nvidia-t4"), ("NVIDIA_T4", "nvidia-t4"), ("h100-sxm", "nvidia-h100-sxm"),
     ("a100", "nvidia-a100-sxm4-80gb"), ("nvidia-a100-pcie-40gb", "nvidia-a100-pcie-40gb"), ("h100-pc", "nvidia-h100-pcie")],
)
def test_lookup_by_slug_alias_or_unique_prefix(catalog_url, name, slug):
    assert hwdb.device(name).slug == slug


def test_unknown_device_suggests_the_closest_names(catalog_url):
    with pytest.raises(UnknownDeviceError) as error:
        hwdb.device("t5")
    assert "t4" in error.value.suggestions
    with pytest.raises(UnknownDeviceError) as error:
        hwdb.device("h300")
    assert error.value.suggestions[0].startswith(("h100", "h200", "h20"))


def test_ambiguous_prefix_lists_the_devices(catalog_url):
    with pytest.raises(AmbiguousDeviceError) as error:
        hwdb.device("mi2")
    assert set(error.value.matches) == {"amd-mi210", "amd-mi250", "amd-mi250x"}


def test_second_start_reads_without_sqlalchemy_and_writes_nothing(db):
    before = rows(db, "SELECT count(*) FROM spec_revision")
    snapshot = read_sqlite(db, fingerprint(data_dir()))
    assert snapshot is not None and snapshot.device("t4").name == "NVIDIA T4"
    Catalog(str(db)).ensure()
    assert rows(db, "SELECT count(*) FROM spec_revision") == before
    assert rows(db, "SELECT count(*) FROM catalog_release") == [(1,)]


def test_changed_data_becomes_a_new_revision_in_one_release(catalog_url, data_copy):
    path = data_copy / "devices/nvidia/turing.toml"
    path.write_text(path.read_text().replace('value = "70 W"', 'value = "75 W"'))
    catalog = Catalog(catalog_url, data=data_copy).ensure()
    record = catalog.device("t4")
    assert record.tdp_w == 75 and record.revision == 2
    assert rows(catalog_url, "SELECT number, author, origin FROM spec_revision JOIN device ON device.id = device_id "
                    "WHERE slug = 'nvidia-t4' ORDER BY number") == [(1, "hwdb release 2026.11", "release"), (2, "hwdb release 2026.11", "release")]
    changed = rows(catalog_url, "SELECT devices_changed FROM catalog_release ORDER BY id")
    assert changed[-1] == (1,) and changed[0][0] == len(catalog.devices())
    # history is kept: the first revision still says 70 W
    assert rows(catalog_url, "SELECT value_num FROM spec_value JOIN spec_revision r ON r.id = revision_id "
                    "JOIN device d ON d.id = r.device_id WHERE d.slug = 'nvidia-t4' AND spec_value.name = 'tdp' ORDER BY r.number") == [(70.0,), (75.0,)]


def test_a_bad_release_changes_nothing(catalog_url, data_copy):
    before = rows(catalog_url, "SELECT count(*) FROM spec_revision")
    path = data_copy / "devices/nvidia/turing.toml"
    path.write_text(path.read_text().replace('value = "65 TFLOPS"', 'value = "90 TFLOPS"'))
    with pytest.raises(hwdb.InvalidSpecError):
        Catalog(catalog_url, data=data_copy).ensure()
    assert rows(catalog_url, "SELECT count(*) FROM spec_revision") == before


def test_revisions_store_sources_and_not_supported_rows(catalog_url):
    assert rows(catalog_url, "SELECT count(*) FROM spec_value WHERE source_id IS NULL") == [(0,)]
    assert rows(catalog_url, "SELECT count(*) FROM peak WHERE status = 'supported' AND source_id IS NULL AND derivation_source_id IS NULL") == [(0,)]
    assert rows(catalog_url, "SELECT status FROM peak p JOIN spec_revision r ON r.id = p.revision_id JOIN device d ON d.id = r.device_id "
                    "WHERE d.slug = 'nvidia-t4' AND p.precision = 'bf16' AND p.engine = 'matrix'") == [("not_supported",)]


def test_devices_lists_every_device(catalog_url):
    slugs = [d.slug for d in hwdb.devices()]
    assert slugs == sorted(slugs) and "nvidia-l4" in slugs


def test_open_catalog_returns_a_ready_catalog(catalog_url):
    assert hwdb.open_catalog(catalog_url).device("l4").name == "NVIDIA L4"


def test_concurrent_first_use_fills_the_catalog_once(tmp_path):
    import os
    import subprocess
    import sys

    path = tmp_path / "shared.sqlite"
    env = {**os.environ, "HWDB_URL": str(path)}
    processes = [
        subprocess.Popen([sys.executable, "-m", "hwdb", "peak", "t4", "--fp16"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    results = [p.communicate(timeout=120) + (p.returncode,) for p in processes]
    assert all(r == ("NVIDIA T4  FP16 tensor, dense: 65 TFLOP/s\n", "", 0) for r in results), results
    assert rows(path, "SELECT count(*) FROM catalog_release") == [(1,)]
    assert rows(path, "SELECT max(number) FROM spec_revision") == [(1,)]


def test_prices_read_without_sqlalchemy_equal_the_catalog_s(db):
    from hwdb import api

    catalog = Catalog(str(db)).ensure()
    try:
        assert api.prices(db=str(db)) == catalog.prices() and len(catalog.prices()) > 10
    finally:
        catalog.close()
