package health

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp/reverseproxy"
)

// testPool returns unprovisioned upstreams, available, with no requests.
func testPool(t testing.TB, addrs ...string) reverseproxy.UpstreamPool {
	t.Helper()
	pool := make(reverseproxy.UpstreamPool, len(addrs))
	for i, a := range addrs {
		pool[i] = &reverseproxy.Upstream{Dial: a}
	}
	return pool
}

func provisioned(t testing.TB) *LatencySelection {
	t.Helper()
	s := new(LatencySelection)
	if err := s.Provision(caddy.Context{}); err != nil {
		t.Fatal(err)
	}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	return s
}

// picks counts the addresses sel chooses over n selections for r.
func picks(sel reverseproxy.Selector, pool reverseproxy.UpstreamPool, r *http.Request, n int) map[string]int {
	got := make(map[string]int)
	for range n {
		if u := sel.Select(pool, r, nil); u != nil {
			got[u.Dial]++
		} else {
			got["<nil>"]++
		}
	}
	return got
}

func TestLatencyPrefersFaster(t *testing.T) {
	const fast, slow = "10.0.5.1:7700", "10.0.5.2:7700"
	tr := NewTracker()
	defer tr.Destruct()
	for range 5 {
		tr.Observe(fast, time.Millisecond, true)
		tr.Observe(slow, 10*time.Millisecond, true)
	}
	got := picks(provisioned(t), testPool(t, fast, slow), nil, 1000)
	if got[fast] < 900 {
		t.Errorf("picks = %v, want the 10× faster upstream in >90%%", got)
	}
}

// TestLatencyLearns runs the policy in a loop fed by its own choices, from no
// knowledge, as federate runs it.
func TestLatencyLearns(t *testing.T) {
	const fast, slow = "10.0.6.1:7700", "10.0.6.2:7700"
	tr := NewTracker()
	defer tr.Destruct()
	sel, pool := provisioned(t), testPool(t, fast, slow)
	latency := map[string]time.Duration{fast: 2 * time.Millisecond, slow: 20 * time.Millisecond}
	got := make(map[string]int)
	for range 2000 {
		u := sel.Select(pool, nil, nil)
		got[u.Dial]++
		tr.Observe(u.Dial, latency[u.Dial], true)
	}
	if got[fast] < 1800 {
		t.Errorf("picks = %v, want the 10× faster upstream in >90%%", got)
	}
}

func TestLatencyWithoutDataSpreads(t *testing.T) {
	got := picks(provisioned(t), testPool(t, "10.0.7.1:7700", "10.0.7.2:7700"), nil, 2000)
	for a, n := range got {
		if n < 800 {
			t.Errorf("picks = %v: %s starved without latency data", got, a)
		}
	}
}

func TestLatencyRetriesIdleSlowReplica(t *testing.T) {
	const fast, slow = "10.0.8.1:7700", "10.0.8.2:7700"
	tr := NewTracker()
	defer tr.Destruct()
	tr.Observe(fast, 5*time.Millisecond, true)
	tr.Observe(slow, 50*time.Millisecond, true)
	// the slow replica got no calls for five tau: 50ms·e⁻⁵ ≈ 0.34ms < 5ms
	lookup(slow).ewma.stamp.Add(-5 * int64(DefaultTau))
	got := picks(provisioned(t), testPool(t, fast, slow), nil, 100)
	if got[slow] != 100 {
		t.Errorf("picks = %v, want the decayed replica probed", got)
	}
}

func TestLatencyExcludesAndFallsBack(t *testing.T) {
	const a, b, c = "10.0.9.1:7700", "10.0.9.2:7700", "10.0.9.3:7700"
	sel := provisioned(t)
	req := func(ex ...string) *http.Request {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		return r.WithContext(WithExcluded(r.Context(), ex...))
	}
	for _, tc := range []struct {
		name string
		pool reverseproxy.UpstreamPool
		r    *http.Request
		want []string
	}{
		{"empty pool", nil, req(), []string{"<nil>"}},
		{"one upstream", testPool(t, a), req(), []string{a}},
		{"one left after exclusion", testPool(t, a, b, c), req(a, c), []string{b}},
		{"two left after exclusion", testPool(t, a, b, c), req(b), []string{a, c}},
		{"all excluded", testPool(t, a, b), req(a, b), []string{"<nil>"}},
		{"no request", testPool(t, a, b), nil, []string{a, b}},
	} {
		got := picks(sel, tc.pool, tc.r, 200)
		for addr := range got {
			if !strings.Contains(strings.Join(tc.want, " "), addr) {
				t.Errorf("%s: picks = %v, want only %v", tc.name, got, tc.want)
			}
		}
	}
}

// TestPoliciesSkipUnavailable marks an upstream unhealthy the only way Caddy
// allows: a real reverse_proxy handler with passive health checks fails a
// request to it.
func TestPoliciesSkipUnavailable(t *testing.T) {
	if err := caddy.Load([]byte(`{"admin":{"disabled":true,"config":{"persist":false}}}`), true); err != nil {
		t.Fatal(err)
	}
	defer caddy.Stop() //nolint:errcheck
	ctx, cancel := caddy.NewContext(caddy.ActiveContext())
	defer cancel()

	dead := closedAddr(t)
	h := &reverseproxy.Handler{
		Upstreams:     reverseproxy.UpstreamPool{{Dial: dead}, {Dial: "10.0.10.2:7700"}, {Dial: "10.0.10.3:7700"}},
		LoadBalancing: &reverseproxy.LoadBalancing{SelectionPolicy: reverseproxy.FirstSelection{}},
		HealthChecks: &reverseproxy.HealthChecks{Passive: &reverseproxy.PassiveHealthChecks{
			MaxFails: 1, FailDuration: caddy.Duration(time.Minute),
		}},
	}
	if err := h.Provision(ctx); err != nil {
		t.Fatal(err)
	}
	defer h.Cleanup() //nolint:errcheck
	failOnce(t, h)
	if h.Upstreams[0].Available() {
		t.Fatal("the dead upstream is still available after a passive failure")
	}

	for _, sel := range []reverseproxy.Selector{provisioned(t), Wrap(reverseproxy.FirstSelection{}), Wrap(&reverseproxy.RoundRobinSelection{})} {
		got := picks(sel, h.Upstreams, httptest.NewRequest(http.MethodGet, "/", nil), 300)
		if got[dead] > 0 || got["<nil>"] > 0 {
			t.Errorf("%T picks = %v, want never the unavailable %s", sel, got, dead)
		}
	}
	// the only other upstream left after excluding one: always it
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r = r.WithContext(WithExcluded(r.Context(), "10.0.10.2:7700"))
	for _, sel := range []reverseproxy.Selector{provisioned(t), Wrap(reverseproxy.FirstSelection{})} {
		if got := picks(sel, h.Upstreams, r, 100); got["10.0.10.3:7700"] != 100 {
			t.Errorf("%T picks = %v, want only 10.0.10.3:7700", sel, got)
		}
	}
	if !CanHedge(h.Upstreams, "10.0.10.2:7700") || CanHedge(h.Upstreams, "10.0.10.2:7700", "10.0.10.3:7700") {
		t.Error("CanHedge does not see which upstreams are left")
	}
}

func TestExcludingSelectorRecordsPicks(t *testing.T) {
	const a, b = "10.0.11.1:7700", "10.0.11.2:7700"
	pool := testPool(t, a, b)
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	ctx, p := WithPicks(r.Context())
	sel := Wrap(reverseproxy.FirstSelection{})
	if u := sel.Select(pool, r.WithContext(ctx), nil); u.Dial != a || p.Last() != a {
		t.Fatalf("primary went to %v, picks %v; want %s recorded", u, p.Addrs(), a)
	}
	// the hedge: same picks, the primary's replica excluded
	hctx := WithExcluded(ctx, p.Last())
	if u := sel.Select(pool, r.WithContext(hctx), nil); u.Dial != b {
		t.Fatalf("hedge went to %v, want %s", u, b)
	}
	if got := p.Addrs(); len(got) != 2 || got[1] != b {
		t.Errorf("picks = %v, want [%s %s]", got, a, b)
	}
	if ex := Excluded(WithExcluded(hctx, b)); len(ex) != 2 {
		t.Errorf("nested exclusions = %v, want both", ex)
	}
	if got := picks(sel, pool, r.WithContext(WithExcluded(ctx, a, b)), 10); got["<nil>"] != 10 {
		t.Errorf("all excluded: picks = %v, want nil", got)
	}

	// the latency policy records too, and is not wrapped twice
	lat := provisioned(t)
	if Wrap(lat) != reverseproxy.Selector(lat) {
		t.Error("Wrap wrapped the latency policy")
	}
	ctx2, p2 := WithPicks(context.Background())
	lat.Select(pool, r.WithContext(ctx2), nil)
	if len(p2.Addrs()) != 1 {
		t.Errorf("latency policy picks = %v, want one", p2.Addrs())
	}
	var none Picks
	if none.Last() != "" || len(none.Addrs()) != 0 {
		t.Error("empty Picks not empty")
	}
	if u := (ExcludingSelector{}).Select(pool, r, nil); u == nil {
		t.Error("nil Inner must select at random")
	}
}

func TestLatencyCaddyfile(t *testing.T) {
	for _, tc := range []struct {
		input   string
		want    LatencySelection
		wantErr string
	}{
		{input: `latency`},
		{input: `latency tau 5s`, want: LatencySelection{Tau: caddy.Duration(5 * time.Second)}},
		{input: "latency {\n tau 2s\n default_rtt 3ms\n}", want: LatencySelection{Tau: caddy.Duration(2 * time.Second), DefaultRTT: caddy.Duration(3 * time.Millisecond)}},
		{input: `latency tau`, wantErr: "wrong argument count"},
		{input: `latency tau 1s tau 2s`, wantErr: "already specified"},
		{input: `latency speed 1s`, wantErr: "unrecognized"},
		{input: `latency tau soon`, wantErr: "bad tau duration"},
		{input: "latency {\n tau 2s 3s\n}", wantErr: "wrong argument count"},
	} {
		var s LatencySelection
		err := s.UnmarshalCaddyfile(caddyfile.NewTestDispenser(tc.input))
		switch {
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%q: err = %v, want %q", tc.input, err, tc.wantErr)
		case tc.wantErr == "" && err != nil:
			t.Errorf("%q: %v", tc.input, err)
		case tc.wantErr == "" && s != tc.want:
			t.Errorf("%q: got %+v, want %+v", tc.input, s, tc.want)
		}
	}

	// as reverse_proxy's own parser sees it
	var h reverseproxy.Handler
	d := caddyfile.NewTestDispenser("reverse_proxy 10.0.0.1:7700 10.0.0.2:7700 {\n lb_policy latency tau 5s\n}")
	if err := h.UnmarshalCaddyfile(d); err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(h.LoadBalancing.SelectionPolicyRaw, &got); err != nil {
		t.Fatal(err)
	}
	if got["policy"] != "latency" || got["tau"] != float64(5*time.Second) {
		t.Errorf("selection_policy = %s", h.LoadBalancing.SelectionPolicyRaw)
	}
}

func TestLatencyValidate(t *testing.T) {
	if err := (&LatencySelection{Tau: -1}).Validate(); err == nil {
		t.Error("negative tau accepted")
	}
	if err := (&LatencySelection{Tau: 1, DefaultRTT: -1}).Validate(); err == nil {
		t.Error("negative default_rtt accepted")
	}
}
