// Command loadbench measures what federate costs under load, next to a
// plain reverse_proxy, with wrk.
//
//	cd integration && go run ./cmd/loadbench [-rounds 5] [-duration 7s] [-backends fixed,bleve] [-md FILE]
//
// It builds a corpus from the machine's Debian package lists (package corpus:
// id, title, long description, section, tags) and splits it by hash into
// three parts. Two backends serve the parts, three shards each:
//
//	fixed   loadbench itself (-serve-fixed), one port per part, answering every
//	        search with the same Meilisearch answer of 10 of the part's
//	        documents (about 6 KB, with _rankingScore) in microseconds, so
//	        that only the proxy's own cost shows
//	bleve   one esshard (bleve, BM25) per part: a real search per request
//
// Part 0's shard is "the shard". One caddy process (bin/caddy, built by
// scripts/setup.sh, which loadbench runs when the binary is missing or older
// than the plugin's sources) serves every proxied target on its own loopback
// port, each a site with the same route shape (no matcher: every request
// goes to the handler). Per backend:
//
//	direct       wrk → the shard's Meilisearch route, no caddy
//	rp           caddy `reverse_proxy <shard>`
//	fed1         caddy `federate { dialect meilisearch; coalesce off; shard s0 <shard> }`
//	fed3         the same over the three shards
//	fed3-co      fed3 with coalescing on (only with -coalesce-row)
//
// Every target gets the same sequence of requests, POST
// /indexes/docs/search with the JSON body -body, where {{q}} becomes a
// query of three words of its own for every request (a wrk Lua script;
// keep-alive; -threads, -connections, -duration): distinct queries, as a
// real workload sends, so coalescing has nothing to share and is off on
// fed1 and fed3. The default body asks for "showRankingScore":true, which
// federate asks every shard for, so the shard does the same work behind
// direct, rp and federate.
//
// The targets run in interleaved rounds: every round runs each target once,
// the order rotated by one each round, so machine noise hits all alike. Around
// every wrk run, the CPU time (utime+stime from /proc/<pid>/stat) of caddy and
// of the backend processes is read; divided by the requests wrk counted,
// that is the CPU per request, caddy's alone (the proxy's or federate's
// cost) and caddy+shards. wrk's own CPU (its rusage) is shown apart. The
// report gives medians across rounds and ratios to rp of the same backend,
// each ratio the median of the per-round ratios (paired within a round).
//
// When federate's throughput ratios on the first backend miss their targets
// (fed1/rp ≥ 0.85, fed3/rp ≥ 0.30) or with -profile always, caddy is
// profiled through its admin endpoint (/debug/pprof/profile) during a fed1
// run, and during an rp run for comparison, and the top functions (go tool
// pprof -top, by flat and by cum) are printed.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/searchfront/caddy-federate/integration/internal/benchproc"
)

type options struct {
	rounds      int
	duration    time.Duration
	warmup      time.Duration
	threads     int
	connections int
	docs        int
	body        string
	coalesceRow bool
	backends    []string
	profile     string
	profileSecs int
	caddy       string
	before      string // a second caddy binary whose targets run interleaved with caddy's
	esshard     string
	noRebuild   bool
	md          string
	keep        string
}

func main() {
	var o options
	var backends, serveFixedFile string
	flag.StringVar(&serveFixedFile, "serve-fixed", "", "internal: run as the fixed backend, writing its addresses to this file; arguments: the corpus parts (JSONL)")
	flag.StringVar(&backends, "backends", "fixed,bleve", "backends to measure, comma-separated: fixed, bleve; the first is profiled")
	flag.IntVar(&o.rounds, "rounds", 5, "rounds; each runs every target once, in a rotated order")
	flag.DurationVar(&o.duration, "duration", 7*time.Second, "wrk -d per target and round (whole seconds)")
	flag.DurationVar(&o.warmup, "warmup", 2*time.Second, "unmeasured wrk run per target before the first round")
	flag.IntVar(&o.threads, "threads", 2, "wrk -t")
	flag.IntVar(&o.connections, "connections", 16, "wrk -c (keep-alive connections)")
	flag.IntVar(&o.docs, "docs", 9000, "Debian packages in the corpus (split by hash into 3 shards)")
	// showRankingScore: federate asks every shard for it, and esshard builds
	// it by re-encoding each hit; asking for it on every target gives the
	// shard the same work behind direct, rp and fed1.
	flag.StringVar(&o.body, "body", `{"q":"{{q}}","limit":10,"showRankingScore":true}`, "JSON body of every request (Meilisearch search); {{q}} becomes a query of its own per request")
	flag.BoolVar(&o.coalesceRow, "coalesce-row", false, "also measure fed3 with coalescing on (fed3-co)")
	flag.StringVar(&o.profile, "profile", "auto", "profile caddy during fed1 and rp runs: auto (when a throughput target is missed), always, never")
	flag.IntVar(&o.profileSecs, "profile-seconds", 6, "length of each CPU profile")
	flag.StringVar(&o.caddy, "caddy", "", "caddy binary with the federate module (default $CADDY_BIN or bin/caddy)")
	flag.StringVar(&o.before, "before", "", "a second caddy binary (an earlier build of the plugin): its rp, fed1 and fed3 targets run in the same rounds as the others, keyed <backend>-before, for a before/after comparison on the same noise")
	flag.StringVar(&o.esshard, "esshard", "", "esshard binary (default: go build ./cmd/esshard, falling back to bin/esshard)")
	flag.BoolVar(&o.noRebuild, "no-rebuild", false, "use bin/caddy even when it is older than the plugin's sources")
	flag.StringVar(&o.md, "md", "", "also write the results as Markdown to this file")
	flag.StringVar(&o.keep, "keep", "", "copy the CPU profiles (.pprof) into this directory")
	flag.Parse()
	if serveFixedFile != "" {
		if err := serveFixed(serveFixedFile, flag.Args()); err != nil {
			fmt.Fprintln(os.Stderr, "loadbench -serve-fixed:", err)
			os.Exit(1)
		}
		return
	}
	for _, b := range strings.Split(backends, ",") {
		if b = strings.TrimSpace(b); b != "fixed" && b != "bleve" {
			fmt.Fprintf(os.Stderr, "loadbench: unknown backend %q in -backends; use fixed, bleve or both\n", b)
			os.Exit(2)
		}
		o.backends = append(o.backends, strings.TrimSpace(b))
	}
	if o.rounds < 1 || o.duration < time.Second || o.threads < 1 || o.connections < o.threads || o.docs < 30 ||
		o.profileSecs < 1 || (o.profile != "auto" && o.profile != "always" && o.profile != "never") {
		fmt.Fprintln(os.Stderr, "loadbench: need -rounds ≥ 1, -duration ≥ 1s, -threads ≥ 1, -connections ≥ -threads, -docs ≥ 30, -profile auto|always|never")
		os.Exit(2)
	}

	benchproc.Main("loadbench", func(ctx context.Context) error { return run(ctx, o) })
}
