# Developer entry points. Everything runs from the project's own .venv.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test check format clean package lint-template checkov policies bench bench-scale budgets

DOCS_ASSETS := chalicelib/docs_assets/versions.json

install: $(STAMP) $(DOCS_ASSETS)

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

# Swagger UI's and ReDoc's files, from their npm packages (pinned in the script).
$(DOCS_ASSETS): devtools/docs_assets.py | $(STAMP)
	$(BIN)/python -m devtools.docs_assets
	touch $@

# Serves on PORT (default 8000); uses AWS_ENDPOINT_URL_DYNAMODB if set, else embedded moto.
run: install
	$(BIN)/python -m devtools.devserver

# The suite on every core (pytest-xdist); TEST_WORKERS=0 runs it in one process.
TEST_WORKERS ?= auto
test: install
	$(BIN)/pytest -q -n $(TEST_WORKERS)

check: install
	$(BIN)/ruff check
	$(BIN)/ruff format --check
	$(BIN)/mypy

# Offline benchmark (a few minutes; not part of test or CI): DynamoDB work, CPU time,
# cold starts and password hashing per endpoint, as Markdown. See docs/PERFORMANCE.md.
bench: install
	$(BIN)/python -m bench

# The capacity model (offline, a few minutes): per-key load under the stated workload,
# the ceilings, and each request's cost against the stored baseline. See docs/PERFORMANCE.md.
bench-scale: install
	$(BIN)/python -m bench.scale

# Rewrite the README's budget table from the catalogue in bench/scenarios.py.
budgets: install
	$(BIN)/python -m bench.budgets --write README.md

.PHONY: fuzz test-browser client migrate-seed backfill

# Copy the original FastAPI + PostgreSQL deployment's database into the table `make run` uses
# (AWS_ENDPOINT_URL_DYNAMODB, TABLE_NAME, AWS_REGION; created if missing), ids and passwords
# kept: make migrate-seed DATABASE_URL=postgresql://... [DRY_RUN=1] [REPORT=file.json].
# See docs/MIGRATION.md.
migrate-seed: install
	$(BIN)/python -m devtools.migrate

# Bring the items of the table make run uses (AWS_ENDPOINT_URL_DYNAMODB, TABLE_NAME,
# AWS_REGION) up to this version, once after deploying it; a rerun changes nothing.
backfill: install
	$(BIN)/python -m devtools.backfill

# A Python client (openapi-python-client) in dist/client, from URL's /openapi.json, or from
# make run's server started for the purpose when URL is unset.
URL ?=
client: install
	$(BIN)/python -m devtools.client $(if $(URL),--url $(URL))

# Schemathesis over /openapi.json against the dev server, with a real token; reports in artifacts/.
fuzz: install
	$(BIN)/python -m devtools.fuzz

# Swagger UI and ReDoc in Debian's headless chromium (make test runs them too when it is installed).
test-browser: install
	$(BIN)/pytest -q -m browser

# The deploy artefacts of STAGE (dev or prod) in dist/STAGE: sam.json and deployment.zip.
STAGE ?= dev
package: install
	$(BIN)/python -m devtools.package --stage $(STAGE) --out dist/$(STAGE)

lint-template: package
	$(BIN)/cfn-lint dist/$(STAGE)/sam.json

# checkov over STAGE's template: zero failed checks; every waiver is in the template's
# Metadata with its reason (devtools/package.py). Offline: no Prisma Cloud download.
CHECKOV_VENV := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed
$(CHECKOV_STAMP): requirements-checkov.txt
	test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet -r requirements-checkov.txt
	touch $@

checkov: package $(CHECKOV_STAMP)
	BC_SKIP_MAPPING=TRUE $(CHECKOV_VENV)/bin/checkov --file dist/$(STAGE)/sam.json \
		--framework cloudformation --skip-download --compact --quiet

# Rewrite .chalice/policy-*.json from devtools/package.py's FUNCTIONS.
policies: install
	$(BIN)/python -m devtools.package --write-policies

format: install
	$(BIN)/ruff check --fix
	$(BIN)/ruff format

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) chalicelib/docs_assets .pytest_cache .mypy_cache .ruff_cache .hypothesis dist
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
