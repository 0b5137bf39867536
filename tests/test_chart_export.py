"""Chart exports as a person sees them: the offline HTML drawn by headless Chromium, PNGs non-blank and sized.

CI installs Debian's chromium and sets HWDB_TEST_REQUIRE_CHROMIUM=1, so a missing browser fails there;
elsewhere the browser test skips without it.
"""

import os
import re
import shutil
import subprocess
import sys

import pytest

pytest.importorskip("altair")
pytest.importorskip("vl_convert")

from estimator.charts import roofline_chart  # noqa: E402
from estimator.roofline import Roof, estimate  # noqa: E402
from estimator.zoo import builtin  # noqa: E402
from hwdb.export import PNG_SCALE, ChartExportError, check_chart_path, save_chart  # noqa: E402

from tests.estimator.test_roofline import device  # noqa: E402

REQUIRE_CHROMIUM = os.environ.get("HWDB_TEST_REQUIRE_CHROMIUM") == "1"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]


def chart():
    t4 = device("T4-like")
    return roofline_chart([Roof.of(t4, "fp16")], [estimate(builtin("resnet18"), t4, "fp16", 8)])


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    if REQUIRE_CHROMIUM:
        pytest.fail("HWDB_TEST_REQUIRE_CHROMIUM=1 but no chromium on PATH (.ci/run installs Debian's chromium)")
    pytest.skip("no chromium on PATH")


def test_html_export_is_offline(tmp_path):
    path = save_chart(chart(), tmp_path / "roof.html")
    html = path.read_text()
    assert not re.search(r"<script[^>]+src=[\"']https?://", html)  # no CDN: the bundles are inline
    assert "vegaEmbed" in html and len(html) > 500_000


def test_html_export_draws_in_headless_chromium(tmp_path):
    browser = chromium()
    path = save_chart(chart(), tmp_path / "roof.html")
    result = subprocess.run(
        [browser, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=10000", "--dump-dom", path.as_uri()],
        capture_output=True, text=True, timeout=120,
    )
    dom = result.stdout
    assert result.returncode == 0, result.stderr[-2000:]
    svg = re.search(r"<svg[^>]*class=\"marks\".*?</svg>", dom, flags=re.S) or re.search(r"<canvas[^>]*class=\"marks\"", dom)
    assert svg, "vega-embed drew no <svg class=marks> or <canvas class=marks>:\n" + dom[:2000]
    marks = svg.group(0)
    # Drawn, not blank: the roof line, the layer points and the axis titles are there.
    assert marks.count("<path") > 50
    assert "arithmetic intensity (FLOP/byte)" in marks and "Roofline: resnet18 on T4-like, FP16, batch 8" in marks


def test_png_export_is_a_non_blank_image_of_the_expected_size(tmp_path):
    Image = pytest.importorskip("PIL.Image")
    figure = chart()
    png = save_chart(figure, tmp_path / "roof.png")
    svg = save_chart(figure, tmp_path / "roof.svg").read_text()
    width, height = (float(v) for v in re.search(r'<svg[^>]* width="([\d.]+)" height="([\d.]+)"', svg).groups())
    with Image.open(png) as image:
        assert image.format == "PNG"
        assert image.size == (round(width * PNG_SCALE), round(height * PNG_SCALE))
        assert image.size[0] > 560 * PNG_SCALE and image.size[1] > 360 * PNG_SCALE  # the plot area plus axes, title, legend
        colours = image.convert("RGB").getcolors(maxcolors=1_000_000)
    assert len(colours) > 50  # anti-aliased lines, points, text: not a blank page
    dominant = max(colours)[0] / sum(count for count, _ in colours)
    assert dominant < 0.97


def test_json_export_is_the_vega_lite_spec(tmp_path):
    import json

    spec = json.loads(save_chart(chart(), tmp_path / "roof.json").read_text())
    assert spec["$schema"].startswith("https://vega.github.io/schema/vega-lite/")


def test_bad_extension_and_missing_extra(tmp_path, monkeypatch):
    with pytest.raises(ChartExportError, match="unsupported extension '.gif'"):
        check_chart_path(tmp_path / "x.gif")
    monkeypatch.setitem(sys.modules, "vl_convert", None)  # as if vl-convert-python were not installed
    with pytest.raises(ChartExportError, match=r'png export needs vl-convert-python: pip install "hwdb\[charts\]"'):
        check_chart_path(tmp_path / "x.png")
    check_chart_path(tmp_path / "x.json")  # the spec needs altair only


def test_missing_extra_is_one_line_exit_2(db, cli, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "vl_convert", None)
    code, out, err = cli("roofline", "t4", "--chart", str(tmp_path / "r.svg"))
    assert code == 2 and out == "" and err == 'hwdb: .svg export needs vl-convert-python: pip install "hwdb[charts]"\n'
