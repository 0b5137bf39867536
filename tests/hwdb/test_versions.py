"""Versioning on SQLite and PostgreSQL: edits and additions as revisions, history, as-of reads, releases
that keep a user's edits, diffs, and concurrent writers."""

import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

import hwdb
from hwdb.catalog import Catalog, merge_entries
from hwdb.errors import InvalidSpecError
from hwdb.loader import load_catalog
from hwdb.versions import Versions

T4_SOURCE = "https://example.com/t4-datasheet-v2.pdf"


def versions(url: str) -> Versions:
    return Versions(Catalog(url).ensure())


def count(url: str, table: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return connection.execute(text(f"SELECT count(*) FROM {table}")).scalar()
    finally:
        engine.dispose()


def test_an_edit_is_a_new_revision_and_nothing_changes_in_place(catalog_url):
    v = versions(catalog_url)
    first = v.device_at("t4", revision=1).to_dict()
    slug, number = v.edit("t4", {"tdp_w": "75"}, source_url=T4_SOURCE, note="datasheet v2")
    assert (slug, number) == ("nvidia-t4", 2)
    assert v.catalog.device("t4").tdp_w == 75
    assert v.device_at("t4", revision=1).to_dict() == first  # the old revision is untouched
    history = v.revisions("t4")
    assert [h.number for h in history] == [1, 2]
    last = history[-1]
    assert (last.origin, last.author, last.note, last.release) == ("user", "tester", "datasheet v2", None)
    assert [c.field for c in last.changes] == ["tdp"]
    assert last.changes[0].old.startswith("70 W") and last.changes[0].new.startswith("75 W")
    assert v.catalog.device("t4").sources[v.catalog.device("t4").specs["tdp"].source].url == T4_SOURCE


def test_an_edit_rederives_peaks_and_refuses_a_mismatch(catalog_url):
    v = versions(catalog_url)
    revisions = count(catalog_url, "spec_revision")
    with pytest.raises(InvalidSpecError, match=r"derived .* vs datasheet .* over 2%"):
        v.edit("t4", {"boost_clock_mhz": "1755"}, source_url=T4_SOURCE)  # the datasheet's 8.1 TFLOP/s no longer follows
    with pytest.raises(InvalidSpecError, match="--source"):
        v.edit("t4", {"tdp": "75 W"})
    with pytest.raises(InvalidSpecError, match="not a figure"):
        v.edit("t4", {"colour": "green"}, source_url=T4_SOURCE)
    with pytest.raises(InvalidSpecError, match="changes no figure"):
        v.edit("t4", {"name": "NVIDIA T4"})
    assert count(catalog_url, "spec_revision") == revisions  # nothing half-written


def test_an_edited_peak_and_a_link(catalog_url):
    v = versions(catalog_url)
    v.edit("a10", {"fp16": "125 TFLOPS", "host_link_bandwidth": "32 GB/s per direction"}, source_url="https://example.com/a10.pdf")
    a10 = v.catalog.device("a10")
    assert a10.peak("fp16").datasheet_value == 125e12 and a10.peak("fp16").origin == "datasheet"
    assert a10.spec("host_link_bandwidth") == 32e9 and a10.specs["host_link_bandwidth"].direction == "per_direction"


def test_add_a_device_from_a_file_all_or_nothing(catalog_url, tmp_path):
    v = versions(catalog_url)
    good = """
[source.lab-sheet]
url = "https://example.com/lab.pdf"
title = "Lab card datasheet"

[[device]]
slug = "lab-card"
name = "Lab Card"
vendor = "Lab"
kind = "gpu"
aliases = ["labby"]
[device.specs]
memory = { value = "8 GB", source = "lab-sheet" }
memory_bandwidth = { value = "100 GB/s", source = "lab-sheet" }
[[device.peak]]
precision = "fp32"
engine = "vector"
value = "10 TFLOPS"
source = "lab-sheet"
"""
    bad = good.replace('slug = "lab-card"', 'slug = "lab-card-2"').replace('aliases = ["labby"]', 'aliases = ["labby2"]') + """
[[device]]
slug = "broken"
name = "Broken"
vendor = "Lab"
kind = "gpu"
[device.specs]
tdp = { value = "70 W", source = "nowhere" }
"""
    (tmp_path / "bad.toml").write_text(bad)
    devices = count(catalog_url, "device")
    with pytest.raises(InvalidSpecError, match="unknown source 'nowhere'"):
        v.add(tmp_path / "bad.toml")
    assert count(catalog_url, "device") == devices  # the good device in the same file was not written either
    (tmp_path / "good.toml").write_text(good)
    assert v.add(tmp_path / "good.toml") == [("lab-card", 1)]
    assert v.catalog.device("labby").peak("fp32").value == 10e12
    assert v.add(tmp_path / "good.toml") == []  # the same figures again: no new revision
    clash = good.replace('slug = "lab-card"', 'slug = "lab-card-3"').replace('aliases = ["labby"]', 'aliases = ["t4"]')
    (tmp_path / "clash.toml").write_text(clash)
    with pytest.raises(InvalidSpecError, match="'t4' of lab-card-3 already names nvidia-t4"):
        v.add(tmp_path / "clash.toml")


def test_retiring_is_a_revision(catalog_url):
    v = versions(catalog_url)
    v.edit("p100-pcie", retire=True, note="end of life")
    assert "nvidia-p100-pcie" not in {d.slug for d in v.catalog.devices()}
    assert v.catalog.device("p100-pcie").retired  # still found by name, and says so
    assert v.revisions("p100-pcie")[-1].retired
    assert "nvidia-p100-pcie" not in v.state(None)


def test_show_as_of_a_date(catalog_url):
    v = versions(catalog_url)
    v.edit("t4", {"tdp": "75 W"}, source_url=T4_SOURCE)
    assert v.device_at("t4", as_of=date.today() + timedelta(days=1)).tdp_w == 75
    with pytest.raises(InvalidSpecError, match="was not in this catalog on"):
        v.device_at("t4", as_of=date(2001, 1, 1))
    with pytest.raises(InvalidSpecError, match="has no revision 9"):
        v.device_at("t4", revision=9)


def next_release(data_copy, name="2026.12"):
    """A new shipped release: T4 memory bandwidth and TDP changed, P4 dropped, one device added."""
    (data_copy / "release.toml").write_text(f'name = "{name}"\n')
    turing = data_copy / "devices" / "nvidia" / "turing.toml"
    text_ = turing.read_text()
    assert 'value = "320 GB/s"' in text_ and 'tdp = { value = "70 W"' in text_
    turing.write_text(text_.replace('value = "320 GB/s"', 'value = "330 GB/s"', 1).replace('tdp = { value = "70 W"', 'tdp = { value = "72 W"', 1))
    pascal = data_copy / "devices" / "nvidia" / "pascal.toml"
    blocks = pascal.read_text().split("[[device]]")
    pascal.write_text("[[device]]".join(b for b in blocks if 'slug = "nvidia-p4"' not in b))
    turing.write_text(turing.read_text() + """
[[device]]
slug = "nvidia-t4-next"
name = "NVIDIA T4 Next"
vendor = "NVIDIA"
kind = "gpu"
[device.specs]
tdp = { value = "70 W", source = "pny-t4-product-brief-copy" }
""")
    return load_catalog(data_copy)


def test_a_new_release_keeps_your_edits_and_reports_conflicts(catalog_url, data_copy):
    v = versions(catalog_url)
    v.edit("t4", {"tdp": "75 W"}, source_url=T4_SOURCE)  # you changed the TDP...
    result = v.catalog.apply_release(next_release(data_copy))  # ...and so did the release, with the bandwidth
    t4 = v.catalog.device("t4")
    assert t4.tdp_w == 75  # yours is kept
    assert t4.memory_bandwidth == 330e9  # the release's other change is taken
    assert result.conflicts == ["nvidia-t4 specs.tdp"]
    assert "kept 1 of your edits" in result.summary() and "1 retired" in result.summary()
    assert v.revisions("t4")[-1].origin == "release" and v.revisions("t4")[-1].release == "2026.12"


def test_a_new_release_keeps_your_retirement(catalog_url, data_copy):
    """Retiring is an edit: a release that still ships the device (changed or not) does not bring it back."""
    v = versions(catalog_url)
    v.edit("p100-pcie", retire=True)
    v.edit("t4", retire=True)
    v.catalog.apply_release(next_release(data_copy))  # P100 unchanged, T4 with a new bandwidth and TDP
    assert [r.retired for r in v.revisions("p100-pcie")] == [False, True]  # no new revision
    t4 = v.catalog.device("t4")
    assert t4.retired and t4.memory_bandwidth == 330e9  # the release's figures, still retired
    assert v.revisions("t4")[-1].retired and v.revisions("t4")[-1].origin == "release"
    assert {"nvidia-p100-pcie", "nvidia-t4"}.isdisjoint(d.slug for d in v.catalog.devices())


def test_diff_between_releases(catalog_url, data_copy):
    v = versions(catalog_url)
    v.catalog.apply_release(next_release(data_copy))
    diff = v.diff("2026.11", "2026.12")
    assert diff.added == ["nvidia-t4-next"] and diff.removed == ["nvidia-p4"]
    fields = {c.field: c for c in diff.changed["nvidia-t4"]}
    assert fields["memory_bandwidth"].old.startswith("320 GB/s") and fields["memory_bandwidth"].new.startswith("330 GB/s")
    assert set(diff.changed) == {"nvidia-t4"}
    assert [r.name for r in v.releases()] == ["2026.11", "2026.12"]
    with pytest.raises(InvalidSpecError, match="unknown release '1999.1'"):
        v.diff("1999.1", None)


def test_merge_entries_field_by_field():
    base = {"name": "A", "specs": {"tdp": {"value": "70 W"}, "memory": {"value": "16 GB"}}}
    ours = {"name": "A", "specs": {"tdp": {"value": "75 W"}, "memory": {"value": "16 GB"}}}
    theirs = {"name": "A2", "specs": {"tdp": {"value": "72 W"}, "memory": {"value": "16 GB"}, "l2_cache": {"value": "4 MiB"}}}
    merged, conflicts = merge_entries(base, ours, theirs)
    assert merged == {"name": "A2", "specs": {"tdp": {"value": "75 W"}, "memory": {"value": "16 GB"}, "l2_cache": {"value": "4 MiB"}}}
    assert conflicts == ["specs.tdp"]


WRITER = """
import sys
from hwdb.catalog import Catalog
from hwdb.versions import Versions
url, worker = sys.argv[1], int(sys.argv[2])
v = Versions(Catalog(url))
for i in range(25):
    v.edit("t4", {"tdp": f"{100 + worker * 25 + i} W"}, source_url="https://example.com/w%d" % worker, author=f"writer{worker}")
"""


def test_concurrent_writers_lose_nothing(catalog_url):
    env = {**os.environ, "HWDB_URL": catalog_url}
    workers = [subprocess.Popen([sys.executable, "-c", WRITER, catalog_url, str(w)], env=env, stderr=subprocess.PIPE, text=True) for w in range(8)]
    errors = [w.communicate(timeout=300)[1] for w in workers]
    assert all(w.returncode == 0 for w in workers), errors
    history = versions(catalog_url).revisions("t4")
    assert [h.number for h in history] == list(range(1, 202))  # 1 release revision + 8 x 25 edits, no gaps, none shared
    assert sorted(h.author for h in history[1:]) == sorted(f"writer{w}" for w in range(8) for _ in range(25))


def test_start_up_applies_a_newer_release_and_says_so_in_one_line(empty_url, data_copy, monkeypatch):
    (data_copy / "release.toml").write_text('name = "2026.10"\n')  # an older release, with another T4 TDP
    turing = data_copy / "devices" / "nvidia" / "turing.toml"
    turing.write_text(turing.read_text().replace('tdp = { value = "70 W"', 'tdp = { value = "71 W"', 1))
    Catalog(empty_url, data=data_copy).ensure().close()
    lines = []
    monkeypatch.setattr(hwdb.api, "release_reporter", lines.append)
    assert hwdb.device("t4", db=empty_url).tdp_w == 70  # the shipped 2026.11 is applied on start
    assert len(lines) == 1 and lines[0].startswith("applied catalog release 2026.11: 1 device changed")
    assert hwdb.device("t4", db=empty_url).tdp_w == 70 and len(lines) == 1  # once


def test_an_older_hwdb_never_rolls_back_a_newer_release(catalog_url, data_copy):
    Catalog(catalog_url, data=data_copy).apply_release(next_release(data_copy))
    assert hwdb.device("t4", db=catalog_url).memory_bandwidth == 330e9  # the shipped 2026.11 is older: left alone
    assert [r.name for r in versions(catalog_url).releases()] == ["2026.11", "2026.12"]


def test_the_python_api_has_the_same(catalog_url):
    versions(catalog_url).edit("t4", {"tdp": "75 W"}, source_url=T4_SOURCE)
    assert [r.number for r in hwdb.history("t4")] == [1, 2]
    assert hwdb.device_at("t4", revision=1).tdp_w == 70
    assert [r.name for r in hwdb.releases()] == ["2026.11"]
    assert list(hwdb.diff("2026.11").changed) == ["nvidia-t4"]
    prices = hwdb.prices()
    assert prices and all(p.source and p.date and p.usd > 0 for p in prices)
    assert any(p.device == "nvidia-h100-sxm" and p.kind == "cloud" for p in prices)


def test_reads_through_sqlite3_equal_the_sqlalchemy_reads(db, data_copy):
    """hwdb.reads over the standard library's sqlite3 (the fast path of history, releases, diff, export and
    show --rev) gives exactly what the same reads give through SQLAlchemy, on a catalog with edits, a
    retirement and a second release."""
    import sqlite3

    from hwdb.current import SCHEMA_HEAD
    from hwdb.reads import Reader

    url = f"sqlite:///{db}"
    v = versions(url)
    v.edit("t4", {"tdp": "75 W"}, source_url=T4_SOURCE, note="lab")
    v.edit("p100-pcie", retire=True)
    Catalog(url, data=data_copy).apply_release(next_release(data_copy))
    connection = sqlite3.connect(db)
    try:
        plain = Reader(lambda sql, params: connection.execute(sql, params).fetchall())
        for name in ("t4", "p100-pcie", "nvidia-t4-next", "p4"):
            assert plain.revisions(name) == v.revisions(name)
        assert [r.number for r in plain.revisions("t4")] == [1, 2, 3] and plain.revisions("t4")[1].note == "lab"
        assert plain.revisions("p100-pcie")[-1].retired is True
        assert plain.device_at("t4", revision=1).to_dict() == v.device_at("t4", revision=1).to_dict()
        tomorrow = date.today() + timedelta(days=1)
        assert plain.device_at("t4", as_of=tomorrow).tdp_w == v.device_at("t4", as_of=tomorrow).tdp_w == 75
        assert plain.releases() == v.releases() and [r.name for r in plain.releases()] == ["2026.11", "2026.12"]
        assert all(r.applied_at.tzinfo is not None for r in plain.releases())
        for release in (None, "2026.11", "2026.12"):
            assert plain.state(release) == v.state(release)
            assert plain.export(release, SCHEMA_HEAD) == v.export(release)
        assert plain.diff("2026.11", None) == v.diff("2026.11", None)
        assert plain.diff("2026.11", "2026.12").removed == ["nvidia-p100-pcie", "nvidia-p4"]
        for call in (lambda r: r.diff("1999.1", None), lambda r: r.device_at("t4", revision=9), lambda r: r.revisions("t5")):
            with pytest.raises(hwdb.HwdbError) as fast:
                call(plain)
            with pytest.raises(hwdb.HwdbError) as full:
                call(v)
            assert str(fast.value) == str(full.value)
    finally:
        connection.close()


def test_the_python_api_reads_an_up_to_date_sqlite_file_without_sqlalchemy(db, monkeypatch):
    from hwdb import api

    versions(f"sqlite:///{db}").edit("t4", {"tdp": "75 W"}, source_url=T4_SOURCE)
    full = versions(f"sqlite:///{db}")
    expected = (full.revisions("t4"), full.releases(), full.diff("2026.11", None), full.export())

    def no_full_path(*args, **kwargs):
        raise AssertionError("the fast path should have answered")

    monkeypatch.setattr(api, "versions", no_full_path)
    assert (api.history("t4"), api.releases(), api.diff("2026.11"), api.export()) == expected
    assert api.device_at("t4", revision=1).tdp_w == 70


def test_a_read_sees_one_catalog_while_another_process_writes(catalog_url):
    """history/diff/export read in one transaction (sqlite3 on an SQLite file, REPEATABLE READ on
    PostgreSQL): a revision committed between two of their queries is not half seen."""

    def edit_elsewhere():
        subprocess.run([sys.executable, "-m", "hwdb", "edit", "t4", "--set", "tdp=75 W", "--source", T4_SOURCE, "--db", catalog_url],
                       check=True, capture_output=True, env={**os.environ, "HWDB_URL": catalog_url})

    def use(reader):
        before = [r.number for r in reader.revisions("t4")]
        edit_elsewhere()
        return before, [r.number for r in reader.revisions("t4")]

    if catalog_url.startswith("sqlite:///"):
        from hwdb.current import read_sqlite_with
        from hwdb.reads import Reader
        from hwdb.resources import data_dir, fingerprint

        path = catalog_url.removeprefix("sqlite:///")
        found = read_sqlite_with(Path(path), fingerprint(data_dir()),
                                 lambda connection: use(Reader(lambda sql, params: connection.execute(sql, params).fetchall())))
        assert found is not None
        before, after = found[0]
    else:
        with versions(catalog_url).reader() as reader:
            before, after = use(reader)
    assert before == after == [1]
    assert [r.number for r in versions(catalog_url).revisions("t4")] == [1, 2]  # the next read sees it
