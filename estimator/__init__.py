"""estimator: pure math over plain data (units, peaks, layer costs, rooflines); it knows nothing of the database.

Light on import: numpy and altair are imported only by the modules that need them.
"""

from estimator.hardware import FigureUnavailable, Hardware, Peak, PeakUnavailable, Source, Spec
from estimator.peak import Derivation, peak_rate
from estimator.units import FLOPS_PER_MAC, PRECISIONS, format_rate, format_si, parse_quantity

__all__ = [
    "FLOPS_PER_MAC", "PRECISIONS", "Derivation", "FigureUnavailable", "Hardware", "Peak", "PeakUnavailable", "Source", "Spec",
    "format_rate", "format_si", "parse_quantity", "peak_rate",
]
