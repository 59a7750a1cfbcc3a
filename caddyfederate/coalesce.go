package caddyfederate

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// keyIgnored are the request headers left out of a request's key by
// default, each because it cannot change what a shard answers:
//   - Accept-Encoding, Expect: removed from every shard request
//     (subRequest), which negotiates its own compression;
//   - Content-Length: rebuilt from the shard request's body, which the key
//     holds whole;
//   - User-Agent, Traceparent, Tracestate, X-Request-Id: descriptive and
//     tracing headers that engines log but do not search by.
//
// A shard config that names one of them (header_up User-Agent ..., or a
// placeholder {http.request.header.User-Agent}) puts it back in the key:
// the shard request then depends on it (see provisionKey).
var keyIgnored = []string{"Accept-Encoding", "Content-Length", "Expect", "Traceparent", "Tracestate", "User-Agent", "X-Request-Id"}

// callerVars are the vars Caddy's server sets on every request from the
// client's connection; they are in the key only when a shard config
// depends on the client's address.
var callerVars = []string{caddyhttp.ClientIPVarKey, caddyhttp.TrustedProxyVarKey}

// bookkeepingVars are the vars Caddy sets on every request for its own
// use (the start time, the request id): unique to each request, and never
// seen by a shard except through a placeholder, which the key holds.
var bookkeepingVars = []string{"start_time", "uuid"}

// addressRefs are config fragments that make a shard request depend on the
// client's address: its placeholders, and the headers that carry it.
var addressRefs = []string{"remote", "client_ip", "forwarded", "real-ip"}

// keySpec is what a route's request keys are made of, decided once from the
// shard configs in Provision.
type keySpec struct {
	ignored      map[string]bool // canonical header names left out
	placeholders []string        // placeholders the shard configs reference
	address      bool            // a shard config depends on the client address
}

// placeholderRE finds {placeholder} references in a shard's proxy config.
var placeholderRE = regexp.MustCompile(`\{[A-Za-z0-9_.\-]+\}`)

// provisionKey reads from the shard configs what a request's key must
// hold beyond the request itself.
func (h *Handler) provisionKey() {
	ks := &keySpec{ignored: map[string]bool{}}
	var cfg strings.Builder
	for _, s := range h.Shards {
		cfg.Write(s.ProxyRaw)
		cfg.WriteByte(0)
	}
	raw := cfg.String()
	lower := strings.ToLower(raw)
	for _, name := range keyIgnored {
		if !strings.Contains(lower, strings.ToLower(name)) {
			ks.ignored[name] = true
		}
	}
	seen := map[string]bool{}
	for _, ph := range placeholderRE.FindAllString(raw, -1) {
		key := ph[1 : len(ph)-1]
		if !seen[key] {
			seen[key] = true
			ks.placeholders = append(ks.placeholders, key)
		}
	}
	sort.Strings(ks.placeholders)
	for _, ref := range addressRefs {
		ks.address = ks.address || strings.Contains(lower, ref)
	}
	h.key = ks
}

// requestKey identifies what every shard request of r would be: two
// requests with equal keys send the same bytes to every shard, so they may
// share a fan-out (coalescing) or an answer (a response cache). It holds
// the route, the dialect, method, Host, path, query and body; every request
// header except the few in keyIgnored, in a fixed order; the vars earlier
// handlers set; the authenticated user (http.auth.user.id); the value of
// every placeholder the shard configs reference (header_up values, auth
// metadata, the client address...); and the client address itself when a
// shard config depends on it. Nothing has to be listed by the operator.
// The parts are length-prefixed, so no value can forge a boundary.
func (h *Handler) requestKey(r *http.Request, body []byte) string {
	ks := h.key
	if ks == nil {
		ks = &keySpec{address: true}
	}
	b := make([]byte, 0, 256+len(r.URL.Path)+len(r.URL.RawQuery)+len(body))
	for _, s := range []string{h.name(), h.Dialect, r.Method, r.Host, r.URL.Path, r.URL.RawQuery} {
		b = appendPart(b, s)
	}
	b = appendPart(b, string(body))
	names := make([]string, 0, len(r.Header))
	for name := range r.Header {
		if !ks.ignored[http.CanonicalHeaderKey(name)] {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	b = append(b, 'H')
	for _, name := range names {
		b = appendPart(b, http.CanonicalHeaderKey(name))
		b = strconv.AppendInt(b, int64(len(r.Header[name])), 10)
		for _, v := range r.Header[name] {
			b = appendPart(b, v)
		}
	}
	b = append(b, 'V')
	if vars, ok := r.Context().Value(caddyhttp.VarsCtxKey).(map[string]any); ok {
		keys := make([]string, 0, len(vars))
		for k := range vars {
			if (ks.address || !slices.Contains(callerVars, k)) && !slices.Contains(bookkeepingVars, k) {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			b = appendPart(b, k)
			b = appendPart(b, fmt.Sprint(vars[k]))
		}
	}
	b = append(b, 'P')
	repl, _ := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer)
	if repl != nil {
		v, _ := repl.GetString("http.auth.user.id")
		b = appendPart(b, v)
		for _, ph := range ks.placeholders {
			v, _ := repl.Get(ph)
			b = appendPart(b, fmt.Sprint(v))
		}
	}
	if ks.address {
		b = append(b, 'A')
		b = appendPart(b, r.RemoteAddr)
	}
	return string(b)
}

// appendPart appends s with its length before it.
func appendPart(b []byte, s string) []byte {
	b = strconv.AppendInt(b, int64(len(s)), 10)
	b = append(b, ':')
	return append(b, s...)
}

// flights shares one fan-out among identical concurrent requests. The
// shared fan-out runs detached from any one client, and is cancelled only
// when every request waiting for it has gone away: a client that leaves
// does not fail the others, and when all leave, cancellation still reaches
// the upstreams. The answer's buffer goes back to the pool when the last
// request that got it has written it (or at once when none is left).
type flights struct {
	mu sync.Mutex // guards m and every flight's waiters and ans
	m  map[string]*flight
}

type flight struct {
	done chan struct{} // closed once ans is set
	ans  *answer
	// waiters counts the requests attached to the flight: waiting for it,
	// then, once it is done, still writing its answer. Each detaches once,
	// by leaving or by calling the done func do returned.
	waiters int
	cancel  context.CancelFunc
}

// do returns the answer of run for key, running it once for all callers
// that arrive while it is in flight, and a func the caller must call once
// it no longer uses the answer. The answer is nil if ctx ends first.
func (fs *flights) do(ctx context.Context, key string, run func(context.Context) *answer, route string) (*answer, func()) {
	fs.mu.Lock()
	if fs.m == nil {
		fs.m = make(map[string]*flight)
	}
	f, shared := fs.m[key]
	if !shared {
		// Values (server, replacer, vars) stay; the client's cancel does not.
		fctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		f = &flight{done: make(chan struct{}), cancel: cancel}
		fs.m[key] = f
		go fs.run(fctx, key, f, run)
	}
	f.waiters++
	fs.mu.Unlock()
	if shared {
		coalesced.WithLabelValues(route).Inc()
	}
	select {
	case <-f.done:
		return f.ans, func() { fs.detach(key, f) }
	case <-ctx.Done():
		fs.detach(key, f)
		return nil, func() {}
	}
}

func (fs *flights) run(ctx context.Context, key string, f *flight, run func(context.Context) *answer) {
	ans := run(ctx)
	fs.mu.Lock()
	if fs.m[key] == f {
		delete(fs.m, key)
	}
	f.ans = ans
	close(f.done)
	if f.waiters == 0 { // every request left before the answer
		ans.release()
	}
	fs.mu.Unlock()
	f.cancel()
}

// detach drops one request from the flight. The last one out of a flight
// still running cancels it; the last one out of a finished flight gives
// its answer's buffer back.
func (fs *flights) detach(key string, f *flight) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	f.waiters--
	if f.waiters > 0 {
		return
	}
	if isClosed(f.done) { // finished: ans is set (nil when run gave none)
		f.ans.release()
		return
	}
	if fs.m[key] == f {
		delete(fs.m, key)
	}
	f.cancel()
}

// isClosed reports whether ch is closed (it is never sent on).
func isClosed(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}
