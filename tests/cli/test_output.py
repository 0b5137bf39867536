"""Tables: piped output is written without rich, character for character what rich prints; cells are
never read as rich markup."""

import io

from hypothesis import given, settings, strategies as st
from rich.console import Console
from rich.table import Table
from rich.text import Text

from hwdb.cli import _output as out

# What hwdb's cells hold (figures, units, names, sources), and what rich measures differently or wraps.
COMMON = list("abcXYZ019 .,:-/()[]%$×…µ±→–'\"") + ["[/]", "[bold]"]
ALPHABET = st.sampled_from(COMMON * 20 + ["全", "e\u0301", "\t"])  # mostly what the plain path takes
CELL = st.lists(ALPHABET, max_size=12).map("".join)


def rich_table(title, columns, rows, right) -> str:
    buffer = io.StringIO()
    grid = Table(title=None if title is None else Text(title), title_justify="left", show_edge=False, header_style="bold")
    for index, column in enumerate(columns):
        grid.add_column(Text(column), justify="right" if index in right else "left", overflow="fold")
    for row in rows:
        grid.add_row(*(Text(cell) for cell in row))
    Console(file=buffer, soft_wrap=False, width=out.PIPED_WIDTH).print(grid)
    return buffer.getvalue()


@st.composite
def tables(draw):
    width = draw(st.integers(1, 6))
    columns = draw(st.lists(CELL, min_size=width, max_size=width))
    rows = draw(st.lists(st.lists(CELL, min_size=width, max_size=width), max_size=6))
    right = draw(st.sets(st.integers(0, width - 1)))
    title = draw(st.none() | CELL)
    return title, columns, rows, right


@settings(max_examples=300, deadline=None)
@given(tables())
def test_the_plain_table_is_what_rich_prints(table):
    title, columns, rows, right = table
    plain = out.plain_table(title, columns, rows, right=right)
    if plain is not None:  # None: rich renders it (wide characters, edge spaces, a title wider than the table)
        assert plain == rich_table(title, columns, rows, right)


def test_the_plain_table_answers_for_what_hwdb_prints():
    rows = [["nvidia-h100-sxm", "NVIDIA H100 SXM5", "80 GB", "3.35 TB/s", "989 TFLOP/s"], ["amd-mi300x", "AMD Instinct MI300X", "192 GB", "5.3 TB/s", "1.31 PFLOP/s"]]
    columns = ["slug", "name", "memory", "bandwidth", "bf16"]
    plain = out.plain_table("Devices", columns, rows, right=(2, 3, 4))
    assert plain is not None and plain == rich_table("Devices", columns, rows, (2, 3, 4))
    assert plain.splitlines()[1] == " slug            ┃ name                ┃ memory ┃ bandwidth ┃         bf16 "
    assert out.plain_table(None, ["a"], [["x" * 300]]) is None  # rich folds what is wider than the page


def test_cells_are_text_not_markup(capsys, monkeypatch):
    for styled in (False, True):
        monkeypatch.setattr(out, "_styled", lambda styled=styled: styled)
        out.table("Card [rev B]", ["name", "note"], [["Lab Card [bold]B[/bold]", "a [/] b"], ["[red]x", "[fp16]"]])
        printed = capsys.readouterr().out
        for text in ("Card [rev B]", "Lab Card [bold]B[/bold]", "a [/] b", "[red]x", "[fp16]"):
            assert text in printed, (styled, printed)
