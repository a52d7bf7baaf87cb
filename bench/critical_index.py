"""The analysis of bench/critical-index.sh: rates per (λ, k), the ends' classes, and over the
distinct certified saddles of each λ the index–energy fit α = α₀|(ε − ε_c)/ε_c|^p — an
implementation independent of the Swift one (IndexEnergyFit: the same profile over ε_c, here by
scipy's bounded minimiser) — with a percentile bootstrap interval on p (2000 resamples)."""
import csv, glob, json, math, os, sys
import numpy as np
from scipy.optimize import minimize_scalar

import tomllib
out, seconds = sys.argv[1], int(sys.argv[2])
extra = sys.argv[3] if len(sys.argv) > 3 else ""
runs = {}
for path in sorted(glob.glob(f"{out}/l2-*-k*/critical.csv")):
    name = os.path.basename(os.path.dirname(path))
    l2, k = name[3:].rsplit("-k", 1)
    runs[(float(l2), int(k))] = list(csv.DictReader(open(path)))

def fit(eps, alpha):
    """(p, ε_c, α₀) by least squares in log α, ε_c profiled over (0, min ε)."""
    eps, la = np.asarray(eps), np.log(np.asarray(alpha))
    lo = eps.min()
    def profile(u):
        x = np.log(np.abs(eps / (u * lo) - 1))
        A = np.stack([np.ones_like(x), x], 1)
        coef, *_ = np.linalg.lstsq(A, la, rcond=None)
        return float(((A @ coef - la) ** 2).sum()), coef
    grid = np.linspace(1e-4, 1 - 1e-4, 400)
    best = grid[np.argmin([profile(u)[0] for u in grid])]
    r = minimize_scalar(lambda u: profile(u)[0], bounds=(max(1e-6, best - 0.0025), min(1 - 1e-9, best + 0.0025)), method="bounded")
    coef = profile(r.x)[1]
    return coef[1], r.x * lo, math.exp(coef[0])

print(f"# Certified critical points of chosen index (bench/critical-index.sh)\n")
first = sorted(glob.glob(f"{out}/l2-*-k*/"))[0]
config, summary = tomllib.load(open(first + "config.toml", "rb")), json.load(open(first + "summary.json"))
data, model = config["data"], config["model"]
widths = "-".join(str(w) for w in [data["dimension"]] + model["layers"] + [data["classes"]])
phi = summary["phi"]
print(f"examples/critical-certified.toml{' with ' + extra if extra else ''}: {model['activation']} {widths}, "
      f"{'no biases' if model.get('bias') is False else 'biases'}, M = {summary['parameters']}, N = {data['samples']}, φ = {phi:.4g}; "
      f"starts: {config['critical']['start']}; eigenvector-following, 2 ranks as 2 groups of 1; whole run {seconds} s wall.\n")
print("| λ (L2) | k | starts | certified | rate | classes | iterations (median, certified) | s / start | s / certified |")
print("|---|---|---|---|---|---|---|---|---|")
for (l2, k), rows in sorted(runs.items(), key=lambda x: (-x[0][0], x[0][1])):
    cert = [r for r in rows if r["certified"] == "true"]
    classes = {}
    for r in rows: classes[r["class"]] = classes.get(r["class"], 0) + 1
    secs = sum(float(r["seconds"]) for r in rows)
    its = sorted(int(r["iterations"]) for r in cert)
    print(f"| {l2:g} | {k} | {len(rows)} | {len(cert)} | {len(cert) / len(rows):.0%} | {', '.join(f'{c} {n}' for c, n in sorted(classes.items()))} | "
          f"{its[len(its) // 2] if its else '–'} | {secs / len(rows):.2f} | {secs / len(cert) if cert else float('nan'):.2f} |")
print()
rng = np.random.default_rng(0)
for l2 in sorted({l for l, _ in runs}, reverse=True):
    points = []
    for (l, k), rows in runs.items():
        if l != l2: continue
        for r in rows:
            if r["certified"] == "true":
                points.append((float(r["loss"]), float(r["data_loss"]), int(r["negative"]), int(r["negative"]) + int(r["near_zero"]) + int(r["positive"])))
    # Distinct: the same index and energy within 1e-9 relative (a point found twice, from two starts
    # or for two targets) counts once.
    points.sort()
    distinct = []
    for p in points:
        if not any(q[2] == p[2] and abs(q[0] - p[0]) <= 1e-9 * abs(p[0]) for q in distinct): distinct.append(p)
    saddles = [p for p in distinct if p[2] > 0]
    minima = [p for p in distinct if p[2] == 0]
    print(f"## λ = {l2:g}: {len(points)} certified points, {len(distinct)} distinct ({len(minima)} minima, {len(saddles)} saddles)\n")
    if minima:
        e = sorted(p[0] for p in minima)
        print(f"minima: energy ε = L + λ‖θ‖²/2 from {e[0]:.6g} to {e[-1]:.6g}; data loss from {min(p[1] for p in minima):.6g}; ½(1 − φ)² = {0.5 * max(0, 1 - phi) ** 2:.4g}\n")
    if len(saddles) < 5:
        print("fewer than 5 distinct certified saddles: no fit\n")
        continue
    for label, col in [("ε = L + λ‖θ‖²/2", 0), ("L alone", 1)]:
        eps = [p[col] for p in saddles]; alpha = [p[2] / p[3] for p in saddles]
        p, ec, a0 = fit(eps, alpha)
        boot = []
        for _ in range(2000):
            idx = rng.integers(0, len(eps), len(eps))
            if len(set(eps[i] for i in idx)) < 4: continue
            boot.append(fit([eps[i] for i in idx], [alpha[i] for i in idx])[0])
        lo, hi = np.percentile(boot, [2.5, 97.5])
        inside = "lies inside" if lo <= 1.5 <= hi else "lies OUTSIDE"
        print(f"fit over {len(saddles)} saddles against {label}: p = {p:.3f}, 95 % bootstrap interval [{lo:.3f}, {hi:.3f}] ({len(boot)} resamples): 3/2 {inside} it; ε_c = {ec:.5g}, α₀ = {a0:.3g}\n")
    print("| k | distinct saddles | energy range | data-loss range |")
    print("|---|---|---|---|")
    for k in sorted({p[2] for p in distinct}):
        s = [p for p in distinct if p[2] == k]
        print(f"| {k} | {len(s)} | {min(q[0] for q in s):.5g} … {max(q[0] for q in s):.5g} | {min(q[1] for q in s):.5g} … {max(q[1] for q in s):.5g} |")
    print()
