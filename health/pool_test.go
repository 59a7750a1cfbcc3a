package health

import (
	"testing"
	"time"
)

// TestAcquireSurvivesReload plays a config reload: config 2 acquires the
// shard's Tracker before config 1 releases it, and keeps config 1's history.
func TestAcquireSurvivesReload(t *testing.T) {
	const key, addr = "srv0/route0/products", "10.0.4.1:7700"
	t1, err := Acquire(key) // config 1 provisions
	if err != nil {
		t.Fatal(err)
	}
	for range 60 {
		t1.Observe(addr, 20*time.Millisecond, true)
	}

	t2, err := Acquire(key) // config 2 provisions
	if err != nil {
		t.Fatal(err)
	}
	if err := Release(key); err != nil { // config 1 cleans up
		t.Fatal(err)
	}
	if t2 != t1 {
		t.Fatal("config 2 got a new Tracker")
	}
	if s := t2.Snapshot(); len(s) != 1 || s[0].Requests != 60 {
		t.Fatalf("config 2 sees %+v, want config 1's 60 requests", s)
	}
	if d := HedgeDelay(t2, time.Second); d != bucketMid(bucketOf(20*time.Millisecond)) {
		t.Errorf("hedge delay after reload = %v, want the observed p95 (~20ms)", d)
	}
	if lookup(addr) == nil {
		t.Error("the latency policy lost the address over the reload")
	}

	var seen int
	Range(func(k string, tr *Tracker) bool {
		if k == key && tr == t2 {
			seen++
		}
		return true
	})
	if seen != 1 {
		t.Errorf("Range saw the tracker %d times, want 1", seen)
	}

	if err := Release(key); err != nil { // config 2 goes away
		t.Fatal(err)
	}
	if lookup(addr) != nil {
		t.Error("address record outlived the last Tracker")
	}
	t3, err := Acquire(key)
	if err != nil {
		t.Fatal(err)
	}
	defer Release(key)
	if t3 == t1 || len(t3.Snapshot()) != 0 {
		t.Error("a Tracker acquired after the last release kept old history")
	}
}
