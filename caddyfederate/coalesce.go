package caddyfederate

import (
	"context"
	"net/http"
	"strings"
	"sync"
)

// keyHeaders are the request headers that can change an answer: identity
// and credentials (so different users never share an answer), and the
// shard selection. Requests coalesce only when all of them are equal.
var keyHeaders = []string{
	"Authorization", "Proxy-Authorization", "Cookie",
	"X-Api-Key", "X-Meili-Api-Key", "X-Typesense-Api-Key", "X-Elastic-Client-Meta-Auth",
	"Federate-Shards",
}

// coalesceKey identifies a request for coalescing: the route's dialect,
// method, path, query string, body and keyHeaders, separated by bytes that
// cannot occur in them unescaped.
func coalesceKey(dialect string, r *http.Request, body []byte) string {
	var b strings.Builder
	b.Grow(len(dialect) + len(r.URL.Path) + len(r.URL.RawQuery) + len(body) + 64)
	for _, s := range []string{dialect, r.Method, r.URL.Path, r.URL.RawQuery} {
		b.WriteString(s)
		b.WriteByte(0)
	}
	b.Write(body)
	for _, k := range keyHeaders {
		b.WriteByte(0)
		for _, v := range r.Header.Values(k) {
			b.WriteString(v)
			b.WriteByte(1)
		}
	}
	return b.String()
}

// flights shares one fan-out among identical concurrent requests. The
// shared fan-out runs detached from any one client, and is cancelled only
// when every request waiting for it has gone away: a client that leaves
// does not fail the others, and when all leave, cancellation still reaches
// the upstreams.
type flights struct {
	mu sync.Mutex // guards m and every flight's waiters
	m  map[string]*flight
}

type flight struct {
	done    chan struct{} // closed once ans is set
	ans     *answer
	waiters int
	cancel  context.CancelFunc
}

// do returns the answer of run for key, running it once for all callers
// that arrive while it is in flight. It returns nil if ctx ends first.
func (fs *flights) do(ctx context.Context, key string, run func(context.Context) *answer, route string) *answer {
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
		return f.ans
	case <-ctx.Done():
		fs.leave(key, f)
		return nil
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
	fs.mu.Unlock()
	f.cancel()
}

// leave drops one waiter; the last one to leave cancels the fan-out.
func (fs *flights) leave(key string, f *flight) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	f.waiters--
	if f.waiters > 0 {
		return
	}
	if fs.m[key] == f {
		delete(fs.m, key)
	}
	f.cancel()
}
