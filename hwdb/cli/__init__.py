"""The `hwdb` command: a thin typer layer over the library. Errors become one line on stderr.

Exit codes (`hwdb.errors.ExitStatus`): 0 ok; 1 a valid query with no figure (the device lacks the
precision, or no source gives it); 2 bad input (unknown device, malformed option or file).
Set HWDB_DEBUG=1 to see tracebacks.
"""

import importlib
import os
import sys

import typer

from estimator.hardware import FigureUnavailable
from hwdb.cli import _output
from hwdb.errors import ExitStatus, HwdbError

COMMANDS = {  # name -> (module in hwdb.cli, function); in this order in `hwdb --help`
    "peak": ("peak", "peak"), "show": ("devices", "show"), "list": ("devices", "list_devices"),
    "prices": ("devices", "prices"), "compare": ("compare", "compare"), "roofline": ("compare", "roofline"),
    "estimate": ("estimate", "estimate"), "util": ("estimate", "util"), "models": ("estimate", "models"),
    "probe": ("probe", "probe"), "validate": ("validate", "validate"), "add": ("versions", "add"),
    "edit": ("versions", "edit"), "history": ("versions", "history"), "diff": ("versions", "diff"),
    "releases": ("versions", "releases"), "export": ("versions", "export"), "pull": ("versions", "pull"),
}
GROUPS = {"db": ("versions", "db_app")}


def build_app(only: str | None = None) -> typer.Typer:
    """The typer app with every command, or with just `only` (what `run` builds for a named command: the
    other commands' modules are then never imported, nor their signatures parsed, which keeps start-up short)."""
    root = typer.Typer(
        name="hwdb",
        help="Accelerator and CPU specs with sources, and how fast they run your model.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    if only is not None:
        root.callback()(lambda: None)  # a group even with one command: `hwdb peak t4`, never `hwdb t4`
    for name, (module, function) in COMMANDS.items():
        if only in (None, name):
            root.command(name)(getattr(importlib.import_module(f"hwdb.cli.{module}"), function))
    for name, (module, attribute) in GROUPS.items():
        if only in (None, name):
            root.add_typer(getattr(importlib.import_module(f"hwdb.cli.{module}"), attribute), name=name)
    return root


def __getattr__(name: str):
    if name == "app":  # the whole app, for tests and documentation tools; `run` builds what it needs
        globals()["app"] = built = build_app()
        return built
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _fail(message: str, status: ExitStatus) -> int:
    sys.stderr.write(f"hwdb: {' '.join(str(message).split())}\n")
    return int(status)


def run(argv: list[str] | None = None) -> int:
    """Run the CLI on `argv` and return the exit code (what tests call)."""
    from hwdb import api

    api.release_reporter = _output.note
    args = sys.argv[1:] if argv is None else argv
    named = args[0] if args and (args[0] in COMMANDS or args[0] in GROUPS) else None
    command = typer.main.get_command(build_app(named))
    try:
        result = command.main(args=argv, prog_name="hwdb", standalone_mode=False)
    except typer.TyperException as error:  # usage errors found by the option parser
        if type(error).__name__ == "NoArgsIsHelpError":  # bare `hwdb`: the help, not an error
            sys.stdout.write(error.format_message() + "\n")
            return int(ExitStatus.OK)
        return _fail(error.format_message() if hasattr(error, "format_message") else str(error), ExitStatus.USAGE)
    except typer.Abort:
        return _fail("aborted", ExitStatus.USAGE)
    except FigureUnavailable as error:
        return _fail(str(error), ExitStatus.NO_FIGURE)
    except (HwdbError, ValueError, OSError) as error:  # bad input: devices, values, files, databases
        if os.environ.get("HWDB_DEBUG"):
            raise
        return _fail(str(error), ExitStatus.USAGE)
    return int(result or 0)


def main() -> None:
    """Console-script entry point."""
    try:
        sys.exit(run())
    except KeyboardInterrupt:
        sys.exit(130)
    except BrokenPipeError:  # `hwdb list | head`
        sys.stderr.close()
        sys.exit(0)
