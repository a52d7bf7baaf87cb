#!/usr/bin/env python3
"""The report of bench/critical-rmt.sh: Pennington & Bahri's random-matrix model at certified points.

    python3 bench/critical_rmt.py OUT SECONDS

OUT/<run>-<start>/ holds `landscape spectrum --ggn` at one certified critical point
(eigenvalues.npy = H, ggn_eigenvalues.npy = G, residual_eigenvalues.npy = R = H − G, of the data
loss L) and the critical run's critical.csv (its energy and index). The model (Pennington & Bahri
2017, §3): G is a Wishart matrix — its spectrum Marchenko–Pastur at ratio φ = M/(N·k) —, R a
Wigner matrix — a semicircle whose variance grows linearly with ε —, and the two free, so
spec(H) = spec(G ⊞ R), realised as G + QRQᵀ with Q Haar-orthogonal. Every comparison is a
Kolmogorov–Smirnov distance D, printed beside D of a sample of the model law itself at the same
size (what D is when the model holds), so a D far above its baseline rejects the model there.
An independent implementation in NumPy: it shares no code with Landscape.
"""
import csv
import glob
import json
import os
import sys
import tomllib

import numpy as np

out, seconds = sys.argv[1], int(sys.argv[2])
rng = np.random.default_rng(0)


def ks(sample, cdf):
    """sup |F_n − F| of a sample against a CDF (a function of sorted points)."""
    x = np.sort(sample)
    n = len(x)
    f = cdf(x)
    return float(max(np.max(np.arange(1, n + 1) / n - f), np.max(f - np.arange(n) / n)))


def ks2(a, b):
    """Two-sample Kolmogorov–Smirnov distance."""
    a, b = np.sort(a), np.sort(b)
    grid = np.concatenate([a, b])
    return float(np.max(np.abs(np.searchsorted(a, grid, side="right") / len(a) - np.searchsorted(b, grid, side="right") / len(b))))


def marchenko_pastur_cdf(phi, scale):
    """CDF of Marchenko–Pastur at ratio φ (≤ 1 here, no atom) with mean `scale`, by quadrature."""
    lo, hi = scale * (1 - phi ** 0.5) ** 2, scale * (1 + phi ** 0.5) ** 2
    grid = np.linspace(lo, hi, 20001)
    density = np.sqrt(np.clip((hi - grid) * (grid - lo), 0, None)) / (2 * np.pi * phi * scale * np.maximum(grid, 1e-300))
    mass = np.concatenate([[0], np.cumsum((density[1:] + density[:-1]) / 2 * np.diff(grid))])
    mass /= mass[-1]
    return lambda x: np.interp(x, grid, mass, left=0, right=1)


def semicircle_cdf(mean, variance):
    r = 2 * variance ** 0.5

    def cdf(x):
        t = np.clip((x - mean) / r, -1, 1)
        return 0.5 + (t * np.sqrt(1 - t * t) + np.arcsin(t)) / np.pi
    return cdf


def haar(m):
    q, r = np.linalg.qr(rng.standard_normal((m, m)))
    return q * np.sign(np.diag(r))


points = []
for d in sorted(glob.glob(f"{out}/*/")):
    if not os.path.exists(d + "ggn_eigenvalues.npy"):
        continue
    h, g, r = (np.load(d + f) for f in ("eigenvalues.npy", "ggn_eigenvalues.npy", "residual_eigenvalues.npy"))
    config = tomllib.load(open(d + "config.toml", "rb"))
    n, k = config["data"]["samples"], config["data"]["classes"]
    m = len(h)
    phi = m / (n * k)
    start = open(d + "start").read().strip()
    row = next(x for x in csv.DictReader(open(d + "critical.csv")) if x["start"] == start)
    eps = float(row["data_loss"]) if row.get("data_loss") else float(row["loss"])
    # G against Marchenko–Pastur with G's mean as the scale; baseline: a Wishart sample of the same M and n.
    scale = float(np.mean(g))
    d_mp = ks(g, marchenko_pastur_cdf(phi, scale))
    x = rng.standard_normal((int(round(m / phi)), m))
    wishart = np.linalg.eigvalsh(x.T @ x / x.shape[0]) * scale
    d_mp0 = ks(wishart, marchenko_pastur_cdf(phi, scale))
    # R against the semicircle of its mean and variance; baseline: a GOE sample of the same size.
    mu, var = float(np.mean(r)), float(np.var(r))
    d_sc = ks(r, semicircle_cdf(mu, var))
    a = rng.standard_normal((m, m))
    goe = np.linalg.eigvalsh((a + a.T) / np.sqrt(2 * m)) * var ** 0.5 + mu
    d_sc0 = ks(goe, semicircle_cdf(mu, var))
    kurtosis = float(np.mean((r - mu) ** 4) / var ** 2)
    # spec(H) against spec(G + QRQᵀ); baseline: two independent Q.
    free = [np.linalg.eigvalsh(np.diag(g) + (q := haar(m)) @ np.diag(r) @ q.T) for _ in range(3)]
    d_free = ks2(h, np.concatenate(free))
    d_free0 = ks2(free[0], np.concatenate(free[1:]))
    # Indices of the data loss's H and of the free sum, zero threshold M·ε_mach·max|λ| (`spectrum`'s);
    # the search's own index (critical.csv) is of the energy's Hessian H + λI.
    zero = m * np.finfo(float).eps * np.max(np.abs(h))
    points.append(dict(name=os.path.basename(d.rstrip("/")), phi=phi, eps=eps, index=int(np.sum(h < -zero)), energy_index=int(row["negative"]), m=m,
                       free_index=float(np.mean([np.sum(f < -zero) for f in free])),
                       d_mp=d_mp, d_mp0=d_mp0, g_edges=(float(g.min() / scale), float(g.max() / scale)),
                       mp_edges=((1 - phi ** 0.5) ** 2, (1 + phi ** 0.5) ** 2),
                       d_sc=d_sc, d_sc0=d_sc0, var=var, kurtosis=kurtosis, d_free=d_free, d_free0=d_free0))

print("# Random-matrix ingredients at certified critical points (bench/critical-rmt.sh)\n")
print(f"{len(points)} certified points; spectra by `landscape spectrum --ggn` on 2 ranks (H, G, R of the data loss L; the points are critical points of L + λ‖θ‖²/2, whose Hessian is H + λI); whole run {seconds} s wall. "
      "D: Kolmogorov–Smirnov distance; D₀: the same distance for a sample of the model law itself at the same size.\n")
print("| point | φ | ε (data loss) | index of H + λI (certified) | index of H | index of G + QRQᵀ (mean of 3 Q) | D(G, MP) | D₀ | G's edges / mean (MP's) | "
      "D(R, semicircle) | D₀ | var R | R's kurtosis (semicircle 2) | D(H, G + QRQᵀ) | D₀ |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
for p in points:
    print(f"| {p['name']} | {p['phi']:.3g} | {p['eps']:.5g} | {p['energy_index']} | {p['index']} | {p['free_index']:.1f} | {p['d_mp']:.3f} | {p['d_mp0']:.3f} | "
          f"{p['g_edges'][0]:.2g} … {p['g_edges'][1]:.3g} ({p['mp_edges'][0]:.3f} … {p['mp_edges'][1]:.3f}) | {p['d_sc']:.3f} | {p['d_sc0']:.3f} | "
          f"{p['var']:.3g} | {p['kurtosis']:.2f} | {p['d_free']:.3f} | {p['d_free0']:.3f} |")

if points:
    def median(key):
        return float(np.median([p[key] for p in points]))
    print(f"\nmedians: D(G, MP) {median('d_mp'):.3f} (D₀ {median('d_mp0'):.3f}); D(R, semicircle) {median('d_sc'):.3f} (D₀ {median('d_sc0'):.3f}), "
          f"R's kurtosis {median('kurtosis'):.2f}; D(H, G + QRQᵀ) {median('d_free'):.3f} (D₀ {median('d_free0'):.3f}); "
          f"index of H minus the free sum's: median {float(np.median([p['index'] - p['free_index'] for p in points])):.1f}\n")
    eps = np.array([p["eps"] for p in points])
    var = np.array([p["var"] for p in points])
    if len(set(eps)) >= 3:
        x, y = np.log(eps), np.log(var)
        slope = np.polyfit(x, y, 1)[0]
        boot = []
        for _ in range(2000):
            i = rng.integers(0, len(x), len(x))
            if len(set(x[i])) >= 2:
                boot.append(np.polyfit(x[i], y[i], 1)[0])
        lo, hi = np.percentile(boot, [2.5, 97.5])
        corr = float(np.corrcoef(eps, var)[0, 1])
        print(f"R's variance against ε: var ∝ ε^{slope:.2f}, 95 % bootstrap interval [{lo:.2f}, {hi:.2f}] "
              f"(the model's 1 {'lies inside' if lo <= 1 <= hi else 'lies OUTSIDE'} it); Pearson r(ε, var) = {corr:.2f}; "
              f"ε from {eps.min():.4g} to {eps.max():.4g}\n")
    json.dump(points, open(f"{out}/rmt.json", "w"), indent=1)
