# Two commands on a fresh machine with Python 3.11 and make: `make up`, `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: up test demo venv browser migrate token clean bytecode

venv: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	$(MAKE) bytecode
	@touch $(STAMP)

# Bytecode for the project's own modules, written even under PYTHONDONTWRITEBYTECODE=1:
# an editable install ships none, and the worker's sandbox re-imports the workflow
# modules for every workflow it builds, compiling their source each time without it
# (docs/benchmarks.md: a quarter of the worker's CPU). Python ignores a .pyc older than
# its source, so a stale one only costs the compile it would have cost anyway.
bytecode:
	$(BIN)/python -m compileall -q services workflows

up: venv
	$(BIN)/xieshang up

test: venv browser
	$(BIN)/python -m pytest

# Debian's Chromium and a CJK font, for the operator screenshots (tests/e2e/test_operator_screenshots.py).
# Playwright drives /usr/bin/chromium; it never downloads a browser of its own.
browser:
	@if [ ! -x /usr/bin/chromium ] || ! fc-list 2>/dev/null | grep -qi wqy; then \
	  echo "installing Debian's chromium and fonts-wqy-microhei (screenshots for docs/operators.md)"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null) \
	    || echo "could not install chromium (needs root and Debian's registry): the screenshot test will say so"; \
	fi

# Realistic data in the running stack (run `make up` first, in another terminal).
demo: venv
	$(BIN)/python -m services.demo

migrate: venv
	$(BIN)/xieshang migrate

token: venv
	@$(BIN)/xieshang token --role clerk --subject office-clerk

clean:
	rm -rf $(VENV) .pytest_cache
