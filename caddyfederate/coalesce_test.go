package caddyfederate

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/goleak"
)

// tenantEngine answers a Meilisearch search with one hit whose id names
// what reached it (the X-Tenant header, Host and X-Real-IP), after a delay
// long enough for concurrent requests to meet in one flight.
func tenantEngine(t *testing.T) (*httptest.Server, *int32Counter) {
	n := new(int32Counter)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.add()
		time.Sleep(300 * time.Millisecond)
		id := r.Header.Get("X-Tenant") + "|" + r.Header.Get("X-Host") + "|" + r.Header.Get("X-Real-Ip") + "|" + r.Header.Get("X-User")
		out, _ := json.Marshal(map[string]any{"hits": []map[string]any{{"id": id, "_rankingScore": 1}},
			"estimatedTotalHits": 1, "offset": 0, "limit": 20, "processingTimeMs": 1, "query": ""})
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(out)
	}))
	t.Cleanup(srv.Close)
	return srv, n
}

type int32Counter struct {
	mu sync.Mutex
	n  int
}

func (c *int32Counter) add() { c.mu.Lock(); c.n++; c.mu.Unlock() }
func (c *int32Counter) get() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// TestCoalescingIsTenantSafe: two tenants send the same search at the same
// time; the shard request of each depends on something outside the body
// and the credentials (a header rendered by header_up, a var set by an
// earlier handler, a header forwarded as is; Host and client address are
// in TestRequestKey, the e2e suite sends them too). The attack (before): the
// second tenant was handed the first tenant's answer. Safe: each tenant
// gets its own answer, and identical requests of one tenant still share
// one fan-out.
func TestCoalescingIsTenantSafe(t *testing.T) {
	for _, tc := range []struct {
		name    string
		pre     string // directives before federate
		hdrUp   string
		clients [][]string // header pairs per client
		want    []string   // hit id per client
	}{
		{"header_up header", "", "header_up X-Tenant {http.request.header.X-Tenant}",
			[][]string{{"X-Tenant", "acme"}, {"X-Tenant", "evil"}}, []string{"acme|||", "evil|||"}},
		{"var from an earlier handler", "\tvars tenant {http.request.header.X-T}\n", "header_up X-Tenant {http.vars.tenant}",
			[][]string{{"X-T", "acme"}, {"X-T", "evil"}}, []string{"acme|||", "evil|||"}},
		{"unlisted header forwarded as is", "", "",
			[][]string{{"X-Tenant", "acme"}, {"X-Tenant", "evil"}}, []string{"acme|||", "evil|||"}},
		{"same tenant", "", "header_up X-Tenant {http.request.header.X-Tenant}",
			[][]string{{"X-Tenant", "acme", "User-Agent", "a"}, {"X-Tenant", "acme", "User-Agent", "b"}}, []string{"acme|||", "acme|||"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, n := tenantEngine(t)
			addr := strings.TrimPrefix(srv.URL, "http://")
			site := tc.pre + meiliSite("\t\ttimeout 10s", fmt.Sprintf("\t\tshard a %s {\n\t\t\t%s\n\t\t}", addr, tc.hdrUp))
			url := startCaddy(t, site)
			got := make([]string, len(tc.clients))
			var wg sync.WaitGroup
			for i, hdr := range tc.clients {
				wg.Add(1)
				go func(i int, hdr []string) {
					defer wg.Done()
					req, _ := http.NewRequest(http.MethodPost, url+"/indexes/x/search", strings.NewReader(`{"q":"same"}`))
					req.Header.Set("Content-Type", "application/json")
					for j := 0; j+1 < len(hdr); j += 2 {
						if hdr[j] == "Host" {
							req.Host = hdr[j+1]
						}
						req.Header.Set(hdr[j], hdr[j+1])
					}
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						t.Error(err)
						return
					}
					defer resp.Body.Close()
					var out map[string]any
					_ = json.NewDecoder(resp.Body).Decode(&out)
					if ids := hitIDs(t, out); len(ids) == 1 {
						got[i] = ids[0]
					}
				}(i, hdr)
			}
			wg.Wait()
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("client %d got hit %q, want %q", i, got[i], tc.want[i])
				}
			}
			wantCalls := len(tc.clients)
			if tc.name == "same tenant" {
				wantCalls = 1
			}
			if n.get() != wantCalls {
				t.Errorf("shard saw %d requests, want %d", n.get(), wantCalls)
			}
		})
	}
}

// keyRequest builds a request as Caddy's server hands it to a handler:
// with a Replacer and a vars map in its context.
func keyRequest(host, remote string, hdr http.Header, vars map[string]any, user string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "http://"+host+"/indexes/x/search?a=1", nil)
	r.RemoteAddr = remote
	for k, v := range hdr {
		r.Header[k] = v
	}
	repl := caddy.NewReplacer()
	ctx := context.WithValue(r.Context(), caddy.ReplacerCtxKey, repl)
	if vars == nil {
		vars = map[string]any{}
	}
	vars[caddyhttp.ClientIPVarKey] = strings.Split(remote, ":")[0]
	ctx = context.WithValue(ctx, caddyhttp.VarsCtxKey, vars)
	r = r.WithContext(ctx)
	if user != "" {
		repl.Set("http.auth.user.id", user)
	}
	caddyhttp.PrepareRequest(r, repl, nil, nil)
	return r
}

// TestRequestKey: what the key distinguishes and what it does not.
func TestRequestKey(t *testing.T) {
	plain := &Handler{Dialect: "meilisearch"}
	plain.provisionKey()
	withAddr := &Handler{Dialect: "meilisearch", Shards: []*Shard{{ProxyRaw: []byte(`{"headers":{"request":{"set":{"X-Real-Ip":["{http.request.remote.host}"]}}}}`)}}}
	withAddr.provisionKey()
	withUA := &Handler{Dialect: "meilisearch", Shards: []*Shard{{ProxyRaw: []byte(`{"headers":{"request":{"set":{"X-Agent":["{http.request.header.User-Agent}"]}}}}`)}}}
	withUA.provisionKey()
	h := func(kv ...string) http.Header {
		out := http.Header{}
		for i := 0; i+1 < len(kv); i += 2 {
			out.Add(kv[i], kv[i+1])
		}
		return out
	}
	base := func() *http.Request { return keyRequest("a.example", "10.0.0.1:1", h("X-Tenant", "acme"), nil, "") }
	for _, tc := range []struct {
		name  string
		h     *Handler
		other *http.Request
		body  string
		same  bool
	}{
		{"identical", plain, base(), "", true},
		{"another client address", plain, keyRequest("a.example", "10.0.0.2:9", h("X-Tenant", "acme"), nil, ""), "", true},
		{"another user agent and trace", plain, keyRequest("a.example", "10.0.0.1:1", h("X-Tenant", "acme", "User-Agent", "x", "Traceparent", "00-1"), nil, ""), "", true},
		{"another accept-encoding", plain, keyRequest("a.example", "10.0.0.1:1", h("X-Tenant", "acme", "Accept-Encoding", "gzip"), nil, ""), "", true},
		{"another header value", plain, keyRequest("a.example", "10.0.0.1:1", h("X-Tenant", "evil"), nil, ""), "", false},
		{"one more header", plain, keyRequest("a.example", "10.0.0.1:1", h("X-Tenant", "acme", "X-Other", "1"), nil, ""), "", false},
		{"header split in two values", plain, keyRequest("a.example", "10.0.0.1:1", http.Header{"X-Tenant": {"ac", "me"}}, nil, ""), "", false},
		{"another host", plain, keyRequest("b.example", "10.0.0.1:1", h("X-Tenant", "acme"), nil, ""), "", false},
		{"another var", plain, keyRequest("a.example", "10.0.0.1:1", h("X-Tenant", "acme"), map[string]any{"tenant": "x"}, ""), "", false},
		{"another auth user", plain, keyRequest("a.example", "10.0.0.1:1", h("X-Tenant", "acme"), nil, "bob"), "", false},
		{"another body", plain, base(), "x", false},
		{"address referenced", withAddr, keyRequest("a.example", "10.0.0.2:9", h("X-Tenant", "acme"), nil, ""), "", false},
		{"user agent referenced", withUA, keyRequest("a.example", "10.0.0.1:1", h("X-Tenant", "acme", "User-Agent", "x"), nil, ""), "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := tc.h.requestKey(base(), nil)
			b := tc.h.requestKey(tc.other, []byte(tc.body))
			if (a == b) != tc.same {
				t.Errorf("keys equal = %v, want %v", a == b, tc.same)
			}
		})
	}
}

// TestFlightGivesBufferBackOnce: a shared answer's recycled buffer goes
// back to the pool only when the last request that got it is done with it
// (never while another may still write it), at once when every request
// left before the answer, and after a request that left early plus one
// that stayed only when the one that stayed is done.
func TestFlightGivesBufferBackOnce(t *testing.T) {
	defer verifyNoLeaks(t, goleak.IgnoreCurrent())
	var fs flights
	type got struct {
		ans  *answer
		done func()
	}
	start := func(ctx context.Context, release <-chan struct{}, out chan<- got) {
		go func() {
			ans, done := fs.do(ctx, "k", func(context.Context) *answer {
				<-release
				return &answer{status: http.StatusOK, body: answerBuf(64), pooled: true}
			}, "r")
			out <- got{ans, done}
		}()
	}
	waitWaiters := func(n int) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
			fs.mu.Lock()
			f := fs.m["k"]
			ok := f != nil && f.waiters == n
			fs.mu.Unlock()
			if ok {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("never %d waiters", n)
			}
		}
	}

	t.Run("shared", func(t *testing.T) {
		release, out := make(chan struct{}), make(chan got, 2)
		start(context.Background(), release, out)
		waitWaiters(1)
		start(context.Background(), release, out)
		waitWaiters(2)
		close(release)
		a, b := <-out, <-out
		if a.ans == nil || a.ans != b.ans {
			t.Fatalf("answers %p %p, want one shared", a.ans, b.ans)
		}
		a.done()
		if !a.ans.pooled {
			t.Fatal("buffer given back while the second request still holds the answer")
		}
		b.done()
		if a.ans.pooled {
			t.Fatal("buffer not given back after the last request was done")
		}
	})

	t.Run("all left", func(t *testing.T) {
		release, out := make(chan struct{}), make(chan got, 1)
		ctx, cancel := context.WithCancel(context.Background())
		var ran atomic.Pointer[answer]
		go func() {
			ans, done := fs.do(ctx, "k", func(context.Context) *answer {
				<-release
				a := &answer{status: http.StatusOK, body: answerBuf(64), pooled: true}
				ran.Store(a)
				return a
			}, "r")
			out <- got{ans, done}
		}()
		waitWaiters(1)
		cancel()
		g := <-out
		g.done()
		if g.ans != nil {
			t.Fatal("a request that left got an answer")
		}
		close(release) // the cancelled fan-out returns its answer to nobody
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
			fs.mu.Lock() // release sets pooled under it
			a := ran.Load()
			released := a != nil && !a.pooled
			fs.mu.Unlock()
			if released {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("an answer nobody waited for kept its buffer")
			}
		}
	})

	t.Run("one left, one stayed", func(t *testing.T) {
		release, out := make(chan struct{}), make(chan got, 2)
		ctx, cancel := context.WithCancel(context.Background())
		start(ctx, release, out)
		waitWaiters(1)
		start(context.Background(), release, out)
		waitWaiters(2)
		cancel()
		left := <-out
		left.done()
		if left.ans != nil {
			t.Fatal("the request that left got an answer")
		}
		close(release)
		stayed := <-out
		if stayed.ans == nil || !stayed.ans.pooled {
			t.Fatal("the request that stayed got no answer, or one already given back")
		}
		stayed.done()
		if stayed.ans.pooled {
			t.Fatal("buffer not given back after the last request was done")
		}
	})
}
