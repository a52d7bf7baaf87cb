#!/usr/bin/env python3
"""The report of bench/critical-minima.sh: minimum energy against φ, followed down an L2 ladder.

    python3 bench/critical_minima.py OUT SECONDS λ₁ λ₂ … (largest first)

OUT/phi-<φ>-draw-<d>-l2-<λ>/ are `landscape critical` runs at k = 0: the first λ from random
initialisations, every later one from the certified minima of the one before (critical.csv's
`origin` names the file, so each minimum is a chain down the ladder). A chain's data loss L is
extrapolated to λ = 0 by L(λ) = L₀ + cλˢ through the three smallest λ (the exponent measured: on
tanh networks the minima move out as λ falls, ‖θ‖ growing, and L is not linear in λ), and
linearly through the two smallest beside it. Only chains certified at every λ are extrapolated.
"""
import csv
import glob
import json
import os
import re
import sys

import numpy as np

out, seconds, ladder = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
lams = [float(x) for x in ladder]


def runs():
    """{(φ, draw): {λ text: directory}}"""
    found = {}
    for d in glob.glob(f"{out}/phi-*-draw-*-l2-*/critical.csv"):
        m = re.match(r"phi-(.+)-draw-(\d+)-l2-(.+)", os.path.basename(os.path.dirname(d)))
        found.setdefault((float(m[1]), int(m[2])), {})[m[3]] = os.path.dirname(d)
    return found


def rows(directory):
    return list(csv.DictReader(open(f"{directory}/critical.csv")))


def certified_minimum(r):
    return r["certified"] == "true" and r["negative"] == "0"


found = runs()
phis = sorted({phi for phi, _ in found})
print("# Minimum energy against φ: certified minima followed down an L2 ladder (bench/critical-minima.sh)\n")
print(f"examples/critical-certified.toml (tanh 16-16-16, no biases, M = 512), eigenvector-following k = 0, "
      f"λ ladder {', '.join(ladder)}, 2 ranks as 2 groups of 1; whole run {seconds} s wall.\n")

print("## Certified minima at each λ\n")
print("| φ (exact) | N | λ | searches | certified minima | other ends | distinct (per draw, by L) | data loss L: min / median / max | median ‖θ‖ |")
print("|---|---|---|---|---|---|---|---|---|")
chains = {}   # (φ, draw, start) -> {λ: (L, ‖θ‖)}
exact_phi = {}
samples = {}
for phi in phis:
    for lam in ladder:
        searches = certified = other = distinct = 0
        losses, norms = [], []
        for draw in sorted(d for p, d in found if p == phi):
            directory = found[(phi, draw)].get(lam)
            if directory is None:
                continue
            summary = json.load(open(f"{directory}/summary.json"))
            exact_phi[phi], samples[phi] = summary["phi"], summary["samples"]
            seen = []
            for r in rows(directory):
                searches += 1
                if not certified_minimum(r):
                    other += 1
                    continue
                certified += 1
                L, norm = float(r["data_loss"]), float(r["parameter_norm"])
                losses.append(L)
                norms.append(norm)
                if not any(abs(L - s) <= 1e-9 * abs(L) for s in seen):
                    seen.append(L)
                # The chain: the first λ's start, or the start whose point this run began from.
                if lam == ladder[0]:
                    key = (phi, draw, r["start"])
                else:
                    m = re.search(r"l2-(.+)/points/(\d+)\.npy", r["origin"])
                    key = next((k for k, v in chains.items() if k[:2] == (phi, draw) and v.get("_last") == (m[1], m[2])), None)
                    if key is None:
                        continue
                chains.setdefault(key, {})[lam] = (L, norm)
                chains[key]["_last"] = (lam, r["start"])
            distinct += len(seen)
        if searches == 0:
            continue
        q = np.percentile(losses, [0, 50, 100]) if losses else None
        spread = f"{q[0]:.5g} / {q[1]:.5g} / {q[2]:.5g}" if q is not None else "–"
        print(f"| {exact_phi[phi]:.4f} | {samples[phi]} | {lam} | {searches} | {certified} | {other} | {distinct} | {spread} | "
              f"{np.median(norms) if norms else float('nan'):.3g} |")

print("\n## Extrapolated to λ = 0\n")
print("Each chain certified at every λ. L(λ) = L₀ + cλˢ through the three smallest λ (exact for three points; the exponent s "
      "measured, not assumed); L₀ linear in λ through the two smallest λ beside it, and ‖θ‖ at the smallest λ over ‖θ‖ at the largest.\n")
print("| φ (exact) | chains | L₀ (L₀ + cλˢ): min / median / max | median s | median L₀ (linear) | ½(1 − φ)² | median L₀ / ½(1 − φ)² | ½(1 − φ) | ‖θ‖ growth (median) |")
print("|---|---|---|---|---|---|---|---|---|")
fitx, fity = [], []


def power_law(lams, L):
    """L₀, s of L = L₀ + cλˢ through three points on a geometric ladder (None when not monotone)."""
    (l1, l2, l3), (a, b, c) = lams, L
    r = l1 / l2
    if not (abs(l2 / l3 - r) <= 1e-9 * r and (a - b) * (b - c) > 0):
        return None
    s = np.log((a - b) / (b - c)) / np.log(r)
    return c - (b - c) / (r ** s - 1), s


for phi in phis:
    full = [c for k, c in chains.items() if k[0] == phi and all(l in c for l in ladder)]
    if not full:
        print(f"| {exact_phi.get(phi, phi):.4f} | 0 | – | | | | | | |")
        continue
    l0s, exponents, linear, growth = [], [], [], []
    for c in full:
        L = [c[l][0] for l in ladder]
        a, b = lams[-2], lams[-1]
        linear.append(L[-1] - (L[-2] - L[-1]) * b / (a - b))
        fit = power_law(lams[-3:], L[-3:]) if len(ladder) >= 3 else None
        if fit is not None:
            l0s.append(fit[0])
            exponents.append(fit[1])
        growth.append(c[ladder[-1]][1] / c[ladder[0]][1])
    x = exact_phi[phi]
    target = 0.5 * (1 - x) ** 2 if x < 1 else 0.0
    if l0s:
        q = np.percentile(l0s, [0, 50, 100])
        spread, ratio = f"{q[0]:.5g} / {q[1]:.5g} / {q[2]:.5g}", (f"{q[1] / target:.3f}" if target > 0 else "–")
    else:
        spread, ratio = "–", "–"
    print(f"| {x:.4f} | {len(full)} ({len(l0s)} monotone) | {spread} | {np.median(exponents) if exponents else float('nan'):.2f} | "
          f"{np.median(linear):.5g} | {target:.5g} | {ratio} | {0.5 * (1 - x) if x < 1 else 0:.5g} | {np.median(growth):.3f} |")
    if x < 1:
        fitx += [x] * len(l0s)
        fity += l0s

fity_arr = np.array(fity)
dropped = int(np.sum(fity_arr <= 0))
fitx = [x for x, y in zip(fitx, fity) if y > 0]
fity_arr = fity_arr[fity_arr > 0]
if dropped:
    print(f"\n{dropped} extrapolated L₀ ≤ 0 (the extrapolation overshoots where L(λ) is already near 0) left out of the fit")
if len(set(fitx)) >= 3:
    x, y = np.log(1 - np.array(fitx)), np.log(fity_arr)
    A = np.stack([np.ones_like(x), x], 1)
    (la, b), *_ = np.linalg.lstsq(A, y, rcond=None)
    rng = np.random.default_rng(0)
    boot = []
    for _ in range(2000):
        i = rng.integers(0, len(x), len(x))
        if len(set(x[i])) < 2:
            continue
        boot.append(np.linalg.lstsq(A[i], y[i], rcond=None)[0][1])
    lo, hi = np.percentile(boot, [2.5, 97.5])

    def rms(pred):
        return float(np.sqrt(np.mean((np.log(pred) - y) ** 2)))

    one_minus = 1 - np.array(fitx)
    print(f"\nfit over the extrapolated minima with φ < 1: L₀ ≈ {np.exp(la):.4g}·(1 − φ)^{b:.3f}, 95 % bootstrap interval on b "
          f"[{lo:.3f}, {hi:.3f}] (2 {'lies inside' if lo <= 2 <= hi else 'lies OUTSIDE'} it; 1 {'lies inside' if lo <= 1 <= hi else 'lies OUTSIDE'} it)\n")
    print(f"rms of log L₀ against: the fit {rms(np.exp(la) * one_minus ** b):.3f}, ½(1 − φ)² {rms(0.5 * one_minus ** 2):.3f}, "
          f"½(1 − φ) {rms(0.5 * one_minus):.3f}\n")

