"""`python -m hwdb`."""

from hwdb.cli import main

main()
