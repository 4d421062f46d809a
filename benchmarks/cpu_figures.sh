#!/usr/bin/env bash
# CPU figures for the README, at the shapes issues 2 and 11 name (2-tier, frame 16, 256 levels, GRU).
# Usage: benchmarks/cpu_figures.sh [albumbot] [repeats]   (prints one JSON object per line; each
# line carries load_avg: other work on the machine lowers these a lot, so run it quiet, repeat it)
set -euo pipefail
AB=${1:-.venv/bin/albumbot}
N=${2:-1}
for _ in $(seq "$N"); do
$AB bench generate --cell gru --dim 256 --layers 2 --batch 1 --samples 32000 --threads 1 --json
$AB bench generate --cell gru --dim 256 --layers 2 --batch 16 --samples 8000 --threads 1 --json
$AB bench train --cell gru --dim 256 --layers 2 --batch 16 --seq-len 1024 --steps 10 --threads 2 --json
$AB bench generate --cell gru --dim 1024 --layers 5 --batch 1 --samples 4000 --threads 1 --json
$AB bench generate --cell gru --dim 1024 --layers 5 --batch 1 --samples 8000 --threads 1 --weights int8 --json
$AB bench generate --cell gru --dim 1024 --layers 5 --batch 16 --samples 1000 --threads 1 --json
$AB bench generate --preset tiny --batch 1 --samples 32000 --threads 1 --json
$AB bench clips --cell gru --dim 256 --layers 2 --clips 8 --seconds 2 --threads 1 --json
done
