# mmdiffrep — every target sets up the environment first (idempotent, fast when done).
PY := .venv/bin/python
DATA := data/shapes32

.PHONY: env data baselines repfusion drl test

env:
	bash tools/setup_env.sh

$(DATA)/meta.json: | env
	$(PY) tools/dataset_converters/shapes.py $(DATA) --size 32

data: env $(DATA)/meta.json

# The main job: distil a VGG-11-BN student from the shipped Shapes teacher (no labels), fine-tune
# it with 10% labels, train it from scratch with the same schedule, probe the frozen teacher,
# score the best-val checkpoints on test, print the table (label-efficiency protocol, seed 0).
# JOBS runs at a time: the scratch and probe runs go beside the distillation.
JOBS ?= 2
repfusion: data
	$(PY) tools/run_repfusion.py --jobs $(JOBS)

# DRL, VDRL, the autoencoder baseline and the time-conditioned encoder on Shapes: probe their
# codes against a random encoder, fine-tune the DRL encoder with 10% labels (~18 min, seed 0).
drl: data
	$(PY) tools/run_drl.py

# Train and evaluate the three Shapes baselines (all labels), print a table.
baselines: data
	$(PY) tools/run_baselines.py

test: env
	$(PY) -m pytest tests
