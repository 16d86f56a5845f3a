#!/usr/bin/env bash
# The one short GPU check of issue 20, prepared for a machine with an NVIDIA
# GPU (no network needed): train fit-posterior and fit-sampler for a few
# hundred steps with --device cuda and with --device cpu from the same seed,
# and print each run's time and summary line (its final losses).
#
#   benches/gpu_check.sh BIN_DIR [OUT_DIR]
#
# BIN_DIR holds a `make build FEATURES=cuda` build (gen-ising, bundle-knn,
# fit-posterior, fit-sampler); the CUDA run-time kit comes from
# `make setup DEVICE=cuda` (or CUDA_PATH), the driver from the machine.
set -euo pipefail
BIN=${1:?usage: gpu_check.sh BIN_DIR [OUT_DIR]}
OUT=${2:-out/gpu-check}
mkdir -p "$OUT"
export CUDARC_CUDA_VERSION=${CUDARC_CUDA_VERSION:-13000}

"$BIN/gen-ising" --n 4000 --L 16 --sweeps 200 --seed 1 -q -o "$OUT/ising.parquet"
"$BIN/bundle-knn" -i "$OUT/ising.parquet" -o "$OUT/bundles.parquet" --grid 32x32 --seed 1 -q

for device in cuda cpu; do
  start=$(date +%s%N)
  "$BIN/fit-posterior" --bundles "$OUT/bundles.parquet" --arch members --width 16 --steps 300 \
    --batch 64 --lr 5e-3 --device "$device" --seed 1 --out-model "$OUT/post-$device.onnx" \
    --out-posteriors "$OUT/post-$device.parquet" --predict-limit 64 --out-log "$OUT/post-$device-log.parquet" \
    --progress never 2> "$OUT/post-$device.err"
  t_post=$(( ($(date +%s%N) - start) / 1000000 ))
  start=$(date +%s%N)
  "$BIN/fit-sampler" --L 16 --T 2.269 --z2 --depth 3 --width 4 --objective reverse-kl --steps 300 \
    --batch 500 --lr 2e-3 --device "$device" --seed 1 --out-model "$OUT/sampler-$device.onnx" \
    --out-log "$OUT/sampler-$device-log.parquet" \
    --progress never 2> "$OUT/sampler-$device.err"
  t_samp=$(( ($(date +%s%N) - start) / 1000000 ))
  # each tool's summary line holds its final losses
  echo "$device: ${t_post} ms: $(tail -n 1 "$OUT/post-$device.err")"
  echo "$device: ${t_samp} ms: $(tail -n 1 "$OUT/sampler-$device.err")"
done
