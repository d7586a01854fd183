"""The HTML report: self-contained, every figure embedded and saved as a valid PNG."""

from __future__ import annotations

import base64
import html
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import matplotlib.image
import numpy as np
import pandas as pd
import pytest
from test_analysis import tiny_fac, tiny_zone, write_run

from popsim.analysis.report import write_report
from popsim.cli import main

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = write_run(tmp_path_factory.mktemp("rep") / "run", tiny_fac(), tiny_zone())
    assert not (root / "analysis").exists()
    return write_report(root)  # analyses first: no analysis folder yet


def test_report_is_self_contained(report: Path) -> None:
    text = report.read_text(encoding="utf-8")
    assert report.name == "report.html" and text.startswith("<!DOCTYPE html>")
    assert not re.search(r"https?://", text)  # no external resources of any kind
    sources = re.findall(r'src="([^"]*)"', text)
    assert sources and all(s.startswith("data:image/png;base64,") for s in sources)
    assert "<link" not in text and "<script" not in text
    for src in sources:  # each embedded image decodes to a PNG
        assert base64.b64decode(src.split(",", 1)[1]).startswith(PNG_SIGNATURE)


def test_every_plot_saved_as_valid_png(report: Path) -> None:
    pngs = sorted((report.parent / "plots").glob("*.png"))
    names = {p.name for p in pngs}
    # 2 scenarios x (total, ICU) fan charts and ED boarding, 2 heat maps, bars by window,
    # new infections by zone, epidemic curve
    assert {"fan_baseline_total.png", "fan_new_site_icu.png", "heatmap_new_site.png"} <= names
    assert {"boarding_baseline.png", "zone_infections.png"} <= names
    assert {"days_over_capacity.png", "epidemic_curve.png"} <= names
    text = report.read_text(encoding="utf-8")
    assert text.count("data:image/png;base64,") == len(pngs)
    for p in pngs:
        assert p.read_bytes().startswith(PNG_SIGNATURE)
        img = matplotlib.image.imread(p)
        assert img.ndim == 3 and min(img.shape[:2]) > 50 and np.ptp(img) > 0  # not blank


def test_summary_sentence_and_map_note(report: Path) -> None:
    text = html.unescape(report.read_text(encoding="utf-8"))
    assert "Scenarios are compared with baseline, the default: the scenario named baseline" in text
    assert "Comparator: baseline (the default: the scenario named baseline)" in re.sub(
        "<[^>]+>", "", text
    )
    assert "No region map: the run's spec names no region" in text
    assert "fewer than 20 replicates (baseline: 3, new_site: 3)" in text


_NUM = r"([\d,]+)"
SITE_RE = re.compile(
    rf"[.:] ([^.:;]+?) is over capacity on {_NUM} of {_NUM} days \(90% interval {_NUM}-{_NUM}\), "
    rf"{_NUM} bed-days over; bed demand on its 95th-percentile day is {_NUM} against {_NUM} "
    "funded beds"
)
_SIGNED = r"([\u2212+]?[\d,]+)"
CMP_RE = re.compile(
    rf"with scenario (\S+) \(\S+\), paired by replicate: .*?bed-days over the beds: {_NUM} "
    rf"\((\S+) {_NUM}\); change {_SIGNED} \(90% interval {_SIGNED} to {_SIGNED}\)"
)
NEED_RE = re.compile(rf"(\w+) {_NUM} beds \(([\u2212+][\d,]+) on today's {_NUM} funded\)")


def _n(text: str) -> float:
    return float(text.replace(",", "").replace("\u2212", "-"))


def test_summary_numbers_equal_the_tables(tmp_path: Path) -> None:
    """Every number the summary states about capacity is read back and found in the tables."""
    from popsim.analysis import load

    rng = np.random.default_rng(11)
    fac = {
        sc: {
            "A": {
                "ward_census": rng.integers(5, 16, (5, 30)),
                "ward_beds": 10,
                "icu_census": rng.integers(0, 4, (5, 30)),
                "icu_beds": 2,
                "ed_boarding": rng.integers(0, 3, (5, 30)),
            },
            "B": {"ward_census": rng.integers(0, 9, (5, 30)), "ward_beds": 6, "icu_beds": 0},
        }  # fmt: skip
        for sc in ("baseline", "more")
    }
    root = write_run(tmp_path / "run", fac, spec_replicates=5)
    text = html.unescape(write_report(root).read_text(encoding="utf-8"))
    a = load(root)
    cap = a.capacity[(a.capacity["window"] == "all") & (a.capacity["unit"] == "total")]
    sites = SITE_RE.findall(text)
    assert {m[0] for m in sites} == {"A", "B"}  # both sites are over capacity
    for site, days, of, lo, hi, bdo, p95, beds in sites:
        row = cap[(cap["scenario"] == "baseline") & (cap["facility"] == site)].iloc[0]
        assert _n(days) == round(row["days_over_p50"]) and _n(of) == row["open_days"]
        assert _n(lo) == round(row["days_over_p5"]) and _n(hi) == round(row["days_over_p95"])
        assert _n(bdo) == round(row["bed_days_over_p50"])
        assert _n(p95) == round(row["demand_p95_p50"]) and _n(beds) == row["funded_beds"]
        # and the per-replicate table, through the core definition, agrees with the summary
        rep = a.site_replicate
        rep = rep[(rep["window"] == "all") & (rep["scenario"] == "baseline")]
        rep = rep[(rep["facility"] == site) & (rep["unit"] == "total")]
        assert _n(days) == round(float(np.quantile(rep["days_over"], 0.5)))
    cmps = CMP_RE.findall(text)
    assert len(cmps) == 1
    sc, value, base, base_value, change, lo, hi = cmps[0]
    c = a.comparison
    row = c[(c["window"] == "all") & (c["scenario"] == sc) & (c["facility"] == "All sites")]
    row = row[(row["unit"] == "total") & (row["measure"] == "bed_days_over")].iloc[0]
    assert base == "baseline" and _n(value) == round(row["scenario_p50"])
    assert _n(base_value) == round(row["baseline_p50"])
    assert _n(change) == round(row["diff_p50"])
    assert _n(lo) == round(row["diff_p5"]) and _n(hi) == round(row["diff_p95"])
    needs = NEED_RE.findall(text)
    assert needs
    bn = a.beds_needed
    for site, need, extra, funded in needs:
        r = bn[(bn["window"] == "all") & (bn["scenario"] == "baseline")]
        r = r[(r["facility"] == site) & (r["unit"] == "total")].iloc[0]
        assert _n(need) == r["beds_needed_5"] and _n(extra) == r["extra_beds_5"]
        assert _n(funded) == r["funded_beds"]


@pytest.mark.slow
def test_report_with_region_map(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from popsim.region.synth import synthetic_region, write_region

    region = synthetic_region(n_zones=2, population=2000, n_facilities=2, seed=3, name="mini")
    reg_path = write_region(region, tmp_path / "mini")
    fac = tiny_fac()
    fac = {s: {"F1": f["A"], "F2": f["B"]} for s, f in fac.items()}
    root = write_run(
        tmp_path / "run",
        fac,
        tiny_zone(),
        zone_ids=region.zone_ids,
        spec_extra={"region": str(reg_path)},
    )
    assert main(["report", str(root)]) == 0
    out = capsys.readouterr().out
    path = Path(out.strip().split("report: ", 1)[1])
    assert (path.parent / "plots" / "region_map.png").exists()
    text = path.read_text(encoding="utf-8")
    assert "No region map" not in text and "Hospital 1" in text


def test_map_labels_do_not_overlap() -> None:
    """Site names placed around crowded points: no two label boxes overlap."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    from popsim.analysis.plots import _text_box, place_labels

    rng = np.random.default_rng(5)
    xs, ys = rng.uniform(0, 3, 12), rng.uniform(0, 2, 12)  # 12 sites in a small area
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.scatter(xs, ys, s=60)
    ax.set_xlim(-2, 5)
    ax.set_ylim(-1, 3)
    labels = place_labels(ax, xs, ys, [f"Hospital number {i}" for i in range(12)], sizes=[60] * 12)
    renderer = fig.canvas.get_renderer()
    boxes = [_text_box(t, renderer) for t in labels]
    assert len(boxes) == 12
    for i in range(12):
        for j in range(i + 1, 12):
            assert not boxes[i].overlaps(boxes[j]), (labels[i].get_text(), labels[j].get_text())
    plt.close(fig)


RUN_SPEC = """
region = "synthetic"
start = 2026-01-01
days = 30
replicates = 3
seed = 3
[scenarios.baseline]
events = [{ day = 0, facility = "F1", ward_beds = -12, icu_beds = -1 }]
[scenarios.closed]
events = [{ day = 1, close = "F2" }, { day = 0, facility = "F3", ward_beds = -8 }]
"""
DAYS_RE = re.compile(r"(\S+) (\d+)(?: \((\d+)/(\d+) replicates\))?")


@pytest.mark.cluster
def test_run_summary_days_over_equal_the_tables(tmp_path: Path, capsys) -> None:
    """The end-of-run summary's days over capacity (mean over replicates) are the
    analysis tables' (site, unit total, whole run): one definition."""
    from popsim.analysis import load

    spec = tmp_path / "s.toml"
    spec.write_text(RUN_SPEC, encoding="utf-8")
    out = tmp_path / "out"
    argv = ["run", str(spec), "--workers", "1", "--population", "12000", "--out", str(out)]
    assert main([*argv, "--quiet"]) == 0
    text = capsys.readouterr().out
    rep = load(out).site_replicate
    rep = rep[(rep["window"] == "all") & (rep["unit"] == "total")]
    blocks = re.split(r"\n  (?=\S+ \(\d+ replicates\))", text)
    checked = 0
    for block in blocks[1:]:
        scenario = block.split(" ", 1)[0]
        body = " ".join(block.split())
        if "no site over capacity" in body:
            r = rep[(rep["scenario"] == scenario) & (rep["facility"] != "All sites")]
            assert (r["days_over"] == 0).all()
            continue
        listing = body.split("mean days of 30): ", 1)[1]
        for site, mean_days, _, _ in DAYS_RE.findall(listing.replace(",", "")):
            r = rep[(rep["scenario"] == scenario) & (rep["facility"] == site)]
            assert int(mean_days) == round(r["days_over"].mean()), (scenario, site)
            checked += 1
    assert checked > 0


class _Tables(HTMLParser):
    """The report's tables by id: each a list of rows, each a list of cell texts."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._id: str | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self._id = dict(attrs).get("id")
            self.tables[self._id] = []
        elif tag == "tr" and self._id is not None:
            self.tables[self._id].append([])
        elif tag in ("td", "th") and self._id is not None:
            self._cell = []
        elif tag == "br" and self._cell is not None:
            self._cell.append("\n")

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.tables[self._id][-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "table":
            self._id = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


_CHANGE_RE = re.compile(r"change ([+-][\d,.]+) \(90% interval ([+-][\d,.]+) to ([+-][\d,.]+)\)")


def _close(text: str, value: float) -> bool:
    """A number as printed (0 or 1 decimal) is the table's value rounded."""
    decimals = len(text.split(".")[1]) if "." in text else 0
    return abs(float(text.replace(",", "")) - value) <= 0.5 * 10**-decimals + 1e-9


def test_key_findings_and_options_tables_equal_the_analysis_tables(report: Path) -> None:
    """The report opens with the key findings and the options; every number in them is
    read back from the HTML and found in the analysis tables (key_findings, options)."""
    from popsim.analysis import load

    text = report.read_text(encoding="utf-8")
    assert text.index("id='key-findings'") < text.index("id='options'") < text.index("<img")
    parser = _Tables()
    parser.feed(text)
    a = load(report.parent.parent)
    kf, opt = a.key_findings, a.options
    n_cells = 0
    for window in dict.fromkeys(kf["window"]):
        rows = parser.tables[f"key-findings-{window}"]
        body = rows[1:]
        want = kf[kf["window"] == window].reset_index(drop=True)
        assert len(body) == len(want)
        for cells, (_, row) in zip(body, want.iterrows(), strict=True):
            assert cells[0] == row["scenario"]
            values = [c for c in row.index if c not in ("window", "scenario", "facility")]
            for cell, col in zip(cells[2:], values, strict=True):
                assert _close(cell, row[col]) if cell != "-" else pd.isna(row[col]), (col, cell)
                n_cells += 1
    for window in dict.fromkeys(opt["window"]):
        rows = parser.tables[f"options-{window}"]
        heads, body = rows[0][1:], rows[1:]
        want = opt[opt["window"] == window].reset_index(drop=True)
        measures = [c[: -len("_better")] for c in want.columns if c.endswith("_better")]
        assert len(body) == len(want) and len(heads) == len(measures) >= 5
        for cells, (_, row) in zip(body, want.iterrows(), strict=True):
            assert cells[0].split(" ")[0] == row["scenario"]
            for cell, m in zip(cells[1:], measures, strict=True):
                arm = cell.split("\n")[0]
                assert _close(arm, row[m]), (m, arm)
                found = _CHANGE_RE.search(cell)
                if row["scenario"] == row["comparator"]:
                    assert found is None
                    continue
                change, lo, hi = found.groups()
                assert _close(change, row[f"{m}_change"]) and _close(lo, row[f"{m}_change_p5"])
                assert _close(hi, row[f"{m}_change_p95"])
                n_cells += 1
    assert n_cells > 20


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(_chromium() is None, reason="needs Debian's chromium (make install)")
def test_report_renders_in_headless_chromium(report: Path, tmp_path: Path) -> None:
    """Headless Chromium loads the report with every name lookup failing: the page loads,
    every image decodes (natural size > 0), and the page asked for nothing outside itself
    (the resource timing list holds no http(s) request). A copy of the page gets a probe
    script that writes what it saw into the DOM, which Chromium dumps."""
    probe = (
        "<script>window.addEventListener('load',()=>{const im=[...document.images];"
        "const ok=im.filter(i=>i.complete&&i.naturalWidth>0).length;"
        "const ext=performance.getEntriesByType('resource').map(e=>e.name)"
        ".filter(n=>!n.startsWith('data:')&&!n.startsWith('file:'));"
        "const p=document.createElement('pre');p.id='probe';"
        "p.textContent=`PROBE images=${im.length} decoded=${ok} external=${ext.length}`;"
        "document.body.appendChild(p);});</script>"
    )
    page = tmp_path / "report.html"
    page.write_text(report.read_text(encoding="utf-8").replace("</body>", probe + "</body>"))
    profile = tmp_path / "profile"
    out = subprocess.run(
        [
            _chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            f"--user-data-dir={profile}",
            "--host-resolver-rules=MAP * ~NOTFOUND",
            "--virtual-time-budget=5000",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    found = re.search(r"PROBE images=(\d+) decoded=(\d+) external=(\d+)", out.stdout)
    assert found, out.stderr[-2000:]
    images, decoded, external = map(int, found.groups())
    assert images == report.read_text(encoding="utf-8").count("<img") > 0
    assert decoded == images and external == 0
    assert "Key findings" in out.stdout and "Options against" in out.stdout
