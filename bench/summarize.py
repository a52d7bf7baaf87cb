"""Turns bench/results/eigensolvers.csv into ratio tables: every distributed solve against
single-process LAPACK dsyevd with 2 threads (same vectors setting, same run), and the 2-rank
parallel efficiency t1 / (2 · t2)."""
import csv
import sys
from collections import defaultdict

rows = list(csv.DictReader(open(sys.argv[1])))
lapack = {(r["M"], r["vectors"], r["threads"]): float(r["seconds"]) for r in rows if r["method"] == "dsyevd"}
numpy = {r["M"]: float(r["seconds"]) for r in rows if r["method"] == "numpy-eigvalsh"}
runs = defaultdict(dict)
for r in rows:
    if r["method"] not in ("dsyevd", "numpy-eigvalsh"):
        runs[(r["M"], r["method"], r["block"], r["vectors"])][r["ranks"]] = float(r["seconds"])

print("| M | vectors | dsyevd 1 thr | dsyevd 2 thr | numpy eigvalsh | method | block | 1 rank | 2 ranks | 2 ranks / dsyevd 2 thr | efficiency |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for (m, method, block, vectors), t in sorted(runs.items(), key=lambda kv: (int(kv[0][0]), kv[0][3], kv[0][1], int(kv[0][2]))):
    l1, l2 = lapack.get((m, vectors, "1")), lapack.get((m, vectors, "2"))
    t1, t2 = t.get("1"), t.get("2")
    ratio = f"{t2 / l2:.2f}×" if t2 and l2 else "–"
    eff = f"{100 * t1 / (2 * t2):.0f} %" if t1 and t2 else "–"
    fmt = lambda x: f"{x:.2f} s" if x else "–"
    npy = numpy.get(m) if vectors == "none" else None
    print(f"| {m} | {vectors} | {fmt(l1)} | {fmt(l2)} | {fmt(npy)} | {method} | {block} | {fmt(t1)} | {fmt(t2)} | {ratio} | {eff} |")
