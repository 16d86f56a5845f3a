# phasekit: setup, demo, test, bench.
#   make demo    build, install ONNX Runtime locally, run the demo pipeline
#   make test    build, install what tests need (ONNX Runtime, a Python venv), run every test
# Everything installed lands inside this folder (.local/, .venv/); reruns are no-ops.

SHELL := /bin/bash
.ONESHELL:
.SHELLFLAGS := -eu -o pipefail -c

DEVICE   ?= cpu
FEATURES ?=
PYTHON   ?= python3
CARGO    ?= cargo

ORT_VERSION := 1.31.1
ORT_PKG     := $(if $(filter cuda,$(DEVICE)),onnxruntime-gpu,onnxruntime)
ORT_DIR     := .local/onnxruntime
ORT_STAMP   := $(ORT_DIR)/.installed-$(ORT_PKG)-$(ORT_VERSION)
VENV        := .venv
VENV_STAMP  := $(VENV)/.installed
CARGO_FLAGS := --release $(if $(FEATURES),--features $(FEATURES),)

export PHASEKIT_HOME   := $(CURDIR)
export PHASEKIT_PYTHON := $(CURDIR)/$(VENV)/bin/python
BIN = $(or $(CARGO_TARGET_DIR),target)/release

# The CUDA build (FEATURES=cuda). burn's CUDA backend links LLVM (cubecl-llvm)
# through tracel-llvm-bundler, whose build script downloads an LLVM archive
# unless $XDG_DATA_HOME/tracel/tracel-llvm-23.1.0-4 holds an install and its
# sentinel. PyPI's static LLVM 23.1 kit (with the NVPTX target) stands in for
# it there, so the build downloads nothing. cudarc loads libcuda and libnvrtc
# at run time; with no nvcc at build time it takes the CUDA version from
# CUDARC_CUDA_VERSION (13000: a CUDA 13.0 driver or newer).
comma := ,
CUDA_BUILD   := $(filter cuda,$(subst $(comma), ,$(FEATURES)))
LLVM_VERSION := 23.1.1.post0
LLVM_DIR     := .local/llvm
LLVM_STAMP   := $(LLVM_DIR)/.installed-$(LLVM_VERSION)
TRACEL_LLVM  := .local/share/tracel/tracel-llvm-23.1.0-4
ifneq ($(CUDA_BUILD),)
export XDG_DATA_HOME       := $(CURDIR)/.local/share
export CUDARC_CUDA_VERSION ?= 13000
endif
# What --device cuda needs at run time beside the driver, from PyPI (CUDA 13.0,
# the oldest 13.x, so a 13.0 driver can load what NVRTC writes): NVRTC, the
# CUDA headers it compiles against, and libdevice for the LLVM path. They land
# in .local/cuda/nvidia/cu13, a CUDA_PATH-shaped folder the tools find.
CUDA_KIT_VERSION := 13.0.88
CUDA_KIT_DIR     := .local/cuda
CUDA_KIT_STAMP   := $(CUDA_KIT_DIR)/.installed-$(CUDA_KIT_VERSION)

BENCH_STAMP := $(VENV)/.installed-bench

.PHONY: all setup venv build test demo demo-tasep demo-sampler demo-nis bench-nis demo-dcl bench-dcl demo-maxent bench-maxent demo-vae lint check-cuda clean bench bench-ising bench-tasep bench-bundle bench-posterior bench-oracle bench-exact-posteriors bench-head bench-sampler

all: build

## setup: install the pinned ONNX Runtime wheel into .local/ (DEVICE=cuda: the GPU build of it, the LLVM kit the CUDA build links and the CUDA run-time kit)
setup: $(ORT_STAMP) $(if $(filter cuda,$(DEVICE)),$(LLVM_STAMP) $(CUDA_KIT_STAMP))

$(LLVM_STAMP):
	rm -rf $(LLVM_DIR) $(TRACEL_LLVM)
	$(PYTHON) -m pip install --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
	  --target $(LLVM_DIR) mlc-llvm-static==$(LLVM_VERSION) mlc-llvm-static-extra-targets==$(LLVM_VERSION)
	$(LLVM_DIR)/mlc_llvm_static/static/bin/llvm-config --targets-built | tr ' ' '\n' | grep -qx NVPTX
	mkdir -p $(dir $(TRACEL_LLVM))
	ln -sfn ../../llvm/mlc_llvm_static/static $(TRACEL_LLVM)
	touch $(TRACEL_LLVM)/.tracel-llvm-installed
	touch $@

$(CUDA_KIT_STAMP):
	rm -rf $(CUDA_KIT_DIR)
	$(PYTHON) -m pip install --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
	  --target $(CUDA_KIT_DIR) nvidia-cuda-nvrtc==$(CUDA_KIT_VERSION) \
	  nvidia-cuda-runtime==$(CUDA_KIT_VERSION) nvidia-nvvm==$(CUDA_KIT_VERSION)
	ls $(CUDA_KIT_DIR)/nvidia/cu13/lib/libnvrtc.so.13 $(CUDA_KIT_DIR)/nvidia/cu13/include/cuda.h \
	  $(CUDA_KIT_DIR)/nvidia/cu13/nvvm/libdevice/libdevice.10.bc >/dev/null
	touch $@

$(ORT_STAMP):
	rm -rf $(ORT_DIR)
	$(PYTHON) -m pip install --quiet --disable-pip-version-check --no-deps \
	  --only-binary=:all: --target $(ORT_DIR) $(ORT_PKG)==$(ORT_VERSION)
	ls $(ORT_DIR)/onnxruntime/capi/libonnxruntime.so* >/dev/null
	touch $@

## venv: the Python environment of the interoperability tests
venv: $(VENV_STAMP)

$(VENV_STAMP): tests/python-requirements.txt
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r tests/python-requirements.txt
	touch $@

## build: the tools in release (FEATURES=cuda: with --device cuda for training, after the LLVM kit)
build: $(if $(CUDA_BUILD),$(LLVM_STAMP))
	$(CARGO) build $(CARGO_FLAGS)

test: setup venv
	$(CARGO) test $(CARGO_FLAGS) --no-fail-fast

$(BENCH_STAMP): benches/python-requirements.txt $(VENV_STAMP)
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r benches/python-requirements.txt
	touch $@

## bench: every benchmark, each beside its baseline
bench: bench-ising bench-tasep bench-bundle bench-posterior bench-sampler

## bench-ising: flips/ns at L=128, T=2.5, h=0.3, single- and all-thread, beside numba
bench-ising: $(BENCH_STAMP)
	numba=$$($(VENV)/bin/python benches/ising_numba.py 300 | tail -n 1)
	NUMBA_FLIPS_PER_NS=$$numba $(CARGO) bench $(if $(FEATURES),--features $(FEATURES),) --bench ising

## bench-tasep: attempts/ns at M=16384 beside numba; exact sampler samples/s
bench-tasep: $(BENCH_STAMP)
	numba=$$($(VENV)/bin/python benches/tasep_numba.py 30000000 | tail -n 1)
	NUMBA_ATTEMPTS_PER_NS=$$numba $(CARGO) bench $(if $(FEATURES),--features $(FEATURES),) --bench tasep

## bench-bundle: bundle-knn on 540,000 samples (time, peak memory) beside scipy's cKDTree
BENCH_DIR := out/bench
$(BENCH_DIR)/bundle-540k.parquet:
	$(CARGO) build $(CARGO_FLAGS)
	mkdir -p $(BENCH_DIR)
	$(BIN)/gen-ising --n 540000 --L 2 --sweeps 1 --seed 1 -o $@ -q

bench-bundle: $(BENCH_STAMP) build $(BENCH_DIR)/bundle-540k.parquet
	$(VENV)/bin/python benches/bundle_bench.py $(BIN)/bundle-knn $(BENCH_DIR)/bundle-540k.parquet

## bench-sampler: MADE sampling (configurations/s) and one reverse-KL step at L=16, beside VAN-style PyTorch (or numpy)
bench-sampler: $(BENCH_STAMP)
	out=$$($(VENV)/bin/python benches/sampler_bench.py 1000)
	echo "$$out"
	base=$$(echo "$$out" | tail -n 1)
	SAMPLER_BASELINE="$$base" $(CARGO) bench $(if $(FEATURES),--features $(FEATURES),) --bench sampler

## bench-posterior: training steps/s (small-cnn, U-Net) and ONNX Runtime prediction throughput
bench-posterior: setup $(BENCH_STAMP) build
	$(VENV)/bin/python benches/posterior_bench.py $(BIN) $(BENCH_DIR)/posterior 2

## bench-exact-posteriors: the free-energy stage and the report on exact (Kaufman) zero-field posteriors, SEEDS="1 2 3": SCALE=fine's settings and T_c reading (about 6 min a seed), or SCALE=demo's, where the G_TT row checks the report's perfect-fit profile (about 5 min a seed)
SCALE ?= fine
ifeq ($(SCALE),demo)
# Swendsen–Wang: at L = 32 and h = 0 single-spin updates leave stripes below T_c
EXACT_GEN  := --n 80000 --L 32 --sweeps 200 --algorithm sw
EXACT_GRID := --grid 32x32 --sigma 0.02
EXACT_ICNN := --steps 2000
EXACT_T    := 1:5
EXACT_H    := -2:2
else
# SCALE=fine's box about the critical point (pipelines/ising-bti.mk)
EXACT_GEN  := --n 160000 --L 16 --sweeps 100 --algorithm sw
EXACT_GRID := --grid 64x64 --sigma 0.005
EXACT_ICNN := --steps 3000
EXACT_T    := 1.5:3.5
EXACT_H    := -1:1
endif
EXACT_DIR := $(BENCH_DIR)/exact-posteriors$(if $(filter demo,$(SCALE)),-demo)
SEEDS     ?= 1 2 3
bench-exact-posteriors: $(BENCH_STAMP) build
	mkdir -p $(EXACT_DIR)
	for s in $(SEEDS); do
	  d=$(EXACT_DIR)/seed-$$s
	  mkdir -p $$d
	  [ -f $$d/ising.parquet ] || $(BIN)/gen-ising $(EXACT_GEN) --T $(EXACT_T) --h=0 \
	    --seed $$s -o $$d/ising.parquet -q
	  $(VENV)/bin/python benches/exact_posteriors.py $$d/ising.parquet $$d/posteriors.parquet \
	    $(EXACT_GRID) --T $(EXACT_T) --h=$(EXACT_H) --k 4 --seed $$s
	  # the pipeline's free-energy stage and settings at that scale, on these posteriors
	  $(BIN)/fit-icnn --posteriors $$d/posteriors.parquet $(EXACT_ICNN) --layers 5 --hidden 64 --lr 1e-2 \
	    --ensemble 4 --seed $$s --out-model $$d/free_energy.onnx --out-thermo $$d/thermo.parquet -q
	  $(BIN)/pk-report --data $$d/ising.parquet --posteriors $$d/posteriors.parquet --thermo $$d/thermo.parquet \
	    --title "fit-icnn on exact zero-field posteriors, SCALE=$(SCALE), seed $$s" -o $$d/report.md -q
	  echo "== seed $$s"; grep -E '^\| (T_c from|G_TT\(T)' $$d/report.md | cut -d'|' -f2,3
	done

## bench-oracle: fit-icnn and the report on near-Bayes (sufficient-statistics) posteriors beside the demo's network ones
ORACLE_DIR := $(BENCH_DIR)/oracle
bench-oracle: $(BENCH_STAMP) demo
	mkdir -p $(ORACLE_DIR)
	$(VENV)/bin/python benches/oracle_posteriors.py out/demo/ising.parquet out/demo/bundles.parquet $(ORACLE_DIR)/posteriors.parquet
	# the pipeline's own fit-icnn stage and settings, on these posteriors (-o: never remade)
	$(MAKE) --no-print-directory -B -f pipelines/ising-bti.mk OUT=$(ORACLE_DIR) DATA=out/demo/ising.parquet \
	  BIN=$(BIN) Q=-q -o $(ORACLE_DIR)/posteriors.parquet $(ORACLE_DIR)/thermo.parquet
	$(BIN)/pk-report --data out/demo/ising.parquet --posteriors $(ORACLE_DIR)/posteriors.parquet \
	  --thermo $(ORACLE_DIR)/thermo.parquet --title "BTI on oracle posteriors" -o $(ORACLE_DIR)/report.md -q
	for r in out/demo/report.md $(ORACLE_DIR)/report.md; do
	  echo "== $$r"; grep -E '^\| (posteriors: posterior-mean RMSE|T_c from|resolution|G_TT\(T)' $$r | cut -d'|' -f2,3
	done
	# the network's posterior-mean RMSE over the sufficient-statistics k-NN oracle's, on the same data
	oracle=$$($(VENV)/bin/python benches/posterior_oracle.py out/demo/ising.parquet | sed -n 1p)
	echo "oracle (k-NN on mean bond energy and magnetization): $$oracle"
	net=$$(grep -E '^\| posteriors: posterior-mean RMSE' out/demo/report.md | cut -d'|' -f3)
	$(VENV)/bin/python -c "import re, sys; n = re.search(r'T ([0-9.]+), h ([0-9.]+) \\(', sys.argv[1]); \
	  o = re.search(r'RMSE T ([0-9.]+), h ([0-9.]+)', sys.argv[2]); \
	  print('network / oracle: T %.2fx, h %.2fx (target 1.1x)' % tuple(float(n[i]) / float(o[i]) for i in (1, 2)))" "$$net" "$$oracle"

## bench-head: the demo network's head on exact sufficient statistics (benches/head_posteriors.py), fitted by L-BFGS, through fit-icnn and the report, SEEDS="1 2 3" at SCALE=fine (about 13 min a seed) or demo (about 9 min): what the network would give if its features were the Ising model's own
ifeq ($(SCALE),demo)
HEAD_FIT := --rows 32000 --iters 500
else
HEAD_FIT := --rows 16000 --iters 300
endif
bench-head: $(BENCH_STAMP) build
	for s in $(SEEDS); do
	  d=$(BENCH_DIR)/head-$(SCALE)/seed-$$s
	  $(MAKE) --no-print-directory -f pipelines/ising-bti.mk SCALE=$(SCALE) SEED=$$s OUT=$$d BIN=$(BIN) Q=-q $$d/bundles.parquet
	  $(VENV)/bin/python benches/head_posteriors.py $$d/ising.parquet $$d/bundles.parquet $$d/posteriors.parquet \
	    $(HEAD_FIT) --seed $$s
	  # the pipeline's own fit-icnn stage and settings, on these posteriors (-o: never remade)
	  $(MAKE) --no-print-directory -B -f pipelines/ising-bti.mk SCALE=$(SCALE) SEED=$$s OUT=$$d BIN=$(BIN) Q=-q \
	    -o $$d/ising.parquet -o $$d/bundles.parquet -o $$d/posteriors.parquet $$d/thermo.parquet
	  $(BIN)/pk-report --data $$d/ising.parquet --posteriors $$d/posteriors.parquet --thermo $$d/thermo.parquet \
	    --title "fit-icnn on the head over exact sufficient statistics, SCALE=$(SCALE), seed $$s" -o $$d/report.md -q
	  echo "== seed $$s"; grep -E '^\| (posteriors: posterior-mean RMSE|T_c from|G_TT\(T)' $$d/report.md | cut -d'|' -f2,3
	done

## demo: the Ising BTI pipeline (pipelines/ising-bti.mk, SCALE=demo) into out/demo/, report in out/demo/report.md
demo: setup build
	$(MAKE) --no-print-directory -f pipelines/ising-bti.mk OUT=out/demo BIN=$(BIN)
	@echo "demo: report in out/demo/report.md"

## demo-tasep: the TASEP BTI pipeline at demo scale into out/demo-tasep/
demo-tasep: setup build
	$(MAKE) --no-print-directory -f pipelines/tasep-bti.mk OUT=out/demo-tasep BIN=$(BIN)
	@echo "demo-tasep: report in out/demo-tasep/report.md"

## demo-dcl: distribution-consistent learning from L=8 at β_c (pipelines/ising-dcl.mk) into out/demo-dcl/, report and figures in out/demo-dcl/report.md
demo-dcl: setup build
	$(MAKE) --no-print-directory -f pipelines/ising-dcl.mk OUT=out/demo-dcl BIN=$(BIN)
	@grep -E '^\| ' out/demo-dcl/report.md | cut -d'|' -f2-5
	@echo "demo-dcl: report in out/demo-dcl/report.md"

## bench-dcl: the DCL paper's Table A1 analogue: S/L² at L=8 of the sampler fitted to SW observations at β_O = 0.125, 0.25, 0.4407, beside Kaufman; then the tile-table chains' speed beside gen-ising's kernel, one thread each, and the bound set by their table reads
bench-dcl: build
	mkdir -p out/bench-dcl
	for beta in 0.125 0.25 0.4407; do
	  t=$$(awk -v b=$$beta 'BEGIN { printf "%.10f", 1 / b }')
	  $(BIN)/gen-ising --n 20000 --L 8 --T $$t --h 0 --algorithm sw --per-chain 1000 --thin 2 --sweeps 100 \
	    --seed 1 -q -o out/bench-dcl/obs-$$beta.parquet
	  $(BIN)/fit-sampler --L 8 --T $$t --arch made --depth 2 --width 8 --z2 --augment --objective forward-kl \
	    --data out/bench-dcl/obs-$$beta.parquet --steps 6000 --batch 256 --lr 3e-3 --seed 1 -q \
	    --out-model out/bench-dcl/q-$$beta.onnx
	  $(BIN)/nis-estimate --model out/bench-dcl/q-$$beta.onnx --L 8 --T $$t --samples 50000 --bootstrap 0 -q \
	    -o out/bench-dcl/est-$$beta.parquet
	  $(VENV)/bin/python -c "import polars as pl; d = pl.read_parquet('out/bench-dcl/est-$$beta.parquet'); \
	    r = d.filter((pl.col('method') == 'variational') & (pl.col('quantity') == 'entropy')); \
	    print('beta_O $$beta: S/L^2 = %.5f +- %.1e' % (r['value'][0], r['std_error'][0]))"
	done
	echo "Kaufman (REFERENCES.md): 0.67690 (0.125), 0.61951 (0.25), 0.28236 (0.4407)"
	$(CARGO) bench $(if $(FEATURES),--features $(FEATURES),) --bench tiles

## demo-maxent: inverse Ising by maximum entropy (pipelines/ising-maxent.mk) into out/demo-maxent/: a tied K and H, the bonds of a disordered lattice, an image
demo-maxent: setup build
	$(MAKE) --no-print-directory -s -f pipelines/ising-maxent.mk OUT=out/demo-maxent BIN=$(BIN) 2>&1 | grep '^fit-maxent:'
	@echo "demo-maxent: couplings and figures in out/demo-maxent/ (truth: K = 0.3, H = 0.1; bonds in disorder.parquet's phasekit.bonds, over T = 2.5)"

## demo-vae: β-VAE order parameters (pipelines/ising-vae.mk) into out/demo-vae/: FM, AFM and PM data at L=32, the β sweep {1, 10, 100, 2000}, β²-VAE on FM and on PM alone; report in out/demo-vae/report.md
demo-vae: setup build
	$(MAKE) --no-print-directory -s -f pipelines/ising-vae.mk OUT=out/demo-vae BIN=$(BIN) 2>&1 | grep -E '^(fit-vae|pk-report):'
	@sed -n '/^| run /,/^$$/p' out/demo-vae/report.md
	@grep -E '^\| β' out/demo-vae/report.md | sed 's/\\|/¦/g' | cut -d'|' -f2-5
	@echo "demo-vae: report in out/demo-vae/report.md"

## bench-maxent: fit-maxent against issue 18's targets (tied 16×16 by pl, mcmc, exact and mean field with coverage over 20 datasets; a field; bonds of a disordered 8×8), then pl on 10⁴ configurations of 64×64 beside a numpy Newton
bench-maxent: venv build
	$(VENV)/bin/python benches/maxent_bench.py $(BIN) out/bench-maxent $(or $(DATASETS),20)

## bench-nis: the reach benchmark: the NIS pipeline at L=16, β_c (long training), then the tool's samples/s beside VAN-style NIS in PyTorch or numpy
NIS_BENCH_STEPS ?= 12000
bench-nis: $(BENCH_STAMP) build
	start=$$(date +%s)
	$(MAKE) --no-print-directory -f pipelines/ising-nis.mk OUT=out/bench-nis BIN=$(BIN) L=16 \
	  STEPS=$(NIS_BENCH_STEPS) SAMPLES=1000000
	echo "bench-nis: pipeline took $$(( $$(date +%s) - start )) s"
	grep -E '^\| (nis free_energy|nis energy|nis entropy|mode-dropping|ESS)' out/bench-nis/report.md | cut -d'|' -f2-5
	out=$$($(VENV)/bin/python benches/nis_bench.py 500 2)
	echo "$$out"
	base=$$(echo "$$out" | tail -n 1)
	line=$$($(BIN)/nis-estimate --model out/bench-nis/sampler.onnx --L 16 --T 2.269185314213022 \
	  --samples 100000 --bootstrap 0 --threads 2 --progress never -o out/bench-nis/rate.parquet 2>&1 | tail -n 1)
	echo "$$line"
	ours=$$(echo "$$line" | grep -o '[0-9.]* samples/s' | cut -d' ' -f1)
	echo "$$base $$ours" | awk '{printf "phasekit %.0f samples/s against %s %.1f samples/s on 2 threads: %.0fx\n", $$3, $$1, $$2, $$3/$$2}'

## demo-sampler: a VAN-style MADE for the 16×16 Ising model near T_c, by reverse KL, into out/demo-sampler/
SAMPLER_DIR := out/demo-sampler
demo-sampler: setup build
	mkdir -p $(SAMPLER_DIR)
	$(BIN)/fit-sampler --L 16 --T 2.269 --z2 --depth 3 --width 4 --objective reverse-kl \
	  --steps 1000 --batch 500 --lr 2e-3 --beta-anneal 0.99 --clip-grad 1 --seed 1 \
	  --out-model $(SAMPLER_DIR)/sampler.onnx --out-log $(SAMPLER_DIR)/trainlog.parquet --plots $(SAMPLER_DIR)
	@echo "demo-sampler: model, log and figures in $(SAMPLER_DIR)/"

## demo-nis: neural importance sampling at L=12, β_c (pipelines/ising-nis.mk) into out/demo-nis/, report in out/demo-nis/report.md
demo-nis: setup build
	$(MAKE) --no-print-directory -f pipelines/ising-nis.mk OUT=out/demo-nis BIN=$(BIN)
	@grep -E '^\| (nis free_energy|nis energy|nis entropy|mode-dropping|ESS)' out/demo-nis/report.md | cut -d'|' -f2-5
	@echo "demo-nis: report in out/demo-nis/report.md"

## check-cuda: the real CUDA build, on a machine with no GPU and no internet, then --device cuda fails with one line
check-cuda:
	$(MAKE) --no-print-directory build FEATURES=cuda
	mkdir -p .local
	$(BIN)/fit-sampler --L 4 --T 2.5 --steps 1 --device cuda --out-model /tmp/pk-check-cuda.onnx -q \
	  2> .local/check-cuda.err && { echo "check-cuda: a GPU answered"; exit 0; } || true
	test "$$(wc -l < .local/check-cuda.err)" -eq 1 && grep -q -- '--device cuda' .local/check-cuda.err
	echo "check-cuda: built; without a GPU --device cuda says: $$(cat .local/check-cuda.err)"

## lint: formatting, clippy, and no import circle among the library's files
MODULE_CYCLES ?= ../shared/tools/module-cycles
lint:
	$(CARGO) fmt --check
	$(CARGO) clippy $(CARGO_FLAGS) --all-targets -- -D warnings
	$(MODULE_CYCLES) lib

clean:
	rm -rf out
