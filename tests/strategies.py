"""Hypothesis strategies for hwdb's inputs: spec files (devices to `hwdb add`) and model descriptions.

Each strategy starts from a valid document and mutates it a few times (a value replaced by one of
another type or by a malformed quantity, a key removed, an unknown key added), so that most examples
reach deep into the loader rather than failing on the first key. `tests/test_fuzz.py` runs a fixed-seed
slice of each in CI; `bench/fuzz.py` runs them for longer with fresh seeds.
"""

import copy
from typing import Any

from hypothesis import strategies as st

UNITS = ["TFLOPS", "TOPS", "GFLOPS", "GB/s", "GB", "GiB", "MiB", "MHz", "GHz", "W", "Q", "", "%", "TB/s per direction", "FLOPS/clock"]

quantities = st.builds(
    lambda number, unit, space: f"{number}{' ' if space else ''}{unit}",
    st.one_of(st.integers(-10**6, 10**12), st.floats(allow_nan=True, allow_infinity=True), st.sampled_from(["1e999", "-0", "0x10", "1_000", ".", "4.1"])),
    st.sampled_from(UNITS),
    st.booleans(),
)
"""Strings shaped like the figures a datasheet prints, most of them malformed or out of range."""

_scalars = st.one_of(
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    quantities,
    st.sampled_from(["fp16", "int8", "matrix", "vector", "not_supported", "measured", "gpu", "cpu", "2023-02-30", "2023-13"]),
)


def values(*, json: bool) -> st.SearchStrategy[Any]:
    """Any value a TOML file (or, with `json`, a JSON file: adds null) can hold, nested a little."""
    leaves = st.one_of(_scalars, st.none()) if json else _scalars
    keys = st.one_of(st.sampled_from(["value", "source", "unit", "note", "precision", "engine", "sparse", "x"]), st.text(min_size=1, max_size=6))
    return st.recursive(leaves, lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(keys, inner, max_size=3)), max_leaves=6)


def _slots(document: Any, path: tuple = ()) -> list[tuple]:
    """Every (path to a container, key) in a nested document, containers first."""
    found = []
    items = document.items() if isinstance(document, dict) else enumerate(document) if isinstance(document, list) else ()
    for key, value in items:
        found.append((path, key))
        found += _slots(value, (*path, key))
    return found


def _at(document: Any, path: tuple) -> Any:
    for key in path:
        document = document[key]
    return document


@st.composite
def mutated(draw, base: Any, *, json: bool, max_mutations: int = 3) -> Any:
    """`base` after one to `max_mutations` random edits."""
    document = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, max_mutations))):
        slots = _slots(document)
        if not slots:
            break
        path, key = draw(st.sampled_from(slots))
        container = _at(document, path)
        action = draw(st.sampled_from(["replace", "replace", "quantity", "delete", "add"]))
        if action == "replace":
            container[key] = draw(values(json=json))
        elif action == "quantity":
            container[key] = draw(quantities)
        elif action == "delete":
            del container[key]
        elif isinstance(container, dict):
            container[draw(st.text(min_size=1, max_size=8))] = draw(values(json=json))
        else:
            container.append(draw(values(json=json)))
    return document


# -- spec files ---------------------------------------------------------------------------------------
BASE_DEVICE = {
    "slug": "fuzz-t4-copy",
    "name": "Fuzz T4 copy",
    "vendor": "NVIDIA",
    "kind": "gpu",
    "architecture": "nvidia-turing-tu10x",
    "form_factor": "PCIe",
    "aliases": ["fuzz-t4"],
    "specs": {
        "release_date": {"value": "2018-09-13", "source": "fuzz-source"},
        "chips": {"value": 1, "source": "fuzz-source"},
        "sms": {"value": 40, "source": "fuzz-source"},
        "cuda_cores": {"value": 2560, "source": "fuzz-source"},
        "tensor_cores": {"value": 320, "source": "fuzz-source"},
        "base_clock": {"value": "585 MHz", "source": "fuzz-source"},
        "boost_clock": {"value": "1590 MHz", "source": "fuzz-source"},
        "memory": {"value": "16 GB", "source": "fuzz-source"},
        "memory_bandwidth": {"value": "320 GB/s", "source": "fuzz-source"},
        "host_link_bandwidth": {"value": "16 GB/s", "source": "fuzz-source", "direction": "per_direction"},
        "tdp": {"value": "70 W", "source": "fuzz-source"},
    },
    "peak": [
        {"precision": "fp32", "engine": "vector", "sparse": False, "value": "8.1 TFLOPS", "source": "fuzz-source"},
        {"precision": "fp16", "engine": "matrix", "sparse": False, "value": "65 TFLOPS", "source": "fuzz-source"},
        {"precision": "int8", "engine": "matrix", "sparse": False, "value": "130 TOPS", "source": "fuzz-source"},
        {"precision": "fp64", "engine": "vector", "status": "not_supported", "sparse": False, "source": "fuzz-source"},
    ],
}
"""A T4 under another name: every kind of figure a device file holds, all of them valid."""

BASE_SOURCES = {"fuzz-source": {"url": "https://example.com/t4.pdf", "title": "A datasheet", "publisher": "fuzzing"}}


slugs = st.from_regex(r"[a-z][a-z0-9]{0,6}(-[a-z0-9]{1,5}){0,2}", fullmatch=True)


@st.composite
def plausible_devices(draw) -> dict:
    """The base device with edits a real user makes (other figures in range, notes, fewer keys): mostly accepted."""
    device = copy.deepcopy(BASE_DEVICE)
    device["slug"] = "fuzz-" + draw(slugs)
    device["name"] = "Fuzz " + draw(st.text(st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), min_size=1, max_size=16))
    device["aliases"] = draw(st.lists(slugs.map(lambda s: "fz-" + s), max_size=2, unique=True))
    figures = {"memory": ("GB", 1, 300), "memory_bandwidth": ("GB/s", 20, 9000), "tdp": ("W", 5, 1500), "base_clock": ("MHz", 200, 1590)}
    for name, (unit, low, high) in figures.items():
        if draw(st.booleans()):
            device["specs"][name]["value"] = f"{draw(st.integers(low, high))} {unit}"
    for name in draw(st.lists(st.sampled_from(["sms", "cuda_cores", "tensor_cores", "host_link_bandwidth", "release_date", "base_clock"]), unique=True)):
        del device["specs"][name]
    for table in [*device["specs"].values(), *device["peak"]]:
        if draw(st.booleans()):
            table["note"] = draw(st.text(max_size=20))
    if draw(st.booleans()):
        del device["form_factor"]
    device["peak"] = draw(st.lists(st.sampled_from(device["peak"]), min_size=0, max_size=len(device["peak"]), unique_by=lambda p: p["precision"]))
    return device


def spec_files(*, json: bool) -> st.SearchStrategy[dict]:
    """A whole `hwdb add` file: ``{"device": [...], "source": {...}}``: plausible devices (one or two), or
    the base file mutated anywhere."""
    plausible = st.lists(plausible_devices(), min_size=1, max_size=2).map(lambda devices: {"device": devices, "source": copy.deepcopy(BASE_SOURCES)})
    broken = mutated({"device": [BASE_DEVICE], "source": BASE_SOURCES}, json=json, max_mutations=4)
    return st.one_of(plausible, plausible.flatmap(lambda doc: mutated(doc, json=json, max_mutations=1)), broken)


# -- model descriptions ---------------------------------------------------------------------------------
BASE_MODEL = {
    "name": "fuzz-net",
    "description": "a small residual CNN",
    "input": [3, 32, 32],
    "layer": [
        {"op": "conv2d", "name": "stem", "out_channels": 8, "kernel": 3, "padding": 1},
        {"op": "batch_norm", "name": "bn"},
        {"op": "relu", "name": "act"},
        {"op": "conv2d", "name": "branch", "out_channels": 8, "kernel": 3, "padding": 1, "input": "act"},
        {"op": "add", "name": "sum", "inputs": ["branch", "act"]},
        {"op": "max_pool", "name": "pool", "kernel": 2},
        {"op": "adaptive_avg_pool", "name": "gap", "output_size": 1},
        {"op": "flatten", "name": "flat"},
        {"op": "linear", "name": "fc", "out_features": 10},
        {"op": "softmax", "name": "prob"},
    ],
}
"""Every kind of layer a description holds: convolution, norm, activation, a residual join, pools, a head."""


def model_descriptions(*, json: bool) -> st.SearchStrategy[dict]:
    return mutated(BASE_MODEL, json=json, max_mutations=3)


def transformer_configs() -> st.SearchStrategy[dict]:
    """A Hugging Face config.json (a tiny Llama), mutated."""
    base = {"model_type": "llama", "hidden_size": 256, "num_hidden_layers": 2, "num_attention_heads": 8, "num_key_value_heads": 4,
            "intermediate_size": 688, "vocab_size": 1000, "max_position_embeddings": 2048, "tie_word_embeddings": False,
            "torch_dtype": "float16", "rope_theta": 10000.0}
    return mutated(base, json=True, max_mutations=3)
