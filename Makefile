# encnet — every target runs inside the virtual environment .venv/ that `make install` creates.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
TORCH_VERSION ?= 2.13.0
# Used only on machines without a GPU when the CPU wheel is not found locally.
TORCH_CPU_INDEX ?= https://download.pytorch.org/whl/cpu
ARGS ?=
ifndef RESULTS_DIR
RESULTS_DIR := logs/results/$(shell date +%Y-%m-%d_%H-%M-%S)
endif
PYTEST_ARGS ?=
export NO_ALBUMENTATIONS_UPDATE := 1

.PHONY: install train eval test notebooks sweep results benchmark clean help

help:
	@echo "make install    create .venv and install encnet (CPU torch $(TORCH_VERSION) where there is no GPU)"
	@echo "make train      train EncNet on the generated context_scenes dataset; ARGS='hydra overrides'"
	@echo "make eval       evaluate a checkpoint; ARGS='ckpt_path=... [data=... eval.scales=[...] eval.flip=true]'"
	@echo "make test       run the test suite"
	@echo "make notebooks  re-execute notebooks/*.ipynb in place, storing their outputs (newest checkpoint in logs/)"
	@echo "make sweep      example multirun: se_loss_weight x num_codes"
	@echo "make results    FCN, EncNet, EncNet+SE (+ released-code CEM) over 3 seeds on context_scenes (README table)"
	@echo "make benchmark  Encoding layer: matmul form vs broadcast reference"

install: $(VENV)/.installed

# torch first: a torch that the base interpreter already has (a GPU user's build) is kept through
# --system-site-packages; otherwise, without a GPU, only the CPU build (2.13.0+cpu) is accepted, so the
# multi-GB CUDA build is never pulled. The rest is installed with torch pinned to what is there.
$(VENV)/.installed: pyproject.toml
	@if $(PYTHON) -c "import torch" 2>/dev/null; then \
		echo "keeping the torch of $(PYTHON) ($$($(PYTHON) -c 'import torch; print(torch.__version__)'))"; \
		$(PYTHON) -m venv --system-site-packages $(VENV); \
	else \
		$(PYTHON) -m venv $(VENV); \
		if command -v nvidia-smi >/dev/null 2>&1; then \
			$(BIN)/pip install "torch==$(TORCH_VERSION)"; \
		else \
			$(BIN)/pip install "torch==$(TORCH_VERSION)+cpu" 2>/dev/null || \
			$(BIN)/pip install "torch==$(TORCH_VERSION)+cpu" --extra-index-url $(TORCH_CPU_INDEX); \
		fi; \
	fi
	$(BIN)/python -c "import torch; print('torch==' + torch.__version__)" > $(VENV)/constraints.txt
	$(BIN)/pip install -c $(VENV)/constraints.txt -e ".[dev]"
	touch $@

train: install
	$(BIN)/encnet-train $(ARGS)

eval: install
	$(BIN)/encnet-eval $(ARGS)

test: install
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

notebooks: install
	cd notebooks && $(abspath $(BIN))/jupyter-execute --inplace *.ipynb

sweep: install
	$(BIN)/encnet-train -m model.se_loss_weight=0,0.2,0.8 model.num_codes=0,16,32 $(ARGS)

results: install
	$(BIN)/encnet-train -m model=fcn seed=0,1,2 hydra.sweep.dir=$(RESULTS_DIR)/fcn $(ARGS)
	$(BIN)/encnet-train -m model.se_loss_weight=0,0.2 seed=0,1,2 hydra.sweep.dir=$(RESULTS_DIR)/encnet $(ARGS)
	$(BIN)/encnet-train -m model.aggregate=mean seed=0,1,2 hydra.sweep.dir=$(RESULTS_DIR)/encnet_mean_cem $(ARGS)
	$(BIN)/encnet-train -m model.aggregate=mean model.residual=true seed=0,1,2 \
		hydra.sweep.dir=$(RESULTS_DIR)/encnet_released_cem $(ARGS)
	$(BIN)/encnet-results $(RESULTS_DIR) --classes sand earth wall building windowpane door rock

benchmark: install
	$(BIN)/python benchmarks/encoding.py

clean:
	rm -rf $(VENV) logs .pytest_cache
