package caddyfederate

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestHedgingKeepsRoundRobin: the attack (before): each hedge advanced the
// shard's round_robin, so with two replicas every primary went to the same
// one. Safe: with every request hedged, the primaries still alternate.
func TestHedgingKeepsRoundRobin(t *testing.T) {
	var mu sync.Mutex
	first := map[string]string{} // query → replica that got it first
	hedged := 0
	replica := func(name string) *httptest.Server {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var body struct{ Q string }
			_ = json.NewDecoder(r.Body).Decode(&body)
			mu.Lock()
			if _, seen := first[body.Q]; !seen {
				first[body.Q] = name
			} else {
				hedged++
			}
			mu.Unlock()
			select {
			case <-time.After(150 * time.Millisecond):
			case <-r.Context().Done():
				return
			}
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"hits":[{"id":"x","_rankingScore":1}],"estimatedTotalHits":1,"offset":0,"limit":20,"processingTimeMs":1,"query":%q}`, body.Q)
		}))
		t.Cleanup(srv.Close)
		return srv
	}
	a, b := replica("a"), replica("b")
	addr := func(s *httptest.Server) string { return strings.TrimPrefix(s.URL, "http://") }
	url := startCaddy(t, meiliSite("\t\ttimeout 5s", fmt.Sprintf(
		"\t\tshard s %s %s {\n\t\t\tlb_policy round_robin\n\t\t\thedge 40ms budget 100\n\t\t}", addr(a), addr(b))))
	var seq []string
	for i := 0; i < 8; i++ {
		q := fmt.Sprintf("q%d", i)
		if resp, out := search(t, url+"/indexes/x/search", fmt.Sprintf(`{"q":%q}`, q)); resp.StatusCode != 200 {
			t.Fatalf("%s: %d %v", q, resp.StatusCode, out)
		}
		mu.Lock()
		seq = append(seq, first[q])
		mu.Unlock()
	}
	mu.Lock()
	defer mu.Unlock()
	if hedged < 6 {
		t.Fatalf("only %d of 8 requests were hedged; the test needs hedges", hedged)
	}
	for i := 1; i < len(seq); i++ {
		if seq[i] == seq[i-1] {
			t.Fatalf("primaries %v do not alternate", seq)
		}
	}
}
