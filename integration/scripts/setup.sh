#!/usr/bin/env bash
# setup.sh: idempotent installer for the integration suite on a fresh Debian
# machine (run as root). Installs the engines and tools, then builds caddy with
# the federate module from this checkout into integration/bin/caddy.
#
# Environment:
#   SKIP_APT=1            do not touch apt (non-root machines with the packages present)
#   CADDY_VERSION         caddy version to build (default v2.11.9)
#   FEDERATE_PKG          import path given to xcaddy --with (default: the module
#                         root if it holds a Go package, else .../caddyfederate)
#   STRICT=1              a failed module build is an error (also when CI=true, or
#                         once a package registers http.handlers.federate)
#   REBUILD=1             rebuild both caddy binaries
#   XCADDY_RACE_DETECTOR  passed through to xcaddy (default 0)
#
# Produces integration/bin/caddy-plain (caddy without the module, for smoke
# tests) and integration/bin/caddy (with the module). Exit status non-zero on any
# failure, except that while no package registers http.handlers.federate (the
# handler has not landed) a failed module build only warns.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
integ=$(cd "$here/.." && pwd)
repo=$(cd "$integ/.." && pwd)
bin="$integ/bin"
mkdir -p "$bin"

CADDY_VERSION=${CADDY_VERSION:-v2.11.9}
MODULE=github.com/searchfront/caddy-federate
export XCADDY_RACE_DETECTOR=${XCADDY_RACE_DETECTOR:-0}
export PATH="$(go env GOPATH)/bin:$PATH"

t0=$(date +%s)
step() { # step NAME: prints a timing line for the previous step
	local now; now=$(date +%s)
	[[ -n "${cur:-}" ]] && echo "setup: ${cur} done in $((now - tstep))s"
	cur=$1; tstep=$now
	[[ -n "$1" ]] && echo "setup: ${cur} ..."
	return 0
}

# 1. Debian packages.
step "apt packages"
pkgs=(postgresql groonga-bin wrk redis-server)
missing=()
for p in "${pkgs[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done
# The corpus's long descriptions come from the Translation-en lists.
translations=0
compgen -G '/var/lib/apt/lists/*Translation-en*' >/dev/null && translations=1
if [[ "${SKIP_APT:-0}" == 1 ]]; then
	echo "setup: SKIP_APT=1, not installing: ${missing[*]:-(nothing missing)}"
elif ((${#missing[@]} > 0 || translations == 0)); then
	if [[ $(id -u) != 0 ]]; then
		echo "setup: need root to install: ${missing[*]}" >&2
		exit 1
	fi
	# One update. Languages=en also fetches Translation-en: the corpus's long descriptions.
	apt-get update -o Acquire::Languages=en
	if ((${#missing[@]} > 0)); then
		DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
	fi
else
	echo "setup: apt packages and Translation-en lists present: ${pkgs[*]}"
fi
# Debian's postgresql package starts a cluster through its init script on some
# machines; the harness runs private clusters and needs nothing of it.

# 2. Go tools.
step "go tools"
gobin=$(go env GOPATH)/bin
[[ -x "$gobin/xcaddy" ]] || go install github.com/caddyserver/xcaddy/cmd/xcaddy@latest
[[ -x "$gobin/benchstat" ]] || go install golang.org/x/perf/cmd/benchstat@latest

# 3. Caddy. First plain caddy through the module proxy: that fills the module
# cache with everything the standard modules need (a cold fill is most of this
# script's time) and gives the smoke tests a caddy without the module.
step "plain caddy (fills the module cache)"
plain="$bin/caddy-plain"
if [[ -x "$plain" && "${REBUILD:-0}" != 1 ]] && "$plain" version | grep -q "^${CADDY_VERSION} "; then
	echo "setup: $plain is up to date"
else
	(cd "$repo" && xcaddy build "$CADDY_VERSION" --output "$plain.tmp") >"$bin/xcaddy-plain.log" 2>&1 ||
		{ tail -n 20 "$bin/xcaddy-plain.log" >&2; exit 1; }
	mv "$plain.tmp" "$plain"
fi
"$plain" version

# Then caddy with the module, exactly as the README tells users. The module path
# is not published, so the proxy look-up for it fails; with every dependency in
# the module cache the build works under GOPROXY=off.
step "go mod download"
# Every module of the plugin's module graph, not only those its own packages
# build with: the offline build below compiles Caddy's standard modules at the
# versions this go.mod selects (e.g. a newer chroma than plain Caddy's, which
# needs regexp2/v2), and plain `go mod download` skips those.
# Some graph entries are not served (e.g. versions only test-only modules
# name); the build reports what it really lacks, so those are not fatal here.
(cd "$repo" && go list -m -f '{{if not .Main}}{{.Path}}@{{.Version}}{{end}}' all | xargs go mod download) 2>"$bin/mod-download.log" ||
	echo "setup: some modules of the graph were not downloaded (see $bin/mod-download.log); the build below needs only some" >&2

step "npm clients (integration/clients: the official JS clients e2e drives)"
if ! command -v npm >/dev/null; then
	if [[ "${SKIP_APT:-0}" == 1 || $(id -u) != 0 ]]; then
		echo "setup: npm is missing (install nodejs and npm)" >&2
		exit 1
	fi
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nodejs npm
fi
if [[ ! -d "$integ/clients/node_modules" || "$integ/clients/package-lock.json" -nt "$integ/clients/node_modules" ]]; then
	(cd "$integ/clients" && npm ci --no-audit --no-fund --loglevel=error)
else
	echo "setup: integration/clients/node_modules is up to date"
fi

step "caddy with the module"
# xcaddy imports the package given to --with. Prefer the module root; while it
# has no Go package, import the handler's package and point the module at this
# checkout with --replace (the same replacement, said separately).
if [[ -z "${FEDERATE_PKG:-}" ]]; then
	if ls "$repo"/*.go 2>/dev/null | grep -qv '_test\.go$'; then
		FEDERATE_PKG=$MODULE
	else
		FEDERATE_PKG=$MODULE/caddyfederate
	fi
fi
out="$bin/caddy"
stale=1
if [[ -x "$out" && "${REBUILD:-0}" != 1 ]] && "$out" list-modules 2>/dev/null | grep -q '^http.handlers.federate$'; then
	stale=$(find "$repo" \( -path "$integ" -o -name node_modules -o -name .git \) -prune -o \
		\( -name '*.go' -o -name go.mod -o -name go.sum \) -newer "$out" -print | head -1 | wc -l)
fi
if [[ $stale == 0 ]]; then
	echo "setup: $out is up to date"
elif (cd "$repo" && GOPROXY=off GOFLAGS=-mod=mod xcaddy build "$CADDY_VERSION" \
	--with "$FEDERATE_PKG" --replace "$MODULE=$repo" --output "$out.tmp") >"$bin/xcaddy.log" 2>&1 &&
	"$out.tmp" list-modules | grep -q '^http.handlers.federate$'; then
	mv "$out.tmp" "$out"
	"$out" version
	echo "setup: built $out with $FEDERATE_PKG"
else
	rm -f "$out.tmp"
	tail -n 15 "$bin/xcaddy.log" >&2 || true
	echo "setup: caddy with $FEDERATE_PKG did not build, or lacks http.handlers.federate (log: $bin/xcaddy.log)" >&2
	# Until the handler registers itself this is expected: only the federate
	# tests need bin/caddy. Under CI it is an error.
	if [[ "${CI:-}" == true || "${STRICT:-0}" == 1 ]] || grep -rqs '"http.handlers.federate"' "$repo"/*.go "$repo"/caddyfederate/*.go; then
		exit 1
	fi
	echo "setup: WARNING: no package registers http.handlers.federate yet: only $plain is available" >&2
fi
step ""
echo "setup: total $(( $(date +%s) - t0 ))s"
