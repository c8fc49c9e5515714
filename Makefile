# Two commands on a fresh machine with Python 3.11 and make: `make up`, `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: up test demo venv browser migrate token clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

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
