# Bayesian thermodynamic integration for the open TASEP (BTI paper,
# section II.B): gen-tasep -> bundle-knn -> fit-posterior -> fit-icnn -> report.
# The report compares the free energy with eq. 26 after affine alignment.
#
#   make -f pipelines/tasep-bti.mk                     # SCALE=demo
#   make -f pipelines/tasep-bti.mk SCALE=paper DEVICE=cuda
#
# Every setting is a variable: override any of them on the command line.

SCALE ?= demo

ifeq ($(SCALE),paper)
N        ?= 150000
M        ?= 16384
SHAPE    ?= 128x128
GRID     ?= 128x128
SIGMA    ?= 0.00667
else ifeq ($(SCALE),demo)
N        ?= 20000
M        ?= 256
SHAPE    ?= 16x16
GRID     ?= 32x32
SIGMA    ?= 0.02
else
$(error SCALE must be demo or paper for the TASEP, not $(SCALE))
endif

ALPHA_RANGE ?= 0:1
BETA_RANGE  ?= 0:1
METHOD  ?= auto
OUT     ?= out/tasep-$(SCALE)
DATA    ?= $(OUT)/tasep.parquet
MOSAIC  ?= $(OUT)/tasep-mosaic.png
TITLE   ?= phasekit BTI: open TASEP, M=$(M), N=$(N) ($(SCALE))

include $(dir $(lastword $(MAKEFILE_LIST)))bti-stages.mk

$(OUT)/tasep.parquet:
	mkdir -p $(OUT)
	$(BIN)/gen-tasep --n $(N) --M $(M) --shape $(SHAPE) --alpha $(ALPHA_RANGE) --beta $(BETA_RANGE) \
	  --method $(METHOD) --seed $(SEED) -o $@ --preview $(MOSAIC) $(Q)
