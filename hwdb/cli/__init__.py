"""The `hwdb` command: a thin typer layer over the library. Errors become one line on stderr.

Exit codes (`hwdb.errors.ExitStatus`): 0 ok; 1 a valid query with no figure (the device lacks the
precision, or no source gives it); 2 bad input (unknown device, malformed option or file).
Set HWDB_DEBUG=1 to see tracebacks.
"""

import os
import sys

import typer

from estimator.hardware import FigureUnavailable
from hwdb.cli import _output, compare, devices, estimate, peak, probe, validate, versions
from hwdb.errors import ExitStatus, HwdbError

app = typer.Typer(
    name="hwdb",
    help="Accelerator and CPU specs with sources, and how fast they run your model.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.command("peak")(peak.peak)
app.command("show")(devices.show)
app.command("list")(devices.list_devices)
app.command("prices")(devices.prices)
app.command("compare")(compare.compare)
app.command("roofline")(compare.roofline)
app.command("estimate")(estimate.estimate)
app.command("util")(estimate.util)
app.command("models")(estimate.models)
app.command("probe")(probe.probe)
app.command("validate")(validate.validate)
app.command("add")(versions.add)
app.command("edit")(versions.edit)
app.command("history")(versions.history)
app.command("diff")(versions.diff)
app.command("releases")(versions.releases)
app.command("export")(versions.export)
app.command("pull")(versions.pull)
app.add_typer(versions.db_app, name="db")


def _fail(message: str, status: ExitStatus) -> int:
    sys.stderr.write(f"hwdb: {' '.join(str(message).split())}\n")
    return int(status)


def run(argv: list[str] | None = None) -> int:
    """Run the CLI on `argv` and return the exit code (what tests call)."""
    from hwdb import api

    api.release_reporter = _output.note
    command = typer.main.get_command(app)
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
