"""The README stays true: its set-up commands, and every command documented with --help."""

import re
from pathlib import Path

import pytest

from hwdb.cli import app, run

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()
COMMANDS = sorted(c.name for c in app.registered_commands)
CI = (Path(__file__).resolve().parents[1] / ".ci" / "run").read_text()


def test_readme_gives_the_two_setup_commands():
    assert "pip install . && hwdb peak t4 --fp16" in README
    assert 'pip install -e ".[test]" && python -m pytest' in README


def test_ci_runs_the_readme_test_command():
    assert 'pip install -e ".[test]" && python -m pytest' in CI


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_is_in_the_readme(command):
    assert f"hwdb {command}" in README


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command, capsys):
    assert run([command, "--help"]) == 0
    assert "Usage" in capsys.readouterr().out


def test_readme_tour_lines_are_the_real_output(db, capsys):
    for command, expected in re.findall(r"^\$ hwdb (.+)\n(NVIDIA .+)$", README, flags=re.M):
        assert run(command.split()) == 0
        assert capsys.readouterr().out.splitlines()[0] == expected, command
