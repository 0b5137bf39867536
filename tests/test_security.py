"""Security properties that hold by construction, checked on the source and on what the commands write."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted(p for folder in ("hwdb", "estimator", "migrations") for p in (ROOT / folder).rglob("*.py"))

FORBIDDEN = {
    r"\btext\(\s*f[\"']": "SQL built from an f-string (bind parameters instead)",
    r"\b(execute|exec_driver_sql)\(\s*f[\"']": "SQL built from an f-string (bind parameters instead)",
    r"\b(execute|exec_driver_sql)\([^)]*%\s*\(": "SQL built with % formatting",
    r"(?<![\w.])eval\(|(?<![\w.])exec\(": "code evaluated from data",
    r"\bpickle\b|\bmarshal\b|\byaml\b|\bshelve\b": "a format that can run code when loaded",
    r"shell\s*=\s*True|os\.system\(|os\.popen\(": "a shell",
}


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_code_or_sql_is_built_from_data(path):
    source = path.read_text()
    for pattern, why in FORBIDDEN.items():
        match = re.search(pattern, source)
        assert match is None, f"{path.relative_to(ROOT)}: {why}: {match.group(0) if match else ''}"


def test_export_writes_only_the_path_given(db, tmp_path, cli):
    folder = tmp_path / "out"
    folder.mkdir()
    assert cli("export", "-o", str(folder / "catalog.json"))[0] == 0
    assert [p.name for p in folder.iterdir()] == ["catalog.json"]  # no temporary file left beside it
    assert cli("export", "--format", "csv", "-o", str(folder / "sub" / "x.csv"))[0] == 2
    assert [p.name for p in folder.iterdir()] == ["catalog.json"]


def test_a_chart_is_written_only_where_asked(db, tmp_path, cli, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "charts").mkdir()
    assert cli("estimate", "resnet50", "--on", "t4", "--chart", "charts/r.json")[0] == 0
    written = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")
                     if p.is_file() and "xdg" not in p.parts and not p.name.startswith("hwdb.sqlite"))  # the catalog fixture
    assert written == ["charts/r.json"]
