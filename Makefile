# The front door. `make dev` runs the service locally; `make test` runs every check.
# Both set themselves up on a fresh clone (virtualenvs, npm packages, DynamoDB Local).

SHELL := /bin/bash
.DEFAULT_GOAL := help

# Lambda runs python3.13: use it where it exists (pyenv or PATH), else the newest python3 there is.
PYTHON313 ?= $(shell for p in "$$(pyenv root 2>/dev/null)"/versions/3.13*/bin/python3 "$$(command -v python3.13)" "$$(command -v python3)"; do \
	"$$p" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null && { echo "$$p"; break; }; done)
VENV := .venv
PY := $(VENV)/bin/python
SAM_VENV := .venv-sam
SAM := $(SAM_VENV)/bin/sam
ORG ?= org_demo
SCOPE ?= usage:read
FN ?=
EVENT ?=
ENV_VARS ?=
PARAMS ?=
PYTEST_ARGS ?=
LOADTEST_ARGS ?=
# Like sam local's --env-vars env.json and --parameter-overrides "Key=Value ...".
LOCAL_ARGS = $(if $(ENV_VARS),--env-vars "$(ENV_VARS)") $(if $(PARAMS),--parameter-overrides $(PARAMS))

export SAM_CLI_TELEMETRY := 0
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: help install browser dev test test-unit test-integration lint typecheck validate token invoke seed build deploy bench loadtest openapi clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

$(VENV)/.installed: requirements-dev.txt layers/shared/requirements.txt
	@test -x "$(PYTHON313)" || { echo "no python3.13 (or 3.11+) found: set PYTHON313=/path/to/python3"; exit 1; }
	test -x $(PY) || "$(PYTHON313)" -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(SAM_VENV)/.installed: requirements-sam.txt
	test -x $(SAM_VENV)/bin/python || python3 -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-sam.txt
	touch $@

install: $(VENV)/.installed node_modules/.installed ## Create the virtualenv and install npm packages

# The browser tests (API docs page, demo chart) drive Debian's Chromium headless through its chromedriver.
browser: ## Headless Chromium and chromedriver for the browser tests (apt-get install, with sudo unless root)
	@test -x /usr/bin/chromium -a -x /usr/bin/chromedriver || { \
	  command -v apt-get >/dev/null || { echo "make browser: no apt-get; install chromium and chromedriver (/usr/bin)"; exit 1; }; \
	  sudo=$$(test "$$(id -u)" = 0 || echo sudo); \
	  $$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends chromium chromium-driver fonts-liberation; }

dev: install ## Run the whole service locally with demo data (Ctrl-C stops it; SEED=0 skips the data)
	$(PY) -m local dev $(LOCAL_ARGS)

test: install browser lint typecheck validate ## Every check: ruff, mypy, sam validate --lint, all tests
	$(PY) -m pytest $(PYTEST_ARGS)

test-unit: install ## Unit and property tests only (no local stack)
	$(PY) -m pytest tests/unit tests/property $(PYTEST_ARGS)

test-integration: install browser ## Integration tests against the local stack
	$(PY) -m pytest tests/integration $(PYTEST_ARGS)

lint: $(VENV)/.installed ## ruff check and format check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(VENV)/.installed ## mypy (strict) over the core, functions, build tools, local runner and benchmarks
	$(VENV)/bin/mypy layers/shared/ocore_usage functions tools local benchmarks

validate: $(SAM_VENV)/.installed ## sam validate --lint on template.yaml
	$(SAM) validate --lint --template template.yaml

token: $(VENV)/.installed ## Print a local token: make token ORG=org_demo SCOPE=usage:read (a reader), ORG= SCOPE=usage:write (an agent)
	@$(PY) -m local token --org "$(ORG)" --scope "$(SCOPE)" $(LOCAL_ARGS)

invoke: install ## Run one function in-process: make invoke FN=RollupFunction [EVENT=events/<file>.json]
	@test -n "$(FN)" || { echo "usage: make invoke FN=<LogicalId> [EVENT=events/<file>.json]"; exit 2; }
	$(PY) -m local invoke "$(FN)" $(if $(EVENT),--event "$(EVENT)") $(LOCAL_ARGS)

seed: install ## Seed demo data into a running local stack (make dev in another shell)
	$(PY) -m local seed $(LOCAL_ARGS)

build: $(SAM_VENV)/.installed node_modules/.installed ## sam build (needs python3.13 on PATH)
	PATH="$(dir $(PYTHON313)):$$PATH" $(SAM) build

deploy: build ## sam deploy (guided the first time: make deploy ARGS=--guided)
	$(SAM) deploy $(ARGS)

bench: install ## Benchmarks: ratios against a floor measured in the same run
	PYTHONPATH=layers/shared:. $(PY) -m benchmarks

loadtest: install ## Ingest and rollup throughput of the local stack with 1, 2 and 4 rollup workers (LOADTEST_ARGS="--hours 4")
	PYTHONPATH=layers/shared:. $(PY) -m benchmarks.loadtest $(LOADTEST_ARGS)

openapi: $(VENV)/.installed ## Regenerate docs/openapi.json from the code (a test checks it is current)
	PYTHONPATH=layers/shared:. $(PY) -m tools.openapi > docs/openapi.json

clean: ## Remove virtualenvs, npm packages and build output
	rm -rf $(VENV) $(SAM_VENV) node_modules .aws-sam .pytest_cache .mypy_cache .ruff_cache
