// Command tailbench measures federate's tail latency with a slow replica,
// with and without hedged requests.
//
//	cd integration && go run ./cmd/tailbench [-requests N] [-concurrency C]
//
// It starts 3 shards × 2 replicas of esshard (the same generated documents on
// both replicas of a shard) and one caddy (bin/caddy, built by
// scripts/setup.sh, which it runs when the binary is missing) with an
// Elasticsearch-dialect federate route, lb_policy round_robin per shard. One
// replica of shard s0 is slowed through esshard's fault API: slow_share 0.1,
// slow_ms 200 (10 % of its answers, spread evenly, take 200 ms more). The
// scenarios are separate sites (one loopback port each) in the one config of
// the one caddy process, and run in interleaved rounds (the order rotates
// every round), so machine noise hits them alike:
//
//	a   baseline: no slow replica, hedging off
//	b   slow replica, hedging off
//	c…  slow replica, hedge <fixed delay> (-hedge-delay, default 10ms,20ms)
//	d   slow replica, hedge auto
//
// Scenario switches only toggle the fault and the port the clients use; no
// reload happens between rounds. A reload would drop the latency history of
// shards absent from the new config (it lives in a caddy.UsagePool) and
// refill every hedge budget, neither of which a running deployment sees.
// Every scenario names its shards with its own prefix (a-s0, b-s0, ...), so
// each keeps its own latency history (what `hedge auto` reads), hedge budget
// and hedge counters.
//
// Each round sends warm-up requests (not measured), then -requests requests
// from -concurrency closed-loop clients, timing each one client-side.
// Upstream requests per replica come from esshard's GET /_stats (a hedge that
// reached its replica counts, even if it was cancelled); hedges sent and won
// from caddy's caddy_federate_hedges_sent_total and _won_total.

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
	requests    int
	concurrency int
	rounds      int
	warmup      int
	docs        int
	hedgeDelays []time.Duration
	autoBudgets []float64
	slowShare   float64
	slowMS      int
	caddy       string
	esshard     string
	md          string
}

func main() {
	var o options
	flag.IntVar(&o.requests, "requests", 1000, "measured requests per round and scenario")
	flag.IntVar(&o.concurrency, "concurrency", 2, "closed-loop clients")
	flag.IntVar(&o.rounds, "rounds", 5, "rounds; each runs every scenario once, in a rotated order")
	flag.IntVar(&o.warmup, "warmup", 100, "unmeasured requests after each config load")
	flag.IntVar(&o.docs, "docs", 2000, "generated documents per shard")
	flag.Func("hedge-delay", "comma-separated fixed hedge delays, one scenario c each (default 10ms,20ms)", func(v string) error {
		o.hedgeDelays = nil
		for _, p := range strings.Split(v, ",") {
			d, err := time.ParseDuration(strings.TrimSpace(p))
			if err != nil || d <= 0 {
				return fmt.Errorf("want positive durations, got %q", p)
			}
			o.hedgeDelays = append(o.hedgeDelays, d)
		}
		return nil
	})
	flag.Float64Var(&o.slowShare, "slow-share", 0.1, "share of the slow replica's answers that are slowed")
	flag.IntVar(&o.slowMS, "slow-ms", 200, "extra latency of a slowed answer, ms")
	flag.Func("auto-budget", "comma-separated hedge budgets (percent): one extra scenario `hedge auto budget <b>` each (diagnostic; default none)", func(v string) error {
		for _, p := range strings.Split(v, ",") {
			var b float64
			if _, err := fmt.Sscanf(strings.TrimSpace(p), "%g", &b); err != nil || b <= 0 || b > 100 {
				return fmt.Errorf("want percentages in (0, 100], got %q", p)
			}
			o.autoBudgets = append(o.autoBudgets, b)
		}
		return nil
	})
	flag.StringVar(&o.caddy, "caddy", "", "caddy binary with the federate module (default $CADDY_BIN or bin/caddy)")
	flag.StringVar(&o.esshard, "esshard", "", "esshard binary (default: go build ./cmd/esshard, falling back to bin/esshard)")
	flag.StringVar(&o.md, "md", "", "also write the results as Markdown to this file")
	flag.Parse()
	if o.hedgeDelays == nil {
		o.hedgeDelays = []time.Duration{10 * time.Millisecond, 20 * time.Millisecond}
	}
	if o.requests < 1 || o.concurrency < 1 || o.rounds < 1 || o.docs < 10 {
		fmt.Fprintln(os.Stderr, "tailbench: -requests, -concurrency, -rounds must be ≥ 1 and -docs ≥ 10")
		os.Exit(2)
	}

	benchproc.Main("tailbench", func(ctx context.Context) error { return run(ctx, o) })
}
