"""The chart specs: roofs at the right heights, ridge points, one point per layer, bars and sweep lines."""

import json
import math

import pytest

pytest.importorskip("altair")

from estimator.charts import comparison_chart, layer_points, roof_points, roofline_chart, sweep_chart  # noqa: E402
from estimator.roofline import Roof, estimate, sweep  # noqa: E402
from estimator.zoo import builtin  # noqa: E402

from tests.estimator.test_roofline import device  # noqa: E402

T4 = device("T4-like", fp16_matrix=65e12, bandwidth=320e9)
BIG = device("Big", fp16_matrix=756e12, bandwidth=2e12)
NONE = device("No-FP16", fp16_matrix=None)


def datasets(spec: dict) -> list[list[dict]]:
    """Every inline data set of a Vega-Lite spec (altair may hoist them into "datasets")."""
    found = list(spec.get("datasets", {}).values())

    def walk(node):
        if isinstance(node, dict):
            if isinstance(node.get("data"), dict) and "values" in node["data"]:
                found.append(node["data"]["values"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)
    walk(spec)
    return found


def test_roofs_at_the_right_heights_with_ridge_points():
    roofs = [Roof.of(T4, "fp16"), Roof.of(BIG, "fp16")]
    points = roof_points(roofs, 0.01, 10_000)
    for roof in roofs:
        mine = [p for p in points if p["roof"].startswith(f"{roof.device} FP16")]
        ridge = next(p for p in mine if p["point"] == "ridge point")
        assert ridge["intensity"] == pytest.approx(roof.matrix_peak / roof.bandwidth)
        assert ridge["attainable"] == roof.matrix_peak
        flat = next(p for p in mine if p["point"] == "compute roof")
        assert flat["attainable"] == roof.matrix_peak and flat["intensity"] == 10_000
        slope = next(p for p in mine if p["point"] == "memory roof")
        assert slope["attainable"] == pytest.approx(roof.bandwidth * 0.01)
    assert "ridge 203 FLOP/B" in points[0]["roof"]


def test_one_point_per_layer_that_computes():
    result = estimate(builtin("resnet50"), T4, "fp16", 32)
    points = layer_points([result])
    computing = [l for l in result.layers if l.flops > 0 and l.bytes > 0]
    assert len(points) == len(computing) == 174
    first = points[0]
    assert first["layer"] == "conv1.conv" and first["bound"] in ("compute", "memory")
    assert first["achieved"] <= 65e12 * (1 + 1e-9) and math.isclose(sum(p["share"] for p in points), 1, rel_tol=1e-3)


def test_roofline_chart_spec():
    result = estimate(builtin("resnet18"), T4, "fp16", 8)
    chart = roofline_chart([Roof.of(T4, "fp16"), Roof.of(NONE, "fp16")], [result])
    spec = chart.to_dict()
    text = json.dumps(spec)
    assert spec["title"]["text"] == "Roofline: resnet18 on T4-like, FP16, batch 8"
    assert "No roof (figure unknown): No-FP16 FP16" in text
    assert "arithmetic intensity (FLOP/byte)" in text and "attainable and achieved FLOP/s" in text
    assert '"type": "log"' in text
    sets = datasets(spec)
    layer_sets = [s for s in sets if s and "layer" in s[0]]
    assert len(layer_sets) == 1 and len(layer_sets[0]) == sum(1 for l in result.layers if l.flops > 0 and l.bytes > 0)
    roof_sets = [s for s in sets if s and "roof" in s[0]]
    assert {p["roof"] for p in roof_sets[0]} == {"T4-like FP16: ridge 203 FLOP/B"}


def test_comparison_chart_one_panel_per_metric():
    records = [{"device": "A", "metric": "images/s", "value": 1000.0}, {"device": "B", "metric": "images/s", "value": 2500.0},
               {"device": "A", "metric": "USD per million images", "value": 0.12}]
    spec = comparison_chart(records, order=["B", "A"], title="t", subtitle="s").to_dict()
    assert [p["title"]["text"] for p in spec["concat"]] == ["images/s", "USD per million images"]
    bars = [s for s in datasets(spec) if s and s[0]["metric"] == "images/s"][0]
    assert {r["label"] for r in bars} == {"1k", "2.5k"}
    assert '"sort": ["B", "A"]' in json.dumps(spec)


def test_sweep_chart_one_line_per_device():
    found = sweep([builtin("resnet18")], [T4, BIG, NONE], [1, 4, 16], ["fp16"])
    spec = sweep_chart(found, metric="latency").to_dict()
    rows = [r for s in datasets(spec) for r in s]
    assert {r["device"] for r in rows} == {"T4-like", "Big"} and len(rows) == 6
    assert "No line (a figure is unknown): No-FP16" in json.dumps(spec)
    assert spec["encoding"]["y"]["title"] == "latency (s)" and spec["encoding"]["x"]["scale"]["type"] == "log"
    with pytest.raises(ValueError):
        sweep_chart(found, metric="power")


def test_sweep_chart_over_any_x_from_records():
    rows = [{"device": d, "x": n, "value": v * n} for d, v in (("A", 1.0), ("B", 2.0)) for n in (128, 512, 2048)]
    spec = sweep_chart(records=rows, x_title="sequence length (tokens)", unit="tokens", title="decode").to_dict()
    assert spec["encoding"]["x"]["title"] == "sequence length (tokens)" and spec["encoding"]["x"]["axis"]["values"] == [128, 512, 2048]
    assert spec["encoding"]["y"]["title"] == "throughput (tokens/s)"
