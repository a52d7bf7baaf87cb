#!/usr/bin/env bash
# landscape critical on the index-vs-energy preset (examples/critical-index.toml: tanh 16-16-16,
# random data, MSE, φ = 0.5) on 2 ranks as 2 groups of 1 (starts side by side), and the memorisation sweep (examples/memorization-phi.toml)
# (issue 18; not a test). Reports, side by side from one run: seconds per start and per critical
# point found, Hessian assemblies / operator products / gradients per start, the share of starts
# that converged to ‖∇L‖ ≤ 1e-10 × the start's, the ‖∇L‖ trace of the best search (the last Newton
# steps: quadratic convergence when each norm is about the square of the previous one), the
# index–energy fit (over critical points, and apart over near-critical ones), a linear network of
# the same sizes beside it (where critical points exist in closed form), and for the sweep the
# trained loss against ½(1 − φ)².
#   bench/critical.sh
#   STARTS=4 ITERATIONS=20 SWEEP=0 bench/critical.sh          (smoke run)
#   LANDSCAPE=/work/.build-bench/release/landscape bench/critical.sh
# Writes bench/results/critical/… and bench/results/critical-<date>.md.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${LANDSCAPE:=.build/release/landscape}"
: "${STARTS:=12}"
: "${ITERATIONS:=100}"
: "${SWEEP:=1}"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
out=bench/results/critical
rm -rf "$out"
mkdir -p "$out"
run() { local np=$1; shift; mpirun -np "$np" --oversubscribe "$LANDSCAPE" "$@" </dev/null; }
start=$(date +%s)
# Starts along the GD trajectory (energies from the initial loss down towards a minimum), and
# random initialisations at four scales (higher energies).
run 2 critical --config examples/critical-index.toml --start trajectory --starts "$STARTS" --trajectory-every 250 \
    --iterations "$ITERATIONS" --group-size 1 --out "$out/trajectory" --quiet
run 2 critical --config examples/critical-index.toml --start init --scales 0.25,0.5,1,2 --starts "$STARTS" \
    --iterations "$ITERATIONS" --group-size 1 --out "$out/init" --quiet
critical_seconds=$(( $(date +%s) - start ))
# The same data and sizes with a linear network (Baldi–Hornik): critical points known to exist in
# closed form, where Newton's quadratic convergence shows.
run 2 critical --config examples/critical-index.toml --activation linear --start init --scales 0.5,1,2 --starts "$STARTS" \
    --iterations "$ITERATIONS" --group-size 1 --out "$out/linear" --quiet
if [ "$SWEEP" = 1 ]; then
    run 2 sweep --config examples/memorization-phi.toml --out "$out/memorization" --quiet
fi
total_seconds=$(( $(date +%s) - start ))
report="bench/results/critical-$(date +%Y%m%d-%H%M).md"
python3 - "$out" "$critical_seconds" "$total_seconds" "$SWEEP" > "$report" <<'PY'
import csv, json, math, sys
out, critical_seconds, total_seconds, sweep = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "1"
print("# landscape critical: index-vs-energy preset on 2 ranks\n")
print(f"critical runs: {critical_seconds} s wall; with the sweep: {total_seconds} s\n")
kinds = ["trajectory", "init", "linear"]
print("| run | starts | converged | distinct | near-critical | s / start | s / critical point | assemblies / start | products / start | gradients / start | convergence order | fit p ± err | fit ε_c | near-critical fit p ± err |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
best = {}
for kind in kinds:
    s = json.load(open(f"{out}/{kind}/summary.json"))
    fit = s.get("fit")
    fit_p = "–" if not fit else "%.3f ± %.3f" % (fit["exponent"], fit["exponentError"])
    fit_c = "–" if not fit else "%.4g" % fit["criticalEnergy"]
    near = s.get("nearCriticalFit")
    near_p = "–" if not near else "%.3f ± %.3f (ε_c %.4g)" % (near["exponent"], near["exponentError"], near["criticalEnergy"])
    g = lambda x: "–" if x is None else f"{x:.4g}"
    print(f"| {kind} | {s['starts']} | {s['converged']} | {s['distinct']} | {s['nearCritical']} | {s['seconds'] / s['starts']:.3g} | {g(s.get('secondsPerCriticalPoint'))} | "
          f"{s['hessianAssembliesPerStart']:.3g} | {s['operatorProductsPerStart']:.4g} | {s['gradientEvaluationsPerStart']:.4g} | {g(s.get('convergenceOrder'))} | "
          f"{fit_p} | {fit_c} | {near_p} |")
    rows = list(csv.DictReader(open(f"{out}/{kind}/critical.csv")))
    for r in rows:
        key = float(r["gradient_norm"]) / float(r["start_gradient_norm"])
        if kind not in best or key < best[kind][0]:
            best[kind] = (key, r["start"])
print("\n## ε, ‖∇L‖ and index at the end of every search\n")
print("| run | start | stop | iterations | ε | ‖∇L‖ / ‖∇L₀‖ | ‖H∇L‖/(‖H‖‖∇L‖) | index | α |")
print("|---|---|---|---|---|---|---|---|---|")
for kind in kinds:
    for r in csv.DictReader(open(f"{out}/{kind}/critical.csv")):
        alpha = "%.3g" % float(r["index"]) if r["index"] else ""
        print(f"| {kind} | {r['start']} | {r['stop']} | {r['iterations']} | {float(r['loss']):.6g} | {float(r['gradient_norm']) / float(r['start_gradient_norm']):.3g} | {float(r['gradient_flatness']):.2g} | {r['negative']} | {alpha} |")
for kind in kinds:
    start = best[kind][1]
    print(f"\n## ‖∇L‖ trace of the best {kind} search (start {start}): the last 10 iterations\n")
    print("(quadratic convergence: log‖∇L‖ₖ₊₁ / log‖∇L‖ₖ → 2 once ‖∇L‖ < 1)\n")
    trace = [r for r in csv.DictReader(open(f"{out}/{kind}/trace.csv")) if r["start"] == start]
    print("| iteration | ‖∇L‖ | log ratio to the previous | μ | step length |")
    print("|---|---|---|---|---|")
    previous = None
    for r in trace[-10:]:
        g = float(r["gradient_norm"])
        ratio = f"{math.log(g) / math.log(previous):.3f}" if previous is not None and 0 < previous < 1 and 0 < g else ""
        print(f"| {r['iteration']} | {g:.3e} | {ratio} | {float(r['damping']):.2e} | {float(r['step_length']):.3g} |")
        previous = g
if sweep:
    print("\n## Memorisation: trained loss against ½(1 − φ)² (examples/memorization-phi.toml)\n")
    print("| N | φ | steps | loss | ½(1 − φ)² | loss / ½(1 − φ)² | ‖∇L‖ | negative eigenvalues |")
    print("|---|---|---|---|---|---|---|---|")
    for r in csv.DictReader(open(f"{out}/memorization/sweep/summary.csv")):
        if r["status"] != "done": print(f"| {r['N']} | | | {r['status']} | | | | |"); continue
        law = float(r["half_one_minus_phi_squared"])
        print(f"| {r['N']} | {float(r['phi']):.3f} | {r['steps']} | {float(r['loss']):.5g} | {law:.5g} | {float(r['loss']) / law if law else float('nan'):.3f} | {float(r['gradient_norm']):.2e} | {r['negative']} |")
PY
cat "$report"
echo "report: $report"
