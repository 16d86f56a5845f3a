# Neural importance sampling of the 2D Ising model at one point (NIS paper,
# Nicoli et al. PRE 101, 023304): gen-ising Swendsen–Wang at the point ->
# fit-sampler (reverse KL, VAN's recipe with z2) -> nis-estimate (NIS, the
# p-estimator and mode-dropping ŵ on the SW samples, NMCMC) -> pk-report
# (each estimate against Kaufman with its pull).
#
#   make -f pipelines/ising-nis.mk                         # L=12 at β_c into out/ising-nis/
#   make -f pipelines/ising-nis.mk L=16 STEPS=20000 SAMPLES=1000000 OUT=runs/l16
#   make -f pipelines/ising-nis.mk out/ising-nis/sampler.onnx   # one stage
#
# Every setting is a variable: override any of them on the command line.
# A sampler trained elsewhere (any file honouring schemas/models.md) can
# replace $(OUT)/sampler.onnx; touching it reruns only the estimate and report.

L        ?= 12
# T_c = 2 / ln(1 + √2): β_c = ½ ln(1 + √2)
T        ?= 2.269185314213022
H        ?= 0
J        ?= 1
OUT      ?= out/ising-nis
BIN      ?= target/release
SEED     ?= 1
Q        ?=

# Swendsen–Wang reference samples of p for ŵ and the p-estimator
SW_N     ?= 4000
SW_CHAIN ?= 500
# the sampler: MADE with one hidden layer of 4 channels per site, VAN's reverse KL
DEPTH    ?= 2
WIDTH    ?= 4
STEPS    ?= 8000
BATCH    ?= 500
LR       ?= 1e-3
ANNEAL   ?= 0.998
CLIP     ?= 1
# importance sampling
SAMPLES  ?= 400000
BOOT     ?= 200

SW       := $(OUT)/sw.parquet
SAMPLER  := $(OUT)/sampler.onnx
EST      := $(OUT)/estimates.parquet
REPORT   := $(OUT)/report.md
FIGS     := $(OUT)/figs

.PHONY: all sw sampler estimates report
all: $(REPORT)
sw: $(SW)
sampler: $(SAMPLER)
estimates: $(EST)
report: $(REPORT)

$(SW):
	mkdir -p $(OUT)
	$(BIN)/gen-ising --n $(SW_N) --L $(L) --T $(T) --h=$(H) --J=$(J) --algorithm sw \
	  --per-chain $(SW_CHAIN) --thin 2 --sweeps 100 --seed $(SEED) -o $@ $(Q)

$(SAMPLER):
	mkdir -p $(FIGS)
	$(BIN)/fit-sampler --L $(L) --T $(T) --h=$(H) --J=$(J) --z2 --depth $(DEPTH) --width $(WIDTH) \
	  --objective reverse-kl --steps $(STEPS) --batch $(BATCH) --lr $(LR) --beta-anneal $(ANNEAL) \
	  --clip-grad $(CLIP) --seed $(SEED) --out-model $@ --out-log $(OUT)/sampler-log.parquet \
	  --plots $(FIGS) $(Q)

$(EST): $(SAMPLER) $(SW)
	$(BIN)/nis-estimate --model $(SAMPLER) --L $(L) --T $(T) --h=$(H) --J=$(J) --samples $(SAMPLES) \
	  --mcmc $(SW) --nmcmc --bootstrap $(BOOT) --seed $(SEED) --plots $(FIGS) -o $@ $(Q)

$(REPORT): $(EST)
	$(BIN)/pk-report --estimates $(EST) --title "phasekit NIS: 2D Ising, L=$(L), T=$(T)" \
	  --figure "Importance weights=$(FIGS)/nis-diagnostics.png" \
	  --figure "Sampler training=$(FIGS)/sampler-loss.png" \
	  --figure "Samples of q=$(FIGS)/sampler-samples.png" -o $@ $(Q)
