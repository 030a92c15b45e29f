# mmdiffrep — every target sets up the environment first (idempotent, fast when done).
PY := .venv/bin/python
DATA := data/shapes32

.PHONY: env data baselines test

env:
	bash tools/setup_env.sh

$(DATA)/meta.json: | env
	$(PY) tools/dataset_converters/shapes.py $(DATA) --size 32

data: env $(DATA)/meta.json

# The main job at this stage: train and evaluate the three Shapes baselines, print a table.
baselines: data
	$(PY) tools/run_baselines.py

test: env
	$(PY) -m pytest tests
