#!/usr/bin/env bash
# The Lanczos basis sharded by rows (not a test): `landscape top` at M ≈ 1.8 million (MLP
# 784-1000-1000-10 on clusters, N samples, relu, at init) on 1 and on 2 ranks, the same matvec
# budget and basis, so each run orthogonalises against the same number of vectors. Reports the
# orthogonalisation seconds per matvec (summary.json `seconds.orthogonalization` / matvecs), the
# basis's bytes per rank (basis × M / P × 8) and the measured peak resident memory per rank.
# N is small on purpose: the orthogonalisation does not depend on it, the operator does.
#   bench/sharded-basis.sh                       # N = 400, 64 matvecs in blocks of 4, basis 112, 2 rounds
#   ROUNDS=3 SAMPLES=1000 bench/sharded-basis.sh
# Writes bench/results/sharded-basis/sharded-basis.csv and prints a Markdown table of medians.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${ROUNDS:=2}" "${SAMPLES:=400}" "${MATVECS:=64}" "${BASIS:=112}"
out=bench/results/sharded-basis
mkdir -p "$out"
csv="$out/sharded-basis.csv"
echo "round,ranks,matvecs,basis,orthogonalization_s,operator_s,orth_s_per_matvec,basis_bytes_per_rank,peak_bytes_per_rank" > "$csv"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for round in $(seq 1 "$ROUNDS"); do
  for ranks in 1 2; do
    rm -rf "$work/top"
    NP=$ranks launch/mpirun top --data clusters --samples "$SAMPLES" --dimension 784 --classes 10 --layers 1000,1000 \
      --activation relu --at init --k 20 --block-size 4 --basis "$BASIS" --tolerance 1e-14 --max-matvecs "$MATVECS" \
      --out "$work/top" --quiet > /dev/null 2> "$work/log" || { cat "$work/log"; exit 1; }
    python3 - "$work/top" "$round" "$ranks" "$BASIS" >> "$csv" <<'PY'
import json, sys
top, round_, ranks, basis = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
s = json.load(open(top + "/summary.json"))
m = s["header"]["parameters"]
orth, op, mv = s["seconds"]["orthogonalization"], s["seconds"]["operator"], s["matvecs"]
peak = max(s["header"]["peakResidentBytesPerRank"])
print(",".join(str(v) for v in [round_, ranks, mv, basis, round(orth, 3), round(op, 2), round(orth / mv, 5),
                                 basis * (m // ranks) * 8, peak]))
PY
    tail -n 1 "$csv" >&2
  done
done
python3 - "$csv" <<'PY'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))
med = {}
print(f"\nMedians of {len(rows) // 2} rounds ({sys.argv[1]})\n")
print("| ranks | matvecs | orthogonalisation (s) | per matvec (s) | basis per rank | peak per rank |")
print("|---|---|---|---|---|---|")
for p in ("1", "2"):
    mine = [r for r in rows if r["ranks"] == p]
    med[p] = {c: statistics.median(float(r[c]) for r in mine) for c in mine[0] if c not in ("round", "ranks")}
    m = med[p]
    print(f"| {p} | {m['matvecs']:.0f} | {m['orthogonalization_s']:.2f} | {m['orth_s_per_matvec']:.4f} | "
          f"{m['basis_bytes_per_rank'] / 2**30:.2f} GiB | {m['peak_bytes_per_rank'] / 2**30:.2f} GiB |")
print(f"\nOrthogonalisation per matvec, 1 rank ÷ 2 ranks: {med['1']['orth_s_per_matvec'] / med['2']['orth_s_per_matvec']:.2f}× (goal ≥ 1.7×)")
PY
