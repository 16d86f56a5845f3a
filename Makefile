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

.PHONY: all setup venv build test demo lint clean

all: build

## setup: install the pinned ONNX Runtime wheel into .local/ (DEVICE=cuda: the GPU build)
setup: $(ORT_STAMP)

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

build:
	$(CARGO) build $(CARGO_FLAGS)

test: setup venv
	$(CARGO) test $(CARGO_FLAGS) --no-fail-fast

demo: setup build
	mkdir -p out/demo
	$(BIN)/pk-inspect --help >/dev/null
	@echo "demo: nothing to run yet"

lint:
	$(CARGO) fmt --check
	$(CARGO) clippy $(CARGO_FLAGS) --all-targets -- -D warnings

clean:
	rm -rf out
