package health

import (
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// pruneAfter is how long an address may go without calls before a Tracker
// forgets it (checked when a new address shows up, so without a goroutine).
// It keeps dynamic upstreams (SRV, A records) from growing a Tracker forever.
const pruneAfter = 10 * time.Minute

// summaryTTL is how long a Tracker reuses its computed quantiles for hedging.
const summaryTTL = time.Second

// upstream is the record of one upstream address. It is shared by every
// Tracker that observes the address and read by the latency policy.
type upstream struct {
	addr     string
	ewma     peakEWMA
	lat      histogram // successful calls only
	inflight atomic.Int64
	requests atomic.Uint64
	failures atomic.Uint64
	last     atomic.Int64 // nanotime of the last call
}

// observe records one call that ended at now.
func (u *upstream) observe(now int64, d time.Duration, ok bool) {
	u.requests.Add(1)
	u.last.Store(now)
	rtt := float64(d)
	if ok {
		u.lat.record(now, d)
	} else {
		u.failures.Add(1)
		rtt = failureCost(u.ewma.value(now, float64(DefaultTau)), rtt)
	}
	u.ewma.observe(now, rtt, float64(DefaultTau))
}

// addrs is the package-level table of upstream records, keyed by address and
// reference-counted by the Trackers that use them. Readers (the latency policy,
// Observe) load an immutable map; writers copy it under mu.
var addrs = struct {
	mu   sync.Mutex
	refs map[string]int
	m    atomic.Pointer[map[string]*upstream]
}{refs: make(map[string]int)}

// lookup returns the record of addr, or nil if no Tracker has observed it.
func lookup(addr string) *upstream {
	if m := addrs.m.Load(); m != nil {
		return (*m)[addr]
	}
	return nil
}

// refAddr returns the shared record of addr, creating it if needed, and counts
// one more reference to it.
func refAddr(addr string) *upstream {
	addrs.mu.Lock()
	defer addrs.mu.Unlock()
	addrs.refs[addr]++
	if u := lookup(addr); u != nil {
		return u
	}
	u := &upstream{addr: addr}
	addrs.m.Store(withEntry(addrs.m.Load(), addr, u))
	return u
}

// unrefAddr drops one reference to addr's record and the record with the last.
func unrefAddr(addr string) {
	addrs.mu.Lock()
	defer addrs.mu.Unlock()
	if addrs.refs[addr]--; addrs.refs[addr] > 0 {
		return
	}
	delete(addrs.refs, addr)
	addrs.m.Store(withEntry(addrs.m.Load(), addr, nil))
}

// withEntry returns a copy of *m with addr set to u, or deleted if u is nil.
func withEntry(m *map[string]*upstream, addr string, u *upstream) *map[string]*upstream {
	next := make(map[string]*upstream)
	if m != nil {
		maps.Copy(next, *m)
	}
	if u == nil {
		delete(next, addr)
	} else {
		next[addr] = u
	}
	return &next
}

// Tracker records the calls made to the upstreams of one shard: latency and
// outcome per upstream address, and the shard's latency distribution for
// hedging. Get one with [Acquire]. All methods are safe for concurrent use;
// recording takes no lock shared with other upstreams and does not allocate.
type Tracker struct {
	mu     sync.Mutex // serializes changes to ups and closed
	ups    atomic.Pointer[map[string]*upstream]
	closed bool
	all    histogram // successful calls to any upstream of the shard
	cache  atomic.Pointer[summaryAt]
}

// summaryAt is a Tracker's quantile summary and when it was computed.
type summaryAt struct {
	at int64
	q  quantiles
}

// NewTracker returns an empty Tracker. Most callers want [Acquire], whose
// Trackers outlive config reloads; call [Tracker.Destruct] when done with one
// from NewTracker so the upstream records it references can be freed.
func NewTracker() *Tracker { return new(Tracker) }

// Observe records a finished call to the upstream at addr that took d; ok
// reports whether it succeeded. Use the address the selection policy picked
// (see [Picks]) so the latency policy finds it. Failed calls count toward
// failures and make the upstream look slower to the latency policy, but do
// not enter the quantiles (a fast refusal says nothing about tail latency).
// An empty addr records the call for the shard's quantiles only.
func (t *Tracker) Observe(addr string, d time.Duration, ok bool) {
	t.observe(t.upstream(addr), nanotime(), d, ok)
}

// observe records a call that ended at now on u, which may be nil.
func (t *Tracker) observe(u *upstream, now int64, d time.Duration, ok bool) {
	if u != nil {
		u.observe(now, d, ok)
	}
	if ok {
		t.all.record(now, d)
	}
}

// Call is one call in progress, from [Tracker.Start].
type Call struct {
	t     *Tracker
	u     *upstream
	start int64
}

// Start records the start of a call to addr, counting it as in flight until
// [Call.Done]. Use it when the upstream is known before the call; otherwise
// use [Tracker.Observe] when the call ends.
func (t *Tracker) Start(addr string) Call {
	u := t.upstream(addr)
	if u != nil {
		u.inflight.Add(1)
	}
	return Call{t: t, u: u, start: nanotime()}
}

// Done ends the call, recording its duration and outcome. Call it once.
func (c Call) Done(ok bool) {
	now := nanotime()
	if c.u != nil {
		c.u.inflight.Add(-1)
	}
	c.t.observe(c.u, now, time.Duration(now-c.start), ok)
}

// upstream returns the record of addr, referencing it on first use, or nil
// for the empty address.
func (t *Tracker) upstream(addr string) *upstream {
	if addr == "" {
		return nil
	}
	if m := t.ups.Load(); m != nil {
		if u := (*m)[addr]; u != nil {
			return u
		}
	}
	return t.addUpstream(addr)
}

// addUpstream is the slow path of upstream: it takes a reference on addr's
// shared record, and drops records not used for pruneAfter while at it.
func (t *Tracker) addUpstream(addr string) *upstream {
	t.mu.Lock()
	defer t.mu.Unlock()
	m := t.ups.Load()
	if m != nil && (*m)[addr] != nil {
		return (*m)[addr]
	}
	if t.closed {
		// a call outliving its config: record it, but reference nothing
		return &upstream{addr: addr}
	}
	u := refAddr(addr)
	m = withEntry(m, addr, u)
	cutoff := nanotime() - int64(pruneAfter)
	for a, old := range *m {
		if a != addr && old.inflight.Load() == 0 && old.last.Load() < cutoff {
			delete(*m, a)
			unrefAddr(a)
		}
	}
	t.ups.Store(m)
	return u
}

// Destruct releases the upstream records t references. The [caddy.UsagePool]
// behind [Acquire] calls it when the last config using t is cleaned up;
// calls still in flight may keep recording into t afterwards.
func (t *Tracker) Destruct() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return nil
	}
	t.closed = true
	if m := t.ups.Load(); m != nil {
		for a := range *m {
			unrefAddr(a)
		}
	}
	return nil
}

// summary returns the shard's quantiles at now, recomputed at most once per
// summaryTTL so that hedging decisions cost a pointer load.
func (t *Tracker) summary(now int64) quantiles {
	if c := t.cache.Load(); c != nil && now-c.at < int64(summaryTTL) && now >= c.at {
		return c.q
	}
	q := t.all.summary(now)
	t.cache.Store(&summaryAt{at: now, q: q})
	return q
}

// UpstreamStats is the state of one upstream as a Tracker sees it. Latencies
// are over the successful calls of the last minute; durations marshal to JSON
// as nanoseconds.
type UpstreamStats struct {
	// Addr is the upstream's dial address.
	Addr string `json:"addr"`
	// EWMA is the peak-EWMA latency the latency policy weighs, now.
	EWMA time.Duration `json:"ewma_ns"`
	// P50, P95 and P99 are latency quantiles of the last minute.
	P50 time.Duration `json:"p50_ns"`
	P95 time.Duration `json:"p95_ns"`
	P99 time.Duration `json:"p99_ns"`
	// Samples is the number of successful calls the quantiles rest on.
	Samples uint64 `json:"samples"`
	// InFlight counts calls begun with [Tracker.Start] and not yet done.
	InFlight int64 `json:"in_flight"`
	// Requests and Failures count calls since the record was created.
	Requests uint64 `json:"requests"`
	Failures uint64 `json:"failures"`
}

// Snapshot returns the state of every upstream t has observed, by address.
// Counters of an address observed by several Trackers include all their calls.
func (t *Tracker) Snapshot() []UpstreamStats {
	m := t.ups.Load()
	if m == nil {
		return nil
	}
	now := nanotime()
	out := make([]UpstreamStats, 0, len(*m))
	for _, u := range *m {
		q := u.lat.summary(now)
		out = append(out, UpstreamStats{
			Addr:     u.addr,
			EWMA:     time.Duration(u.ewma.value(now, float64(DefaultTau))),
			P50:      q.p50,
			P95:      q.p95,
			P99:      q.p99,
			Samples:  q.n,
			InFlight: u.inflight.Load(),
			Requests: u.requests.Load(),
			Failures: u.failures.Load(),
		})
	}
	slices.SortFunc(out, func(a, b UpstreamStats) int { return strings.Compare(a.Addr, b.Addr) })
	return out
}
