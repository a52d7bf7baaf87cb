#!/usr/bin/env bash
# Ranks × threads (not a test): on the same cores, P ranks × 1 OpenBLAS thread against 1 rank × P
# threads, the rank bound to P cores (`--map-by slot:PE=P`: without it Open MPI binds a lone rank
# to one core and its threads share it). For the exact assembly and the eigensolve of `landscape
# spectrum --at init`, and the HVP (B = 1 and B = DIRECTIONS) of `landscape bench throughput`;
# ROUNDS rounds, the two layouts alternating within each round.
#   bench/hybrid.sh                               # P = 2, the reference MLP, 3 rounds
#   CONFIG=examples/train-onnx.toml ROUNDS=5 bench/hybrid.sh
# Writes bench/results/hybrid/hybrid.csv and prints a Markdown table of medians.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${ROUNDS:=3}" "${P:=2}" "${CONFIG:=examples/train-clusters.toml}" "${DIRECTIONS:=64}"
out=bench/results/hybrid
mkdir -p "$out"
csv="$out/hybrid.csv"
echo "round,layout,assemble_s,eigensolve_s,eigensolver,hvp_1_s,hvp_B_s_per_direction" > "$csv"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for round in $(seq 1 "$ROUNDS"); do
  for layout in "$P 1" "1 $P"; do
    read -r ranks threads <<< "$layout"
    flags=""
    [ "$threads" -gt 1 ] && flags="--map-by slot:PE=$threads"
    rm -rf "$work/spectrum" "$work/throughput"
    OPENBLAS_NUM_THREADS=$threads NP=$ranks MPI_FLAGS="$flags" launch/mpirun spectrum --config "$CONFIG" --at init \
      --out "$work/spectrum" --quiet > /dev/null 2> "$work/log" || { cat "$work/log"; exit 1; }
    OPENBLAS_NUM_THREADS=$threads NP=$ranks MPI_FLAGS="$flags" launch/mpirun bench throughput --config "$CONFIG" \
      --directions "$DIRECTIONS" --out "$work/throughput" --quiet > /dev/null 2> "$work/log" || { cat "$work/log"; exit 1; }
    python3 - "$work" "$round" "$ranks ranks × $threads threads" "$DIRECTIONS" >> "$csv" <<'PY'
import json, sys
work, round_, layout, b = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
s = json.load(open(work + "/spectrum/summary.json"))
t = json.load(open(work + "/spectrum/timings.json"))
solve = [p for p in t["phases"] if p["name"] == "eigensolve H"][0]
hvp = {x["directions"]: x["secondsMedian"] for x in json.load(open(work + "/throughput/throughput.json"))["measurements"]
       if x["operation"].lower() == "hvp" and not x.get("variant")}
print(",".join(str(v) for v in [round_, layout, round(s["seconds"]["assemble hessian"], 4), round(s["seconds"]["eigensolve H"], 3),
                                 solve.get("method", "?"), round(hvp[1], 6), round(hvp[b] / b, 6)]))
PY
    tail -n 1 "$csv" >&2
  done
done
python3 - "$csv" <<'PY'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))
layouts = list(dict.fromkeys(r["layout"] for r in rows))
cols = [("assemble_s", "assembly (s)"), ("eigensolve_s", "eigensolve (s)"), ("hvp_1_s", "HVP, B = 1 (s)"), ("hvp_B_s_per_direction", "HVP per direction, batched (s)")]
print(f"\nMedians of {len(rows) // len(layouts)} rounds ({sys.argv[1]})\n")
print("| layout | " + " | ".join(c[1] for c in cols) + " | eigensolver |")
print("|---|" + "---|" * (len(cols) + 1))
med = {}
for layout in layouts:
    mine = [r for r in rows if r["layout"] == layout]
    med[layout] = [statistics.median(float(r[c]) for r in mine) for c, _ in cols]
    print(f"| {layout} | " + " | ".join(f"{v:.4g}" for v in med[layout]) + f" | {mine[0]['eigensolver']} |")
a, b = layouts
print(f"| ratio ({b} / {a}) | " + " | ".join(f"{y / x:.2f}×" for x, y in zip(med[a], med[b])) + " | |")
PY
