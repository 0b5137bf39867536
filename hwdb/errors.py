"""hwdb's error types: each prints as one line, and the CLI turns each into exit code 2."""

from enum import IntEnum


class ExitStatus(IntEnum):
    """Process exit codes of the `hwdb` command."""

    OK = 0
    NO_FIGURE = 1  # the query was valid but the catalog has no figure (not supported / unknown)
    USAGE = 2  # bad input: unknown device, malformed value, unreadable file


class HwdbError(Exception):
    """Base of hwdb's own errors; ``str()`` is one line fit for a terminal."""


class UnknownDeviceError(LookupError, HwdbError):
    """No device has this slug or alias; ``suggestions`` holds the closest names."""

    def __init__(self, name: str, suggestions: list[str]):
        self.name, self.suggestions = name, suggestions
        hint = f"; did you mean {', '.join(suggestions)}?" if suggestions else "; see `hwdb list`"
        super().__init__(f"unknown device {name!r}{hint}")


class AmbiguousDeviceError(LookupError, HwdbError):
    """A name that matches several devices equally well."""

    def __init__(self, name: str, matches: list[str]):
        self.name, self.matches = name, matches
        super().__init__(f"ambiguous device {name!r}: matches {', '.join(matches)}; use one of those names")


class InvalidSpecError(ValueError, HwdbError):
    """A data file (or user input) that does not follow the catalog format; names the file and the key."""


class DatabaseError(HwdbError):
    """The catalog database cannot be opened, created or upgraded."""


class SchemaVersionError(DatabaseError):
    """The database was written by a newer hwdb: upgrade hwdb rather than touch it."""
