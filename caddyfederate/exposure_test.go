package caddyfederate

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/searchfront/caddy-federate/dialect"
)

// TestShardErrorsStayInside: the attack (before): a client read a failed
// shard's replica address, dial error and the start of the upstream's error
// body in the answer. Safe: the client gets a generic reason (status
// class, connection failed) and no address; the full reason is in the
// admin status; expose_shard_errors gives it back to clients.
func TestShardErrorsStayInside(t *testing.T) {
	ok := newFakeEngine(t, "elasticsearch", fakeHit{"x", 1, ""})
	leaky := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprint(w, `{"error":"index acme-private on node 10.9.8.7 is corrupt"}`)
	}))
	t.Cleanup(leaky.Close)
	dead := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	leakyAddr := strings.TrimPrefix(leaky.URL, "http://")
	secrets := []string{"acme-private", "10.9.8.7", leakyAddr, dead, ok.addr(), "connection refused", "dial"}
	for _, expose := range []bool{false, true} {
		t.Run(fmt.Sprintf("expose=%v", expose), func(t *testing.T) {
			extra := "\t\tname exposure\n\t\tdedupe off\n\t\tcoalesce off"
			if expose {
				extra += "\n\t\texpose_shard_errors"
			}
			site := "\tfederate /docs/_search {\n\t\tdialect elasticsearch\n" + extra + "\n" +
				fmt.Sprintf("\t\tshard ok %s\n\t\tshard leaky %s\n\t\tshard dead %s\n\t}", ok.addr(), leakyAddr, dead)
			url := startCaddy(t, site)
			resp, err := http.Post(url+"/docs/_search", "application/json", strings.NewReader(`{"query":{"match_all":{}}}`))
			if err != nil {
				t.Fatal(err)
			}
			var raw json.RawMessage
			_ = json.NewDecoder(resp.Body).Decode(&raw)
			resp.Body.Close()
			body := string(raw)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			for _, s := range secrets {
				if leaked := strings.Contains(body, s); leaked != expose && !(expose && (s == ok.addr() || s == dead || s == "dial")) {
					t.Errorf("answer contains %q = %v, want %v: %s", s, leaked, expose, body)
				}
			}
			if !expose && (!strings.Contains(body, "HTTP 5xx") || !strings.Contains(body, "could not be reached")) {
				t.Errorf("generic reasons missing: %s", body)
			}
			// The operator still sees everything.
			st := routeStatusNamed(t, "exposure")
			for _, s := range st.Shards {
				if s.Name == "leaky" && (s.LastFailure == nil || !strings.Contains(s.LastFailure.Reason, "acme-private")) {
					t.Errorf("admin status lacks the leaky shard's full reason: %+v", s.LastFailure)
				}
				if s.Name == "dead" && (s.LastFailure == nil || !strings.Contains(s.LastFailure.Reason, dead)) {
					t.Errorf("admin status lacks the dead shard's full reason: %+v", s.LastFailure)
				}
			}
		})
	}
}

// routeStatusNamed is the admin API's view of the loaded route name.
func routeStatusNamed(t *testing.T, name string) routeStatus {
	t.Helper()
	routes.Lock()
	defer routes.Unlock()
	for h := range routes.m {
		if h.name() == name {
			return h.status()
		}
	}
	t.Fatalf("no route %q loaded", name)
	return routeStatus{}
}

func TestGenericReasonsAllStatuses(t *testing.T) {
	h := &Handler{}
	for _, tc := range []struct {
		rep  string
		code int
		want string
	}{
		{"timeout", 0, "no answer before the deadline"},
		{"unavailable", 0, "no available replica"},
		{"invalid", 200, "the shard's answer was not valid"},
		{"error", 404, "the shard answered HTTP 4xx"},
		{"error", 0, "the shard could not be reached (connection failed)"},
	} {
		r := h.clientReport(dialectReport(tc.rep, tc.code, "dial tcp 10.0.0.1:9200: refused", "10.0.0.1:9200"))
		if r.Reason != tc.want || r.Replica != "" {
			t.Errorf("%s/%d: reason %q replica %q, want %q and none", tc.rep, tc.code, r.Reason, r.Replica, tc.want)
		}
	}
}

func dialectReport(status string, code int, reason, replica string) dialect.ShardReport {
	return dialect.ShardReport{Name: "s", Status: dialect.Status(status), HTTPStatus: code, Reason: reason, Replica: replica}
}
