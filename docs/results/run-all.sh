#!/usr/bin/env bash
# Reproduces every table of docs/results.md (one command per result; run from the repository
# root on a machine with ../shared/data). Writes into geoflow-out/results/.
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --release
g=./target/release/geoflow
o=geoflow-out/results
mkdir -p "$o"
$g accuracy | tee "$o/accuracy.md"
for d in volcano earthquake flood fire rna hyperbolic-mixture; do
    $g compare --data "$d" --methods rfm,lsd,esd,psd,mf --train-steps 3000 --kde --quiet --out "$o/$d" | tee "$o/$d.log"
done
for d in volcano fire; do
    $g compare --data "$d" --methods rfm --train-steps 12000 --kde --quiet --out "$o/$d-rfm12k" | tee "$o/$d-rfm12k.log"
done
$g fisher --quiet --out "$o/fisher" | tee "$o/fisher.log"
