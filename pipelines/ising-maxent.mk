# Inverse Ising by maximum entropy (the max-ent notes; issue 18): configurations
# of known couplings -> fit-maxent -> couplings.parquet, each beside the truth.
#   1. a tied K and H from Swendsen–Wang configurations at (K, H), by
#      pseudo-likelihood and by the notes' moment matching (mcmc);
#   2. one K per bond of a disordered 8×8 lattice (gen-ising --bond-disorder);
#   3. "the inverse statistical mechanics of a binary image": gen-ising's own
#      preview mosaic (a picture of configurations) as one configuration.
#
#   make -f pipelines/ising-maxent.mk                 # into out/ising-maxent/
#   make -f pipelines/ising-maxent.mk K=0.4407 H=0    # another point
#
# Every setting is a variable: override any of them on the command line.

L        ?= 16
N        ?= 1000
K        ?= 0.3
H        ?= 0.1
DIS_L    ?= 8
DIS_N    ?= 10000
DIS_T    ?= 2.5
DIS_SD   ?= 0.3
OUT      ?= out/ising-maxent
BIN      ?= target/release
SEED     ?= 1
Q        ?=

T_OF_K   := $(shell awk 'BEGIN { printf "%.15f", 1 / $(K) }')
H_OF_K   := $(shell awk 'BEGIN { printf "%.15f", $(H) / $(K) }')

.PHONY: all
all: $(OUT)/tied-pl.parquet $(OUT)/tied-mcmc.parquet $(OUT)/bonds.parquet $(OUT)/image.parquet

$(OUT)/sw.parquet:
	mkdir -p $(OUT)
	$(BIN)/gen-ising --n $(N) --L $(L) --T $(T_OF_K) --h=$(H_OF_K) --algorithm sw --sweeps 40 \
	  --seed $(SEED) -o $@ --preview $(OUT)/sw-mosaic.png $(Q)

$(OUT)/tied-%.parquet: $(OUT)/sw.parquet
	$(BIN)/fit-maxent -i $< --model tied --field uniform --method $* --seed $(SEED) \
	  --plots $(OUT)/figs-tied-$* -o $@ $(Q)

$(OUT)/disorder.parquet:
	mkdir -p $(OUT)
	$(BIN)/gen-ising --n $(DIS_N) --L $(DIS_L) --T $(DIS_T) --h 0 --algorithm glauber \
	  --bond-disorder $(DIS_SD) --sweeps 200 --seed $(SEED) -o $@ $(Q)

$(OUT)/bonds.parquet: $(OUT)/disorder.parquet
	$(BIN)/fit-maxent -i $< --model bonds --field none --seed $(SEED) --plots $(OUT)/figs-bonds -o $@ $(Q)

# the mosaic of the SW run: 64 configurations side by side, one picture
$(OUT)/image.parquet: $(OUT)/sw.parquet
	$(BIN)/fit-maxent --image $(OUT)/sw-mosaic.png --size 128x128 --model tied --field uniform \
	  --seed $(SEED) --plots $(OUT)/figs-image -o $@ $(Q)
