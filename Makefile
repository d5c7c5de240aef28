# Tessera: `make run` starts everything, `make test` runs the suite. Needs only Python 3.11,
# gcc and make; PostgreSQL and Redis come from PyPI wheels unless DATABASE_URL / REDIS_URL
# point at your own.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run dev test lint format services bench bench-imports bench-report bench-tasks bench-fields bench-notify bench-billing bench-pages bench-load bench-migrate bench-orgs screenshots clean

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

# Web (gunicorn) + Celery worker + beat, supervised (README "Quick start").
run: $(STAMP)
	$(PY) platform/dev.py run

# The same with Django's autoreloading development server instead of gunicorn.
dev: $(STAMP)
	$(PY) platform/dev.py run --reload

# Extra pytest arguments: make test ARGS="-k tenants -x". The suite runs on pytest-xdist
# processes (one per core, at most 4; each has its own test database, Redis database and
# ports); ARGS="-n 0" runs it in one process, ARGS="-n 2" on two. Work is handed out in
# collection order, which tests/conftest.py sorts longest first (--no-loadscope-reorder).
TEST_PARALLEL ?= -n auto --maxprocesses 4 --dist loadgroup --no-loadscope-reorder
test: $(STAMP)
	$(PY) platform/dev.py test $(TEST_PARALLEL) $(ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

services: $(STAMP)
	$(PY) platform/dev.py services

# Benchmarks print ratios against raw SQL measured in the same run (docs/benchmarks.md).
bench: $(STAMP)
	$(PY) platform/dev.py bench bench/org_create.py $(ARGS)

# The completed-tasks report at 100k and 1M tasks on a worker process (several minutes).
bench-report: $(STAMP)
	$(PY) platform/dev.py bench bench/report.py $(ARGS)

# The task list with search and filters, API against raw SQL (100k tasks; ARGS="--tasks 1000000").
bench-tasks: $(STAMP)
	$(PY) platform/dev.py bench bench/task_list.py $(ARGS)

# Custom field filters against the same filters on built-in columns (100k tasks in one project).
bench-fields: $(STAMP)
	$(PY) platform/dev.py bench bench/custom_fields.py $(ARGS)

# Notifications: events per second and commit-to-notification delay on one worker.
bench-notify: $(STAMP)
	$(PY) platform/dev.py bench bench/notify.py $(ARGS)

# The CSV import: rows per second and memory at two file sizes (docs/benchmarks.md).
bench-imports: $(STAMP)
	$(PY) platform/dev.py bench bench/imports.py $(ARGS)

# Billing's cost on the write paths (limit checks, webhooks).
bench-billing: $(STAMP)
	$(PY) platform/dev.py bench bench/billing.py $(ARGS)

# Web pages (board of 1,000 tasks, list, task page with 50 comments) against the JSON API.
bench-pages: $(STAMP)
	$(PY) platform/dev.py bench bench/pages.py $(ARGS)
# Organisations built through sign-up's path (pool refill + claim), measured at each
# level (docs/benchmarks.md, "Many organisations"): make bench-orgs LEVELS="1 1000 10000"
LEVELS ?= 1 1000 10000
bench-orgs: $(STAMP)
	$(PY) platform/dev.py bench bench/orgs.py $(LEVELS)

# Load test: 50 users over 5 organisations against gunicorn + worker + beat, Redis killed
# half-way (docs/benchmarks.md). DURATION in seconds: make bench-load DURATION=60
DURATION ?= 300
bench-load: $(STAMP)
	$(PY) platform/dev.py bench bench/load.py --duration $(DURATION) $(ARGS)

# A column and its index rolled out by migrate_tenants to 1,000 organisations holding data,
# writers measuring their longest stall (docs/benchmarks.md). ARGS="--reuse" keeps the data.
bench-migrate: $(STAMP)
	$(PY) platform/dev.py bench bench/migrate_many.py $(ARGS)

clean:
	rm -rf $(VENV) .data .pytest_cache

# Screenshots of the main pages in light and dark theme, taken by the browser tests, into
# docs/screenshots/ (shown in README.md). Needs chromium, as the browser tests do.
.PHONY: screenshots
screenshots: $(STAMP)
	TESSERA_SCREENSHOTS_DIR=docs/screenshots $(PY) platform/dev.py test tests/browser/test_root_pages.py tests/browser/test_pages_tour.py tests/browser/test_account.py tests/browser/test_settings_journeys.py -q -p no:cacheprovider
