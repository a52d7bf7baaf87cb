#!/usr/bin/env bash
# The exact assembly's exchange (not a test): bytes each rank sends, receives, and sends off its
# node, as `timings.json` counts them in the code (`reduce hessian`: bytes, receivedBytes,
# offNodeBytes), for the reference MLP 100-30-30-50 (M = 5510, N = 1000, at init) on 1, 2 and 4
# ranks on one host and on 2, 3 and 4 test hosts (network namespaces on this machine:
# `launch/test-hosts`, made and removed here; their "interconnect" is a Linux bridge, loopback
# speed, so the seconds say nothing about a real network — the bytes do).
# On one host the assembly allreduces partial panels (`auto`): "sent" is then the payload each rank
# hands to the allreduces, and nothing is counted as received. Next to them, the volume the
# previous scheme moved across nodes: every rank allreduced its partial sums of
# every row panel (8·Σ panel entries per rank, ≈ 4·M²), so a node had to send at least
# (nodes − 1)/nodes of that whatever the reduction tree.
#   bench/exchange-bytes.sh
# Writes bench/results/exchange-bytes/exchange.csv and prints a Markdown table.
set -euo pipefail
cd "$(dirname "$0")/.."
out=bench/results/exchange-bytes
mkdir -p "$out"
csv="$out/exchange.csv"
echo "layout,hosts,ranks,sent_MB_per_rank_max,received_MB_per_rank_max,offnode_MB_per_node_max,exchange_s,assemble_s" > "$csv"
work=$(mktemp -d)
launch/test-hosts down > /dev/null 2>&1 || true
launch/test-hosts up 4 > /dev/null
trap 'launch/test-hosts down > /dev/null 2>&1; rm -rf "$work"' EXIT
args=(spectrum --at init --samples 1000 --classes 50 --dimension 100 --layers "30,30" --quiet)
run() {  # layout hosts ranks mapping [hostfile]
  local layout=$1 hosts=$2 ranks=$3 mapping=$4 hostfile=${5:-}
  rm -rf "$work/run"
  HOSTFILE=$hostfile NP=$ranks MPI_FLAGS="--map-by $mapping" launch/mpirun "${args[@]}" --out "$work/run" > /dev/null 2> "$work/log" \
    || { cat "$work/log"; exit 1; }
  python3 - "$work/run" "$layout" "$hosts" "$ranks" "$mapping" >> "$csv" <<'PY'
import json, sys
run, layout, hosts, ranks, mapping = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
phases = {p["name"]: p for p in json.load(open(run + "/timings.json"))["phases"]}
r = phases["reduce hessian"]
sent, received = r["bytes"], r.get("receivedBytes") or [0.0] * ranks
off = r.get("offNodeBytes") or [0.0] * ranks
host = [(q % hosts if mapping == "node" else q * hosts // ranks) for q in range(ranks)]
per_node = [sum(o for o, h in zip(off, host) if h == k) for k in range(hosts)]
print(",".join(str(v) for v in [layout, hosts, ranks, round(max(sent) / 1e6, 2), round(max(received) / 1e6, 2),
                                 round(max(per_node) / 1e6, 2), round(max(r["seconds"]), 3), round(max(phases["assemble hessian"]["seconds"]), 3)]))
PY
  tail -n 1 "$csv" >&2
}
run "1 host" 1 1 slot
run "1 host" 1 2 slot
run "1 host" 1 4 slot
run "2 hosts × 1" 2 2 node hostfiles/test-hosts
run "3 hosts × 1" 3 3 node hostfiles/test-hosts
run "4 hosts × 1" 4 4 node hostfiles/test-hosts
run "2 hosts × 2" 2 4 slot hostfiles/test-hosts
python3 - "$csv" <<'PY'
import csv, sys
# The previous scheme's payload per rank: 8 bytes × Σ over row blocks of rows × (M − first column).
widths, entries, offset = [100, 30, 30, 50], 0, 0
M = sum((widths[l - 1] + 1) * widths[l] for l in range(1, len(widths)))
weights = 0
for l in range(1, len(widths)):
    for p in range(widths[l]):
        c0 = weights + p * widths[l - 1]
        entries += (widths[l - 1] + 1) * (M - c0)
    weights += (widths[l - 1] + 1) * widths[l]
payload = 8 * entries / 1e6
rows = list(csv.DictReader(open(sys.argv[1])))
print(f"\nM = {M}; the previous scheme's allreduce payload: {payload:.1f} MB per rank on any number of ranks\n")
print("| layout | ranks | sent per rank (max) | received per rank (max) | off-node per node (max) | before: off-node per node, at least | exchange (loopback) | assembly GEMMs |")
print("|---|---|---|---|---|---|---|---|")
for r in rows:
    n = int(r["hosts"])
    before = payload * (n - 1) / n
    print(f"| {r['layout']} | {r['ranks']} | {r['sent_MB_per_rank_max']} MB | {r['received_MB_per_rank_max']} MB | {r['offnode_MB_per_node_max']} MB | "
          f"{before:.1f} MB | {r['exchange_s']} s | {r['assemble_s']} s |")
PY
