package health

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestBucketsCoverValues(t *testing.T) {
	prev := -1
	for v := time.Duration(0); v < 10*time.Second; v += v/97 + time.Microsecond {
		b := bucketOf(v)
		if b < prev {
			t.Fatalf("bucketOf(%v) = %d after %d: not monotonic", v, b, prev)
		}
		prev = b
		mid := bucketMid(b)
		if v >= 16*time.Microsecond {
			if err := math.Abs(float64(mid-v)) / float64(v); err > 1.0/32 {
				t.Fatalf("bucketMid(bucketOf(%v)) = %v: error %.3f", v, mid, err)
			}
		} else if d := mid - v.Truncate(time.Microsecond); d != time.Microsecond/2 {
			t.Fatalf("bucketMid(bucketOf(%v)) = %v", v, mid)
		}
	}
	if b := bucketOf(100 * time.Hour); b != numBuckets-1 {
		t.Errorf("bucketOf(100h) = %d, want the last bucket %d", b, numBuckets-1)
	}
	if b := bucketOf(-time.Second); b != 0 {
		t.Errorf("bucketOf(-1s) = %d, want 0", b)
	}
}

func TestQuantilesUniform(t *testing.T) {
	var h histogram
	for _, i := range rand.New(rand.NewPCG(1, 2)).Perm(10000) {
		h.record(0, time.Duration(i+1)*time.Microsecond) // 1..10000 µs
	}
	q := h.summary(0)
	if q.n != 10000 {
		t.Fatalf("n = %d, want 10000", q.n)
	}
	near(t, "p50", float64(q.p50), float64(5000*time.Microsecond), 0.032)
	near(t, "p95", float64(q.p95), float64(9500*time.Microsecond), 0.032)
	near(t, "p99", float64(q.p99), float64(9900*time.Microsecond), 0.032)
}

func TestQuantilesLogNormal(t *testing.T) {
	// latencies like a real engine's: median 8 ms, long right tail
	r := rand.New(rand.NewPCG(3, 4))
	var h histogram
	xs := make([]float64, 50000)
	for i := range xs {
		xs[i] = math.Exp(math.Log(8e6) + 0.6*r.NormFloat64()) // ns
		h.record(0, time.Duration(xs[i]))
	}
	slices.Sort(xs)
	q := h.summary(0)
	for _, c := range []struct {
		name string
		got  time.Duration
		p    float64
	}{{"p50", q.p50, 0.50}, {"p95", q.p95, 0.95}, {"p99", q.p99, 0.99}} {
		want := xs[int(math.Ceil(c.p*float64(len(xs))))-1]
		near(t, c.name, float64(c.got), want, 0.035)
	}
}

func TestHistogramSlides(t *testing.T) {
	sec := func(s int64) int64 { return s * int64(time.Second) }
	var h histogram
	for range 10 {
		h.record(sec(1), time.Millisecond)
	}
	for range 30 {
		h.record(sec(31), 5*time.Millisecond)
	}
	if q := h.summary(sec(59)); q.n != 40 || q.p50 != bucketMid(bucketOf(5*time.Millisecond)) {
		t.Errorf("at 59s: n=%d p50=%v, want 40 samples, p50 5ms", q.n, q.p50)
	}
	if q := h.summary(sec(61)); q.n != 30 {
		t.Errorf("at 61s: n=%d, want 30 (the first span expired)", q.n)
	}
	// the span of second 1 comes around again at second 61: reused, cleared
	h.record(sec(62), 9*time.Millisecond)
	if q := h.summary(sec(62)); q.n != 31 {
		t.Errorf("at 62s: n=%d, want 31", q.n)
	}
	if q := h.summary(sec(200)); q.n != 0 || q.p99 != 0 {
		t.Errorf("at 200s: n=%d p99=%v, want an empty window", q.n, q.p99)
	}
}
