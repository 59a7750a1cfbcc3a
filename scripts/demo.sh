#!/usr/bin/env bash
# demo.sh: the caddy-federate demo, from a fresh checkout to a search page.
#
#   scripts/demo.sh          then open http://localhost:8080/ ; Ctrl-C stops everything
#
# What it does, each step skipped when already done:
#   1. builds Caddy with the federate module into integration/bin/caddy
#      (xcaddy, as the README's Building section; needs Go, uses the module proxy);
#   2. builds esshard (the integration suite's bleve shard server) and
#      integration/cmd/demo (the corpus builder);
#   3. builds the corpus: the Go standard library's doc comments from
#      $(go env GOROOT)/src, split into 3 JSONL files under demo/.data/corpus;
#   4. npm ci in demo/ (InstantSearch.js and instant-meilisearch, which the page uses);
#   5. starts 3 shards on loopback (logs in demo/.data/logs, pids in demo/.data/run):
#        es-bm25   127.0.0.1:9201  Elasticsearch API, BM25
#        es-tfidf  127.0.0.1:9202  Elasticsearch API, TF-IDF
#        meili     127.0.0.1:7701  Meilisearch API, BM25
#   6. runs integration/bin/caddy run --config Caddyfile.example (site on 127.0.0.1:8080).
#
# Needs Go (1.26) and, if missing, installs Node.js/npm with apt-get (root).
# Environment: DEMO_READY_TIMEOUT (seconds to wait for shards and Caddy, default 90).
set -euo pipefail

t0=$(date +%s%N)
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
integ=$repo/integration
bin=$integ/bin
data=$repo/demo/.data
ready_timeout=${DEMO_READY_TIMEOUT:-90}
CADDY_VERSION=v2.11.9
MODULE=github.com/searchfront/caddy-federate
XCADDY_VERSION=v0.4.5

say() { echo "demo: $*" >&2; }
die() { say "error: $*"; exit 1; }
elapsed() { echo "$(( ($(date +%s%N) - t0) / 1000000 ))ms"; }
cd "$repo"

# The shards: name, port, esshard scoring model. Caddyfile.example names the
# same addresses; change both together.
shards=(es-bm25:9201:bm25 es-tfidf:9202:tfidf meili:7701:bm25)
site_port=8080

# 0. Tools.
command -v go >/dev/null || die "Go is not on PATH (https://go.dev/dl/); this module needs Go 1.26"
if ! command -v npm >/dev/null; then
	[[ $(id -u) == 0 ]] || die "npm is missing; install Node.js and npm (apt-get install nodejs npm)"
	say "installing Node.js and npm with apt-get"
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for p in "$site_port" 2019 "${shards[@]}"; do
	p=${p#*:}; p=${p%%:*}
	port_busy "$p" && die "127.0.0.1:$p is already in use (another demo running?); stop it first"
done

# 1. Caddy with the module, built as integration/scripts/setup.sh does: the
# module is not published, so xcaddy imports its caddyfederate package with
# --replace pointing the module path at this checkout, under GOPROXY=off (the
# proxy cannot know the module). On a cold module cache a plain Caddy build
# through the proxy first fetches everything else.
caddy=$bin/caddy
mkdir -p "$bin"
stale=1
if [[ -x $caddy ]] && "$caddy" list-modules 2>/dev/null | grep -q '^http.handlers.federate$'; then
	stale=$(find "$repo" \( -path "$integ" -o -path "$repo/demo" -o -path "$repo/.git" \) -prune -o \
		\( -name '*.go' -o -name go.mod -o -name go.sum \) -newer "$caddy" -print | head -1 | wc -l)
fi
build_caddy() {
	(cd "$repo" && GOPROXY=off GOFLAGS=-mod=mod XCADDY_RACE_DETECTOR=0 "$xcaddy" build "$CADDY_VERSION" \
		--with "$MODULE/caddyfederate" --replace "$MODULE=$repo" --output "$caddy.tmp") >"$bin/xcaddy-demo.log" 2>&1
}
if [[ $stale != 0 ]]; then
	say "building $caddy (Caddy $CADDY_VERSION + federate; a cold build takes a few minutes)"
	xcaddy=$(go env GOPATH)/bin/xcaddy
	[[ -x $xcaddy ]] || go install "github.com/caddyserver/xcaddy/cmd/xcaddy@$XCADDY_VERSION"
	if ! build_caddy; then
		say "filling the Go module cache (plain Caddy build through the module proxy)"
		(cd "$repo" && go mod download && XCADDY_RACE_DETECTOR=0 "$xcaddy" build "$CADDY_VERSION" \
			--output "$bin/caddy-plain.tmp") >"$bin/xcaddy-plain-demo.log" 2>&1 ||
			{ tail -n 20 "$bin/xcaddy-plain-demo.log" >&2; die "plain Caddy build failed (log: $bin/xcaddy-plain-demo.log)"; }
		rm -f "$bin/caddy-plain.tmp"
		build_caddy || { tail -n 20 "$bin/xcaddy-demo.log" >&2; die "xcaddy build failed (log: $bin/xcaddy-demo.log)"; }
	fi
	mv "$caddy.tmp" "$caddy"
fi

# 2. The shard server and the corpus builder (Go's build cache makes this
# quick after the first time).
say "building esshard and the corpus builder ($(elapsed))"
(cd "$integ" && go build -o "$bin/esshard" ./cmd/esshard && go build -o "$bin/demo" ./cmd/demo)

# 3. The corpus (about 5,000 documents; a second).
mkdir -p "$data/logs" "$data/run"
rm -f "$data"/run/*
"$bin/demo" -goroot "$(go env GOROOT)" -out "$data/corpus" -shards ${#shards[@]}

# 4. The page's libraries (InstantSearch.js, instant-meilisearch), from the lock file.
if [[ ! -d $repo/demo/node_modules/instantsearch.js || $repo/demo/package-lock.json -nt $repo/demo/node_modules/.package-lock.json ]]; then
	say "npm ci in demo/"
	(cd "$repo/demo" && npm ci --no-audit --no-fund --loglevel=error)
fi

# 5. The shards, in the background; stopped by the trap below however this
# script ends (Ctrl-C, kill, or an error).
pids=()
caddy_pid=
cleanup() {
	trap - INT TERM EXIT
	[[ -n $caddy_pid ]] && kill "$caddy_pid" 2>/dev/null || true
	for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -f "$data"/run/*
	say "stopped"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

for i in "${!shards[@]}"; do
	IFS=: read -r name port scoring <<<"${shards[$i]}"
	rm -rf "$data/index/$name"
	mkdir -p "$data/index"
	"$bin/esshard" -addr "127.0.0.1:$port" -index godoc -scoring "$scoring" \
		-text name,body -keyword id,kind,section,pkg \
		-dir "$data/index/$name" -load "$data/corpus/shard-$i.jsonl" \
		>"$data/logs/$name.log" 2>&1 &
	pids+=($!)
	echo $! >"$data/run/$name.pid"
done
say "started shards ${shards[*]%:*} after $(elapsed) (logs: demo/.data/logs/)"

# wait_for URL [BODY]: polls until the URL answers 200, within the timeout.
wait_for() {
	local deadline=$(( $(date +%s) + ready_timeout ))
	until node -e '
		const [url, body] = process.argv.slice(1);
		fetch(url, body ? {method: "POST", body, headers: {"Content-Type": "application/json"}} : {})
			.then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1));' "$@" 2>/dev/null; do
		for pid in "${pids[@]}" $caddy_pid; do
			kill -0 "$pid" 2>/dev/null || die "a demo process exited early; see demo/.data/logs/"
		done
		(( $(date +%s) < deadline )) || die "$1 did not answer within ${ready_timeout}s"
		sleep 0.2
	done
}
for s in "${shards[@]}"; do
	IFS=: read -r name port _ <<<"$s"
	wait_for "http://127.0.0.1:$port/health"
done
say "shards ready after $(elapsed)"

# 6. Caddy, in the foreground as far as you are concerned: its log goes to
# this terminal. It runs as a child so that the trap can stop the shards too.
"$caddy" run --config Caddyfile.example --adapter caddyfile &
caddy_pid=$!
echo "$caddy_pid" >"$data/run/caddy.pid"
wait_for "http://127.0.0.1:$site_port/indexes/godoc/search" '{"q":"http client"}'
echo "$(elapsed)" >"$data/run/ready"
say "ready after $(elapsed): open http://localhost:$site_port/  (Ctrl-C stops Caddy and the shards)"
say "try: curl -s localhost:$site_port/indexes/godoc/search -H 'Content-Type: application/json' -d '{\"q\":\"parse url\"}'"
wait "$caddy_pid" || true
caddy_pid=
say "caddy exited"
