# Bayesian thermodynamic integration for the 2D Ising model (BTI paper,
# section II.A): gen-ising -> bundle-knn -> fit-posterior -> fit-icnn -> report.
#
#   make -f pipelines/ising-bti.mk                     # SCALE=demo, minutes on 2 cores
#   make -f pipelines/ising-bti.mk SCALE=paper DEVICE=cuda
#   make -f pipelines/ising-bti.mk out/ising-demo/posteriors.parquet   # one stage
#   make -f pipelines/ising-bti.mk DATA=shards/ising   # a dataset folder from pipelines/slurm
#
# Every setting is a variable: override any of them on the command line.

SCALE ?= demo

ifeq ($(SCALE),paper)
N        ?= 540000
L        ?= 128
SWEEPS   ?= 10000
ALGORITHM ?= glauber
GRID     ?= 128x128
SIGMA    ?= 0.02
K_NEIB   ?= 8
K_BUNDLE ?= 4
ARCH     ?= unet
WIDTH    ?= 32
DEPTH    ?= 3
POST_STEPS ?= 20000
POST_BATCH ?= 256
POST_LR  ?= 1e-3
ICNN_STEPS ?= 20000
ICNN_LAYERS ?= 5
ICNN_HIDDEN ?= 512
ICNN_LR  ?= 1e-3
else ifeq ($(SCALE),demo)
N        ?= 20000
L        ?= 32
SWEEPS   ?= 1000
ALGORITHM ?= metropolis
GRID     ?= 32x32
SIGMA    ?= 0.02
K_NEIB   ?= 8
K_BUNDLE ?= 4
ARCH     ?= pool
WIDTH    ?= 16
DEPTH    ?= 2
POST_STEPS ?= 1500
POST_BATCH ?= 64
POST_LR  ?= 2e-3
ICNN_STEPS ?= 2000
ICNN_LAYERS ?= 3
ICNN_HIDDEN ?= 64
ICNN_LR  ?= 1e-2
else
$(error SCALE must be demo or paper, not $(SCALE))
endif

T_RANGE ?= 1:5
H_RANGE ?= -2:2
OUT     ?= out/ising-$(SCALE)
DATA    ?= $(OUT)/ising.parquet
MOSAIC  ?= $(OUT)/ising-mosaic.png
TITLE   ?= phasekit BTI: 2D Ising, L=$(L), N=$(N) ($(SCALE))

include $(dir $(lastword $(MAKEFILE_LIST)))bti-stages.mk

$(OUT)/ising.parquet:
	mkdir -p $(OUT)
	$(BIN)/gen-ising --n $(N) --L $(L) --T $(T_RANGE) --h=$(H_RANGE) --sweeps $(SWEEPS) \
	  --algorithm $(ALGORITHM) --seed $(SEED) -o $@ --preview $(MOSAIC) $(Q)
