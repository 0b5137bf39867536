"""Named figures of a device for filtering and sorting: `hwdb list --where "memory_gb>=80" --sort bf16`.

A field is a spec name (its SI value: `memory` in bytes, `memory_bandwidth` in byte/s), a spec name
with a unit suffix (`memory_gb`, `memory_bandwidth_tbs`, `tdp_w`, `boost_clock_ghz`), a precision
(its dense peak in FLOP/s or OP/s, the matrix engine where the device has one; `bf16_tflops`,
`int8_tops`, `fp16_sparse`), or identity text (`vendor`, `kind`, `architecture`, `name`, `slug`).
"""

import operator
import re
from dataclasses import dataclass
from typing import Any, Callable

from estimator.hardware import SPEC_NAMES, Hardware, PeakUnavailable
from estimator.units import PRECISIONS, UnitError, parse_quantity
from hwdb.errors import InvalidSpecError

TEXT_FIELDS = ("slug", "name", "vendor", "kind", "architecture", "form_factor")
SUFFIX_UNITS = {
    "mb": "MB", "gb": "GB", "tb": "TB", "mib": "MiB", "gib": "GiB", "gbs": "GB/s", "tbs": "TB/s",
    "mhz": "MHz", "ghz": "GHz", "w": "W", "usd": "USD",
}
"""A figure's name with one of these suffixes is that figure in that unit: memory_gb, boost_clock_mhz."""
RATE_SUFFIXES = {"tflops": 1e12, "gflops": 1e9, "pflops": 1e15, "tops": 1e12, "pops": 1e15}
SPEC_UNITS = {
    "memory": "B", "l2_cache": "B", "l3_cache": "B", "memory_bandwidth": "B/s", "host_link_bandwidth": "B/s",
    "scale_up_bandwidth": "B/s", "base_clock": "Hz", "boost_clock": "Hz", "all_core_clock": "Hz", "tdp": "W",
    "launch_price": "USD",
}
OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    ">=": operator.ge, "<=": operator.le, "!=": operator.ne, "==": operator.eq, "=": operator.eq, ">": operator.gt, "<": operator.lt,
}
_CONDITION = re.compile(r"^\s*([A-Za-z0-9_]+)\s*(>=|<=|!=|==|=|>|<)\s*(.+?)\s*$")


@dataclass(frozen=True)
class Field:
    name: str
    get: Callable[[Hardware], Any]
    unit: str = ""  # the SI unit of the raw value, for values written with a unit ("80GB")
    scale: float = 1.0  # the value is shown and compared in these units (1e9 for memory_gb)
    text: bool = False

    def value(self, record: Hardware) -> Any:
        raw = self.get(record)
        if raw is None or self.text:
            return raw
        return raw / self.scale


def _peak(precision: str, sparse: bool) -> Callable[[Hardware], float | None]:
    def get(record: Hardware) -> float | None:
        try:
            return record.peak(precision, sparse=sparse).value
        except PeakUnavailable:
            return None

    return get


def field(name: str) -> Field:
    """The field `name` denotes; raises InvalidSpecError listing the forms when it is none."""
    key = name.strip().lower()
    if key in TEXT_FIELDS:
        return Field(key, lambda r: getattr(r, key), text=True)
    for precision in PRECISIONS:
        unit = "OP/s" if precision.startswith("int") else "FLOP/s"
        if key in (precision, f"{precision}_sparse"):
            return Field(key, _peak(precision, key.endswith("_sparse")), unit)
        for suffix, scale in RATE_SUFFIXES.items():
            if key.startswith(precision + "_") and key.endswith("_" + suffix) and key[len(precision) + 1:-len(suffix) - 1] in ("", "sparse"):
                return Field(key, _peak(precision, "_sparse_" in key), unit, scale)
            if key == f"{precision}_{suffix}":
                return Field(key, _peak(precision, False), unit, scale)
    if key in SPEC_NAMES:
        text = key in ("release_date", "memory_type", "host_link", "scale_up_link", "scale_up_topology")
        return Field(key, lambda r: r.spec(key), SPEC_UNITS.get(key, ""), text=text)
    base, _, suffix = key.rpartition("_")
    if base in SPEC_UNITS and suffix in SUFFIX_UNITS:
        try:
            scale = parse_quantity(f"1 {SUFFIX_UNITS[suffix]}", SPEC_UNITS[base])
        except UnitError:
            raise InvalidSpecError(f"unknown field {name!r}: {base} is in {SPEC_UNITS[base]}, not {SUFFIX_UNITS[suffix]}") from None
        return Field(key, lambda r: r.spec(base), SPEC_UNITS[base], scale)
    raise InvalidSpecError(
        f"unknown field {name!r}: use a spec name ({', '.join(SPEC_NAMES[:6])}, ...), one with a unit (memory_gb, "
        f"memory_bandwidth_tbs, tdp_w, boost_clock_ghz), a precision (bf16, int8_tops, fp16_sparse) or {', '.join(TEXT_FIELDS)}"
    )


@dataclass(frozen=True)
class Condition:
    field: Field
    op: str
    value: Any

    def __call__(self, record: Hardware) -> bool:
        have = self.field.value(record)
        if have is None:
            return self.op == "!=" and self.value is not None
        if self.field.text:
            return OPERATORS[self.op](str(have).lower(), str(self.value).lower())
        return OPERATORS[self.op](have, self.value)


def condition(text: str) -> Condition:
    """Parse 'memory_gb>=80', 'memory>=80GB', 'vendor=nvidia', 'bf16>=500T'."""
    match = _CONDITION.match(text)
    if not match:
        raise InvalidSpecError(f"--where {text!r}: expected FIELD OP VALUE, e.g. 'memory_gb>=80' (OP: >= <= > < = !=)")
    name, op, raw = match.groups()
    target = field(name)
    if target.text:
        return Condition(target, op, raw.strip("'\""))
    try:
        if target.scale != 1.0 or not target.unit:
            value = float(raw)
        else:
            value = parse_quantity(raw, target.unit)
    except (UnitError, ValueError):
        example = f"'{name}>=80'" if target.scale != 1.0 or not target.unit else f"'{name}>=80G' or a number in {target.unit}"
        raise InvalidSpecError(f"--where {text!r}: {raw!r} is not a number for {name} (e.g. {example})") from None
    return Condition(target, op, value)
