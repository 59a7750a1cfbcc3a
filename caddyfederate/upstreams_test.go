package caddyfederate

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

// dynamicLocalhost is a shard whose replica is `dynamic a localhost`:
// /etc/hosts resolves it to 127.0.0.1, and port is where the replica
// listens (or does not).
func dynamicLocalhost(name string, port int, opts ...string) string {
	return fmt.Sprintf("\t\tshard %s {\n\t\t\tdynamic a localhost %d {\n\t\t\t\tversions ipv4\n\t\t\t}\n%s\n\t\t}",
		name, port, strings.Join(opts, "\n"))
}

// TestDynamicUpstreamUnavailable: a shard whose dynamic upstreams are all
// down (passive health) is answered unavailable at once, not after
// lb_try_duration; /federate/status lists its dynamic upstream, down.
func TestDynamicUpstreamUnavailable(t *testing.T) {
	a := newFakeEngine(t, "meilisearch", fakeHit{"a1", 1, ""})
	dead := freePort(t)
	_, port, _ := net.SplitHostPort(a.addr())
	live, _ := strconv.Atoi(port)
	site := meiliSite("\t\tname dyn", dynamicLocalhost("a", live), dynamicLocalhost("b", dead,
		"\t\t\tlb_try_duration 600ms\n\t\t\tfail_duration 30s\n\t\t\tmax_fails 1"))
	url := startCaddy(t, site)
	if _, out := search(t, url+"/indexes/x/search", `{"q":"q"}`); len(hitIDs(t, out)) != 1 {
		t.Fatalf("first search: %v", out)
	}
	for range 3 {
		start := time.Now()
		resp, out := search(t, url+"/indexes/x/search", `{"q":"q"}`)
		if resp.StatusCode != 200 || remoteError(out, "b")["code"] != "shard_unavailable" || len(hitIDs(t, out)) != 1 {
			t.Fatalf("status %d, %v", resp.StatusCode, out)
		}
		if took := time.Since(start); took > 300*time.Millisecond {
			t.Errorf("took %v: a shard with every dynamic upstream down should be answered at once", took)
		}
	}

	rec := httptest.NewRecorder()
	if err := (adminStatus{}).serve(rec, httptest.NewRequest(http.MethodGet, "/federate/status", nil)); err != nil {
		t.Fatal(err)
	}
	var st []routeStatus
	if err := json.Unmarshal(rec.Body.Bytes(), &st); err != nil {
		t.Fatal(err)
	}
	var got map[string][]upstreamStatus
	for _, r := range st {
		if r.Name == "dyn" {
			got = map[string][]upstreamStatus{}
			for _, s := range r.Shards {
				got[s.Name] = s.Upstreams
			}
		}
	}
	if a := got["a"]; len(a) != 1 || a[0].Address != "127.0.0.1:"+port || !a[0].Dynamic || !a[0].Available || a[0].NumRequests != 0 {
		t.Errorf("shard a upstreams %+v, want 127.0.0.1:%s dynamic, available, idle", a, port)
	}
	if b := got["b"]; len(b) != 1 || b[0].Address != fmt.Sprintf("127.0.0.1:%d", dead) || !b[0].Dynamic || b[0].Available || b[0].Fails == 0 {
		t.Errorf("shard b upstreams %+v, want 127.0.0.1:%d dynamic, down, with its failure", b, dead)
	}
}
