#!/usr/bin/env bash
# Issue 31, item 6: Pennington & Bahri's index–energy experiment over widths, φ and biases — one
# tanh hidden layer, input = hidden = output = n, inputs and targets N(0, 1), MSE, λ = 1e-3 —
# with starts spread evenly in energy along a GD trajectory of the same energy
# (--start trajectory-loss, --weight-decay = λ). Each configuration is one bench/critical-index.sh
# run (certified rate per k, the fit of p with its bootstrap interval); the summary lists p per
# configuration and whether 3/2 lies in its interval. N = M/(n φ), rounded. Not a test.
#   bench/critical-index-sweep.sh
#   CONFIGS="8:0.5:false" STARTS=4 INDICES="1 2" bench/critical-index-sweep.sh      (smoke run)
# CONFIGS: n:φ:bias[:starts[:indices, comma-separated]] entries; the defaults below.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${CONFIGS:=8:0.25:false:30 8:0.5:false:30 8:0.75:false:30 8:0.25:true:30 8:0.5:true:30 8:0.75:true:30 16:0.25:false:10 16:0.75:false:10 16:0.5:true:10 32:0.5:false:2:1,4}"
: "${STARTS:=20}"
: "${INDICES:=0 1 2 3 4 6 8 12 16}"
: "${L2:=0.001}"
: "${OUT:=bench/results/critical-index-sweep}"
rm -rf "$OUT"
mkdir -p "$OUT"
summary="$OUT-$(date +%Y%m%d-%H%M).md"
{
    echo "# Index against energy over widths, φ and biases (bench/critical-index-sweep.sh)"
    echo
    echo "λ = $L2; starts evenly spaced in energy along a 5000-step GD trajectory of the same energy (candidates every 10 steps)."
    echo
} > "$summary"
for config in $CONFIGS; do
    IFS=: read -r n phi bias starts indices <<< "$config"
    starts=${starts:-$STARTS}
    indices=${indices:-$INDICES}
    indices=${indices//,/ }
    m=$(( 2 * n * n ))
    if [ "$bias" = "true" ]; then m=$(( m + 2 * n )); fi
    samples=$(python3 -c "print(max(2, round($m / ($n * $phi))))")
    name="n$n-phi$phi-bias$bias"
    echo "critical-index-sweep: $name (M = $m, N = $samples, $starts starts, k in $indices)" >&2
    report=$(OUT="$OUT/$name" STARTS="$starts" INDICES="$indices" L2S="$L2" \
        ARGS="--layers $n --dimension $n --classes $n --samples $samples --bias $bias --start trajectory-loss --steps 5000 --trajectory-every 10 --weight-decay $L2" \
        bench/critical-index.sh | tail -1 | sed 's/^wrote //')
    {
        echo "## $name: M = $m, N = $samples"
        echo
        sed -n '3,$p' "$report"
        echo
    } >> "$summary"
done
cat "$summary"
echo "wrote $summary"
