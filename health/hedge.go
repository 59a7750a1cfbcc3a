package health

import (
	"slices"
	"time"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp/reverseproxy"
)

// MinSamples is how many successful calls in the last minute HedgeDelay needs
// before it trusts the observed p95 over the fallback.
const MinSamples = 50

// HedgeDelay returns how long to wait for a shard's answer before sending a
// hedge: the p95 latency of the shard's successful calls over the last minute
// (so about 5 % of requests hedge), or fallback when t is nil or has fewer
// than MinSamples calls. The value is recomputed at most once a second, so
// calling it per request is cheap.
func HedgeDelay(t *Tracker, fallback time.Duration) time.Duration {
	if t == nil {
		return fallback
	}
	q := t.summary(nanotime())
	if q.n < MinSamples {
		return fallback
	}
	return q.p95
}

// CanHedge reports whether pool has an available upstream other than those
// in exclude. When it does not, a hedge has nowhere to go: reverse_proxy
// would find no upstream and retry until its try_duration, so do not send it.
func CanHedge(pool reverseproxy.UpstreamPool, exclude ...string) bool {
	for _, u := range pool {
		if u.Available() && !slices.Contains(exclude, u.String()) {
			return true
		}
	}
	return false
}
