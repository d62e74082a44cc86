# encnet — every target runs inside the virtual environment .venv/ that `make install` creates.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
TORCH_VERSION ?= 2.13.0
# Used only on machines without a GPU when the CPU wheel is not found locally.
TORCH_CPU_INDEX ?= https://download.pytorch.org/whl/cpu
ARGS ?=
PYTEST_ARGS ?=
# Offline installs (README "Offline install"): make wheelhouse DIR=... [PYTHON_VERSION=3.12
# PLATFORM=manylinux_2_28_x86_64 HAVE=freeze.txt EXTRAS=wandb]; make install WHEELHOUSE=DIR [EXTRAS=wandb]
WHEELHOUSE ?=
EXTRAS ?=
PYTHON_VERSION ?=
PLATFORM ?=
HAVE ?=
LOCK := requirements-lock.txt
OFFLINE := $(if $(WHEELHOUSE),--no-index --find-links $(WHEELHOUSE))
comma := ,
PACKAGE = $(if $(WHEELHOUSE),$(if $(EXTRAS),.[$(EXTRAS)],.),.[dev$(if $(EXTRAS),$(comma)$(EXTRAS))])
export NO_ALBUMENTATIONS_UPDATE := 1

.PHONY: install lock check lint wheelhouse offline-check gpu-check train eval test test-shuffled notebooks sweep \
	table1 figure5 stability stability-bn reach-accuracy study-code study-save eval-code stability-code multiscale retrain multiscale-probe curves pilot curves-figure results-tables results-doc benchmark \
	clean help

help:
	@echo "make install    create .venv and install encnet (CPU torch $(TORCH_VERSION) where there is no GPU);"
	@echo "                WHEELHOUSE=DIR: offline, from a wheelhouse (keeps the torch of PYTHON)"
	@echo "                the other packages at requirements-lock.txt's versions (a fresh venv with its own torch)"
	@echo "make lock       requirements-lock.txt anew from the package index"
	@echo "make wheelhouse DIR=... [PYTHON_VERSION=3.12 PLATFORM=manylinux_2_28_x86_64 HAVE=freeze EXTRAS=wandb]"
	@echo "                the wheels of an offline install on another machine (all but torch, triton, HAVE)"
	@echo "make offline-check  a wheelhouse for this Python, a fresh venv from it with --no-index, a two-step training run"
	@echo "make gpu-check OUT=DIR  the GPU acceptance run (benchmarks/gpu_check.py; GPU_CHECK_DRY_RUN=1: on CPU)"
	@echo "make train      train EncNet on the generated context_scenes dataset; ARGS='hydra overrides'"
	@echo "make eval       evaluate a checkpoint; ARGS='ckpt_path=... [data=... eval.scales=[...] eval.flip=true]'"
	@echo "make test       run the test suite (installs first, with the reference packages of requirements-reference.txt)"
	@echo "make lint       ruff: lint and import order of the code, tests, benchmarks and notebooks"
	@echo "make test-shuffled SEED=n  the test suite in the random order of seed n (pytest-random-order)"
	@echo "make check      what CI runs: make lint, make test, then make offline-check"
	@echo "make notebooks  re-execute notebooks/*.ipynb in place, storing their outputs (results/checkpoints/)"
	@echo "make sweep      example multirun: se_loss_weight x num_codes"
	@echo "make table1     Table 1 in miniature: EncNet with K=0, without SE-loss, SE on the CEM only (TABLE1_SEEDS,"
	@echo "                24 epochs at 128 px, one run at a time, resumable); FCN and EncNet are the curve runs"
	@echo "make figure5    Figure 5 in miniature: EncNet at other alpha and K (FIGURE5_SEEDS), then docs/figure5_*.png"
	@echo "make stability  FCN and EncNet with a learning-rate warm-up, and with the heads at the backbone's lr (STABILITY_SEEDS)"
	@echo "make study-save copy unfinished study runs' last.ckpt to results/unfinished/ (commit them: a fresh machine resumes)"
	@echo "make stability-bn  FCN and EncNet again, every epoch kept: val as trained vs batch-norm statistics recomputed"
	@echo "make reach-accuracy  384 px pairs: ambiguous-pixel accuracy within and beyond the FCN's reach (results/reach/)"
	@echo "make multiscale encnet-eval of every finished curve run's checkpoint: one scale vs multi-scale + flip"
	@echo "make retrain    the 128 px curve runs whose checkpoints are gone (RETRAIN_SEEDS), again, then make multiscale of them"
	@echo "make multiscale-probe   which scales and flips make that difference, on one checkpoint (PROBE_RUN)"
	@echo "make curves     learning curves: FCN vs EncNet, 24 epochs, the CURVE_QUEUE of size:seed pairs, one run at a time"
	@echo "make pilot      384 px scenes, PILOT_EPOCHS (48) epochs, seed 0: EncNet then FCN (results/pilot/)"
	@echo "make curves-figure   docs/curves_<size>px.png: val mIoU and ambiguous mIoU against epoch, per scene size in results/curves/"
	@echo "make results-tables  print the result tables of docs/results.md and README.md from results/"
	@echo "make results-doc     rewrite those tables (tests/test_docs_tables.py checks them) and draw docs/figure5_*.png"
	@echo "make benchmark  Encoding layer: matmul form vs broadcast reference"

install: $(VENV)/.installed

# torch first: a torch that the base interpreter already has (a GPU user's build) is kept through
# --system-site-packages (where PYTHON is itself a venv's, as on many GPU hosts, its site-packages through a
# .pth file, which that flag does not reach), and so is its setuptools (torch requires one; venvs of Python
# < 3.12 bring an older one); otherwise, without a GPU, only the CPU build (2.13.0+cpu) is accepted, so the
# multi-GB CUDA build is never pulled. The rest is installed with torch pinned to what is there: the dev
# extra, or with WHEELHOUSE only encnet and EXTRAS, from the wheelhouse alone (--no-index; torch and its
# dependencies are not in a wheelhouse: an offline machine must have them in PYTHON). A venv with a torch of its own
# gets every other package at the version of $(LOCK) (`make lock` regenerates it): the training numbers depend
# on them (OpenCV's warps in the augmentation), so every such install trains a seed to the same numbers.
$(VENV)/.installed: pyproject.toml $(LOCK)
	@rm -f $(VENV)/.locked; if $(PYTHON) -c "import torch" 2>/dev/null; then \
		echo "keeping the torch of $(PYTHON) ($$($(PYTHON) -c 'import torch; print(torch.__version__)'))"; \
		$(PYTHON) -m venv --system-site-packages $(VENV); \
		$(BIN)/python -c "import torch" 2>/dev/null || $(PYTHON) -c "import site; print(*site.getsitepackages(), sep='\n')" \
			> "$$($(BIN)/python -c 'import sysconfig; print(sysconfig.get_path("purelib"))')/parent-environment.pth"; \
		! $(PYTHON) -c "import setuptools" 2>/dev/null || $(BIN)/pip uninstall -q -y setuptools; \
	else \
		$(PYTHON) -m venv $(VENV); \
		if command -v nvidia-smi >/dev/null 2>&1; then \
			$(BIN)/pip install "torch==$(TORCH_VERSION)"; \
		else \
			$(BIN)/pip install "torch==$(TORCH_VERSION)+cpu" 2>/dev/null || \
			$(BIN)/pip install "torch==$(TORCH_VERSION)+cpu" --extra-index-url $(TORCH_CPU_INDEX); \
		fi; \
		touch $(VENV)/.locked; \
	fi
	$(BIN)/python -c "import torch; print('torch==' + torch.__version__)" > $(VENV)/constraints.txt
	[ -n "$(OFFLINE)" ] || [ ! -f $(VENV)/.locked ] || grep -v '^#' $(LOCK) >> $(VENV)/constraints.txt
	$(BIN)/pip install $(OFFLINE) -c $(VENV)/constraints.txt -e "$(PACKAGE)"
	touch $@

# A wheelhouse for the target PYTHON_VERSION / PLATFORM (default: this machine's), less HAVE (offline/wheelhouse.py).
wheelhouse: install
	@test -n "$(DIR)" || { echo "make wheelhouse: give DIR=<folder for the wheels>"; exit 2; }
	$(BIN)/python offline/wheelhouse.py $(DIR) $(if $(PYTHON_VERSION),--python-version $(PYTHON_VERSION)) \
		$(if $(PLATFORM),--platform $(PLATFORM)) $(if $(HAVE),--have $(HAVE)) $(if $(EXTRAS),--extras $(EXTRAS))

# CI: the offline path end to end, for this machine's Python, as on a GPU host: a "host" environment with
# torch alone, a wheelhouse less what the host has (HAVE = its pip freeze), a venv on top of the host from
# the wheelhouse alone (--no-index), and a two-step training run that logs to CSV with no wandb installed.
check: lint test offline-check

lint: install
	$(BIN)/ruff check .

OFFLINE_CHECK := .cache/offline-check
offline-check: install
	rm -rf $(OFFLINE_CHECK)
	$(PYTHON) -m venv $(OFFLINE_CHECK)/host
	$(OFFLINE_CHECK)/host/bin/pip install -q "torch==$(TORCH_VERSION)+cpu" 2>/dev/null || \
		$(OFFLINE_CHECK)/host/bin/pip install -q "torch==$(TORCH_VERSION)+cpu" --extra-index-url $(TORCH_CPU_INDEX)
	$(OFFLINE_CHECK)/host/bin/pip freeze > $(OFFLINE_CHECK)/host-freeze.txt
	$(MAKE) --no-print-directory wheelhouse DIR=$(OFFLINE_CHECK)/wheels HAVE=$(OFFLINE_CHECK)/host-freeze.txt EXTRAS=
	$(MAKE) --no-print-directory install PYTHON=$(OFFLINE_CHECK)/host/bin/python VENV=$(OFFLINE_CHECK)/venv \
		WHEELHOUSE=$(OFFLINE_CHECK)/wheels EXTRAS=
	$(OFFLINE_CHECK)/venv/bin/python -c "import importlib.util as u; assert u.find_spec('wandb') is None, 'wandb installed'"
	OMP_NUM_THREADS=1 $(OFFLINE_CHECK)/venv/bin/encnet-train trainer.max_epochs=1 trainer.limit_train_batches=2 \
		trainer.limit_val_batches=1 logger=csv print_config=false data.num_train=8 data.num_val=4 data.batch_size=4 \
		data.val_batch_size=2 data.num_workers=0 hydra.run.dir=$(OFFLINE_CHECK)/run paths.cache_dir=$(OFFLINE_CHECK)/cache
	$(OFFLINE_CHECK)/venv/bin/python -c "import csv; rows = list(csv.DictReader(open('$(OFFLINE_CHECK)/run/csv/version_0/metrics.csv'))); \
		assert max(int(r['step']) for r in rows) >= 1 and any(r['val/mIoU'] for r in rows), 'no training step logged'"

train: install
	$(BIN)/encnet-train $(ARGS)

eval: install
	$(BIN)/encnet-eval $(ARGS)

test: install $(VENV)/.reference $(VENV)/triton36/.installed
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

# The suite in a random order (modules, then the tests within each, shuffled), to find tests that depend on
# others: SEED names the order, so a failing one can be rerun exactly.
test-shuffled: install $(VENV)/.reference $(VENV)/triton36/.installed
	@test -n "$(SEED)" || { echo "make test-shuffled: give SEED=<integer> (the order to run the tests in)"; exit 2; }
	$(BIN)/python -m pytest -q --random-order-seed=$(SEED) $(PYTEST_ARGS)

# Triton 3.6, what GPU hosts ship, beside the installed one: tests/test_triton_resources.py compiles the kernels
# with it too (PYTHONPATH=.venv/triton36).
$(VENV)/triton36/.installed: $(VENV)/.installed
	$(BIN)/pip install --quiet --no-deps --upgrade --target $(VENV)/triton36 "triton==3.6.0"
	touch $@

# The tests' reference implementation (mmsegmentation's EncNet): its pure-Python needs through the `reference`
# extra, then the OpenMMLab packages of requirements-reference.txt without their declared dependencies.
$(VENV)/.reference: $(VENV)/.installed requirements-reference.txt
	$(BIN)/pip install -c $(VENV)/constraints.txt -e ".[dev,reference]"
	$(BIN)/pip install -c $(VENV)/constraints.txt --no-deps -r requirements-reference.txt
	touch $@

# The GPU acceptance run (benchmarks/gpu_check.py; README "GPU check"). Not through `install`: on an offline
# GPU host it runs with PYTHON and a wheelhouse unpacked onto PYTHONPATH; where .venv exists, with .venv.
gpu-check:
	@test -n "$(OUT)" || { echo "make gpu-check: give OUT=<folder for report.md and the steps' JSON files>"; exit 2; }
	$(if $(wildcard $(BIN)/python),$(BIN)/python,$(PYTHON)) benchmarks/gpu_check.py $(OUT)

notebooks: install
	cd notebooks && $(abspath $(BIN))/jupyter-execute --inplace *.ipynb

sweep: install
	$(BIN)/encnet-train -m model.se_loss_weight=0,0.2,0.8 model.num_codes=0,16,32 $(ARGS)

# Studies run one run at a time on one thread (scripts/study-run): each run skipped once results/<run>/metrics.json
# exists, resumed from its last.ckpt in logs/study/ after an interruption, every run from the code snapshot
# logs/study/code (the commit in logs/study/code/COMMIT). A snapshot's commit is pinned (SNAPSHOT_<name>), so a
# run resumed in a later sitting, on a fresh machine, trains with the code it started with; a snapshot without a
# pin takes HEAD. In the background: setsid nohup make curves > logs/study/curves.log 2>&1 &
# The curve runs' code; Table 1 and Figure 5 pair their runs with the curve runs, so they train with it too.
SNAPSHOT_code := e7d8bed92387f6f3f4943e9e6dc7de9e8c0e6ce1
# The first commit with model.warmup_steps and the package layout of today's scripts/study-run.
SNAPSHOT_stability-code := 2226ec0fff9146191c4e6d95dc96f5102ac0c47e
logs/study/%/COMMIT:
	mkdir -p logs/study/$*
	git archive $(or $(SNAPSHOT_$*),HEAD) src conf | tar -x -C logs/study/$*
	git rev-parse $(or $(SNAPSHOT_$*),HEAD) > $@

# A sitting can end at any moment and a fresh machine has no logs/: `make study-save` copies the last.ckpt of every
# unfinished run (weights, optimizer, loop and random state; its code commit and environment.txt) to
# results/unfinished/<run>/, the files to commit
# with the results; scripts/study-run resumes from there when logs/study/<run>/ has no checkpoint, and removes
# them when the run has finished.
study-save:
	@for last in $$(find logs/study -path '*/checkpoints/last.ckpt' 2>/dev/null); do \
		name=$${last#logs/study/}; name=$${name%/checkpoints/last.ckpt}; \
		[ -f results/$$name/metrics.json ] && continue; \
		mkdir -p results/unfinished/$$name; cp logs/study/$$name/CODE_COMMIT results/unfinished/$$name/; \
		[ ! -f logs/study/$$name/environment.txt ] || cp logs/study/$$name/environment.txt results/unfinished/$$name/; \
		cp $$last results/unfinished/$$name/last.ckpt.tmp && mv results/unfinished/$$name/last.ckpt.tmp results/unfinished/$$name/last.ckpt; \
		echo "$$name: saved to results/unfinished/$$name/last.ckpt"; \
	done

# Evaluation studies (make multiscale, multiscale-probe) from a snapshot of their own: they need the evaluation
# code of their time, not the training runs'.
SNAPSHOT_eval-code := 2226ec0fff9146191c4e6d95dc96f5102ac0c47e
eval-code: logs/study/eval-code/COMMIT

study-code: logs/study/code/COMMIT

# Queue of SIZE:SEED entries, each an FCN and a default EncNet run of 24 epochs (finished pairs accumulate):
# the first two 128 px seed pairs, the 384 px pilot pair (markers of the 128 px size: scenes beyond an FCN's
# reach, see benchmarks/reach.py), the other 128 px seeds, then two more 384 px pairs. Results in
# results/curves/<SIZE>px/<model>/s<SEED>/. Two `make curves` side by side (one per core) share the queue: each
# skips the run the other holds.
CURVE_QUEUE ?= 128:0 128:1 384:0 128:2 128:3 128:4 384:1 384:2
CURVE_EPOCHS ?= 24
# The scene overrides of a SIZE (shell variable size): the 128 px default, or larger scenes with its markers.
SCENE = scene=; [ "$$size" = 128 ] || scene="data.image_size=$$size data.marker_radius_px=[10.24,11.52]";
# After each pair, the multi-scale study of the finished runs (make multiscale), while their checkpoints are on this
# machine (the next sitting may be on another).
curves: install study-code eval-code
	for entry in $(CURVE_QUEUE); do size=$${entry%:*}; seed=$${entry#*:}; $(SCENE) \
		for model in fcn encnet; do \
			scripts/study-run curves/$${size}px/$$model/s$$seed model=$$model seed=$$seed \
				trainer.max_epochs=$(CURVE_EPOCHS) $$scene || exit 1; \
		done; \
		$(MAKE) --no-print-directory multiscale || exit 1; \
	done

# A longer schedule on the 384 px scenes before they get a study of their own: does either network learn to decide
# the ambiguous classes with PILOT_EPOCHS (48: twice the curve runs')? The curve runs' code and recipe, seed 0,
# PILOT_MODELS in that order (EncNet first: if it does not learn the scenes, the FCN is not expected to), in
# results/pilot/384px/<PILOT_EPOCHS>ep/<model>/s0/. Two queues share it like `make curves`.
PILOT_EPOCHS ?= 48
PILOT_MODELS ?= encnet fcn
pilot: install study-code
	size=384; $(SCENE) for model in $(PILOT_MODELS); do \
		scripts/study-run pilot/384px/$(PILOT_EPOCHS)ep/$$model/s0 model=$$model seed=0 \
			trainer.max_epochs=$(PILOT_EPOCHS) $$scene || exit 1; \
	done

# Where the multi-scale change comes from, on one curve run's checkpoint (PROBE_RUN): flip alone, the training
# scales + flip, the paper's scales + flip on whole images (no windows), each extreme scale alone. Entries
# NAME:OVERRIDES (joined by +), in results/multiscale_probe/PROBE_RUN/NAME/.
PROBE_RUN ?= 128px/encnet/s0
MULTISCALE_PROBES := flip:eval.flip=true train_scales_flip:eval.scales=[0.75,1.0,1.25]+eval.flip=true \
	msflip_whole:inference@eval=msflip+eval.mode=whole scale_0.5:eval.scales=[0.5] scale_1.75:eval.scales=[1.75]
multiscale-probe: install eval-code
	run=$(PROBE_RUN); size=$${run%%px/*}; $(SCENE) for entry in $(MULTISCALE_PROBES); do \
		STUDY_APP=evaluate STUDY_CODE=logs/study/eval-code scripts/study-run multiscale_probe/$(PROBE_RUN)/$${entry%%:*} \
			ckpt_path=$(CURVE_RUNS)/$(PROBE_RUN)/checkpoints/last.ckpt $$(echo "$${entry#*:}" | tr + ' ') $$scene || exit 1; \
	done

# Table 1 and Figure 5 in miniature: studies like `make curves` (EncNet variants, CURVE_EPOCHS on 128 px scenes),
# whose FCN and default EncNet (α = 0.2, K = 32) are the 128 px curve runs, not trained again. Entries
# NAME:OVERRIDE, each run for every seed in results/NAME/s<seed>/; Figure 5's α = 0 and K = 0 are Table 1's runs.
# encnet.cli.docs_tables draws docs/figure5_{alpha,codes}.png and writes the tables into README.md.
TABLE1_SEEDS ?= 0 1 2
FIGURE5_SEEDS ?= 0 1
TABLE1_RUNS := table1/128px/k0:model.num_codes=0 table1/128px/no_se:model.se_loss_weight=0 \
	table1/128px/se_cem:model.stage3_se=false
FIGURE5_RUNS := table1/128px/no_se:model.se_loss_weight=0 \
	$(foreach a,0.1 0.4 0.8,figure5/128px/alpha/$(a):model.se_loss_weight=$(a)) \
	table1/128px/k0:model.num_codes=0 $(foreach k,8 16 64,figure5/128px/codes/$(k):model.num_codes=$(k))
# $(call VARIANT_RUNS,ENTRIES,SEEDS): scripts/study-run of every entry for every seed, seed by seed.
VARIANT_RUNS = for seed in $(2); do for entry in $(1); do \
		scripts/study-run $${entry%%:*}/s$$seed model=encnet seed=$$seed trainer.max_epochs=$(CURVE_EPOCHS) \
			$${entry\#*:} || exit 1; \
	done; done

table1: install study-code
	$(call VARIANT_RUNS,$(TABLE1_RUNS),$(TABLE1_SEEDS))

figure5: install study-code
	$(call VARIANT_RUNS,$(FIGURE5_RUNS),$(FIGURE5_SEEDS))
	$(BIN)/python -m encnet.cli.docs_tables results --plots

# Recipe stability: the default FCN and EncNet with a linear learning-rate warm-up over the first two epochs
# (model.warmup_steps=124: 62 steps an epoch) and with the heads at the backbone's learning rate
# (model.head_lr_mult=1), 24 epochs on 128 px scenes, seeds STABILITY_SEEDS, in
# results/stability/128px/<variant>/<model>/s<seed>/, each paired with the curve run of its model and seed.
# From a code snapshot of its own (logs/study/stability-code): warm-up is newer than the curves' snapshot,
# which trains the same numbers otherwise.
STABILITY_SEEDS ?= 0 1 2
STABILITY_RUNS := warmup:model.warmup_steps=124 head_lr1:model.head_lr_mult=1
stability-code: logs/study/stability-code/COMMIT
stability: install stability-code
	for seed in $(STABILITY_SEEDS); do for entry in $(STABILITY_RUNS); do for model in fcn encnet; do \
		STUDY_CODE=logs/study/stability-code scripts/study-run stability/128px/$${entry%%:*}/$$model/s$$seed \
			model=$$model seed=$$seed trainer.max_epochs=$(CURVE_EPOCHS) $${entry#*:} || exit 1; \
	done; done; done

# Batch-norm's share of the jumps: the default FCN and EncNet again (the curve runs' code and seeds BN_SEEDS),
# every epoch's checkpoint kept (callbacks.model_checkpoint.save_top_k=-1; the numbers trained are the curve
# runs'), in results/stability/128px/every_epoch/<model>/s<seed>/; then benchmarks/precise_bn.py validates each
# epoch's checkpoint as trained and with batch-norm statistics recomputed, both curves' falls in precise_bn.txt
# beside the run's metrics.json.
BN_SEEDS ?= 0
stability-bn: install study-code
	for seed in $(BN_SEEDS); do for model in fcn encnet; do \
		scripts/study-run stability/128px/every_epoch/$$model/s$$seed model=$$model seed=$$seed \
			trainer.max_epochs=$(CURVE_EPOCHS) callbacks.model_checkpoint.save_top_k=-1 || exit 1; \
		out=results/stability/128px/every_epoch/$$model/s$$seed/precise_bn.txt; [ -f $$out ] && continue; \
		OMP_NUM_THREADS=1 $(BIN)/python benchmarks/precise_bn.py \
			logs/study/stability/128px/every_epoch/$$model/s$$seed/checkpoints/epoch*.ckpt > $$out.tmp \
			&& mv $$out.tmp $$out && cat $$out || exit 1; \
	done; done

# Multi-scale study: the final checkpoint of every finished curve run (results/curves/RUN/metrics.json; its
# checkpoint CURVE_RUNS/RUN/checkpoints/last.ckpt) evaluated on the val split at one scale
# (inference@eval=default) and with the paper's scales and flip (inference@eval=msflip), one at a time, in
# results/multiscale/RUN/{single,msflip}/.
CURVE_RUNS ?= logs/study/curves
multiscale: install eval-code
	for result in results/curves/*px/*/s*/metrics.json; do [ -f "$$result" ] || continue; \
		run=$${result#results/curves/}; run=$${run%/metrics.json}; size=$${run%%px/*}; $(SCENE) \
		for mode in single:default msflip:msflip; do \
			ckpt=$(CURVE_RUNS)/$$run/checkpoints/last.ckpt; \
			[ -f $$ckpt ] || ckpt=results/checkpoints/context_scenes_$$(echo $$run | tr / _).ckpt; \
			if [ ! -f results/multiscale/$$run/$${mode%:*}/metrics.json ] && [ ! -f $$ckpt ]; then \
				echo "multiscale/$$run/$${mode%:*}: no checkpoint $$ckpt on this machine, skipped"; continue; fi; \
			STUDY_APP=evaluate STUDY_CODE=logs/study/eval-code scripts/study-run multiscale/$$run/$${mode%:*} \
				ckpt_path=$$ckpt inference@eval=$${mode#*:} $$scene || exit 1; \
		done; \
	done

# The 128 px curve runs of seeds RETRAIN_SEEDS were trained on a machine since returned, their checkpoints with it:
# `make retrain` trains them again (the curve runs' code snapshot, model and seed) in logs/study/retrain/, results in
# results/retrain/128px/<model>/s<seed>/, then `make multiscale` evaluates those checkpoints for the curve runs
# (CURVE_RUNS=logs/study/retrain). Another install trains slightly different numbers ("Across installs" in
# docs/results.md): each retrained run's metrics.json sits beside the curve run's for comparison.
RETRAIN_SEEDS ?= 2 3 4
retrain: install study-code eval-code
	for seed in $(RETRAIN_SEEDS); do for model in fcn encnet; do \
		scripts/study-run retrain/128px/$$model/s$$seed model=$$model seed=$$seed trainer.max_epochs=$(CURVE_EPOCHS) \
			|| exit 1; \
	done; done
	$(MAKE) --no-print-directory multiscale CURVE_RUNS=logs/study/retrain

# The weights-only final checkpoint of a finished curve run (no optimizer, loop or random state: ≈ 3 MB), committed
# for the notebooks and for evaluating the run on another machine (make multiscale reads it when the run's
# last.ckpt is gone), e.g. make results/checkpoints/context_scenes_384px_encnet_s0.ckpt
results/checkpoints/context_scenes_%.ckpt:
	run=$*; size=$${run%%_*}; rest=$${run#*_}; model=$${rest%_*}; seed=$${rest##*_}; \
	result=results/curves/$$size/$$model/$$seed/metrics.json; \
	[ -f $$result ] || { echo "$@: the run has not finished ($$result missing)" >&2; exit 2; }; \
	$(BIN)/python -c "import sys; from encnet.tasks.loading import save_weights_only; save_weights_only(*sys.argv[1:])" \
		$(CURVE_RUNS)/$$size/$$model/$$seed/checkpoints/last.ckpt $@

# Where does a network label the ambiguous pixels wrong: within the FCN's reach or beyond it? benchmarks/reach.py
# --checkpoints on the weights-only checkpoints of each finished 384 px seed pair (FCN and EncNet), 200 val
# scenes, in results/reach/384px_s<seed>.txt.
reach-accuracy: install
	for fcn in results/checkpoints/context_scenes_384px_fcn_s*.ckpt; do [ -f "$$fcn" ] || continue; \
		seed=$${fcn##*_s}; seed=$${seed%.ckpt}; encnet=results/checkpoints/context_scenes_384px_encnet_s$$seed.ckpt; \
		out=results/reach/384px_s$$seed.txt; [ -f $$encnet ] && [ ! -f $$out ] || continue; mkdir -p results/reach; \
		OMP_NUM_THREADS=1 $(BIN)/python benchmarks/reach.py --sizes 384 --images 200 --checkpoints $$fcn $$encnet \
			> $$out.tmp && mv $$out.tmp $$out && cat $$out || exit 1; \
	done

AMBIGUOUS = $(shell $(BIN)/python -c "from encnet.data.context_scenes import AMBIGUOUS; print(*AMBIGUOUS)")

curves-figure: install
	for dir in results/curves/*px results/pilot/*px/*ep; do [ -d "$$dir" ] || continue; \
		name=$${dir#results/curves/}; name=$$(echo $${name#results/} | tr / _); \
		$(BIN)/encnet-results $$dir --metric val/mIoU --mean-of $(AMBIGUOUS) --curves docs/curves_$$name.png || exit 1; \
	done

# requirements-lock.txt anew: the dev install resolved again from the package index (scripts/lock.py).
lock: install
	$(BIN)/python scripts/lock.py $(VENV)

results-tables: install
	@$(BIN)/python -m encnet.cli.docs_tables results

results-doc: install
	$(BIN)/python -m encnet.cli.docs_tables results --write .

benchmark: install
	$(BIN)/python benchmarks/encoding.py

clean:
	rm -rf $(VENV) logs .pytest_cache
