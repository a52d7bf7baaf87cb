#!/usr/bin/env bash
# "No regression" benchmark (not a test): a baseline binary and a candidate binary measured side by
# side in one run, on NP = 2 ranks through launch/mpirun, each measurement run back to back for the
# two binaries (baseline, candidate, baseline, candidate, … so that drift of a shared machine hits
# both), REPEAT rounds; the medians are compared and must be within 5 %:
#   1. Hessian assembly of the MLP 100-30-30-50 (M = 5510) on N = 1000 Gaussian-cluster samples at
#      initialisation (as bench/assembly.sh): summary.json's assemblyGFLOPPerSecond and
#      seconds["assemble hessian"], seconds["reduce hessian"];
#   2. `landscape bench throughput` (as bench/throughput.sh, default MLP 100-30-30-10 on N = 1000):
#      gradient and B = 64-direction HVP, GFLOP/s and median seconds per call;
#   3. the wall time of the demo's command (`make demo`: spectrum --config
#      examples/train-clusters.toml --ggn), training included.
# Throughputs pass when candidate/baseline ≥ 0.95, times when candidate/baseline ≤ 1.05.
#   bench/redesign.sh                          # baseline /work/baseline/.build/release/landscape
#   BASELINE=/path/to/old/landscape bench/redesign.sh
#   CANDIDATE=.build-new/release/landscape REPEAT=5 bench/redesign.sh
#   REPEAT=1 SKIP_DEMO=1 bench/redesign.sh     # quick check (≈ 20 s per binary; a full round ≈ 1 min)
# The binaries are not built here: build the baseline from a separate checkout (e.g.
# git clone -q . /work/baseline && git -C /work/baseline checkout -q a0bd587 &&
# (cd /work/baseline && swift build -c release)) and the candidate with `swift build -c release`.
# FAIL_ON_REGRESSION=1 makes the script exit 3 when a metric is outside the 5 %.
# Prints a Markdown table and writes bench/results/redesign.csv (medians, ratios and every round's value).
set -euo pipefail
cd "$(dirname "$0")/.."
: "${BASELINE:=/work/baseline/.build/release/landscape}"
: "${CANDIDATE:=.build/release/landscape}"
: "${REPEAT:=3}"
: "${NP:=2}"
: "${TOLERANCE:=0.05}"
: "${ASSEMBLY_FLAGS:=--at init --samples 1000 --classes 50 --dimension 100 --layers 30,30}"
: "${THROUGHPUT_FLAGS:=--samples 1000 --dimension 100 --classes 10 --layers 30,30}"
: "${DIRECTIONS:=64}"
: "${REPETITIONS:=5}"
: "${MIN_SECONDS:=1}"
: "${DEMO_CONFIG:=examples/train-clusters.toml}"
: "${SKIP_DEMO:=0}"
: "${FAIL_ON_REGRESSION:=0}"

binary() { # absolute path of an executable, or fail
  local path=$1 name=$2
  if [ ! -x "$path" ]; then
    echo "$name binary $path not found or not executable (build it with swift build -c release)" >&2
    exit 1
  fi
  echo "$(cd "$(dirname "$path")" && pwd)/$(basename "$path")"
}
baseline=$(binary "$BASELINE" BASELINE)
candidate=$(binary "$CANDIDATE" CANDIDATE)
if [ "$baseline" = "$candidate" ]; then
  echo "note: BASELINE and CANDIDATE are the same binary ($baseline); ratios measure noise only" >&2
fi

out=bench/results
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
raw="$work/raw.csv" # binary,round,metric,value
echo "binary,round,metric,value" > "$raw"

# run NAME LOG ARGS…: landscape ARGS… on NP ranks with binary NAME's path; the log is shown on failure.
run() {
  local name=$1 log=$2 path
  shift 2
  if [ "$name" = baseline ]; then path=$baseline; else path=$candidate; fi
  LANDSCAPE=$path NP=$NP launch/mpirun "$@" </dev/null >"$log" 2>&1 || { cat "$log" >&2; echo "$name failed: landscape $*" >&2; exit 1; }
}

assembly() { # name round
  local dir="$work/assembly-$1-$2"
  # shellcheck disable=SC2086  # ASSEMBLY_FLAGS is a list of flags by design
  run "$1" "$dir.log" spectrum $ASSEMBLY_FLAGS --out "$dir" --quiet
  python3 - "$dir/summary.json" "$1" "$2" >> "$raw" <<'PY'
import json, sys
s = json.load(open(sys.argv[1])); sec = s["seconds"]; name, rnd = sys.argv[2], sys.argv[3]
for metric, value in [("assembly_gflops", s["assemblyGFLOPPerSecond"]), ("assemble_s", sec["assemble hessian"]),
                      ("reduce_s", sec["reduce hessian"]), ("assembly_gflop", s["assemblyGFLOP"]),
                      ("assembly_M", s["parameters"]), ("assembly_N", s["samples"])]:
    print(f"{name},{rnd},{metric},{value}")
PY
  rm -rf "$dir"
}

throughput() { # name round
  local dir="$work/throughput-$1-$2"
  # shellcheck disable=SC2086  # THROUGHPUT_FLAGS is a list of flags by design
  run "$1" "$dir.log" bench throughput $THROUGHPUT_FLAGS --directions "$DIRECTIONS" --repetitions "$REPETITIONS" \
    --min-seconds "$MIN_SECONDS" --out "$dir" --quiet
  python3 - "$dir/throughput.json" "$1" "$2" "$DIRECTIONS" >> "$raw" <<'PY'
import json, sys
t = json.load(open(sys.argv[1])); name, rnd, b = sys.argv[2], sys.argv[3], int(sys.argv[4])
wanted = {("gradient", 1): "gradient", ("HVP", b): f"hvp{b}"}
found = set()
for m in t["measurements"]:
    key = wanted.get((m["operation"], m["directions"]))
    if key is None: continue
    found.add(key)
    print(f"{name},{rnd},{key}_gflops,{m['gflopPerSecond']}")
    print(f"{name},{rnd},{key}_s,{m['secondsMedian']}")
    print(f"{name},{rnd},{key}_gflop,{m['gflopPerCall']}")
missing = set(wanted.values()) - found
if missing: sys.exit(f"{sys.argv[1]}: no measurement for {sorted(missing)}")
PY
  rm -rf "$dir"
}

demo() { # name round
  local dir="$work/demo-$1-$2" start end
  start=$(date +%s%N)
  run "$1" "$dir.log" spectrum --config "$DEMO_CONFIG" --ggn --out "$dir"
  end=$(date +%s%N)
  awk -v n="$1" -v r="$2" -v s="$start" -v e="$end" 'BEGIN { printf "%s,%s,demo_s,%.3f\n", n, r, (e - s) / 1e9 }' >> "$raw"
  rm -rf "$dir" "$dir.log"
}

echo "baseline:  $baseline" >&2
echo "candidate: $candidate" >&2
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
echo "$REPEAT round(s) on $NP ranks, $(nproc) cores; load before: $load_before" >&2
measurements=(assembly throughput)
[ "$SKIP_DEMO" = 1 ] || measurements+=(demo)
for round in $(seq 1 "$REPEAT"); do
  for measurement in "${measurements[@]}"; do
    for name in baseline candidate; do
      echo "round $round/$REPEAT: $measurement, $name" >&2
      case $measurement in
        assembly) assembly "$name" "$round" ;;
        throughput) throughput "$name" "$round" ;;
        demo) demo "$name" "$round" ;;
      esac
    done
  done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

csv="$out/redesign.csv"
status=0
python3 - "$raw" "$csv" "$TOLERANCE" "$DIRECTIONS" "$baseline" "$candidate" "$NP" "$REPEAT" "$load_before" "$load_after" <<'PY' || status=$?
import csv, statistics, sys
raw, out, tol, b, base_path, cand_path, np, repeat, load_before, load_after = sys.argv[1:]
tol = float(tol)
values = {}  # (binary, metric) -> [value per round]
for r in csv.DictReader(open(raw)):
    values.setdefault((r["binary"], r["metric"]), []).append(float(r["value"]))
def get(name, metric): return values.get((name, metric), [])
M = int(get("baseline", "assembly_M")[0]); N = int(get("baseline", "assembly_N")[0])
# key, label, unit, higher is better
metrics = [("assembly_gflops", f"Hessian assembly (M = {M}, N = {N})", "GFLOP/s", True),
           ("assemble_s", "assemble hessian", "s", False),
           ("reduce_s", "reduce hessian", "s", False),
           ("gradient_gflops", "gradient", "GFLOP/s", True),
           ("gradient_s", "gradient, median call", "s", False),
           (f"hvp{b}_gflops", f"HVP, B = {b}", "GFLOP/s", True),
           (f"hvp{b}_s", f"HVP, B = {b}, median call", "s", False),
           ("demo_s", "demo (spectrum --config examples/train-clusters.toml --ggn), wall", "s", False)]
notes = []
# Same work on both sides, or GFLOP/s are not comparable (then compare the times).
for key, what in [("assembly_M", "M"), ("assembly_N", "N"), ("assembly_gflop", "assembly GFLOP"),
                  ("gradient_gflop", "gradient GFLOP per call"), (f"hvp{b}_gflop", f"HVP B = {b} GFLOP per call")]:
    x, y = set(get("baseline", key)), set(get("candidate", key))
    if x != y: notes.append(f"warning: {what} differs (baseline {sorted(x)}, candidate {sorted(y)}): compare times, not GFLOP/s")
rows, failed = [], []
for key, label, unit, higher in metrics:
    x, y = get("baseline", key), get("candidate", key)
    if not x or not y: continue
    mx, my = statistics.median(x), statistics.median(y)
    ratio = my / mx
    ok = ratio >= 1 - tol if higher else ratio <= 1 + tol
    if not ok: failed.append(label)
    spread = lambda v: f"{100 * (max(v) / min(v) - 1):.0f} %" if len(v) > 1 and min(v) > 0 else "–"
    rows.append(dict(metric=label, unit=unit, better="higher" if higher else "lower", baseline_median=f"{mx:.6g}",
                     candidate_median=f"{my:.6g}", ratio=f"{ratio:.4f}", within=f"{'yes' if ok else 'no'}",
                     baseline_rounds=";".join(f"{v:.6g}" for v in x), candidate_rounds=";".join(f"{v:.6g}" for v in y),
                     spread=f"{spread(x)} / {spread(y)}"))
with open(out, "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["metric", "unit", "better", "baseline_median", "candidate_median", "ratio_candidate_over_baseline",
                f"within_{round(100 * tol)}pct", "baseline_rounds", "candidate_rounds"])
    for r in rows: w.writerow([r[k] for k in ["metric", "unit", "better", "baseline_median", "candidate_median", "ratio",
                                               "within", "baseline_rounds", "candidate_rounds"]])
pct = f"{100 * tol:g} %"
print(f"# Redesign vs baseline: {repeat} round(s), {np} ranks, medians")
print()
print(f"baseline `{base_path}`, candidate `{cand_path}`; load {load_before} before, {load_after} after (1, 5, 15 min).")
print()
print(f"| metric | unit | better | baseline median | candidate median | candidate / baseline | within {pct} | spread (max/min − 1) baseline / candidate |")
print("|---|---|---|---|---|---|---|---|")
for r in rows:
    print(f"| {r['metric']} | {r['unit']} | {r['better']} | {r['baseline_median']} | {r['candidate_median']} | {r['ratio']} | {r['within']} | {r['spread']} |")
print()
for n in notes: print(n)
print(f"no regression: every metric within {pct}" if not failed else f"outside {pct}: {'; '.join(failed)}")
if int(repeat) < 3:
    print(f"only {repeat} round(s): medians of so few runs are noise-prone on a shared machine; use REPEAT ≥ 3")
noisy = [r["metric"] for r in rows for v in (r["baseline_rounds"], r["candidate_rounds"])
         if len(v.split(";")) > 1 and max(map(float, v.split(";"))) > (1 + tol) * min(map(float, v.split(";")))]
if noisy:
    print(f"spread above {pct} (too noisy to decide at this tolerance; rerun on a quiet machine or with a larger REPEAT): "
          + "; ".join(dict.fromkeys(noisy)))
print(f"written: {out}")
sys.exit(3 if failed else 0)
PY
if [ "$status" = 3 ] && [ "$FAIL_ON_REGRESSION" != 1 ]; then status=0; fi
exit "$status"
