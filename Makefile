# Set-up and everyday commands. The first `make run` or `make test` creates .venv and installs
# everything into it; later calls reuse it (it is rebuilt when pyproject.toml changes).
#   make run                      open the app on the default preset
#   make test                     the whole suite, headless
#   make bench                    speed benchmarks (engine, UI) side by side with their baselines
#   make screenshot               retake the README's picture of the window (no display needed)
#   make run TORCH="torch==2.13.0 --index-url URL"   choose another PyTorch build (pip arguments)

PYTHON ?= python3
VENV   ?= .venv
TORCH  ?= torch==2.13.0
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed

.PHONY: run test bench screenshot clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(TORCH)
	@# setuptools warns that a folder named like the package in the working directory would take
	@# precedence; the repository root is the package, and holds no folder of that name
	PYTHONWARNINGS="ignore:Editable installation" $(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/muonscope

# One torch thread per test process: the suite's matrices are small, and on two cores a second
# intra-op thread only contends with the Qt event loop and the sweep workers the tests start.
# One test process per core (pytest-xdist); the tests that read one reproduction share a process
# (tests/conftest.py), which computes it once. On two quiet cores the suite takes 5 to 6 minutes.
test: $(STAMP)
	OMP_NUM_THREADS=1 QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -n auto --dist loadgroup

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet matplotlib  # the UI benchmark's baseline, not an app dependency
	$(BIN)/python benchmarks/engine_speed.py
	QT_QPA_PLATFORM=$${QT_QPA_PLATFORM:-offscreen} $(BIN)/python benchmarks/ui_latency.py

screenshot: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/muonscope shot --preset default --steps 80 --size 1600x1000 \
		--out resources/screenshot.png --no-progress

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache build dist
