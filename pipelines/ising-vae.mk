# β-VAE and β²-VAE on Ising configurations (Huang, Hu & Yang; issue 19):
# FM (J = +1), AFM (J = −1) and PM configurations at h = 0, one folder with
# a file per phase (each with its own J: schemas/microstates.md,
# "Collections") -> fit-vae at each β of the sweep -> encoder/decoder ONNX,
# latents.parquet and figures per run; β²-VAE on FM alone and on PM alone
# (the paper's one-phase learning) -> pk-report's β-sweep table and checks.
#
#   make -f pipelines/ising-vae.mk                      # into out/ising-vae/
#   make -f pipelines/ising-vae.mk BETAS="50 100 200"   # another sweep
#   make -f pipelines/ising-vae.mk WIDTH=64 DEVICE=cuda # the paper's network
#
# The paper gives no temperatures: ordered data at T in [1, 2] (below
# T_c = 2.269 |J|), PM data at T in [3, 5]. Every setting is a variable.

L        ?= 32
N        ?= 2000
T_ORDER  ?= 1:2
T_PM     ?= 3:5
BETAS    ?= 1 10 100 2000
BETA2    ?= 100
STEPS    ?= 1000
BATCH    ?= 128
WIDTH    ?= 8
DEVICE   ?= cpu
OUT      ?= out/ising-vae
BIN      ?= target/release
SEED     ?= 1
Q        ?=

DATA     := $(OUT)/data
GEN      := --n $(N) --L $(L) --h 0 --algorithm sw --per-chain 20 --burn-in 100 --thin 5 --sweeps 100 --seed $(SEED)
FIT      := --steps $(STEPS) --batch $(BATCH) --width $(WIDTH) --device $(DEVICE) --seed $(SEED) --eval-every 100
RUNS     := $(foreach b,$(BETAS),$(OUT)/beta-$(b)) $(OUT)/beta2-fm $(OUT)/beta2-pm

.PHONY: all
all: $(OUT)/report.md

$(DATA)/fm.parquet:
	mkdir -p $(DATA)
	$(BIN)/gen-ising $(GEN) --T $(T_ORDER) --J 1 -o $@ --preview $(OUT)/fm-mosaic.png $(Q)

$(DATA)/afm.parquet:
	mkdir -p $(DATA)
	$(BIN)/gen-ising $(GEN) --T $(T_ORDER) --J=-1 -o $@ --preview $(OUT)/afm-mosaic.png $(Q)

$(DATA)/pm.parquet:
	mkdir -p $(DATA)
	$(BIN)/gen-ising $(GEN) --T $(T_PM) --J 1 -o $@ --preview $(OUT)/pm-mosaic.png $(Q)

PHASES := $(DATA)/fm.parquet $(DATA)/afm.parquet $(DATA)/pm.parquet

# three-phase learning: the whole folder, one run per β
$(OUT)/beta-%/latents.parquet: $(PHASES)
	mkdir -p $(@D)
	$(BIN)/fit-vae --data $(DATA) --beta $* $(FIT) --out-encoder $(@D)/encoder.onnx \
	  --out-decoder $(@D)/decoder.onnx --out-latents $@ --out-log $(@D)/trainlog.parquet --plots $(@D) $(Q)

# one-phase learning with the temperature branch
$(OUT)/beta2-%/latents.parquet: $(PHASES)
	mkdir -p $(@D)
	$(BIN)/fit-vae --data $(DATA)/$*.parquet --decoder beta2 --beta $(BETA2) $(FIT) \
	  --out-encoder $(@D)/encoder.onnx --out-decoder $(@D)/decoder.onnx --out-latents $@ \
	  --out-log $(@D)/trainlog.parquet --plots $(@D) $(Q)

FIGS := $(foreach b,$(BETAS),--figure "β = $(b): samples from the prior=$(OUT)/beta-$(b)/vae-samples.png" \
          --figure "β = $(b): latent means=$(OUT)/beta-$(b)/vae-latents.png") \
        --figure "β = 100: decoded over the latent plane=$(OUT)/beta-100/vae-latent-grid.png" \
        --figure "β²-VAE on FM: means, h_k, β_k=$(OUT)/beta2-fm/vae-beta2.png" \
        --figure "β²-VAE on PM: means, h_k, β_k=$(OUT)/beta2-pm/vae-beta2.png"

$(OUT)/report.md: $(foreach r,$(RUNS),$(r)/latents.parquet)
	$(BIN)/pk-report $(foreach r,$(RUNS),--vae $(r)/latents.parquet) $(FIGS) -o $@ $(Q)
