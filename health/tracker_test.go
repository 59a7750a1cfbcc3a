package health

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

func TestTrackerObserveAndSnapshot(t *testing.T) {
	tr := NewTracker()
	defer tr.Destruct()
	for range 99 {
		tr.Observe("10.0.0.1:7700", 10*time.Millisecond, true)
	}
	tr.Observe("10.0.0.1:7700", 3*time.Millisecond, false)
	tr.Observe("10.0.0.2:7700", time.Millisecond, true)
	call := tr.Start("10.0.0.2:7700")

	s := tr.Snapshot()
	if len(s) != 2 || s[0].Addr != "10.0.0.1:7700" || s[1].Addr != "10.0.0.2:7700" {
		t.Fatalf("snapshot = %+v, want the two addresses in order", s)
	}
	a, b := s[0], s[1]
	if a.Requests != 100 || a.Failures != 1 || a.Samples != 99 || a.InFlight != 0 {
		t.Errorf("first upstream = %+v, want 100 requests, 1 failure, 99 samples", a)
	}
	if want := bucketMid(bucketOf(10 * time.Millisecond)); a.P50 != want || a.P99 != want {
		t.Errorf("p50, p99 = %v, %v, want %v", a.P50, a.P99, want)
	}
	// the fast failure counted as a peak of max(2 × 10ms, minFailureCost)
	if a.EWMA < 99*time.Millisecond || a.EWMA > 100*time.Millisecond {
		t.Errorf("ewma = %v, want just under 100ms after a failure", a.EWMA)
	}
	if b.InFlight != 1 || b.Requests != 1 {
		t.Errorf("second upstream = %+v, want 1 in flight, 1 request", b)
	}
	call.Done(true)
	if s := tr.Snapshot(); s[1].InFlight != 0 || s[1].Requests != 2 {
		t.Errorf("after Done: %+v, want 0 in flight, 2 requests", s[1])
	}

	// an unknown replica still counts for the shard's quantiles
	tr.Observe("", time.Millisecond, true)
	tr.Start("").Done(true)
	if s := tr.Snapshot(); len(s) != 2 {
		t.Errorf("snapshot = %+v, want no record for the empty address", s)
	}
	if q := tr.all.summary(nanotime()); q.n != 99+1+1+2 {
		t.Errorf("shard samples = %d, want 103", q.n)
	}
}

func TestTrackersShareAddresses(t *testing.T) {
	const addr = "10.0.1.1:7700"
	t1, t2 := NewTracker(), NewTracker()
	t1.Observe(addr, time.Millisecond, true)
	t2.Observe(addr, time.Millisecond, true)
	if u := lookup(addr); u == nil || u.requests.Load() != 2 {
		t.Fatalf("shared record = %v, want 2 requests", u)
	}
	t1.Destruct()
	if lookup(addr) == nil {
		t.Fatal("record dropped while t2 still references it")
	}
	t2.Destruct()
	if lookup(addr) != nil {
		t.Fatal("record kept after the last reference went")
	}
	// a call outliving its config is recorded, but references nothing
	t2.Observe("10.0.1.2:7700", time.Millisecond, true)
	if lookup("10.0.1.2:7700") != nil {
		t.Error("a destroyed Tracker created a shared record")
	}
}

func TestTrackerPrunesIdleAddresses(t *testing.T) {
	tr := NewTracker()
	defer tr.Destruct()
	tr.Observe("10.0.2.1:7700", time.Millisecond, true)
	lookup("10.0.2.1:7700").last.Store(nanotime() - int64(pruneAfter) - 1)
	tr.Observe("10.0.2.2:7700", time.Millisecond, true)
	if s := tr.Snapshot(); len(s) != 1 || s[0].Addr != "10.0.2.2:7700" {
		t.Fatalf("snapshot = %+v, want only the fresh address", s)
	}
	if lookup("10.0.2.1:7700") != nil {
		t.Error("pruned address still in the shared table")
	}
}

// TestTrackerHammer records from many goroutines while others read, and then
// checks that no call was lost.
func TestTrackerHammer(t *testing.T) {
	const workers, calls, addrCount = 16, 2000, 4
	tr := NewTracker()
	defer tr.Destruct()
	sel := &LatencySelection{}
	pool := testPool(t, "10.0.3.1:7700", "10.0.3.2:7700", "10.0.3.3:7700", "10.0.3.4:7700")

	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 2 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				_ = tr.Snapshot()
				_ = HedgeDelay(tr, time.Second)
				_ = sel.Select(pool, nil, nil)
			}
		})
	}
	var writers sync.WaitGroup
	for w := range workers {
		writers.Go(func() {
			for i := range calls {
				addr := fmt.Sprintf("10.0.3.%d:7700", (w+i)%addrCount+1)
				if i%2 == 0 {
					tr.Observe(addr, time.Duration(i)*time.Microsecond, i%10 != 0)
				} else {
					tr.Start(addr).Done(i%10 != 1)
				}
			}
		})
	}
	writers.Wait()
	close(stop)
	wg.Wait()

	var requests, failures uint64
	for _, s := range tr.Snapshot() {
		requests += s.Requests
		failures += s.Failures
		if s.InFlight != 0 {
			t.Errorf("%s: %d in flight after all calls ended", s.Addr, s.InFlight)
		}
	}
	if requests != workers*calls || failures != workers*calls/5 {
		t.Errorf("requests, failures = %d, %d; want %d, %d", requests, failures, workers*calls, workers*calls/5)
	}
	if q := tr.all.summary(nanotime()); q.n != workers*calls*4/5 {
		t.Errorf("shard samples = %d, want %d", q.n, workers*calls*4/5)
	}
}
