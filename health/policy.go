package health

import (
	"fmt"
	weakrand "math/rand/v2"
	"net/http"
	"slices"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp/reverseproxy"
)

func init() {
	caddy.RegisterModule(LatencySelection{})
}

// DefaultRTT is the latency LatencySelection assumes for an upstream with no
// recorded calls: low, so that a new replica is tried at once and measured.
const DefaultRTT = time.Millisecond

// LatencySelection is a selection policy that picks two available upstreams
// at random and sends the request to the one with the lower cost, its peak-EWMA
// latency × (in-flight requests + 1), as Finagle's and Linkerd's balancers do.
// A replica that turns slow loses its traffic after one slow answer and wins
// it back gradually; load still spreads, since a busy replica costs more.
//
// Latencies come from the calls that federate records with [Tracker.Observe]:
// reverse_proxy does not tell selection policies how long requests took. Used
// outside a federate shard, every upstream costs DefaultRTT and the policy is
// power-of-two-choices over in-flight requests. It never chooses an upstream
// that is unavailable or that the request context excludes ([WithExcluded]),
// and it records its choices ([WithPicks]).
type LatencySelection struct {
	// How quickly an upstream's latency estimate, as this policy reads it,
	// decays toward zero while no new latency is recorded for it, so that a
	// replica that was slow gets tried again: after one Tau the estimate
	// weighs 37 %, after three 5 %. (New latencies are blended into the
	// estimate with a fixed 10s time constant.) Default: 10s.
	Tau caddy.Duration `json:"tau,omitempty"`

	// The latency assumed for an upstream without recorded calls.
	// Default: 1ms.
	DefaultRTT caddy.Duration `json:"default_rtt,omitempty"`
}

// CaddyModule returns the Caddy module information.
func (LatencySelection) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.reverse_proxy.selection_policies.latency",
		New: func() caddy.Module { return new(LatencySelection) },
	}
}

// Provision sets defaults.
func (s *LatencySelection) Provision(caddy.Context) error {
	if s.Tau == 0 {
		s.Tau = caddy.Duration(DefaultTau)
	}
	if s.DefaultRTT == 0 {
		s.DefaultRTT = caddy.Duration(DefaultRTT)
	}
	return nil
}

// Validate rejects durations that cannot work.
func (s *LatencySelection) Validate() error {
	if s.Tau <= 0 {
		return fmt.Errorf("tau must be positive, got %v", time.Duration(s.Tau))
	}
	if s.DefaultRTT < 0 {
		return fmt.Errorf("default_rtt must not be negative, got %v", time.Duration(s.DefaultRTT))
	}
	return nil
}

// Select returns the cheaper of two random available, non-excluded upstreams;
// the only one if one qualifies; nil if none does.
func (s *LatencySelection) Select(pool reverseproxy.UpstreamPool, r *http.Request, _ http.ResponseWriter) *reverseproxy.Upstream {
	var ex []string
	if r != nil {
		ex = Excluded(r.Context())
	}
	var buf [16]*reverseproxy.Upstream
	cands := buf[:0]
	for _, u := range pool {
		if u.Available() && !slices.Contains(ex, u.String()) {
			cands = append(cands, u)
		}
	}
	var u *reverseproxy.Upstream
	switch n := len(cands); n {
	case 0:
		return nil
	case 1:
		u = cands[0]
	default:
		i, j := weakrand.IntN(n), weakrand.IntN(n-1) //nolint:gosec // load balancing, not security
		if j >= i {
			j++
		}
		u = s.cheaper(cands[i], cands[j], nanotime())
	}
	record(r, u)
	return u
}

// cheaper returns whichever of a and b costs less at now, a on a tie (the
// caller drew a and b at random, so ties split evenly).
func (s *LatencySelection) cheaper(a, b *reverseproxy.Upstream, now int64) *reverseproxy.Upstream {
	if s.cost(b, now) < s.cost(a, now) {
		return b
	}
	return a
}

// cost is the expected wait at u: its latency estimate × (in-flight + 1).
func (s *LatencySelection) cost(u *reverseproxy.Upstream, now int64) float64 {
	tau, rtt := float64(s.Tau), float64(s.DefaultRTT)
	if tau <= 0 {
		tau = float64(DefaultTau)
	}
	if rtt <= 0 {
		rtt = float64(DefaultRTT)
	}
	if rec := lookup(u.String()); rec != nil && rec.requests.Load() > 0 {
		rtt = rec.ewma.value(now, tau)
	}
	var inflight int
	if u.Host != nil {
		inflight = u.NumRequests()
	}
	return rtt * float64(inflight+1)
}

// UnmarshalCaddyfile sets up the policy from Caddyfile tokens. Syntax:
//
//	lb_policy latency [tau <duration>] [default_rtt <duration>]
//
// or with the options in a block:
//
//	lb_policy latency {
//		tau         <duration>
//		default_rtt <duration>
//	}
func (s *LatencySelection) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // consume policy name
	seen := make(map[string]bool)
	option := func(name string) error {
		if name != "tau" && name != "default_rtt" {
			return d.Errf("unrecognized latency policy option '%s'", name)
		}
		if seen[name] {
			return d.Errf("%s already specified", name)
		}
		seen[name] = true
		if !d.NextArg() {
			return d.ArgErr()
		}
		dur, err := caddy.ParseDuration(d.Val())
		if err != nil {
			return d.Errf("bad %s duration '%s': %v", name, d.Val(), err)
		}
		if name == "tau" {
			s.Tau = caddy.Duration(dur)
		} else {
			s.DefaultRTT = caddy.Duration(dur)
		}
		return nil
	}
	for d.NextArg() {
		if err := option(d.Val()); err != nil {
			return err
		}
	}
	for d.NextBlock(0) {
		if err := option(d.Val()); err != nil {
			return err
		}
		if d.NextArg() {
			return d.ArgErr()
		}
	}
	return nil
}

// Interface guards.
var (
	_ caddy.Provisioner     = (*LatencySelection)(nil)
	_ caddy.Validator       = (*LatencySelection)(nil)
	_ reverseproxy.Selector = (*LatencySelection)(nil)
	_ caddyfile.Unmarshaler = (*LatencySelection)(nil)
)
