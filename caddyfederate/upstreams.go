package caddyfederate

import (
	"context"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp/reverseproxy"
)

// A shard's replicas are its reverse_proxy's upstreams. Static ones are
// provisioned with the proxy. Dynamic ones (`dynamic a|srv|multi ...`) are
// looked up by the proxy on every request and provisioned there, with the
// health state Caddy keeps per address; nothing outside the request holds
// them. Federate needs them outside the request: to answer a shard whose
// replicas are all down `unavailable` at once, to hedge only when another
// replica can take the hedge, and to list the replicas in /federate/status.
// So it keeps the pool the proxy last chose a replica from (poolRecorder)
// and asks the upstream source which addresses are current.

// poolRecorder wraps a dynamic shard's selection policy and keeps the pool
// of upstreams the proxy last chose from, as Caddy provisioned them.
type poolRecorder struct {
	next reverseproxy.Selector
	last atomic.Pointer[reverseproxy.UpstreamPool]
}

// Select records pool and lets the wrapped policy choose.
func (p *poolRecorder) Select(pool reverseproxy.UpstreamPool, r *http.Request, w http.ResponseWriter) *reverseproxy.Upstream {
	p.last.Store(&pool)
	return p.next.Select(pool, r, w)
}

// recordDynamicPool makes the shard remember the dynamic upstreams its proxy
// chooses from; a shard with static upstreams only needs nothing.
func (s *Shard) recordDynamicPool(rp *reverseproxy.Handler) {
	if rp.DynamicUpstreams == nil {
		return
	}
	s.dynamic = &poolRecorder{next: rp.LoadBalancing.SelectionPolicy}
	rp.LoadBalancing.SelectionPolicy = s.dynamic
}

// pool is the set of replicas the shard's proxy chooses from: its static
// upstreams, or the dynamic upstreams it chose from last (none before its
// first request).
func (s *Shard) pool() reverseproxy.UpstreamPool {
	switch {
	case s.rp == nil:
		return nil
	case s.dynamic == nil:
		return s.rp.Upstreams
	}
	if p := s.dynamic.last.Load(); p != nil {
		return *p
	}
	return nil
}

// availableUpstreams counts the shard's replicas that can take a request
// now (healthy and under their request limit, as Caddy judges them). known
// is false when federate cannot tell: the shard is not a reverse_proxy, its
// dynamic source fails or names an address the proxy has not chosen from
// yet. r gives the dynamic source its placeholders.
func (s *Shard) availableUpstreams(r *http.Request) (n int, known bool) {
	if s.rp == nil {
		return 0, false
	}
	if s.dynamic == nil {
		for _, u := range s.rp.Upstreams {
			if u.Available() {
				n++
			}
		}
		return n, len(s.rp.Upstreams) > 0
	}
	seen := s.pool()
	if len(seen) == 0 {
		return 0, false
	}
	// The proxy falls back to its static upstreams when the source fails.
	current, err := s.rp.DynamicUpstreams.GetUpstreams(r)
	if err != nil || len(current) == 0 {
		return 0, false
	}
	for _, c := range current {
		u := findUpstream(seen, c.Dial)
		if u == nil {
			return 0, false
		}
		if u.Available() {
			n++
		}
	}
	return n, true
}

func findUpstream(pool reverseproxy.UpstreamPool, dial string) *reverseproxy.Upstream {
	for _, u := range pool {
		if u.Dial == dial {
			return u
		}
	}
	return nil
}

// statusLookupTimeout bounds the dynamic source look-up of a
// /federate/status request.
const statusLookupTimeout = 2 * time.Second

// upstreamStatuses lists the shard's replicas for /federate/status: static
// upstreams, or the current addresses of the dynamic source with the state
// of those the proxy has chosen from (an address it has not tried yet is
// listed as healthy with no requests, which is how Caddy starts it).
func (s *Shard) upstreamStatuses() (list []upstreamStatus, dynErr string) {
	list = []upstreamStatus{}
	if s.rp == nil {
		return list, ""
	}
	if s.dynamic == nil {
		for _, u := range s.rp.Upstreams {
			list = append(list, statusOf(u, u, false))
		}
		return list, ""
	}
	ctx, cancel := context.WithTimeout(context.Background(), statusLookupTimeout)
	defer cancel()
	ctx = context.WithValue(ctx, caddy.ReplacerCtxKey, caddy.NewReplacer())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "/", nil)
	seen := s.pool()
	current, err := s.rp.DynamicUpstreams.GetUpstreams(req)
	if err != nil {
		// What the proxy last chose from is the best there is.
		dynErr, current = err.Error(), seen
	}
	for _, c := range current {
		list = append(list, statusOf(c, findUpstream(seen, c.Dial), true))
	}
	return list, dynErr
}

// statusOf describes upstream u; state holds Caddy's health record of it
// (nil when the proxy has not provisioned that address yet).
func statusOf(u, state *reverseproxy.Upstream, dynamic bool) upstreamStatus {
	st := upstreamStatus{Address: u.String(), Dynamic: dynamic, Healthy: true, Available: true}
	if state == nil || state.Host == nil {
		return st
	}
	st.Healthy, st.Available = state.Healthy(), state.Available()
	st.NumRequests, st.Fails = state.Host.NumRequests(), state.Host.Fails()
	return st
}
