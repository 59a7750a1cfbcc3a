package health

import (
	"context"
	"net/http"
	"slices"
	"sync"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp/reverseproxy"
)

// ctxKey keys this package's request context values.
type ctxKey int

const (
	excludedKey ctxKey = iota
	picksKey
)

// WithExcluded returns a copy of ctx in which the upstreams at addrs (dial
// addresses, as [reverseproxy.Upstream.String] gives them) may not be chosen,
// in addition to any ctx already excludes. [ExcludingSelector] and
// [LatencySelection] honour it; give it to the hedge's request so the hedge
// goes to another replica than the primary.
func WithExcluded(ctx context.Context, addrs ...string) context.Context {
	if len(addrs) == 0 {
		return ctx
	}
	return context.WithValue(ctx, excludedKey, slices.Concat(Excluded(ctx), addrs))
}

// Excluded returns the addresses ctx excludes, or nil.
func Excluded(ctx context.Context) []string {
	ex, _ := ctx.Value(excludedKey).([]string)
	return ex
}

// Picks records the upstreams chosen for a request, in order (several when
// reverse_proxy retries). Its methods are safe for concurrent use, so the
// goroutine that decides on a hedge can read what the primary's goroutine is
// still writing.
type Picks struct {
	mu    sync.Mutex
	addrs []string
}

// WithPicks returns a copy of ctx in which [ExcludingSelector] and
// [LatencySelection] record their choices, and the record.
func WithPicks(ctx context.Context) (context.Context, *Picks) {
	p := new(Picks)
	return context.WithValue(ctx, picksKey, p), p
}

// Addrs returns the addresses picked so far.
func (p *Picks) Addrs() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.addrs)
}

// Last returns the address picked last, the one serving the request, or "".
func (p *Picks) Last() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.addrs) == 0 {
		return ""
	}
	return p.addrs[len(p.addrs)-1]
}

// record notes u as picked for r, if r asked for picks to be recorded.
func record(r *http.Request, u *reverseproxy.Upstream) {
	if u == nil || r == nil {
		return
	}
	p, _ := r.Context().Value(picksKey).(*Picks)
	if p == nil {
		return
	}
	p.mu.Lock()
	p.addrs = append(p.addrs, u.String())
	p.mu.Unlock()
}

// ExcludingSelector wraps a selection policy so it never chooses an upstream
// the request context excludes ([WithExcluded]) and records its choices
// ([WithPicks]). Without exclusions it calls Inner on the whole pool. With
// them (a hedge) it does not call Inner at all: it takes the available,
// not excluded upstream with the fewest requests in flight (the first in
// the pool on a tie). Inner's state (round_robin's counter,
// weighted_round_robin's position) is then only moved by primaries, so
// the primaries' sequence of replicas is the same with hedging on or off.
// It is not a Caddy module: install it in Go on a provisioned reverse_proxy
// handler with [Wrap].
type ExcludingSelector struct {
	// Inner is the policy choosing among the allowed upstreams; nil means
	// random, reverse_proxy's default.
	Inner reverseproxy.Selector
}

// Select returns an available upstream that r's context does not exclude, as
// Inner chooses it, or nil.
func (s ExcludingSelector) Select(pool reverseproxy.UpstreamPool, r *http.Request, w http.ResponseWriter) *reverseproxy.Upstream {
	inner := s.Inner
	if inner == nil {
		inner = reverseproxy.RandomSelection{}
	}
	var u *reverseproxy.Upstream
	if ex := Excluded(r.Context()); len(ex) > 0 {
		u = leastBusy(pool, ex)
	} else {
		u = inner.Select(pool, r, w)
	}
	record(r, u)
	return u
}

// leastBusy returns the available upstream not in ex with the fewest
// requests in flight, the first in pool order on a tie, or nil. It keeps
// no state.
func leastBusy(pool reverseproxy.UpstreamPool, ex []string) *reverseproxy.Upstream {
	var best *reverseproxy.Upstream
	bestN := 0
	for _, u := range pool {
		if !u.Available() || slices.Contains(ex, u.String()) {
			continue
		}
		n := 0
		if u.Host != nil {
			n = u.NumRequests()
		}
		if best == nil || n < bestN {
			best, bestN = u, n
		}
	}
	return best
}

// Wrap returns sel made to honour exclusions and record picks: sel itself if
// it already does ([LatencySelection], [ExcludingSelector]), else sel wrapped
// in an ExcludingSelector. The federate handler calls it on each shard's
// provisioned proxy, before serving:
//
//	p.LoadBalancing.SelectionPolicy = health.Wrap(p.LoadBalancing.SelectionPolicy)
func Wrap(sel reverseproxy.Selector) reverseproxy.Selector {
	switch sel.(type) {
	case ExcludingSelector, *ExcludingSelector, *LatencySelection:
		return sel
	}
	return ExcludingSelector{Inner: sel}
}

// Interface guard.
var _ reverseproxy.Selector = ExcludingSelector{}
