#!/usr/bin/env bash
# run.sh: the demo's browser test, in one non-interactive command (CI):
#
#   integration/browser/run.sh
#
# Installs Debian's chromium with apt-get when /usr/bin/chromium is missing
# (root), npm-installs playwright-core here, starts scripts/demo.sh in the
# background, runs browser.test.mjs against it, and stops the demo however the
# test ends. Every wait is bounded. Artifacts (screenshots, the demo's log)
# land in integration/browser/artifacts/.
#
# Environment: DEMO_START_TIMEOUT (seconds for the demo to answer, default 300:
# a cold Caddy build is most of it), TEST_TIMEOUT (seconds, default 180).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
artifacts=$here/artifacts
run=$repo/demo/.data/run
start_timeout=${DEMO_START_TIMEOUT:-300}
test_timeout=${TEST_TIMEOUT:-180}
t0=$(date +%s%N)
say() { echo "browser-test: $*" >&2; }
ms() { echo "$(( ($(date +%s%N) - t0) / 1000000 ))ms"; }
mkdir -p "$artifacts"
rm -f "$artifacts"/*.png

if [[ ! -x /usr/bin/chromium ]]; then
	[[ $(id -u) == 0 ]] || { say "chromium is missing and installing it needs root"; exit 1; }
	say "installing chromium with apt-get"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
(cd "$here" && npm ci --no-audit --no-fund --loglevel=error)

# A ready file left by a demo that was killed hard must not count as this
# one's (demo.sh clears it too, but only once it gets that far).
rm -f "$run/ready"

# The demo in the background, in its own session so that one signal stops
# it and everything it started (its trap stops Caddy and the shards).
setsid "$repo/scripts/demo.sh" >"$artifacts/demo.log" 2>&1 &
demo=$!
stop_demo() {
	trap - EXIT INT TERM
	if kill -0 "$demo" 2>/dev/null; then
		kill -TERM "$demo" 2>/dev/null || true
		for _ in $(seq 50); do kill -0 "$demo" 2>/dev/null || break; sleep 0.1; done
		kill -KILL -- "-$demo" 2>/dev/null || true # the whole group, if the trap did not finish
	fi
	wait "$demo" 2>/dev/null || true
}
trap stop_demo EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

deadline=$(( $(date +%s) + start_timeout ))
until [[ -s $run/ready ]]; do
	if ! kill -0 "$demo" 2>/dev/null; then
		tail -n 30 "$artifacts/demo.log" >&2
		say "the demo exited before it was ready (log: $artifacts/demo.log)"
		exit 1
	fi
	if (( $(date +%s) >= deadline )); then
		tail -n 30 "$artifacts/demo.log" >&2
		say "the demo was not ready within ${start_timeout}s"
		exit 1
	fi
	sleep 0.2
done
say "demo ready after $(ms) (demo.sh's own count: $(cat "$run/ready"))"

status=0
(cd "$here" && DEMO_RUN_DIR=$run ARTIFACTS=$artifacts \
	timeout --kill-after=10 "$test_timeout" node --test --test-timeout=120000 browser.test.mjs) || status=$?
say "test finished with status $status after $(ms); screenshots: $(ls "$artifacts"/*.png 2>/dev/null | xargs -n1 basename | tr '\n' ' ')"
exit $status
