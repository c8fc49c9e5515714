# Two commands on a fresh machine with Python 3.11 and make: `make up`, `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: up test venv migrate token clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

up: venv
	$(BIN)/xieshang up

test: venv
	$(BIN)/python -m pytest

migrate: venv
	$(BIN)/xieshang migrate

token: venv
	@$(BIN)/xieshang token --role clerk --subject office-clerk

clean:
	rm -rf $(VENV) .pytest_cache
