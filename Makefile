# Two commands on a fresh machine: `make dev` runs the service, `make test` runs every test.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: dev test install lint bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

install: $(BIN)/.installed

dev: install
	$(BIN)/escalation dev

test: install
	bash scripts/ensure-postgres.sh
	bash scripts/ensure-browser.sh
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy escalation workflows activities worker api store

bench: install
	bash scripts/ensure-postgres.sh
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .escalation .pytest_cache .mypy_cache .ruff_cache
