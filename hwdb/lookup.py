"""Resolve what a user typed ("T4", "nvidia h100 sxm", "a100") to a device slug, or say what is closest."""

import difflib
from collections.abc import Mapping

from hwdb.errors import AmbiguousDeviceError, UnknownDeviceError


def normalise(name: str) -> str:
    """Lower case, with spaces and underscores as '-': 'Tesla T4' -> 'tesla-t4'."""
    return "-".join(name.strip().lower().replace("_", " ").split())


def resolve(name: str, names: Mapping[str, str]) -> str:
    """The slug that `name` denotes.

    Args:
        name: what the user typed.
        names: every lookup name (slugs and aliases, normalised) -> slug.

    A name matches exactly, or as a vendor-less slug ('h100-sxm' for 'nvidia-h100-sxm'), or as the
    unique prefix of one device's names. Otherwise `UnknownDeviceError` lists the closest names and
    `AmbiguousDeviceError` the devices a prefix matches.
    """
    key = normalise(name)
    if not key:
        raise UnknownDeviceError(name, [])
    if key in names:
        return names[key]
    suffix_hits = {slug for n, slug in names.items() if n.endswith("-" + key) and n == slug}
    if len(suffix_hits) == 1:
        return suffix_hits.pop()
    prefix_hits = sorted({slug for n, slug in names.items() if n.startswith(key) or n.partition("-")[2].startswith(key)})
    if len(prefix_hits) == 1:
        return prefix_hits[0]
    if len(prefix_hits) > 1:
        raise AmbiguousDeviceError(name, prefix_hits[:8])
    raise UnknownDeviceError(name, suggestions(key, names))


def suggestions(key: str, names: Mapping[str, str], limit: int = 3) -> list[str]:
    """Up to `limit` close names, one per device, best first."""
    found: list[str] = []
    seen: set[str] = set()
    for candidate in difflib.get_close_matches(key, list(names), n=20, cutoff=0.5):
        if names[candidate] not in seen:
            seen.add(names[candidate])
            found.append(candidate)
        if len(found) == limit:
            break
    return found
