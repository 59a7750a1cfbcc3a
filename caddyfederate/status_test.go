package caddyfederate

import (
	"context"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/searchfront/caddy-federate/dialect"
)

// remoteError returns remoteErrors[shard] of a Meilisearch-dialect answer.
func remoteError(out map[string]any, shard string) map[string]any {
	re, _ := out["remoteErrors"].(map[string]any)
	e, _ := re[shard].(map[string]any)
	return e
}

// TestShardStatuses drives one shard into each failure while the other
// answers, and checks the partial-result contract: 200, the good shard's
// hits all present, Federate-Complete false, and the failed shard in
// remoteErrors with its code.
func TestShardStatuses(t *testing.T) {
	cases := []struct {
		name   string
		breakB func(f *fakeEngine)
		opts   []string
		code   string
	}{
		{"upstream 500", func(f *fakeEngine) { f.status = 500 }, nil, "shard_error"},
		{"HTML answer", func(f *fakeEngine) { f.raw = "<html><body>502 Bad Gateway</body></html>" }, nil, "shard_invalid_response"},
		{"truncated JSON", func(f *fakeEngine) { f.raw = `{"hits":[{"id":"b1","_rankingScore":0.5},{"id":"b` }, nil, "shard_invalid_response"},
		{"wrong shape", func(f *fakeEngine) { f.raw = `{"hits":"nope"}` }, nil, "shard_invalid_response"},
		{"hangs past its timeout", func(f *fakeEngine) { f.delay = 5 * time.Second }, []string{"timeout 200ms"}, "shard_timeout"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := newFakeEngine(t, "meilisearch", fakeHit{"a1", 1, ""}, fakeHit{"a2", 0.5, ""})
			b := newFakeEngine(t, "meilisearch", fakeHit{"b1", 1, ""})
			b.set(tc.breakB)
			url := startCaddy(t, meiliSite("", shardLine("a", a), shardLine("b", b, tc.opts...)))
			start := time.Now()
			resp, out := search(t, url+"/indexes/x/search", `{"q":"q"}`)
			took := time.Since(start)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d, want 200 with partial results: %v", resp.StatusCode, out)
			}
			if got := hitIDs(t, out); !reflect.DeepEqual(got, []string{"a1", "a2"}) {
				t.Errorf("hits %v, want all of shard a's", got)
			}
			if resp.Header.Get("Federate-Complete") != "false" {
				t.Errorf("Federate-Complete = %q, want false", resp.Header.Get("Federate-Complete"))
			}
			e := remoteError(out, "b")
			if e == nil || e["code"] != tc.code {
				t.Fatalf("remoteErrors.b = %v, want code %s", out["remoteErrors"], tc.code)
			}
			if msg, _ := e["message"].(string); msg == "" {
				t.Errorf("remoteErrors.b has no message")
			}
			if remoteError(out, "a") != nil {
				t.Errorf("the good shard is listed in remoteErrors: %v", out["remoteErrors"])
			}
			if took > 2*time.Second {
				t.Errorf("took %v: a slow shard must not hold the answer past its timeout", took)
			}
			if st := resp.Header.Get("Server-Timing"); !strings.Contains(st, `b;desc=`) {
				t.Errorf("Server-Timing %q lacks shard b", st)
			}
		})
	}
}

// TestOversizedShardAnswer: an answer above max_response_size marks the
// shard invalid instead of being buffered whole.
func TestOversizedShardAnswer(t *testing.T) {
	a := newFakeEngine(t, "meilisearch", fakeHit{"a1", 1, ""})
	b := newFakeEngine(t, "meilisearch", fakeHit{"b1", 1, strings.Repeat("x", 64<<10)})
	url := startCaddy(t, meiliSite("\t\tmax_response_size 16KiB", shardLine("a", a), shardLine("b", b)))
	resp, out := search(t, url+"/indexes/x/search", `{"q":"q"}`)
	if resp.StatusCode != 200 || remoteError(out, "b")["code"] != "shard_invalid_response" {
		t.Fatalf("status %d, remoteErrors %v", resp.StatusCode, out["remoteErrors"])
	}
	if msg := remoteError(out, "b")["message"].(string); !strings.Contains(msg, "max_response_size") {
		t.Errorf("message %q should name max_response_size", msg)
	}
}

// TestUnavailableAnsweredAtOnce: once passive health checks have marked a
// shard's only replica down, the shard is reported unavailable without
// waiting for its timeout.
func TestUnavailableAnsweredAtOnce(t *testing.T) {
	a := newFakeEngine(t, "meilisearch", fakeHit{"a1", 1, ""})
	dead := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	site := meiliSite("", shardLine("a", a), fmt.Sprintf("\t\tshard b %s {\n\t\t\ttimeout 1s\n\t\t\tfail_duration 30s\n\t\t\tmax_fails 1\n\t\t}", dead))
	url := startCaddy(t, site)
	_, out := search(t, url+"/indexes/x/search", `{"q":"q"}`)
	if code := remoteError(out, "b")["code"]; code != "shard_error" && code != "shard_unavailable" {
		t.Fatalf("first request: dial refused should be an error, got %v", out["remoteErrors"])
	}
	start := time.Now()
	resp, out := search(t, url+"/indexes/x/search", `{"q":"q"}`)
	if resp.StatusCode != 200 || remoteError(out, "b")["code"] != "shard_unavailable" {
		t.Fatalf("second request: status %d, remoteErrors %v", resp.StatusCode, out["remoteErrors"])
	}
	if took := time.Since(start); took > 500*time.Millisecond {
		t.Errorf("unavailable shard took %v; it should be answered at once", took)
	}
}

// TestQuorumAndStatusCodes covers the route-level status codes.
func TestQuorumAndStatusCodes(t *testing.T) {
	cases := []struct {
		name   string
		extra  string
		breakA func(f *fakeEngine)
		breakB func(f *fakeEngine)
		want   int
		code   string
	}{
		{"quorum met", "", nil, func(f *fakeEngine) { f.status = 500 }, 200, ""},
		{"min_shards missed", "\t\tmin_shards 2", nil, func(f *fakeEngine) { f.status = 500 }, 503, "shards_quorum_not_met"},
		{"required shard failed", "\t\trequire b", nil, func(f *fakeEngine) { f.status = 500 }, 503, "shards_quorum_not_met"},
		{"every shard failed", "", func(f *fakeEngine) { f.status = 500 }, func(f *fakeEngine) { f.raw = "<html>" }, 502, "shards_failed"},
		{"every shard timed out", "\t\ttimeout 200ms", func(f *fakeEngine) { f.delay = 3 * time.Second }, func(f *fakeEngine) { f.delay = 3 * time.Second }, 504, "shards_timeout"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := newFakeEngine(t, "meilisearch", fakeHit{"a1", 1, ""})
			b := newFakeEngine(t, "meilisearch", fakeHit{"b1", 1, ""})
			if tc.breakA != nil {
				a.set(tc.breakA)
			}
			if tc.breakB != nil {
				b.set(tc.breakB)
			}
			url := startCaddy(t, meiliSite(tc.extra, shardLine("a", a), shardLine("b", b)))
			resp, out := search(t, url+"/indexes/x/search", `{"q":"q"}`)
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d, want %d: %v", resp.StatusCode, tc.want, out)
			}
			if tc.code == "" {
				return
			}
			// Meilisearch error shape: {message, code, type, link}.
			if out["code"] != tc.code || out["message"] == "" || out["type"] == nil || out["link"] == nil {
				t.Errorf("error body %v, want Meilisearch shape with code %s", out, tc.code)
			}
			if resp.Header.Get("Federate-Complete") != "false" {
				t.Errorf("Federate-Complete = %q", resp.Header.Get("Federate-Complete"))
			}
		})
	}
}

// TestSkippedShard: Federate-Shards limits the fan-out; the others are
// reported skipped and not asked.
func TestSkippedShard(t *testing.T) {
	a := newFakeEngine(t, "meilisearch", fakeHit{"a1", 1, ""})
	b := newFakeEngine(t, "meilisearch", fakeHit{"b1", 1, ""})
	url := startCaddy(t, meiliSite("", shardLine("a", a), shardLine("b", b)))
	resp, out := search(t, url+"/indexes/x/search", `{"q":"q"}`, "Federate-Shards", "a")
	if resp.StatusCode != 200 || !reflect.DeepEqual(hitIDs(t, out), []string{"a1"}) {
		t.Fatalf("status %d hits %v", resp.StatusCode, out["hits"])
	}
	if len(b.requests()) != 0 {
		t.Errorf("a skipped shard was asked")
	}
	if remoteError(out, "b")["code"] != "shard_skipped" {
		t.Errorf("remoteErrors %v, want b skipped", out["remoteErrors"])
	}
	resp, out = search(t, url+"/indexes/x/search", `{"q":"q"}`, "Federate-Shards", "nope")
	if resp.StatusCode != 400 {
		t.Errorf("unknown shard in Federate-Shards: status %d %v", resp.StatusCode, out)
	}
}

// TestBadRequests: malformed input is answered in the client's dialect,
// with the right status, and no shard is asked.
func TestBadRequests(t *testing.T) {
	a := newFakeEngine(t, "meilisearch", fakeHit{"a1", 1, ""})
	url := startCaddy(t, meiliSite("\t\tmax_window 50\n\t\tmax_request_body 1KiB", shardLine("a", a)))
	cases := []struct {
		name, body string
		want       int
	}{
		{"bad JSON", `{"q":`, 400},
		{"wrong type", `{"q":"x","limit":"ten"}`, 400},
		{"window above max_window", `{"q":"x","offset":40,"limit":20}`, 400},
		{"body above max_request_body", `{"q":"` + strings.Repeat("x", 2048) + `"}`, 413},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, out := search(t, url+"/indexes/x/search", tc.body)
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d, want %d: %v", resp.StatusCode, tc.want, out)
			}
			if msg, _ := out["message"].(string); msg == "" || out["code"] == nil || out["type"] == nil {
				t.Errorf("not a Meilisearch error: %v", out)
			}
		})
	}
	if n := len(a.requests()); n != 0 {
		t.Errorf("bad requests reached the shard %d times", n)
	}
	// Elasticsearch clients get Elasticsearch's error shape.
	url = startCaddy(t, "\tfederate {\n\t\tdialect elasticsearch\n"+shardLine("a", newFakeEngine(t, "elasticsearch"))+"\n\t}")
	resp, out := search(t, url+"/x/_search", `{"query":`)
	errObj, _ := out["error"].(map[string]any)
	if resp.StatusCode != http.StatusBadRequest || errObj["type"] == nil || errObj["reason"] == nil || out["status"] != float64(400) {
		t.Errorf("Elasticsearch error shape: %d %v", resp.StatusCode, out)
	}
}

// TestClassifyContextEnded: reverse_proxy writes a 499 and returns no
// error when the request's context ends; that is the client leaving or
// the deadline, not the upstream's answer.
func TestClassifyContextEnded(t *testing.T) {
	sw := &shardWriter{written: true, status: 499}
	gone, cancel := context.WithCancel(context.Background())
	cancel()
	late, cancel2 := context.WithTimeout(context.Background(), -time.Second)
	defer cancel2()
	for _, c := range []struct {
		ctx    context.Context
		status dialect.Status
		reason string
	}{
		{gone, dialect.StatusError, reasonClientGone},
		{late, dialect.StatusTimeout, "no answer within 1s"},
		{context.Background(), dialect.StatusError, "upstream answered 499: "},
	} {
		st, why := classify(c.ctx, nil, sw, time.Second, 1<<20)
		if st != c.status || why != c.reason {
			t.Errorf("ctx %v: got %s %q, want %s %q", c.ctx.Err(), st, why, c.status, c.reason)
		}
	}
}
