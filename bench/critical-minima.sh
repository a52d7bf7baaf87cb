#!/usr/bin/env bash
# Issue 31: the energy of minimisers against φ = M/(N·k) (Pennington & Bahri's ½(1 − φ)²), with
# every minimum certified (GEOMETRY.md §6b): examples/critical-certified.toml (tanh 16-16-16, no
# biases, M = 512) at N = M/(16 φ) for φ in PHIS, DRAWS data draws (--data-seed) × INITS
# initialisations each (--start init), eigenvector-following at k = 0 with the L2 term λ = L2.
# Reports per φ the certified share and the distribution of the minima's data loss L (the energy
# without λ‖θ‖²/2), and the fit a(1 − φ)^b against ½(1 − φ)² and ½(1 − φ). Not a test.
#   bench/critical-minima.sh
#   PHIS="0.5" DRAWS=1 INITS=2 bench/critical-minima.sh         (smoke run)
set -euo pipefail
cd "$(dirname "$0")/.."
: "${LANDSCAPE:=.build/release/landscape}"
: "${PHIS:=0.1 0.2 0.3 0.4 0.5 0.6 0.7 0.8 0.9 1.2}"
: "${DRAWS:=5}"
: "${INITS:=10}"
: "${L2:=0.001}"
: "${ITERATIONS:=500}"
: "${OUT:=bench/results/critical-minima}"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
rm -rf "$OUT"
mkdir -p "$OUT"
start=$(date +%s)
for phi in $PHIS; do
    n=$(python3 -c "print(round(512 / (16 * $phi)))")
    for draw in $(seq 1 "$DRAWS"); do
        mpirun -np 2 --oversubscribe "$LANDSCAPE" critical --config examples/critical-certified.toml --samples "$n" --data-seed "$draw" \
            --index 0 --l2 "$L2" --start init --starts "$INITS" --iterations "$ITERATIONS" --out "$OUT/phi-$phi-draw-$draw" --quiet </dev/null
    done
done
seconds=$(( $(date +%s) - start ))
report="$OUT-$(date +%Y%m%d-%H%M).md"
python3 - "$OUT" "$seconds" "$L2" > "$report" <<'PY'
import csv, glob, json, os, sys
import numpy as np
out, seconds, l2 = sys.argv[1], int(sys.argv[2]), sys.argv[3]
rows = {}
for path in sorted(glob.glob(f"{out}/phi-*-draw-*/critical.csv")):
    name = os.path.basename(os.path.dirname(path))
    phi = float(name.split("-")[1])
    summary = json.load(open(os.path.join(os.path.dirname(path), "summary.json")))
    rows.setdefault(phi, []).append((summary["phi"], list(csv.DictReader(open(path)))))
print("# Minimum energy against φ with certified minima (bench/critical-minima.sh)\n")
print(f"examples/critical-certified.toml (tanh 16-16-16, no biases, M = 512), eigenvector-following k = 0, λ = {l2}, 2 ranks as 2 groups of 1; whole run {seconds} s wall.\n")
print("| φ (exact) | N | starts | certified | distinct minima | data loss L: min / median / max | ½(1 − φ)² | median / ½(1 − φ)² | index ≠ 0 ends |")
print("|---|---|---|---|---|---|---|---|---|")
fitx, fity = [], []
for phi in sorted(rows):
    exact = rows[phi][0][0]
    allrows = [r for _, rs in rows[phi] for r in rs]
    cert = [r for r in allrows if r["certified"] == "true" and r["negative"] == "0"]
    losses = []
    for _, rs in rows[phi]:
        seen = []
        for r in rs:
            if r["certified"] == "true" and r["negative"] == "0":
                e = float(r["data_loss"])
                if not any(abs(e - s) <= 1e-9 * abs(e) for s in seen): seen.append(e)
        losses += seen
    n = int(json.load(open(glob.glob(f"{out}/phi-{phi:g}-draw-*/summary.json")[0]))["samples"]) if glob.glob(f"{out}/phi-{phi:g}-draw-*/summary.json") else 0
    target = 0.5 * (1 - exact) ** 2 if exact < 1 else 0
    other = sum(1 for r in allrows if r["certified"] == "true" and r["negative"] != "0")
    if losses:
        q = np.percentile(losses, [0, 50, 100])
        ratio = f"{q[1] / target:.3f}" if target > 0 else "–"
        print(f"| {exact:.4f} | {n} | {len(allrows)} | {len(cert)} | {len(losses)} | {q[0]:.5g} / {q[1]:.5g} / {q[2]:.5g} | {target:.5g} | {ratio} | {other} |")
        if exact < 1:
            fitx += [exact] * len(losses); fity += losses
    else:
        print(f"| {exact:.4f} | {n} | {len(allrows)} | 0 | 0 | – | {target:.5g} | – | {other} |")
if len(set(fitx)) >= 3:
    x, y = np.log(1 - np.array(fitx)), np.log(np.array(fity))
    A = np.stack([np.ones_like(x), x], 1)
    (la, b), *_ = np.linalg.lstsq(A, y, rcond=None)
    rng = np.random.default_rng(0)
    boot = []
    for _ in range(2000):
        i = rng.integers(0, len(x), len(x))
        if len(set(x[i])) < 2: continue
        boot.append(np.linalg.lstsq(A[i], y[i], rcond=None)[0][1])
    lo, hi = np.percentile(boot, [2.5, 97.5])
    def rms(pred): return float(np.sqrt(np.mean((np.log(pred) - y) ** 2)))
    print(f"\nfit over the certified minima with φ < 1: L_min ≈ {np.exp(la):.4g}·(1 − φ)^{b:.3f}, 95 % bootstrap interval on b [{lo:.3f}, {hi:.3f}] "
          f"(2 {'lies inside' if lo <= 2 <= hi else 'lies OUTSIDE'} it; 1 {'lies inside' if lo <= 1 <= hi else 'lies OUTSIDE'} it)\n")
    print(f"rms of log L_min against: the fit {rms(np.exp(la) * (1 - np.array(fitx)) ** b):.3f}, ½(1 − φ)² {rms(0.5 * (1 - np.array(fitx)) ** 2):.3f}, ½(1 − φ) {rms(0.5 * (1 - np.array(fitx))):.3f}\n")
PY
cat "$report"
echo "wrote $report"
