package health

import (
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp/reverseproxy"
)

func TestHedgeDelay(t *testing.T) {
	const fallback = 250 * time.Millisecond
	if d := HedgeDelay(nil, fallback); d != fallback {
		t.Errorf("nil tracker: %v, want fallback", d)
	}
	tr := NewTracker()
	defer tr.Destruct()
	for i := range MinSamples - 1 {
		tr.Observe("10.0.12.1:7700", time.Duration(i+1)*time.Millisecond, true)
	}
	if d := HedgeDelay(tr, fallback); d != fallback {
		t.Errorf("%d samples: %v, want fallback", MinSamples-1, d)
	}
	tr.cache.Store(nil) // skip the one-second reuse
	for i := range 51 {
		tr.Observe("10.0.12.2:7700", time.Duration(i+50)*time.Millisecond, true)
	}
	tr.Observe("10.0.12.2:7700", time.Microsecond, false) // failures do not count
	tr.cache.Store(nil)
	// 100 samples of 1..100 ms: p95 is 95 ms
	if d := HedgeDelay(tr, fallback); d != bucketMid(bucketOf(95*time.Millisecond)) {
		t.Errorf("100 samples: %v, want ~95ms", d)
	}
	// the summary is reused within summaryTTL
	for range 1000 {
		tr.Observe("10.0.12.2:7700", time.Second, true)
	}
	if d := HedgeDelay(tr, fallback); d != bucketMid(bucketOf(95*time.Millisecond)) {
		t.Errorf("within a second: %v, want the cached ~95ms", d)
	}
}

// closedAddr returns a local address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// failOnce sends one request through h, whose first upstream must be down.
func failOnce(t *testing.T, h *reverseproxy.Handler) {
	t.Helper()
	w := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r = caddyhttp.PrepareRequest(r, caddy.NewReplacer(), w, &caddyhttp.Server{})
	next := caddyhttp.HandlerFunc(func(http.ResponseWriter, *http.Request) error { return nil })
	if err := h.ServeHTTP(w, r, next); err == nil {
		t.Fatal("request to a closed port succeeded")
	}
}
