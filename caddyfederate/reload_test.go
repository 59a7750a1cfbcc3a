package caddyfederate

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestReloadClosesReplacedConnections: a config replaced while its requests
// are in flight answers them, and then closes the upstream connections they
// used instead of leaving them idle (two goroutines each in caddy, a socket
// on the engine) until the transport's idle timeout, two minutes.
func TestReloadClosesReplacedConnections(t *testing.T) {
	old := newFakeEngine(t, "meilisearch", fakeHit{ID: "a", Score: 0.9})
	next := newFakeEngine(t, "meilisearch", fakeHit{ID: "b", Score: 0.9})
	old.set(func(f *fakeEngine) { f.delay = 300 * time.Millisecond })
	site := func(e *fakeEngine) string {
		return fmt.Sprintf("federate {\n\tdialect meilisearch\n\tcoalesce off\n\tshard s0 %s\n}", e.addr())
	}
	base := startCaddy(t, site(old))

	// No keep-alive on the client side, so that connections on the
	// engine's side are the only pooled ones in this test.
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	const inFlight = 8
	var wg sync.WaitGroup
	codes := make([]int, inFlight)
	for i := range inFlight {
		wg.Go(func() {
			resp, err := client.Post(base+"/indexes/docs/search", "application/json",
				strings.NewReader(fmt.Sprintf(`{"q":"q%d"}`, i)))
			if err != nil {
				t.Errorf("request %d: %v", i, err)
				return
			}
			resp.Body.Close()
			codes[i] = resp.StatusCode
		})
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(old.requests()) < inFlight && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := len(old.requests()); n < inFlight {
		t.Fatalf("only %d of %d requests reached the engine", n, inFlight)
	}
	open := old.conns.Load()
	startCaddy(t, site(next)) // replaces the config while every request is in flight
	wg.Wait()
	for i, c := range codes {
		if c != http.StatusOK {
			t.Errorf("request %d in flight during the reload: status %d, want 200", i, c)
		}
	}
	deadline = time.Now().Add(idleCloseRetry + 2*time.Second)
	for old.conns.Load() > 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := old.conns.Load(); n > 0 {
		t.Errorf("%d of the %d upstream connections of the replaced config are still open %v after its requests ended",
			n, open, idleCloseRetry+2*time.Second)
	}
}
