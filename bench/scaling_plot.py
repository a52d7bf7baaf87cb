"""Tables and an SVG plot of bench/scaling.sh's runs (plain Python, no plotting library).

    python3 bench/scaling_plot.py bench/results/scaling

Reads DIR/runs/<series>-np<P>-r<k>/{summary.json,timings.json,series} and writes DIR/scaling.csv,
DIR/scaling.md and DIR/scaling.svg. Repeated runs of a point (--repeat) count with each phase's
fastest time: on a shared machine the fastest run is the least disturbed one.

For each series the first rank count P₀ is the baseline. A phase's work W is N·M² (the assembly's
GEMM flops, exact from summary.json), M² (the reduction's volume) or M³ (the eigensolver); its
speed-up is (W_P / W_P₀) · t_P₀ / t_P — the plain speed-up for strong scaling, the scaled speed-up
for weak scaling — and its parallel efficiency is speed-up / (P / P₀). Rows with more ranks than
cores are oversubscribed (marked †): their efficiency measures the oversubscription, not scaling.
"""
import csv
import json
import math
import os
import sys
from collections import defaultdict

PHASES = [("assembly", "assemble hessian"), ("reduction", "reduce hessian"), ("eigensolve", "eigensolve H")]
SERIES_ORDER = ["strong", "weak-N", "weak-M"]
COLOURS = {"assembly": "#1f77b4", "reduction": "#2ca02c", "eigensolve": "#d62728", "total": "#555555"}
DASHES = {"strong": "", "weak-N": "6,3", "weak-M": "2,3"}


def load(directory):
    rows = []
    runs = os.path.join(directory, "runs")
    for name in sorted(os.listdir(runs)):
        path = os.path.join(runs, name)
        if not os.path.exists(os.path.join(path, "summary.json")):
            continue
        s = json.load(open(os.path.join(path, "summary.json")))
        series, ranks, cores, load_average = open(os.path.join(path, "series")).read().split()
        sec = s["seconds"]
        m, n = s["parameters"], s["samples"]
        row = {
            "series": series, "ranks": int(ranks), "cores": int(cores), "load": float(load_average),
            "M": m, "N": n, "solver": s["hessian"]["solver"], "grid": s["grid"],
            "gflop": s["assemblyGFLOP"],
            "peak_rss_mib": max(s["peakResidentBytesPerRank"]) / 2**20,
            "total": sum(sec.values()),
        }
        for short, key in PHASES:
            row[short] = sec.get(key, float("nan"))
        row["work_assembly"] = s["assemblyGFLOP"]
        row["work_reduction"] = float(m) ** 2
        row["work_eigensolve"] = float(m) ** 3
        rows.append(row)
    # Repeats of one (series, P): each phase's fastest, the largest load seen.
    merged = {}
    for row in rows:
        key = (row["series"], row["ranks"])
        if key not in merged:
            merged[key] = dict(row, repeats=1)
            continue
        m = merged[key]
        m["repeats"] += 1
        m["load"] = max(m["load"], row["load"])
        m["peak_rss_mib"] = max(m["peak_rss_mib"], row["peak_rss_mib"])
        for short in ["total"] + [p for p, _ in PHASES]:
            m[short] = min(m[short], row[short])
    rows = list(merged.values())
    rows.sort(key=lambda r: (SERIES_ORDER.index(r["series"]) if r["series"] in SERIES_ORDER else 9, r["ranks"]))
    return rows


def efficiencies(rows):
    by_series = defaultdict(list)
    for r in rows:
        by_series[r["series"]].append(r)
    for series_rows in by_series.values():
        base = series_rows[0]
        for r in series_rows:
            factor = r["ranks"] / base["ranks"]
            for short, _ in PHASES:
                w = r["work_" + short] / base["work_" + short]
                speedup = w * base[short] / r[short] if r[short] > 0 else float("nan")
                r["speedup_" + short] = speedup
                r["efficiency_" + short] = speedup / factor
            # Total: weighted by each phase's work ratio is ambiguous; strong scaling only.
            r["speedup_total"] = base["total"] / r["total"] if r["series"] == "strong" else float("nan")
            r["efficiency_total"] = r["speedup_total"] / factor
    return by_series


def rates(rows):
    """The cost model's rates (Sources/Planning/CostModel.swift) fitted to each run."""
    out = ["### Cost-model rates fitted to each run", "",
           "r_gemm = assembly GEMM GFLOP / (P · s); r_eig = M³ / (P · s) / 10⁹ (the solver named); "
           "reduction = 4·M² bytes (the panels' volume, M²/2 doubles; an allreduce moves about twice that per rank) / s.", "",
           "| series | P | M | N | r_gemm (GFLOP/s per rank) | solver | r_eig | reduction (GB/s) |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        mark = " †" if r["ranks"] > r["cores"] else ""
        r["r_gemm"] = r["gflop"] / (r["ranks"] * r["assembly"]) if r["assembly"] > 0 else float("nan")
        r["r_eig"] = r["work_eigensolve"] / (r["ranks"] * r["eigensolve"]) / 1e9 if r["eigensolve"] > 0 else float("nan")
        r["reduction_gbs"] = r["work_reduction"] / 2 * 8 / r["reduction"] / 1e9 if r["ranks"] > 1 and r["reduction"] > 0 else float("nan")
        out.append(f"| {r['series']} | {r['ranks']}{mark} | {r['M']} | {r['N']} | {fmt(r['r_gemm'], 1)} | {r['solver']} | {fmt(r['r_eig'], 1)} | {fmt(r['reduction_gbs'], 2)} |")
    out.append("")
    return out


def fmt(x, digits=2):
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"


def markdown(rows, by_series):
    out = []
    cores = rows[0]["cores"] if rows else 0
    titles = {
        "strong": "Strong scaling (same M and N on every rank count)",
        "weak-N": "Weak scaling in the samples (N ∝ P, same model: assembly work per rank fixed)",
        "weak-M": "Weak scaling in the parameters (M²/P fixed: memory of H per rank and assembly work per rank fixed; eigensolver work M³/P grows as √P)",
    }
    for series, srows in by_series.items():
        out.append(f"### {titles.get(series, series)}")
        out.append("")
        out.append("| P | M | N | solver | assembly | reduction | eigensolve | total | speed-up assembly / eigensolve / total | efficiency assembly / eigensolve / total | peak RSS / rank |")
        out.append("|---|---|---|---|---|---|---|---|---|---|---|")
        for r in srows:
            mark = " †" if r["ranks"] > r["cores"] else ""
            out.append(
                f"| {r['ranks']}{mark} | {r['M']} | {r['N']} | {r['solver']} | {fmt(r['assembly'])} s | {fmt(r['reduction'])} s | "
                f"{fmt(r['eigensolve'])} s | {fmt(r['total'])} s | {fmt(r['speedup_assembly'])} / {fmt(r['speedup_eigensolve'])} / {fmt(r['speedup_total'])} | "
                f"{fmt(100 * r['efficiency_assembly'], 0)} % / {fmt(100 * r['efficiency_eigensolve'], 0)} % / {fmt(100 * r['efficiency_total'], 0)} % | {r['peak_rss_mib']:.0f} MiB |")
        out.append("")
    if any(r["ranks"] > r["cores"] for r in rows):
        out.append(f"† more ranks than the {cores} cores of this machine: oversubscribed; the efficiency there measures oversubscription, not scaling.")
        out.append("")
    out += rates(rows)
    loads = [r["load"] for r in rows]
    if loads:
        out.append(f"1-minute load average when each run ended: {min(loads):.2f}–{max(loads):.2f} (a {cores}-core machine); "
                   f"best of {max(r['repeats'] for r in rows)} run(s) per point, phase by phase.")
    return "\n".join(out)


class Panel:
    """One plot area with linear or log₂/log₁₀ axes."""

    def __init__(self, x0, y0, width, height, xs, ys, title, xlabel, ylabel, logx=True, logy=False):
        self.x0, self.y0, self.w, self.h = x0, y0, width, height
        self.logx, self.logy = logx, logy
        tx = [self._tx(x) for x in xs]
        ty = [self._ty(y) for y in ys if y > 0 or not logy]
        self.xmin, self.xmax = min(tx), max(tx)
        if self.xmax == self.xmin:
            self.xmin -= 0.5; self.xmax += 0.5
        self.ymin, self.ymax = min(ty), max(ty)
        if logy:
            self.ymin, self.ymax = math.floor(self.ymin), math.ceil(self.ymax)
        else:
            self.ymin, self.ymax = 0.0, max(1.2, self.ymax * 1.05)
        if self.ymax == self.ymin:
            self.ymax += 1
        self.parts = [f'<rect x="{x0}" y="{y0}" width="{width}" height="{height}" fill="none" stroke="#999"/>',
                      f'<text x="{x0 + width / 2}" y="{y0 - 10}" text-anchor="middle" font-size="14">{title}</text>',
                      f'<text x="{x0 + width / 2}" y="{y0 + height + 38}" text-anchor="middle" font-size="12">{xlabel}</text>',
                      f'<text transform="translate({x0 - 48},{y0 + height / 2}) rotate(-90)" text-anchor="middle" font-size="12">{ylabel}</text>']

    def _tx(self, x):
        return math.log2(x) if self.logx else x

    def _ty(self, y):
        return math.log10(y) if self.logy else y

    def px(self, x):
        return self.x0 + (self._tx(x) - self.xmin) / (self.xmax - self.xmin) * self.w

    def py(self, y):
        return self.y0 + self.h - (self._ty(y) - self.ymin) / (self.ymax - self.ymin) * self.h

    def ticks(self, xs):
        for x in sorted(set(xs)):
            X = self.px(x)
            self.parts.append(f'<line x1="{X:.1f}" y1="{self.y0 + self.h}" x2="{X:.1f}" y2="{self.y0 + self.h + 5}" stroke="#999"/>')
            self.parts.append(f'<text x="{X:.1f}" y="{self.y0 + self.h + 18}" text-anchor="middle" font-size="11">{x}</text>')
        if self.logy:
            values = [10 ** e for e in range(int(self.ymin), int(self.ymax) + 1)]
            label = lambda v: f"{v:g}"
        else:
            step = 0.2 if self.ymax <= 2 else 0.5
            values = [i * step for i in range(int(self.ymax / step) + 1)]
            label = lambda v: f"{100 * v:.0f} %"
        for v in values:
            Y = self.py(v)
            self.parts.append(f'<line x1="{self.x0}" y1="{Y:.1f}" x2="{self.x0 + self.w}" y2="{Y:.1f}" stroke="#eee"/>')
            self.parts.append(f'<text x="{self.x0 - 6}" y="{Y + 4:.1f}" text-anchor="end" font-size="11">{label(v)}</text>')

    def shade_from(self, x, label):
        X = self.px(x)
        if X < self.x0 + self.w:
            self.parts.append(f'<rect x="{X:.1f}" y="{self.y0}" width="{self.x0 + self.w - X:.1f}" height="{self.h}" fill="#f3e6e6"/>')
            self.parts.append(f'<text x="{self.x0 + self.w - 4}" y="{self.y0 + 14}" text-anchor="end" font-size="10" fill="#933">{label}</text>')

    def line(self, points, colour, dash="", marker=True, width=2):
        points = [(x, y) for x, y in points if y is not None and not math.isnan(y) and (y > 0 or not self.logy)]
        if not points:
            return
        d = " ".join(f"{self.px(x):.1f},{self.py(y):.1f}" for x, y in points)
        style = f' stroke-dasharray="{dash}"' if dash else ""
        self.parts.append(f'<polyline points="{d}" fill="none" stroke="{colour}" stroke-width="{width}"{style}/>')
        if marker:
            for x, y in points:
                self.parts.append(f'<circle cx="{self.px(x):.1f}" cy="{self.py(y):.1f}" r="3" fill="{colour}"/>')


def svg(rows, by_series, caption):
    width, height = 980, 490
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif">',
             f'<rect width="{width}" height="{height}" fill="white"/>',
             f'<text x="{width / 2}" y="22" text-anchor="middle" font-size="15">{caption}</text>']
    cores = rows[0]["cores"]
    all_ranks = [r["ranks"] for r in rows]
    legend = []
    strong = by_series.get("strong", [])
    if strong:
        ys = [r[k] for r in strong for k in ("assembly", "eigensolve", "total", "reduction") if r[k] > 0]
        base = strong[0]
        ys += [base["total"] * base["ranks"] / max(all_ranks)]
        left = Panel(80, 60, 360, 330, all_ranks, ys, "strong scaling: seconds per phase", "ranks P", "seconds", logy=True)
        left.shade_from(cores + 0.5 if cores < max(all_ranks) else 10**9, "oversubscribed")
        left.ticks(all_ranks)
        for phase in ("assembly", "reduction", "eigensolve", "total"):
            left.line([(r["ranks"], r[phase]) for r in strong], COLOURS[phase])
            if phase != "reduction":
                left.line([(r["ranks"], base[phase] * base["ranks"] / r["ranks"]) for r in strong], COLOURS[phase], dash="3,4", marker=False, width=1)
        parts += left.parts
        legend += [(COLOURS[p], "", p) for p in ("assembly", "reduction", "eigensolve", "total")] + [("#777", "3,4", "ideal t·P₀/P")]
    effs = [r[f"efficiency_{p}"] for r in rows for p in ("assembly", "eigensolve")]
    right = Panel(540, 60, 360, 330, all_ranks, [e for e in effs if not math.isnan(e)] + [1.0], "parallel efficiency", "ranks P", "efficiency", logy=False)
    right.shade_from(cores + 0.5 if cores < max(all_ranks) else 10**9, "oversubscribed")
    right.ticks(all_ranks)
    right.line([(min(all_ranks), 1.0), (max(all_ranks), 1.0)], "#999", dash="3,4", marker=False, width=1)
    for series, srows in by_series.items():
        for phase in ("assembly", "eigensolve"):
            right.line([(r["ranks"], r[f"efficiency_{phase}"]) for r in srows], COLOURS[phase], dash=DASHES.get(series, "1,1"))
    parts += right.parts
    legend += [("#333", DASHES.get(s, "1,1"), f"{s} (efficiency)") for s in by_series]
    y = height - 50
    x = 80
    for colour, dash, label in legend:
        if x + 40 + 7 * len(label) > width - 10:
            x, y = 80, y + 18
        style = f' stroke-dasharray="{dash}"' if dash else ""
        parts.append(f'<line x1="{x}" y1="{y}" x2="{x + 24}" y2="{y}" stroke="{colour}" stroke-width="2"{style}/>')
        parts.append(f'<text x="{x + 30}" y="{y + 4}" font-size="11">{label}</text>')
        x += 40 + 7 * len(label)
    parts.append("</svg>")
    return "\n".join(parts)


def main():
    directory = sys.argv[1] if len(sys.argv) > 1 else "bench/results/scaling"
    rows = load(directory)
    if not rows:
        sys.exit(f"error: no runs in {directory}/runs")
    by_series = efficiencies(rows)
    fields = ["series", "ranks", "repeats", "cores", "load", "M", "N", "solver", "grid", "gflop", "assembly", "reduction", "eigensolve", "total",
              "speedup_assembly", "speedup_eigensolve", "speedup_total", "efficiency_assembly", "efficiency_eigensolve",
              "efficiency_total", "r_gemm", "r_eig", "reduction_gbs", "peak_rss_mib"]
    table = markdown(rows, by_series)
    with open(os.path.join(directory, "scaling.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
    open(os.path.join(directory, "scaling.md"), "w").write(table + "\n")
    strong = by_series.get("strong") or rows
    caption = f"landscape spectrum --at init: M = {strong[0]['M']}, N = {strong[0]['N']} (strong); {rows[0]['cores']} cores"
    open(os.path.join(directory, "scaling.svg"), "w").write(svg(rows, by_series, caption))
    print(table)
    print(f"written: {directory}/scaling.csv, scaling.md, scaling.svg")


if __name__ == "__main__":
    main()
