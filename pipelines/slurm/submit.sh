#!/bin/bash
# Paper-scale Ising BTI on a Slurm cluster: a job array of generator shards,
# then one dependent job for the rest of the pipeline.
#
#   DATA=/scratch/ising OUT=/scratch/ising-bti SHARDS=64 pipelines/slurm/submit.sh
#
# Run from the repository root after `make build FEATURES=cuda` and
# `make setup DEVICE=cuda` (the GPU ONNX Runtime). Every variable of
# pipelines/ising-bti.mk can be exported to override it.
set -euo pipefail
: "${DATA:?set DATA to the dataset folder the shards write}"
: "${OUT:?set OUT to the pipeline's output folder}"
SHARDS=${SHARDS:-64}
here=$(dirname "$0")
gen=$(sbatch --parsable --array=0-$((SHARDS - 1)) --export=ALL,DATA="$DATA" "$here/gen-ising.sbatch")
rest=$(sbatch --parsable --dependency=afterok:"$gen" --export=ALL,DATA="$DATA",OUT="$OUT" "$here/bti-rest.sbatch")
echo "generator array $gen ($SHARDS shards) -> pipeline job $rest; report: $OUT/report.md"
