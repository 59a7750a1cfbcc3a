package caddyfederate

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/searchfront/caddy-federate/dialect"
)

// Defaults of the work limits.
const (
	defaultMaxSearches        = 50
	defaultMaxShardCalls      = 500
	defaultMaxAggregations    = 20
	defaultMaxAggregationSize = 1000
	defaultMaxConcurrent      = 100
	defaultMaxInflightBytes   = 128 << 20
	defaultBodyTimeout        = 10 * time.Second
	// admitWait is how long a request waits for a fan-out slot or for the
	// answer budget before it is answered 503 with Retry-After.
	admitWait = 250 * time.Millisecond
)

// Limits bound the work one request and one route can cause. Every limit
// has a default; 0 means the default. A request over a per-request limit
// is answered 400 (408 for the body deadline) in the client's dialect; a
// request over a route limit waits up to 250ms, then gets a 503 with
// `Retry-After: 1`.
type Limits struct {
	// Most searches in one multi-search request (Typesense
	// `multi_search`). Default: 50.
	MaxSearches int `json:"max_searches,omitempty"`

	// Most shard calls one client request may cause: searches times the
	// shards each is sent to (hedges not counted). Default: 500.
	MaxShardCalls int `json:"max_shard_calls,omitempty"`

	// Most aggregations or facets one search may ask for, nested
	// Elasticsearch aggregations included. Default: 20.
	MaxAggregations int `json:"max_aggregations,omitempty"`

	// Largest bucket count an aggregation or facet may ask of a shard
	// (Elasticsearch `size` and `shard_size`, Typesense
	// `max_facet_values`, Solr `facet.limit`, Groonga `drilldown_limit`).
	// Default: 1000.
	MaxAggregationSize int `json:"max_aggregation_size,omitempty"`

	// Most search requests this route serves at once (each waiting
	// coalesced request counts). Default: 100.
	MaxConcurrent int `json:"max_concurrent,omitempty"`

	// Most bytes of shard answers this route holds at once, over all its
	// requests in flight. A shard answer that would pass it fails that
	// shard (`invalid`); new requests wait while the route is over it.
	// Caddy's memory under load is a small multiple of this (answers are
	// decoded, merged and encoded). Default: 128MiB.
	MaxInflightBytes int64 `json:"max_inflight_bytes,omitempty"`

	// Deadline for reading the client's request body; a body still
	// arriving after it is answered 408. Default: 10s.
	RequestBodyTimeout caddy.Duration `json:"request_body_timeout,omitempty"`

	lim *limiter
}

// limiter is a route's shared limit state (a pointer: Caddy copies the
// Handler by value).
type limiter struct {
	slots   chan struct{} // one token per running fan-out
	release func()        // gives a token back; made once, not per request
	mu      sync.Mutex    // guards bytes
	bytes   int64         // shard answer bytes held by requests in flight
}

func newLimiter(concurrent int) *limiter {
	l := &limiter{slots: make(chan struct{}, concurrent)}
	l.release = func() { <-l.slots }
	return l
}

// provisionLimits applies the defaults.
func (h *Handler) provisionLimits() error {
	l := &h.Limits
	for _, v := range []int{l.MaxSearches, l.MaxShardCalls, l.MaxAggregations, l.MaxAggregationSize, l.MaxConcurrent} {
		if v < 0 {
			return fmt.Errorf("federate: limits must not be negative")
		}
	}
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&l.MaxSearches, defaultMaxSearches)
	def(&l.MaxShardCalls, defaultMaxShardCalls)
	def(&l.MaxAggregations, defaultMaxAggregations)
	def(&l.MaxAggregationSize, defaultMaxAggregationSize)
	def(&l.MaxConcurrent, defaultMaxConcurrent)
	if l.MaxInflightBytes <= 0 {
		l.MaxInflightBytes = defaultMaxInflightBytes
	}
	if l.RequestBodyTimeout <= 0 {
		l.RequestBodyTimeout = caddy.Duration(defaultBodyTimeout)
	}
	l.lim = newLimiter(l.MaxConcurrent)
	return nil
}

// limitError is a 400 naming the limit and what to do.
func (h *Handler) limitError(what string, got, max int, option string) *dialect.Error {
	limited.WithLabelValues(h.name(), "request").Inc()
	return &dialect.Error{Status: http.StatusBadRequest, Code: "limit_exceeded", Type: "invalid_request",
		Message: fmt.Sprintf("the request asks for %d %s, above this route's %s of %d: split the request or ask the operator to raise %s", got, what, option, max, option)}
}

// checkCalls bounds the shard calls of a request: searches is how many
// searches it holds, asked how many shards each goes to.
func (h *Handler) checkCalls(searches, asked int) error {
	if searches > h.MaxSearches {
		return h.limitError("searches", searches, h.MaxSearches, "max_searches")
	}
	if searches*asked > h.MaxShardCalls {
		return h.limitError("shard calls", searches*asked, h.MaxShardCalls, "max_shard_calls")
	}
	return nil
}

// askedShards is how many shards a request goes to, given its
// Federate-Shards header (a name the route lacks is reported later).
func (h *Handler) askedShards(only string) int {
	if only == "" {
		return len(h.Shards)
	}
	n := 0
	for _, s := range h.Shards {
		for _, name := range strings.Split(only, ",") {
			if strings.TrimSpace(name) == s.Name {
				n++
				break
			}
		}
	}
	return n
}

// errBusy answers a request the route has no room for.
var errBusy = &dialect.Error{Status: http.StatusServiceUnavailable, Code: "too_many_requests", Type: "system",
	Message: "this route is at its limit of concurrent searches or buffered shard answers (max_concurrent, max_inflight_bytes): retry after a second"}

// admit waits up to admitWait for a fan-out slot and for the route's
// answer budget to have room. It returns the function that frees the slot,
// or errBusy.
func (h *Handler) admit(ctx context.Context) (func(), error) {
	l := h.lim
	// The usual case, a free slot and room in the byte budget, takes no
	// timer: a timer a request is a runtime timer to insert and remove.
	select {
	case l.slots <- struct{}{}:
		if l.room(h.MaxInflightBytes) {
			return l.release, nil
		}
		l.release()
	default:
	}
	timer := time.NewTimer(admitWait)
	defer timer.Stop()
	select {
	case l.slots <- struct{}{}:
	case <-timer.C:
		return nil, errBusy
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	for !l.room(h.MaxInflightBytes) {
		select {
		case <-timer.C:
			l.release()
			return nil, errBusy
		case <-ctx.Done():
			l.release()
			return nil, ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
	return l.release, nil
}

func (l *limiter) room(max int64) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.bytes < max
}

// charge counts the shard answer bytes of one request against its route's
// budget until release. Bytes taken after release (a hedge's loser still
// writing) are refused, so the route's count never leaks.
type charge struct {
	l        *limiter
	max      int64
	mu       sync.Mutex
	n        int64
	released bool
}

func (h *Handler) newCharge() *charge { return &charge{l: h.lim, max: h.MaxInflightBytes} }

// take adds n bytes, or reports false when the route would pass its budget.
func (c *charge) take(n int) bool {
	if c == nil {
		return true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.released {
		return false
	}
	c.l.mu.Lock()
	defer c.l.mu.Unlock()
	if c.l.bytes+int64(n) > c.max {
		return false
	}
	c.l.bytes += int64(n)
	c.n += int64(n)
	return true
}

// release gives the request's bytes back to the route.
func (c *charge) release() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.released {
		return
	}
	c.released = true
	c.l.mu.Lock()
	c.l.bytes -= c.n
	c.l.mu.Unlock()
}

// errOverBudget is what a shardWriter returns when the route's budget is
// spent; the shard is then `invalid`.
var errOverBudget = errors.New("the route's max_inflight_bytes is spent")

// bodyDeadline sets the deadline for reading the client's body and returns
// the function that lifts it. Writers that cannot set one (HTTP/3) keep
// the server's own timeouts.
func (h *Handler) bodyDeadline(w http.ResponseWriter) func() {
	rc := http.NewResponseController(w)
	if rc.SetReadDeadline(time.Now().Add(time.Duration(h.RequestBodyTimeout))) != nil {
		return func() {}
	}
	return func() { _ = rc.SetReadDeadline(time.Time{}) }
}

// bodyError maps a failed body read to the client's answer: a deadline
// is a 408, anything else a 400.
func (h *Handler) bodyError(err error) *dialect.Error {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return &dialect.Error{Status: http.StatusRequestTimeout, Code: "request_timeout", Type: "invalid_request",
			Message: "the request body did not arrive within this route's request_body_timeout (" + time.Duration(h.RequestBodyTimeout).String() + "): send it at once"}
	}
	return &dialect.Error{Status: http.StatusBadRequest, Code: "bad_request", Type: "invalid_request",
		Message: "reading the request body failed: " + err.Error()}
}

// writeRefused answers a request admit refused: 503 with Retry-After in
// the client's dialect, or 499 when the client left while waiting.
func (h *Handler) writeRefused(w http.ResponseWriter, err error) error {
	if !errors.Is(err, errBusy) {
		return caddyhttp.Error(499, err)
	}
	limited.WithLabelValues(h.name(), "busy").Inc()
	w.Header().Set("Retry-After", "1")
	return h.write(w, h.errorAnswer(errBusy))
}

// limited counts requests refused by a limit.
var limited = prometheus.NewCounterVec(prometheus.CounterOpts{
	Namespace: "caddy", Subsystem: "federate", Name: "limited_requests_total",
	Help: "Requests refused by a limit, by route and limit (busy: max_concurrent or max_inflight_bytes; request: a per-request limit).",
}, []string{"route", "limit"})

func init() { collectors = append(collectors, limited) }
