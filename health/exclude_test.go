package health

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp/reverseproxy"
)

// TestHedgesLeaveRoundRobinAlone: the attack (before): a hedge went
// through round_robin and advanced its counter, so with two replicas every
// later primary landed on the same one. Safe: primaries alternate whether
// or not a hedge ran between them, and each hedge still avoids the
// primary's replica.
func TestHedgesLeaveRoundRobinAlone(t *testing.T) {
	const a, b = "10.0.12.1:7700", "10.0.12.2:7700"
	pool := testPool(t, a, b)
	sel := Wrap(&reverseproxy.RoundRobinSelection{})
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	var primaries []string
	for i := 0; i < 8; i++ {
		u := sel.Select(pool, r, nil)
		primaries = append(primaries, u.Dial)
		// every primary is hedged
		h := sel.Select(pool, r.WithContext(WithExcluded(r.Context(), u.Dial)), nil)
		if h == nil || h.Dial == u.Dial {
			t.Fatalf("hedge %d went to %v, primary %s", i, h, u.Dial)
		}
	}
	for i := 1; i < len(primaries); i++ {
		if primaries[i] == primaries[i-1] {
			t.Fatalf("primaries %v do not alternate", primaries)
		}
	}
}
