# probpose_ext: install the pinned OpenMMLab stack, run the demo, run tests.
#   make demo   # install if needed, generate SynthPose if missing, evaluate
#               # the published zoo models, fine-tune one (tools/demo.py)
#   make test   # install if needed, run the whole test suite
#   make test-fast  # the tests not marked slow (no subprocess, training or
#                   # tool command line): the inner loop
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.probpose-installed
PIP := $(PY) -m pip --disable-pip-version-check
PYTEST_ARGS ?=
BENCH_ARGS ?=

.PHONY: install demo test test-fast gpu-check bench lock clean

install: $(STAMP)

# Idempotent: re-runs only when the requirements or setup change.
$(STAMP): requirements.txt constraints.txt setup.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q "setuptools>=77.0.3,<81" wheel cython numpy==2.3.5 -c constraints.txt
	$(PIP) install -q --no-build-isolation -r requirements.txt -c constraints.txt
	$(PIP) install -q --no-build-isolation --no-deps -e .
	# ONNX export / ONNX Runtime (the [deploy] extra, docs/deploy.md)
	$(PIP) install -q --no-build-isolation -e ".[deploy]" -c constraints.txt
	# MMAction2 for its STGCN / GCNHead in our recogniser (opt-in through
	# probpose_ext.compat.mmaction); --no-deps: it asks for the full mmcv
	$(PIP) install -q --no-deps mmaction2==1.2.0
	# MMDeploy for its torch2onnx with configs/deploy (opt-in through
	# probpose_ext.compat.mmdeploy); --no-deps: it asks for the full mmcv
	$(PIP) install -q --no-deps mmdeploy==1.3.1 aenum==3.1.17
	# the exococotools sdist's example files, for the Ex-OKS parity tests
	$(PIP) download -q --no-deps --no-build-isolation --no-binary :all: -d $(VENV)/sdists exococotools==1.0.0
	$(PY) -c "import probpose_ext, mmpose.models; print('probpose_ext', probpose_ext.__version__, 'installed')"
	touch $(STAMP)

demo: install
	$(PY) tools/demo.py

test: install
	$(PY) -m pytest -q $(PYTEST_ARGS) tests

test-fast: install
	$(PY) -m pytest -q -m "not slow" $(PYTEST_ARGS) tests

# on a machine with CUDA: CUDA tests, 20-iteration fp32/AMP training, bench
gpu-check:
	bash tools/gpu_check.sh

# speed and memory against the baselines (benchmarks/run.py --help)
bench: install
	$(PY) benchmarks/run.py $(BENCH_ARGS)

# Refresh constraints.txt from the current venv (after changing requirements).
lock: install
	$(PIP) freeze --exclude-editable > constraints.txt

clean:
	rm -rf $(VENV) work_dirs
