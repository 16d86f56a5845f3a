# The stages every BTI pipeline shares, after its generator has written
# $(DATA): bundle-knn -> fit-posterior (train, then predict with the exported
# model) -> fit-icnn -> pk-report. Included by ising-bti.mk and tasep-bti.mk,
# which set DATA, OUT and the variables below. Every file is a Make target,
# so touching an input reruns only what depends on it, and a replacement
# posterior.onnx (any model honouring schemas/models.md) flows through
# prediction, fit-icnn and the report unchanged.

# The neural stages' sizes by SCALE (the generator's are in each pipeline).
ifeq ($(SCALE),fine)
# the demo's networks, trained longer for the finer grid
POST_STEPS  ?= 4000
ICNN_STEPS  ?= 3000
endif
ifeq ($(SCALE),paper)
K_NEIB      ?= 8
K_BUNDLE    ?= 4
ARCH        ?= unet
WIDTH       ?= 32
DEPTH       ?= 3
POST_STEPS  ?= 20000
POST_BATCH  ?= 256
POST_LR     ?= 1e-3
ICNN_STEPS  ?= 20000
ICNN_LAYERS ?= 5
ICNN_HIDDEN ?= 512
ICNN_LR     ?= 1e-3
ICNN_ENSEMBLE ?= 1
else ifneq ($(filter demo fine,$(SCALE)),)
K_NEIB      ?= 8
K_BUNDLE    ?= 4
ARCH        ?= extensive
WIDTH       ?= 16
DEPTH       ?= 2
POST_STEPS  ?= 3000
POST_BATCH  ?= 64
POST_LR     ?= 5e-3
ICNN_STEPS  ?= 2000
ICNN_LAYERS ?= 5
ICNN_HIDDEN ?= 64
ICNN_LR     ?= 1e-2
# four networks averaged: on 2 cores they train two at a time
ICNN_ENSEMBLE ?= 4
else
$(error SCALE must be demo, fine or paper, not $(SCALE))
endif

BIN    ?= target/release
DEVICE ?= cpu
SEED   ?= 1
# Q=-q silences progress bars and summaries
Q      ?=

BUNDLES    := $(OUT)/bundles.parquet
POSTERIOR  := $(OUT)/posterior.onnx
POSTERIORS := $(OUT)/posteriors.parquet
THERMO     := $(OUT)/thermo.parquet
FREE       := $(OUT)/free_energy.onnx
REPORT     := $(OUT)/report.md
FIGS       := $(OUT)/figs

.PHONY: all bundles posterior posteriors thermo report
all: $(REPORT)
bundles: $(BUNDLES)
posterior: $(POSTERIOR)
posteriors: $(POSTERIORS)
thermo: $(THERMO)
report: $(REPORT)

$(BUNDLES): $(DATA)
	$(BIN)/bundle-knn -i $(DATA) -o $@ --k-neib $(K_NEIB) --k-bundle $(K_BUNDLE) \
	  --grid $(GRID) --sigma $(SIGMA) --test-fraction 0.2 --seed $(SEED) $(Q)

# Training writes the model; posteriors of its first bundles only feed the
# example figure (the full table comes from the exported file below).
$(POSTERIOR): $(BUNDLES)
	mkdir -p $(FIGS)
	$(BIN)/fit-posterior --bundles $(BUNDLES) --arch $(ARCH) --width $(WIDTH) --depth $(DEPTH) \
	  --steps $(POST_STEPS) --batch $(POST_BATCH) --lr $(POST_LR) --device $(DEVICE) --seed $(SEED) \
	  --out-model $@ --out-posteriors $(OUT)/posteriors-preview.parquet --predict-limit 512 \
	  --out-log $(OUT)/posterior-log.parquet --plots $(FIGS) $(Q)

$(POSTERIORS): $(POSTERIOR) $(BUNDLES)
	$(BIN)/fit-posterior --predict-only --model $(POSTERIOR) --bundles $(BUNDLES) \
	  --device $(DEVICE) --out-posteriors $@ $(Q)

$(THERMO) $(FREE) &: $(POSTERIORS)
	mkdir -p $(FIGS)
	$(BIN)/fit-icnn --posteriors $(POSTERIORS) --steps $(ICNN_STEPS) --layers $(ICNN_LAYERS) \
	  --hidden $(ICNN_HIDDEN) --lr $(ICNN_LR) --ensemble $(ICNN_ENSEMBLE) --device $(DEVICE) --seed $(SEED) \
	  --out-model $(FREE) --out-thermo $(THERMO) --out-log $(OUT)/icnn-log.parquet --plots $(FIGS) $(Q)

$(REPORT): $(THERMO) $(POSTERIORS) $(DATA)
	$(BIN)/pk-report --data $(DATA) --posteriors $(POSTERIORS) --thermo $(THERMO) \
	  --figure "Microstates over the prior box=$(MOSAIC)" \
	  --figure "Posterior network: loss=$(FIGS)/loss.png" \
	  --figure "Example test posteriors beside a bundle member (x = truth)=$(FIGS)/posteriors.png" \
	  --figure "Free-energy network: loss=$(FIGS)/icnn-loss.png" \
	  --figure "log Z, its derivatives, the Fisher metric and det G=$(FIGS)/thermo.png" \
	  --title "$(TITLE)" -o $@ $(Q)
