#!/usr/bin/env bash
# HPC scaling study (not a test; issue 6): `landscape spectrum --at init` over rank counts.
#   strong  the same problem (CONFIG) on every rank count;
#   weak-N  N ∝ P samples, same model: the assembly's work per rank N·M²/P stays fixed;
#   weak-M  hidden widths scaled so that M²/P stays fixed (the memory per rank of H): the
#           assembly's N·M²/P stays fixed too, the eigensolver's M³/P grows as √P.
# Collects each run's summary.json and timings.json and writes bench/results/scaling/{scaling.csv,
# scaling.md, scaling.svg} (bench/scaling_plot.py: seconds per phase, speed-up, parallel efficiency).
#   bench/scaling.sh                                          # examples/train-clusters.toml, ranks 1,2,4
#   bench/scaling.sh --config run.toml --ranks 1,2,4,8 --series strong,weak-N --solver elpa2
#   LANDSCAPE=.build-bench/release/landscape HOSTFILE=hosts bench/scaling.sh --ranks 16,32,64
#   bench/scaling.sh --repeat 3        # each point 3 times; the table takes each phase's fastest
# More ranks than cores are run oversubscribed (launch/mpirun): then the efficiency measures the
# oversubscription, not the scaling — the table says so on such rows.
set -euo pipefail
cd "$(dirname "$0")/.."

config=examples/train-clusters.toml
ranks=1,2,4
series=strong,weak-N,weak-M
solver=auto
repeat=1
out=bench/results/scaling
extra=()
usage() { sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; echo "options: --config FILE --ranks P,P,… --series strong,weak-N,weak-M --solver NAME --repeat R --out DIR [-- extra spectrum flags]"; }
while [ $# -gt 0 ]; do
  case "$1" in
    --config) config=$2; shift 2 ;;
    --ranks) ranks=$2; shift 2 ;;
    --series) series=$2; shift 2 ;;
    --solver) solver=$2; shift 2 ;;
    --repeat) repeat=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --) shift; extra=("$@"); break ;;
    -h|--help) usage; exit 0 ;;
    *) echo "error: unknown option '$1'" >&2; usage >&2; exit 2 ;;
  esac
done
[ -f "$config" ] || { echo "error: --config '$config': no such file" >&2; exit 2; }
IFS=, read -r -a rank_list <<< "$ranks"
IFS=, read -r -a series_list <<< "$series"
[[ "$repeat" =~ ^[1-9][0-9]*$ ]] || { echo "error: --repeat '$repeat' must be a positive integer" >&2; exit 2; }
for p in "${rank_list[@]}"; do
  [[ "$p" =~ ^[1-9][0-9]*$ ]] || { echo "error: --ranks '$ranks' must be positive integers, e.g. 1,2,4" >&2; exit 2; }
done
for s in "${series_list[@]}"; do
  case "$s" in strong|weak-N|weak-M) ;; *) echo "error: unknown series '$s' (strong, weak-N, weak-M)" >&2; exit 2 ;; esac
done

cores=$(nproc)
# N, the hidden widths and the widths giving M(P) ≈ M(P₀)·√(P/P₀), from the configuration.
shape() {  # shape P → "N layers" for the series
  python3 - "$config" "$1" "${rank_list[0]}" "$2" <<'PY'
import sys, tomllib
config, p, p0, series = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
c = tomllib.load(open(config, "rb"))
data, model = c.get("data", {}), c.get("model", {})
n = data.get("samples", 1000); d = data.get("dimension", 100); k = data.get("classes", 10)
layers = model.get("layers", [30, 30])
def params(hidden):
    w = [d] + hidden + [k]
    return sum(w[i] * w[i + 1] + w[i + 1] for i in range(len(w) - 1))
if series == "weak-N":
    n = n * p // p0
elif series == "weak-M":
    target = params(layers) * (p / p0) ** 0.5
    best = min((abs(params([max(1, round(h * s / 1000)) for h in layers]) - target), s) for s in range(1000, 8001))[1]
    layers = [max(1, round(h * best / 1000)) for h in layers]
print(n, ",".join(map(str, layers)))
PY
}

echo "scaling: $config, ranks ${rank_list[*]}, series ${series_list[*]}, solver $solver, $repeat repeat(s); $cores cores; load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
rm -rf "$out/runs"
mkdir -p "$out/runs"
for s in "${series_list[@]}"; do
  for p in "${rank_list[@]}"; do
    read -r n layers < <(shape "$p" "$s")
    for r in $(seq 1 "$repeat"); do
      run="$out/runs/$s-np$p-r$r"
      # Every series starts from the same problem at the first rank count: run it once.
      if [ "$s" != strong ] && [ "$p" = "${rank_list[0]}" ] && [ -d "$out/runs/strong-np$p-r$r" ]; then
        mkdir -p "$run"
        cp "$out/runs/strong-np$p-r$r/summary.json" "$out/runs/strong-np$p-r$r/timings.json" "$run/"
        sed "s/^strong /$s /" "$out/runs/strong-np$p-r$r/series" > "$run/series"
        continue
      fi
      dir=$(mktemp -d)
      echo "scaling: $s P=$p N=$n layers=$layers (run $r of $repeat)" >&2
      if NP=$p launch/mpirun spectrum --config "$config" --at init --samples "$n" --layers "$layers" --solver "$solver" \
           "${extra[@]}" --out "$dir/run" --quiet </dev/null >"$dir/log" 2>&1; then
        mkdir -p "$run"
        cp "$dir/run/summary.json" "$dir/run/timings.json" "$run/"
        echo "$s $p $cores $(cut -d' ' -f1 /proc/loadavg)" > "$run/series"
      else
        echo "scaling: $s P=$p failed:" >&2; tail -5 "$dir/log" >&2
      fi
      rm -rf "$dir"
    done
  done
done
python3 bench/scaling_plot.py "$out"
