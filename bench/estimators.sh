#!/usr/bin/env bash
# The matrix-free estimators against the exact spectrum (issue 15; not a test): for Gaussian
# clusters (k classes in R^100, MLP 100-30-30-k on N = 1000, ReLU and tanh), at initialisation and
# after training, the exact H from `landscape spectrum`, then at each matvec budget the error of
# top-10 (Lanczos, max relative error of the 10 largest), of the trace (Hutchinson and Hutch++,
# |estimate − tr H| / |tr H|) and of the density (SLQ, W1 / (λmax − λmin)). Then PyHessian
# (bench/pyhessian_peer.py) on the first configuration's trained point: seconds per HVP and its
# errors at its defaults, side by side with Landscape's in the same run.
#   bench/estimators.sh
#   CLASSES="10" ACTIVATIONS="relu" MATVECS="20 40" bench/estimators.sh
#   LANDSCAPE=.build-bench/release/landscape NP=2 bench/estimators.sh
# Writes bench/results/estimators/<config>/… and bench/results/estimators.md.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${LANDSCAPE:=.build/release/landscape}"
: "${NP:=2}"
: "${CLASSES:=10 50}"
: "${ACTIVATIONS:=relu tanh}"
: "${MATVECS:=10 20 40 80 160 320}"
: "${STEPS:=3000}"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
out=bench/results/estimators
rm -rf "$out"
mkdir -p "$out"
run() { mpirun -np "$NP" --oversubscribe "$LANDSCAPE" "$@"; }
python3 -c "import torch, pyhessian" 2>/dev/null || pip install --quiet torch pyhessian

first=""
for k in $CLASSES; do
  for activation in $ACTIVATIONS; do
    name="k$k-$activation"
    base=(--data clusters --samples 1000 --dimension 100 --classes "$k" --layers "30,30" --activation "$activation" --seed 1 --quiet)
    run train "${base[@]}" --learning-rate 0.1 --steps "$STEPS" --checkpoint-every 0 --out "$out/$name/train" >/dev/null
    [ -n "$first" ] || first="$name"
    for point in init trained; do
      if [ "$point" = init ]; then at=(--at init); else at=(--checkpoint "$out/$name/train/params.npy"); fi
      dir="$out/$name/$point"
      run spectrum "${base[@]}" "${at[@]}" --out "$dir/exact" >/dev/null
      exact="$dir/exact/eigenvalues.npy"
      for mv in $MATVECS; do
        # top-10: the budget includes the final true-residual check (10 matvecs).
        run top "${base[@]}" "${at[@]}" --k 10 --block-size 1 --tolerance 1e-14 --max-matvecs "$mv" --compare "$exact" --out "$dir/top-$mv" >/dev/null
        for method in hutchinson hutch++; do
          [ "$method" = hutch++ ] && [ "$mv" -lt 3 ] && continue
          run trace "${base[@]}" "${at[@]}" --method "$method" --tolerance 0 --max-matvecs "$mv" --compare "$exact" --out "$dir/trace-$method-$mv" >/dev/null
        done
        # SLQ: probes × steps = budget, at most 40 steps per probe.
        steps=$(( mv < 40 ? mv : 40 )); probes=$(( mv / steps ))
        run density "${base[@]}" "${at[@]}" --probes "$probes" --lanczos-steps "$steps" --compare "$exact" --out "$dir/density-$mv" >/dev/null
      done
    done
  done
done

# PyHessian on the first configuration's trained point, and Landscape's HVP time in the same run.
name="$first"; dir="$out/$name/trained"
k=${name#k}; k=${k%%-*}; activation=${name#*-}
run data export --data clusters --samples 1000 --dimension 100 --classes "$k" --seed 1 --out "$out/$name/data" >/dev/null
OMP_NUM_THREADS=2 python3 bench/pyhessian_peer.py "$out/$name/data" "$out/$name/train/params.npy" "100,30,30,$k" --activation "$activation" \
  --matvecs "$(echo "$MATVECS" | tr ' ' ,)" --eigenvalues "$dir/exact/eigenvalues.npy" --threads 2 --top-k 10 --density-steps 40 2>/dev/null > "$out/pyhessian.json"
for b in 1 8; do
  run top --data clusters --samples 1000 --dimension 100 --classes "$k" --layers 30,30 --activation "$activation" --seed 1 --quiet \
    --checkpoint "$out/$name/train/params.npy" --k 10 --block-size "$b" --tolerance 1e-10 --out "$out/$name/hvp-block$b" >/dev/null
done
python3 - "$out" "$first" <<'PY'
import json, pathlib, sys
out, first = pathlib.Path(sys.argv[1]), sys.argv[2]
def load(p): return json.loads((p / "summary.json").read_text())
lines = ["# Matrix-free estimators against the exact spectrum", "",
         "Error of each estimator at a matvec budget (Landscape, `bench/estimators.sh`); exact H from `landscape spectrum`.",
         "top-10: max |θᵢ − λᵢ|/|λᵢ| over the 10 largest; trace: |est − tr H|/|tr H|; density: W1/(λmax − λmin).", ""]
need = {}
for config in sorted(p for p in out.iterdir() if p.is_dir() and (p / "init").exists()):
    for point in ["init", "trained"]:
        d = config / point
        rows = {}
        for run in d.iterdir():
            if run.name == "exact": continue
            s = load(run)
            kind = run.name.rsplit("-", 1)[0]
            if kind == "top": err = s["comparison"]["maxRelativeError"]
            elif kind.startswith("trace"): err = s["comparison"]["relativeError"]
            else: err = s["comparison"]["wasserstein"]
            rows.setdefault(kind, []).append((s["matvecs"], err))
        lines += [f"## {config.name}, {point} (M = {load(d / 'exact')['parameters']})", "",
                  "| estimator | " + " | ".join(f"{m} mv" for m, _ in sorted(rows['top'])) + " |",
                  "|---|" + "---|" * len(rows["top"])]
        for kind in ["top", "trace-hutchinson", "trace-hutch++", "density"]:
            if kind not in rows: continue
            r = sorted(rows[kind])
            lines.append(f"| {kind} | " + " | ".join(f"{e:.2g} ({m})" for m, e in r) + " |")
            for goal in (1e-2, 1e-3):
                hit = next((m for m, e in r if e <= goal), None)
                need.setdefault((kind, goal), []).append(hit)
        lines.append("")
lines += ["## Matvecs needed (first budget reaching the error; — = none within the largest budget)", "",
          "| estimator | 1 % | 0.1 % |", "|---|---|---|"]
for kind in ["top", "trace-hutchinson", "trace-hutch++", "density"]:
    f = lambda g: ", ".join("—" if h is None else str(h) for h in need.get((kind, g), []))
    lines.append(f"| {kind} | {f(1e-2)} | {f(1e-3)} |")
ph = json.loads((out / "pyhessian.json").read_text())
hvp = {b: load(out / first / f"hvp-block{b}") for b in (1, 8)}
per = {b: s["seconds"]["operator"] / s["matvecs"] for b, s in hvp.items()}
lines += ["", f"## Side by side with PyHessian ({first}, trained; M = {ph['parameters']}, N = {ph['samples']})", "",
          f"- seconds per HVP: PyHessian {ph['seconds_per_hvp']:.4g} s (torch {ph['torch']}, {ph['threads']} threads); "
          f"Landscape {per[1]:.4g} s single, {per[8]:.4g} s per direction in blocks of 8 (2 ranks): "
          f"ratio {per[1] / ph['seconds_per_hvp']:.2f} and {per[8] / ph['seconds_per_hvp']:.2f}",
          f"- loss at the point: PyHessian's model {ph['loss']:.12g}, Landscape {load(out / first / 'trained' / 'exact')['loss']:.12g}"]
for t in ph["top"]:
    lines.append(f"- PyHessian top-{t['top_n']}: {t['hvps']} HVPs, {t['seconds']:.3g} s, max relative error {max(t.get('relative_errors', [float('nan')])):.2g}")
lines.append(f"- Landscape top-10 (tolerance 1e-10, blocks of 8): {hvp[8]['matvecs']} matvecs, {hvp[8]['seconds']['operator'] + hvp[8]['seconds']['orthogonalization'] + hvp[8]['seconds']['ritz']:.3g} s, max relative residual {max(hvp[8]['relativeResiduals']):.2g}")
for t in ph["trace"]:
    lines.append(f"- PyHessian trace (max_iter {t['max_iter']}, tol {t['tol']}): {t['hvps']} HVPs, {t['seconds']:.3g} s, relative error {t.get('relative_error', float('nan')):.2g}")
d = ph["density"]
lines.append(f"- PyHessian density ({d['iter']} steps × {d['n_v']} probe): {d['hvps']} HVPs, {d['seconds']:.3g} s, W1/(λmax − λmin) {d.get('wasserstein1_relative', float('nan')):.2g}, mass below zero {d.get('mass_below_zero', float('nan')):.3f} (exact {d.get('exact_mass_below_zero', float('nan')):.3f})")
(out.parent / "estimators.md").write_text("\n".join(lines) + "\n")
print("\n".join(lines))
PY
