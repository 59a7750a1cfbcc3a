package caddyfederate

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// verifyNoLeaks fails t if goroutines other than those in before and
// ignoreIdle are still running after a grace period. goleak's own retries
// last about half a second, which a machine running the race-detector
// builds of several packages at once can overrun while cancelled upstream
// calls unwind; a goroutine that really leaked is still there after 10 s.
func verifyNoLeaks(t *testing.T, before goleak.Option) {
	t.Helper()
	opts := append(slices.Clone(ignoreIdle), before)
	deadline := time.Now().Add(10 * time.Second)
	for goleak.Find(opts...) != nil && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	goleak.VerifyNone(t, opts...)
}

// ignoreIdle lists goroutines that belong to pooled keep-alive connections
// and Caddy's own background work, not to a request.
var ignoreIdle = []goleak.Option{
	goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"),
	goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
	goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"),
	goleak.IgnoreTopFunction("net/http.(*conn).serve"),
	// Caddy's storage clean-up holds a lock file for a while after a load.
	goleak.IgnoreAnyFunction("github.com/caddyserver/certmagic.keepLockfileFresh"),
}

// TestNoCrossTalk sends many concurrent requests, each with its own query
// and client header, over three shards. Every shard must see its own body
// (the engine echoes the query into hit ids), the client's header rendered
// by header_up from the client's own request, and its own upstream address
// in a placeholder reverse_proxy sets per request: a shared Replacer or
// vars map between shards would hand one shard another's values.
func TestNoCrossTalk(t *testing.T) {
	var engines []*fakeEngine
	var shards []string
	for s := 0; s < 3; s++ {
		f := newFakeEngine(t, "meilisearch", fakeHit{ID: "h1", Score: 1}, fakeHit{ID: "h2", Score: 0.5})
		f.echoQ = true
		engines = append(engines, f)
		shards = append(shards, shardLine(fmt.Sprintf("s%d", s), f,
			"\t\t\theader_up X-Client {http.request.header.X-Client}",
			"\t\t\theader_up X-Upstream {http.reverse_proxy.upstream.hostport}",
			"\t\t\theader_up X-Route-Var {http.vars.tenant}"))
	}
	// A long timeout: this test is about isolation, and must not fail on a
	// loaded machine because a shard was slow.
	site := "\tvars tenant acme\n" + meiliSite("\t\tdedupe off\n\t\ttimeout 60s", shards...)
	url := startCaddy(t, site)
	before := goleak.IgnoreCurrent()

	const clients, perClient = 12, 20
	var wg sync.WaitGroup
	errs := make(chan error, clients*perClient)
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			for i := 0; i < perClient; i++ {
				q := fmt.Sprintf("c%d-r%d", c, i)
				resp, out := search(t, url+"/indexes/x/search", fmt.Sprintf(`{"q":%q}`, q), "X-Client", q)
				if resp.StatusCode != 200 {
					errs <- fmt.Errorf("%s: status %d", q, resp.StatusCode)
					continue
				}
				ids := hitIDs(t, out)
				if len(ids) != 6 {
					errs <- fmt.Errorf("%s: %d hits, want 6", q, len(ids))
				}
				for _, id := range ids {
					if !strings.HasPrefix(id, q+"/") {
						errs <- fmt.Errorf("%s: got hit %s answered for another query", q, id)
					}
				}
			}
		}(c)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for _, f := range engines {
		for _, r := range f.requests() {
			if q, _ := r.Body["q"].(string); q != r.Header.Get("X-Client") {
				t.Errorf("shard saw body q=%q with header X-Client=%q", q, r.Header.Get("X-Client"))
			}
			if got := r.Header.Get("X-Upstream"); got != f.addr() {
				t.Errorf("shard %s got X-Upstream %s: another shard's placeholder", f.addr(), got)
			}
			if got := r.Header.Get("X-Route-Var"); got != "acme" {
				t.Errorf("route vars not inherited: X-Route-Var %q", got)
			}
		}
		if n := len(f.requests()); n != clients*perClient {
			t.Errorf("shard saw %d requests, want %d", n, clients*perClient)
		}
	}
	verifyNoLeaks(t, before)
}

// TestClientCancelReachesUpstream: when the client goes away, the shard's
// upstream request is cancelled too.
func TestClientCancelReachesUpstream(t *testing.T) {
	slow := newFakeEngine(t, "meilisearch", fakeHit{"s1", 1, ""})
	slow.set(func(f *fakeEngine) { f.delay = 10 * time.Second })
	url := startCaddy(t, meiliSite("\t\ttimeout 20s\n\t\tname cancelled", shardLine("slow", slow)))
	before := goleak.IgnoreCurrent()
	gone, failed := answers.WithLabelValues("cancelled", "client_gone"), answers.WithLabelValues("cancelled", "failed")
	gone0, failed0 := counterValue(t, gone), counterValue(t, failed)

	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url+"/indexes/x/search", strings.NewReader(`{"q":"x"}`))
	done := make(chan struct{})
	go func() {
		defer close(done)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
	}()
	time.Sleep(200 * time.Millisecond)
	cancel()
	select {
	case <-slow.canceled:
	case <-time.After(3 * time.Second):
		t.Fatal("the upstream request was not cancelled after the client went away")
	}
	<-done
	// The answer nobody reads counts as client_gone, not as failed, and
	// the shard keeps no failure.
	deadline := time.Now().Add(3 * time.Second)
	for counterValue(t, gone) == gone0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if g, f := counterValue(t, gone)-gone0, counterValue(t, failed)-failed0; g != 1 || f != 0 {
		t.Errorf("answers after the client left: client_gone +%v, failed +%v; want +1, +0", g, f)
	}
	verifyNoLeaks(t, before)
}

// TestTimeoutLeavesNoGoroutine: a shard answered at its deadline leaves no
// goroutine behind once its upstream call ends.
func TestTimeoutLeavesNoGoroutine(t *testing.T) {
	a := newFakeEngine(t, "meilisearch", fakeHit{"a1", 1, ""})
	slow := newFakeEngine(t, "meilisearch", fakeHit{"s1", 1, ""})
	slow.set(func(f *fakeEngine) { f.delay = 5 * time.Second })
	url := startCaddy(t, meiliSite("\t\ttimeout 150ms", shardLine("a", a), shardLine("slow", slow)))
	before := goleak.IgnoreCurrent()
	for i := 0; i < 5; i++ {
		resp, out := search(t, url+"/indexes/x/search", `{"q":"x"}`)
		if resp.StatusCode != 200 || remoteError(out, "slow")["code"] != "shard_timeout" {
			t.Fatalf("status %d %v", resp.StatusCode, out["remoteErrors"])
		}
	}
	verifyNoLeaks(t, before)
}

// TestGzipShards: the client's Accept-Encoding is not passed on; shards
// that compress are decompressed by the transport before the merge.
func TestGzipShards(t *testing.T) {
	a := newFakeEngine(t, "meilisearch", fakeHit{"a1", 1, ""})
	b := newFakeEngine(t, "meilisearch", fakeHit{"b1", 1, ""})
	url := startCaddy(t, meiliSite("", shardLine("a", a), shardLine("b", b)))
	resp, out := search(t, url+"/indexes/x/search", `{"q":"x"}`, "Accept-Encoding", "br, zstd")
	if resp.StatusCode != 200 || len(hitIDs(t, out)) != 2 {
		t.Fatalf("status %d %v", resp.StatusCode, out)
	}
	for _, f := range []*fakeEngine{a, b} {
		if ae := f.requests()[0].Header.Get("Accept-Encoding"); ae != "gzip" {
			t.Errorf("shard saw Accept-Encoding %q, want gzip from Go's transport only", ae)
		}
	}
}
