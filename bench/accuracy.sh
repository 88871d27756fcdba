#!/usr/bin/env bash
# Issue 3's accuracy acceptance runs: the chapter's CNN with the command line's default
# training settings, seeds 1-3, on the synthetic default and on the real Happy House in
# grayscale (when ../shared/data/happy_house is there), plus the logistic-regression baseline.
# Usage: bench/accuracy.sh [HAPPY_DIR]   (about 15 minutes on 2 cores)
set -euo pipefail
cd "$(dirname "$0")/.."
happy=${1:-../shared/data/happy_house}
cargo build --quiet --release --bin convscope
out=$(mktemp -d)
runs=(synthetic)
[ -d "$happy" ] && runs+=("happy:$happy") || echo "no Happy House data at $happy: real-data runs skipped"
for data in "${runs[@]}"; do
  for seed in 1 2 3; do
    target/release/convscope train --data "$data" --seed "$seed" --json > "$out/run.jsonl"
    # The last line is the result; print data, seed, epochs run, restored epoch, test accuracy.
    tail -n 1 "$out/run.jsonl" | node -e '
      const r = JSON.parse(require("fs").readFileSync(0, "utf8"));
      console.log(`${r.data} | seed ${r.seed} | ${r.epochs_run} epochs, best ${r.restored_epoch} | test accuracy ${(100 * r.test.accuracy).toFixed(1)}%`);'
  done
done
cargo run --quiet --release --example lr_baseline -- normal 1 2 3
rm -r "$out"
