package caddyfederate

import (
	"bytes"
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"
)

func testEntry(body int) *cacheEntry {
	return &cacheEntry{created: time.Now(), gens: []string{"0", "3"}, body: bytes.Repeat([]byte("x"), body)}
}

// TestMemStoreSizeBoundAndEviction: the store never holds more than max
// bytes, evicts the least recently used entry first, counts evictions,
// and refuses an entry larger than itself.
func TestMemStoreSizeBoundAndEviction(t *testing.T) {
	route := "mem-bound"
	s := newMemStore(20_000, route)
	before := counterValue(t, cacheEvictions.WithLabelValues(route))
	for i := 0; i < 100; i++ {
		s.put(fmt.Sprint("k", i), testEntry(1000), time.Minute)
		if i >= 5 && s.get("k5") == nil {
			// k5 is read after every put: the most recently used entry
			// must survive every eviction.
			t.Fatalf("after put %d: k5 was evicted although it is the most recently used", i)
		}
		if s.size > s.max {
			t.Fatalf("after put %d: %d bytes held, max %d", i, s.size, s.max)
		}
	}
	if s.get("k0") != nil || s.get("k1") != nil {
		t.Error("the oldest entries were not the ones evicted")
	}
	if s.get("k99") == nil {
		t.Error("the newest entry was evicted")
	}
	if n := counterValue(t, cacheEvictions.WithLabelValues(route)) - before; n < 80 {
		t.Errorf("%v evictions counted, want at least 80", n)
	}
	s.put("huge", testEntry(30_000), time.Minute)
	if s.get("huge") != nil {
		t.Error("an entry larger than max_size was stored")
	}
	if err := s.Destruct(); err != nil || s.size != 0 {
		t.Errorf("Destruct: %v, %d bytes left", err, s.size)
	}
}

// TestMemStoreTTL: an entry is gone once its ttl has passed.
func TestMemStoreTTL(t *testing.T) {
	s := newMemStore(1<<20, "mem-ttl")
	s.put("k", testEntry(10), 50*time.Millisecond)
	if s.get("k") == nil {
		t.Fatal("fresh entry missing")
	}
	time.Sleep(80 * time.Millisecond)
	if s.get("k") != nil || s.size != 0 {
		t.Fatalf("expired entry still served (%d bytes held)", s.size)
	}
}

// TestMemStoreAccountsForOverhead: the bytes the store counts for its
// entries are at least the heap they really take, so max_size bounds the
// memory the cache uses.
func TestMemStoreAccountsForOverhead(t *testing.T) {
	const n, body = 20_000, 200
	s := newMemStore(1<<40, "mem-overhead")
	bodies := make([][]byte, n) // allocated before measuring: answers exist anyway
	for i := range bodies {
		bodies[i] = bytes.Repeat([]byte("y"), body)
	}
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	for i := 0; i < n; i++ {
		key := fmt.Sprintf("%064x", i) // cacheKey is 64 hex digits
		s.put(key, &cacheEntry{created: time.Now(), gens: []string{"12", "7"}, body: bodies[i]}, time.Minute)
	}
	runtime.GC()
	runtime.ReadMemStats(&m1)
	heap := float64(m1.HeapAlloc-m0.HeapAlloc) + float64(n*body)
	counted := float64(s.size)
	t.Logf("per entry: heap %.0f bytes, counted %.0f", heap/n, counted/n)
	if counted < heap {
		t.Errorf("counted %.0f bytes per entry, the heap grew by %.0f: memEntryOverhead is too small", counted/n, heap/n)
	}
	runtime.KeepAlive(bodies)
}

// TestMemGenerations: bumping an index changes its generation and no other.
func TestMemGenerations(t *testing.T) {
	ns := &cacheNamespace{gens: map[string]uint64{}, closed: make(chan struct{})}
	v := newMemStore(1<<20, "mem-gens").with(ns)
	ctx := context.Background()
	_, g0, _ := v.lookup(ctx, "", []string{"*", "a", "b"})
	_ = v.bump(ctx, []string{"a"})
	_, g1, _ := v.lookup(ctx, "", []string{"*", "a", "b"})
	if g0[0] != g1[0] || g0[1] == g1[1] || g0[2] != g1[2] {
		t.Fatalf("generations %v then %v: want only a's changed", g0, g1)
	}
}

// TestCacheEntryRoundTrip: what encodeEntry writes decodeEntry reads back.
func TestCacheEntryRoundTrip(t *testing.T) {
	e := &cacheEntry{created: time.UnixMilli(1700000000123), gens: []string{"a1", "", "ff00"}, body: []byte(`{"hits":[]}`)}
	got, err := decodeEntry(encodeEntry(e))
	if err != nil {
		t.Fatal(err)
	}
	if !got.created.Equal(e.created) || fmt.Sprint(got.gens) != fmt.Sprint(e.gens) || string(got.body) != string(e.body) {
		t.Fatalf("round trip: %+v, want %+v", got, e)
	}
	for _, bad := range []string{"", "FC", "XX\x01aaaaaaaaaa", "FC\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x05\x00"} {
		if _, err := decodeEntry([]byte(bad)); err == nil {
			t.Errorf("decodeEntry(%q) accepted", bad)
		}
	}
}

// FuzzDecodeEntry: entries come from a shared store; no input may panic,
// and whatever decodes re-encodes to the same bytes.
func FuzzDecodeEntry(f *testing.F) {
	f.Add(encodeEntry(&cacheEntry{created: time.UnixMilli(1), gens: []string{"0"}, body: []byte("{}")}))
	f.Add([]byte("FC\x01\x00\x00\x00\x00\x00\x00\x00\x00\xff\xff"))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := decodeEntry(b)
		if err != nil {
			return
		}
		if got := encodeEntry(e); !bytes.Equal(got, b) {
			t.Fatalf("re-encoded %q, want %q", got, b)
		}
	})
}
