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


def readme_commands() -> list[str]:
    """Every `hwdb ...` line of the README's console and bash blocks, in order, without comments."""
    found = []
    for language, body in re.findall(r"```(\w*)\n(.*?)```", README, flags=re.S):
        for line in body.splitlines():
            if language == "console" and line.startswith("$ hwdb "):
                found.append(line[2:])
            elif language == "bash" and line.startswith("hwdb "):
                found.append(line.split("  #")[0].strip())
    return found


def _symbolic_onnx(path: Path) -> None:
    """A graph with a dynamic `sequence` dimension, standing in for the README's model.onnx."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", "sequence", 64])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    weight = numpy_helper.from_array(np.zeros((64, 64), np.float32), "w")
    nodes = [helper.make_node("MatMul", ["x", "w"], ["h"]), helper.make_node("Relu", ["h"], ["y"])]
    onnx.save(helper.make_model(helper.make_graph(nodes, "readme", [x], [y], [weight])), str(path))


def test_every_readme_command_runs(db, tmp_path, monkeypatch, capsys):
    """Each command the README shows exits 0, in the README's order (probe --save comes before --on local).
    Two changes: the probe runs with --quick (the README's takes 40 s), and charts go to a scratch folder."""
    import shlex

    commands = readme_commands()
    assert len(commands) >= 20 and any(c.startswith("hwdb probe") for c in commands)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "docs").mkdir()
    _symbolic_onnx(tmp_path / "model.onnx")
    for command in commands:
        args = shlex.split(command)[1:]
        if args[0] == "probe":
            args.append("--quick")
        code = run(args)
        _, err = capsys.readouterr()
        assert code == 0, f"{command}: {err}"
    assert {p.name for p in (tmp_path / "docs").iterdir()} == {"roofline.png", "comparison.png", "sweep.png"}
