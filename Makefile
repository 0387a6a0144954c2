# cloudtrail-wizard: every target sets up what it needs itself (a fresh machine needs only
# python3 >= 3.11). `make demo` and `make test` are the two commands the README promises.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-test
# checkov pins boto3 exactly, so it lives in a venv of its own (used by the export tests).
CHECKOV_VENV := .venv-checkov
CHECKOV      := $(CHECKOV_VENV)/bin/checkov
# The AWS CLI (v1, from PyPI) runs the exported scripts and checks the sandbox's errors as
# another client sees them. Its own venv: it pins botocore to its own release line.
AWS_CLI_VENV := .venv-awscli
AWS_CLI      := $(AWS_CLI_VENV)/bin/aws

.PHONY: demo test lint typecheck security unit venv clean snapshots-update browser-deps docs docs-build

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

## Launch the wizard on the embedded sandbox (no AWS account or credentials needed).
demo: $(STAMP)
	$(BIN)/cloudtrail-wizard --sandbox

## Lint, type-check, run the security checks and the whole test suite, build the docs.
## The static checks and the two tool venvs the tests use are independent: built side by side
## (each target's output kept together), then the suite, then the docs.
test: $(STAMP)
	$(MAKE) --no-print-directory -j3 --output-sync=target lint typecheck security $(CHECKOV) $(AWS_CLI)
	$(MAKE) --no-print-directory unit
	$(MAKE) --no-print-directory docs-build

# lint-imports checks the architecture's contracts ([tool.importlinter] in pyproject.toml); it
# takes a fraction of a second, so it runs without a cache (a stale one could hide a moved module).
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-logo --no-cache

typecheck: $(STAMP)
	$(BIN)/mypy

## Static security checks: bandit over the code (exceptions: [tool.bandit] in pyproject.toml)
## and pip-audit over the installed environment (needs PyPI's JSON API).
security: $(STAMP)
	$(BIN)/bandit -q -c pyproject.toml -r wizard screens
	@$(BIN)/python -c "$$PIP_AUDIT_GATE" $(BIN)/pip-audit

# pip-audit asks PyPI's JSON API (/pypi/NAME/VERSION/json) about every installed package.
# Without access to it, pip-audit either fails with a connection error, or (behind a mirror
# that serves only the package index) hears "not found" for every package and would report
# success having audited nothing. Both print "pip-audit skipped: ..." and pass; a known
# vulnerability, or any other failure, fails the target.
define PIP_AUDIT_GATE
import json, re, subprocess, sys
command = [sys.argv[1], "--progress-spinner", "off", "--skip-editable", "--format", "json"]
run = subprocess.run(command, capture_output=True, text=True)
offline = re.compile(
    "ConnectionError|ProxyError|ConnectTimeout|ReadTimeout|NewConnectionError"
    "|NameResolutionError|Max retries exceeded|Temporary failure in name resolution"
    "|Network is unreachable|Connection refused"
)
skipped = "pip-audit skipped: no network access to the vulnerability database"
try:
    packages = json.loads(run.stdout)["dependencies"]
except (ValueError, KeyError, TypeError):
    packages = None
if packages is None:
    if offline.search(run.stderr):
        print(skipped)
        sys.exit(0)
    sys.stderr.write(run.stdout + run.stderr)
    sys.exit(run.returncode or 1)
vulnerable = [p for p in packages if p.get("vulns")]
for package in vulnerable:
    for vuln in package["vulns"]:
        fixed = ", ".join(vuln.get("fix_versions") or []) or "no fix yet"
        print(f"{package['name']} {package['version']}: {vuln['id']} (fixed in: {fixed})")
if vulnerable:
    print(f"pip-audit: {len(vulnerable)} installed package(s) with known vulnerabilities")
    sys.exit(1)
remote = [p for p in packages if p.get("skip_reason") != "distribution marked as editable"]
audited = [p for p in remote if "skip_reason" not in p]
not_found = [p for p in remote if "not found on PyPI" in p.get("skip_reason", "")]
if remote and len(not_found) == len(remote):
    print(f"{skipped} (PyPI answered 'not found' for all {len(remote)} installed packages)")
    sys.exit(0)
for package in remote:
    if "skip_reason" in package:
        print(f"pip-audit: not audited: {package['skip_reason']}")
print(f"pip-audit: {len(audited)} packages audited, no known vulnerabilities")
endef
export PIP_AUDIT_GATE

## Three workers on two cores: a quarter of the suite's time is spent waiting (sandbox round
## trips, child processes, the browser), which a third worker fills; worksteal evens out the
## long tests at the end. Override with `make unit PYTEST_WORKERS=N`. The 25 slowest tests are
## listed at the end: CI must stay under 20 minutes on two cores, and this is where to look.
PYTEST_WORKERS ?= $(shell $(PYTHON) -c "import os; print(max(2, (os.cpu_count() or 1) * 3 // 2))")
unit: $(STAMP) $(CHECKOV) $(AWS_CLI) browser-deps
	CHECKOV=$(CURDIR)/$(CHECKOV) AWS_CLI=$(CURDIR)/$(AWS_CLI) $(BIN)/pytest -n $(PYTEST_WORKERS) --dist worksteal -q --durations=25

## Debian's chromium and chromedriver for the browser tests (tests/browser, `serve`), installed
## with apt-get (as root, or through sudo) when /usr/bin/chromium or /usr/bin/chromedriver is missing.
CHROMIUM_PACKAGES := chromium chromium-driver
browser-deps:
	@if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then exit 0; fi; \
	if ! command -v apt-get >/dev/null 2>&1; then \
	  echo "browser-deps: no apt-get here. Install Debian's $(CHROMIUM_PACKAGES) (or make" \
	    "/usr/bin/chromium and /usr/bin/chromedriver a matching Chromium and driver)." >&2; \
	  exit 1; \
	fi; \
	if [ "$$(id -u)" = 0 ]; then sudo=; \
	elif command -v sudo >/dev/null 2>&1; then sudo=sudo; \
	else \
	  echo "browser-deps: installing $(CHROMIUM_PACKAGES) needs root and sudo is missing." \
	    "As root, run: apt-get install -y $(CHROMIUM_PACKAGES)" >&2; \
	  exit 1; \
	fi; \
	echo "browser-deps: installing $(CHROMIUM_PACKAGES) with apt-get"; \
	$$sudo apt-get update -q && \
	$$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(CHROMIUM_PACKAGES)

$(CHECKOV):
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet 'checkov==3.3.30'

$(AWS_CLI):
	$(PYTHON) -m venv $(AWS_CLI_VENV)
	$(AWS_CLI_VENV)/bin/python -m pip install --quiet 'awscli==1.46.2'

## The documentation site (Material for MkDocs, mkdocs.yml): `make docs` serves it while you
## edit, `make docs-build` (part of `make test`) builds it into site/ and fails on any warning
## (a broken link or anchor, a missing page, a generated part that cannot be made).
# Material prints an end-of-life banner on every run; the version is pinned in pyproject.toml.
MKDOCS := NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs

docs: $(STAMP)
	$(MKDOCS) serve --dev-addr 127.0.0.1:8001

docs-build: $(STAMP)
	$(MKDOCS) build --strict

snapshots-update: $(STAMP)
	$(BIN)/pytest -q tests/screens/tui --snapshot-update

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) $(AWS_CLI_VENV) .mypy_cache .ruff_cache .pytest_cache
