"""A backtest's forecasts against what happened, and its scores by week and phase.

    python bench/twin_backtest_figure.py BACKTEST_DIR OBSERVED.csv SPEC.toml OUT.png

Reads ``BACKTEST_DIR/forecasts/as_of=*.parquet`` (and the filter's ``.json`` beside each),
``BACKTEST_DIR/scores_detail.parquet``; draws, for the region's epidemic census, the
observed series (scaled as the spec's ``[observation]`` says) and each origin's median,
50% and 90% bands; prints, per horizon week and per phase, the model's, persistence's and
last week's WIS and 50%/90% coverage, the model's WIS over persistence's, and each
origin's filter (ESS, filtered multiplier, its trend).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from popsim.run.spec import load_spec  # noqa: E402
from popsim.twin import obsmodel  # noqa: E402

METRIC = "epidemic_census"


def tables(folder: Path) -> str:
    d = pd.read_parquet(folder / "scores_detail.parquet")
    d = d[(d["facility"] == "all") & (d["metric"] == METRIC)]
    out = []
    for by in ("week", "phase"):
        g = (
            d.groupby([by, "method"])
            .agg(n=("wis", "size"), wis=("wis", "mean"), c50=("cover_50", "mean"),
                 c90=("cover_90", "mean"))
            .unstack("method")
        )  # fmt: skip
        g[("ratio", "model/persistence")] = g[("wis", "model")] / g[("wis", "persistence")]
        out.append(g.round(3).to_string())
    pooled = d.groupby("method")[["wis", "cover_50", "cover_90"]].mean()
    ratio = pooled.loc["model", "wis"] / pooled.loc["persistence", "wis"]
    out.append(pooled.round(3).to_string())
    out.append(f"pooled weeks 1-4: model/persistence WIS {ratio:.3f}")
    return "\n\n".join(out)


def main() -> None:
    folder, observed_path, spec_path, png = (Path(a) for a in sys.argv[1:5])
    spec = load_spec(spec_path)
    observed = obsmodel.observed_of(spec, observed_path, None)
    truth = observed.long()
    truth = truth[(truth["facility"] == "all") & (truth["metric"] == METRIC)]
    fig, ax = plt.subplots(figsize=(11, 5))
    ax.plot(pd.to_datetime(truth["date"]), truth["value"], "k-", lw=1, label="observed (scaled)")
    lines = []
    for path in sorted((folder / "forecasts").glob("as_of=*.parquet")):
        fc = pd.read_parquet(path)
        fc = fc[(fc["facility"] == "all") & (fc["metric"] == METRIC)]
        wide = fc.pivot_table(index="target_date", columns="quantile", values="value")
        x = pd.to_datetime(wide.index)
        ax.fill_between(x, wide[0.05], wide[0.95], color="tab:blue", alpha=0.15)
        ax.fill_between(x, wide[0.25], wide[0.75], color="tab:blue", alpha=0.3)
        ax.plot(x, wide[0.5], color="tab:blue", lw=1)
        side = path.with_suffix(".json")
        if side.is_file():
            lines.append(json.loads(side.read_text(encoding="utf-8")))
    ax.set_ylabel("epidemic census (region's equivalent)")
    ax.set_title(f"{spec.name}: backtest forecasts (median, 50%, 90%) against the observed")
    ax.legend(loc="upper left")
    fig.autofmt_xdate()
    fig.savefig(png, dpi=110, bbox_inches="tight")
    print(tables(folder))
    if lines:
        print(pd.DataFrame(lines).to_string(index=False))
    print(png)


if __name__ == "__main__":
    main()
