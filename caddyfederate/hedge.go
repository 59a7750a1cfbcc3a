package caddyfederate

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/searchfront/caddy-federate/dialect"
	"github.com/searchfront/caddy-federate/health"
)

// defaultHedgeBudget is the share of a shard's requests that may be
// hedged, in percent, when hedge gives no budget. "The Tail at Scale"
// (Dean & Barroso 2013) defers hedges to the p95, so about 5 % of requests
// hedge: the budget is a cap above that rate, for when a whole shard turns
// slow, not the operating point. At 5 % it was the operating point and
// starved the slow answers it exists for (integration/cmd/tailbench).
const defaultHedgeBudget = 10

// HedgeConfig sends a second request to another replica of a shard when
// the first has not answered after a delay; the first good answer wins and
// the other request is cancelled.
type HedgeConfig struct {
	// Fixed delay before the hedge. Ignored when Auto is set.
	Delay caddy.Duration `json:"delay,omitempty"`

	// Wait the shard's observed p95 latency (over the last minute, once
	// 50 answers have been seen; Delay, or 100ms, until then).
	Auto bool `json:"auto,omitempty"`

	// Largest share of the shard's requests that may be hedged, in
	// percent (plus a burst of 10). Default: 10, twice the rate `auto`
	// hedges at.
	Budget float64 `json:"budget,omitempty"`
}

// attempt is one request to one replica, for hedging.
type attempt struct {
	res   shardResult
	hedge bool
}

// callHedged sends the shard request and, if no answer came within the
// hedge delay, a second one that the selection policy routes to another
// replica. The first ok answer wins; the other is cancelled. A failed answer
// waits for the other attempt, if one is running.
//
// A hedge only pays when this shard is what the client waits for: while
// other shards of the fan-out are still out (out > 1), the hedge waits, up
// to twice the delay, for them to answer. Shards that merely pass their p95
// next to a slower one then send no hedge, and the budget is left for the
// stragglers.
func (h *Handler) callHedged(ctx context.Context, p *parentState, s *Shard, sreq *dialect.Request, out *atomic.Int32) shardResult {
	s.budget.Earn()
	ch := make(chan attempt, 2) // buffered: a losing attempt never blocks
	pctx, cancelPrimary := context.WithCancel(ctx)
	defer cancelPrimary()
	pctx, picks := health.WithPicks(pctx)
	// Attempts can outlive this call (a loser finishing its cancel), so
	// each counts as a shard call of its own.
	h.callStart()
	go func() {
		defer h.callDone()
		ch <- attempt{res: h.attemptShard(pctx, p, s, sreq, picks)}
	}()

	start, delay := time.Now(), s.hedgeDelay()
	timer := time.NewTimer(delay)
	defer timer.Stop()
	hctx, cancelHedge := context.WithCancel(ctx)
	defer cancelHedge()
	running, hedged := 1, false
	var last shardResult
	for running > 0 {
		select {
		case a := <-ch:
			running--
			last = a.res
			if a.res.report.Status == dialect.StatusOK || running == 0 {
				if a.hedge {
					hedgesWon.WithLabelValues(h.name(), s.Name).Inc()
				}
				return a.res
			}
		case <-timer.C:
			if hedged {
				continue
			}
			if out != nil && out.Load() > 1 && time.Since(start) < 2*delay {
				timer.Reset(max(delay/8, time.Millisecond))
				continue
			}
			if !s.budget.Allow() || !health.CanHedge(s.pool(), picks.Addrs()...) {
				continue
			}
			hedged = true
			running++
			hedgesSent.WithLabelValues(h.name(), s.Name).Inc()
			hctx, hpicks := health.WithPicks(health.WithExcluded(hctx, picks.Addrs()...))
			h.callStart()
			go func() {
				defer h.callDone()
				ch <- attempt{res: h.attemptShard(hctx, p, s, sreq, hpicks), hedge: true}
			}()
		}
	}
	return last
}

// hedgeDelay is how long the shard's first request runs alone.
func (s *Shard) hedgeDelay() time.Duration {
	fallback := time.Duration(s.Hedge.Delay)
	if fallback <= 0 {
		fallback = 100 * time.Millisecond
	}
	if s.Hedge.Auto {
		return health.HedgeDelay(s.tracker, fallback)
	}
	return fallback
}

// trackerKey names a shard's latency history so that it survives config
// reloads that keep the shard's name and replicas.
func (s *Shard) trackerKey() string {
	var dials []string
	if s.rp != nil {
		for _, u := range s.rp.Upstreams {
			dials = append(dials, u.Dial)
		}
	}
	sort.Strings(dials)
	return "federate/" + s.Name + "/" + strings.Join(dials, ",")
}

// parseHedge reads `hedge <delay>|auto|off [budget <percent>]`.
func parseHedge(args []string) (*HedgeConfig, error) {
	if len(args) == 0 {
		return nil, fmt.Errorf("hedge needs a delay, auto or off")
	}
	if args[0] == "off" {
		if len(args) > 1 {
			return nil, fmt.Errorf("hedge off takes no other argument")
		}
		return nil, nil
	}
	hc := new(HedgeConfig)
	if args[0] == "auto" {
		hc.Auto = true
	} else {
		d, err := caddy.ParseDuration(args[0])
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("hedge delay must be a positive duration, auto or off; got %q", args[0])
		}
		hc.Delay = caddy.Duration(d)
	}
	switch rest := args[1:]; {
	case len(rest) == 0:
	case len(rest) == 2 && rest[0] == "budget":
		var pct float64
		if _, err := fmt.Sscanf(strings.TrimSuffix(rest[1], "%"), "%g", &pct); err != nil || pct <= 0 || pct > 100 {
			return nil, fmt.Errorf("hedge budget must be a percentage in (0, 100], got %q", rest[1])
		}
		hc.Budget = pct
	default:
		return nil, fmt.Errorf("hedge takes `<delay>|auto [budget <percent>]`, got %v", args)
	}
	return hc, nil
}
