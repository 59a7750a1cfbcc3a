#!/usr/bin/env bash
# The whole test suite, as CI runs it (.ci/run calls this script).
# On a fresh Debian machine, as root, it installs what the tests need
# (Debian packages, Go tools, a caddy built with xcaddy from this checkout),
# then runs:
#   1. go vet and the unit tests with the race detector (plugin module);
#   2. the integration suite against the real caddy binary and real engines;
#   3. the browser test of the demo page (integration/browser/run.sh).
# Set SKIP_INTEGRATION=1 to run only step 1.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
say() { echo "== test.sh [$(($(date +%s) - start))s] $*"; }

say "go vet (plugin)"
go vet ./...
say "unit tests with -race"
go test -race -count=1 -timeout 15m ./...

if [[ "${SKIP_INTEGRATION:-0}" == 1 ]]; then
	say "SKIP_INTEGRATION=1: done"
	exit 0
fi

say "integration setup (packages, tools, caddy via xcaddy)"
integration/scripts/setup.sh
say "integration tests"
(cd integration && go vet ./... && go test -count=1 -timeout 20m ./...)

if [[ -x integration/browser/run.sh ]]; then
	say "browser test"
	integration/browser/run.sh
fi
say "all passed"
