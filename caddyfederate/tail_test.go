package caddyfederate

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// twoReplicaShard is a shard whose primary (chosen first by lb_policy
// first) is slow, with a fast second replica.
func twoReplicaShard(slow, fast *fakeEngine, hedge string) string {
	return fmt.Sprintf("\t\tshard s %s %s {\n\t\t\tlb_policy first\n\t\t\thedge %s\n\t\t}", slow.addr(), fast.addr(), hedge)
}

// TestHedgeWinsAndCancelsLoser: the primary replica hangs; after the hedge
// delay a second request goes to the other replica, its answer is used,
// and the primary's request is cancelled.
func TestHedgeWinsAndCancelsLoser(t *testing.T) {
	slow := newFakeEngine(t, "meilisearch", fakeHit{"h1", 1, "slow"})
	fast := newFakeEngine(t, "meilisearch", fakeHit{"h1", 1, "fast"})
	slow.set(func(f *fakeEngine) { f.delay = 5 * time.Second })
	url := startCaddy(t, meiliSite("\t\ttimeout 10s", twoReplicaShard(slow, fast, "50ms")))
	before := goleak.IgnoreCurrent()
	wonBefore := counterValue(t, hedgesWon.WithLabelValues("federate", "s"))

	start := time.Now()
	resp, out := search(t, url+"/indexes/x/search", `{"q":"x"}`)
	took := time.Since(start)
	if resp.StatusCode != 200 || out["hits"].([]any)[0].(map[string]any)["title"] != "fast" {
		t.Fatalf("status %d, hits %v: want the hedge's answer", resp.StatusCode, out["hits"])
	}
	// The primary answers after 5 s: anything well below that is the hedge's
	// answer, with room for a loaded CI machine.
	if took > 4*time.Second {
		t.Errorf("took %v; the hedge should answer shortly after 50ms, not at the primary's 5s", took)
	}
	select {
	case <-slow.canceled:
	case <-time.After(3 * time.Second):
		t.Error("the losing primary request was not cancelled")
	}
	if len(fast.requests()) != 1 || len(slow.requests()) != 1 {
		t.Errorf("requests: slow %d fast %d, want 1 and 1", len(slow.requests()), len(fast.requests()))
	}
	if got := counterValue(t, hedgesWon.WithLabelValues("federate", "s")) - wonBefore; got != 1 {
		t.Errorf("hedges won counter moved by %v, want 1", got)
	}
	verifyNoLeaks(t, before)
}

// TestHedgeNotSentWhenFast: an answer within the delay sends no hedge.
func TestHedgeNotSentWhenFast(t *testing.T) {
	a := newFakeEngine(t, "meilisearch", fakeHit{"h1", 1, "a"})
	b := newFakeEngine(t, "meilisearch", fakeHit{"h1", 1, "b"})
	url := startCaddy(t, meiliSite("", twoReplicaShard(a, b, "1s")))
	for i := 0; i < 5; i++ {
		search(t, url+"/indexes/x/search", `{"q":"x"}`)
	}
	if len(b.requests()) != 0 || len(a.requests()) != 5 {
		t.Errorf("requests: primary %d, other %d; want 5 and 0", len(a.requests()), len(b.requests()))
	}
}

// TestHedgeBudget: with every primary slow, a 10 % budget (burst 10)
// allows at most 10 + 10 % of 60 = 16 hedges over 60 requests.
func TestHedgeBudget(t *testing.T) {
	slow := newFakeEngine(t, "meilisearch", fakeHit{"h1", 1, "slow"})
	fast := newFakeEngine(t, "meilisearch", fakeHit{"h1", 1, "fast"})
	slow.set(func(f *fakeEngine) { f.delay = 40 * time.Millisecond })
	url := startCaddy(t, meiliSite("\t\ttimeout 10s", twoReplicaShard(slow, fast, "5ms budget 10")))
	for i := 0; i < 60; i++ {
		if resp, _ := search(t, url+"/indexes/x/search", `{"q":"x"}`); resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
	}
	n := len(fast.requests())
	if n < 10 || n > 16 {
		t.Errorf("%d hedges over 60 requests; the budget allows 10 to 16", n)
	}
}

// TestCoalescing: identical concurrent requests share one fan-out; other
// credentials never share it; `coalesce off` turns it off.
func TestCoalescing(t *testing.T) {
	for _, tc := range []struct {
		name  string
		extra string
		auths []string
		want  int
	}{
		{"same user", "", []string{"Bearer u1"}, 1},
		{"two users", "", []string{"Bearer u1", "Bearer u2"}, 2},
		{"off", "\t\tcoalesce off", []string{"Bearer u1"}, 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := newFakeEngine(t, "meilisearch", fakeHit{"a1", 1, ""})
			a.set(func(f *fakeEngine) { f.delay = 400 * time.Millisecond })
			url := startCaddy(t, meiliSite(tc.extra+"\n\t\ttimeout 10s", shardLine("a", a)))
			var wg sync.WaitGroup
			for i := 0; i < 10; i++ {
				wg.Add(1)
				go func(i int) {
					defer wg.Done()
					auth := tc.auths[i%len(tc.auths)]
					resp, out := search(t, url+"/indexes/x/search", `{"q":"same"}`, "Authorization", auth)
					if resp.StatusCode != 200 || len(hitIDs(t, out)) != 1 {
						t.Errorf("status %d, %v", resp.StatusCode, out)
					}
				}(i)
			}
			wg.Wait()
			if got := len(a.requests()); got != tc.want {
				t.Errorf("shard saw %d requests, want %d", got, tc.want)
			}
		})
	}
}

// TestCoalescedClientLeaving: the first client leaving does not fail a
// second one waiting for the same fan-out.
func TestCoalescedClientLeaving(t *testing.T) {
	a := newFakeEngine(t, "meilisearch", fakeHit{"a1", 1, ""})
	a.set(func(f *fakeEngine) { f.delay = 500 * time.Millisecond })
	url := startCaddy(t, meiliSite("\t\ttimeout 10s", shardLine("a", a)))
	client := &http.Client{Timeout: 100 * time.Millisecond}
	go func() {
		req, _ := http.NewRequest(http.MethodPost, url+"/indexes/x/search", strings.NewReader(`{"q":"same"}`))
		req.Header.Set("Content-Type", "application/json") // as search sends it: the same request
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	time.Sleep(30 * time.Millisecond)
	resp, out := search(t, url+"/indexes/x/search", `{"q":"same"}`)
	if resp.StatusCode != 200 || len(hitIDs(t, out)) != 1 {
		t.Fatalf("status %d %v", resp.StatusCode, out)
	}
	if n := len(a.requests()); n != 1 {
		t.Errorf("shard saw %d requests, want 1 shared", n)
	}
}

// TestMetricsSurviveReload: counts are served by Caddy's metrics handler
// and keep growing across a config reload.
func TestMetricsSurviveReload(t *testing.T) {
	a := newFakeEngine(t, "meilisearch", fakeHit{"a1", 1, ""})
	site := "\tmetrics /metrics\n" + meiliSite("\t\tname reloadtest", shardLine("a", a))
	url := startCaddy(t, site)
	search(t, url+"/indexes/x/search", `{"q":"1"}`)
	first := scrape(t, url, `caddy_federate_shard_requests_total{route="reloadtest",shard="a",status="ok"}`)
	url = startCaddy(t, site)
	search(t, url+"/indexes/x/search", `{"q":"2"}`)
	second := scrape(t, url, `caddy_federate_shard_requests_total{route="reloadtest",shard="a",status="ok"}`)
	if first < 1 || second != first+1 {
		t.Errorf("ok count %v then %v after a reload, want n then n+1", first, second)
	}
	for _, name := range []string{"caddy_federate_shard_duration_seconds_bucket", "caddy_federate_answers_total", "caddy_federate_upstreams_available"} {
		if scrapeAll(t, url); !strings.Contains(scrapeAll(t, url), name) {
			t.Errorf("metric %s missing", name)
		}
	}
}

func scrapeAll(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func scrape(t *testing.T, url, series string) float64 {
	t.Helper()
	m := regexp.MustCompile(regexp.QuoteMeta(series) + ` (\S+)`).FindStringSubmatch(scrapeAll(t, url))
	if m == nil {
		t.Fatalf("series %s not exported", series)
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	return v
}

// TestAdminStatus: the admin endpoint lists the route, its shards, their
// replicas' health and the latency federate observed.
func TestAdminStatus(t *testing.T) {
	a := newFakeEngine(t, "meilisearch", fakeHit{"a1", 1, ""})
	url := startCaddy(t, meiliSite("\t\tname adminroute", shardLine("a", a)))
	search(t, url+"/indexes/x/search", `{"q":"x"}`)
	rec := httptest.NewRecorder()
	if err := (adminStatus{}).serve(rec, httptest.NewRequest(http.MethodGet, "/federate/status", nil)); err != nil {
		t.Fatal(err)
	}
	var out []routeStatus
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatalf("%v: %s", err, rec.Body)
	}
	var found *routeStatus
	for i := range out {
		if out[i].Name == "adminroute" {
			found = &out[i]
		}
	}
	if found == nil || len(found.Shards) != 1 {
		t.Fatalf("status %s", rec.Body)
	}
	s := found.Shards[0]
	if len(s.Upstreams) != 1 || s.Upstreams[0].Address != a.addr() || !s.Upstreams[0].Available {
		t.Errorf("upstreams %+v", s.Upstreams)
	}
	if len(s.Latency) != 1 || s.Latency[0].Requests < 1 {
		t.Errorf("latency %+v, want one observed request on %s", s.Latency, a.addr())
	}
}

// TestTraceContextReachesShards: W3C trace context goes to every shard.
func TestTraceContextReachesShards(t *testing.T) {
	a := newFakeEngine(t, "meilisearch", fakeHit{"a1", 1, ""})
	b := newFakeEngine(t, "elasticsearch", fakeHit{"b1", 1, ""})
	url := startCaddy(t, meiliSite("", shardLine("a", a), shardLine("b", b, "dialect elasticsearch")))
	const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	search(t, url+"/indexes/x/search", `{"q":"x"}`, "traceparent", tp)
	for _, f := range []*fakeEngine{a, b} {
		if got := f.requests()[0].Header.Get("Traceparent"); got != tp {
			t.Errorf("shard got traceparent %q, want %q", got, tp)
		}
	}
}
