package health

import (
	"math"
	"math/bits"
	"sync"
	"sync/atomic"
	"time"
)

// Latencies go into a log-linear histogram of microseconds: values below 16 µs
// get a bucket each, every power of two above is split into 16 equal buckets,
// so a bucket's midpoint is within 3.2 % of any value in it. Values from 2^32 µs
// (about 72 minutes) up share the last bucket.
const (
	subBits    = 4
	subCount   = 1 << subBits
	maxExp     = 31
	numBuckets = (maxExp - subBits + 2) * subCount
)

// The histogram covers a sliding window of windowCount spans of windowSpan;
// the oldest span is cleared and reused as time moves on.
const (
	windowSpan  = 10 * time.Second
	windowCount = 6
)

// bucketOf returns the bucket index of d.
func bucketOf(d time.Duration) int {
	v := uint64(max(d, 0) / time.Microsecond)
	if v < subCount {
		return int(v)
	}
	e := bits.Len64(v) - 1
	if e > maxExp {
		return numBuckets - 1
	}
	return (e-subBits+1)*subCount + int((v>>(e-subBits))&(subCount-1))
}

// bucketMid returns the midpoint of bucket i.
func bucketMid(i int) time.Duration {
	if i < subCount {
		return time.Duration(i)*time.Microsecond + time.Microsecond/2
	}
	g, s := i/subCount, i%subCount
	low := uint64(subCount+s) << (g - 1)
	width := uint64(1) << (g - 1)
	return time.Duration(low)*time.Microsecond + time.Duration(width)*time.Microsecond/2
}

// window is one span of the sliding window.
type window struct {
	epoch  atomic.Int64 // the span this window holds: nanotime / windowSpan
	total  atomic.Uint64
	counts [numBuckets]atomic.Uint32
}

// histogram is a sliding-window latency histogram. Recording is two atomic
// adds; a mutex is taken only to clear a window when its span comes around.
// Samples racing with that clear may be lost or land in the new span: the
// quantiles are estimates, and exactness here would cost a lock per sample.
type histogram struct {
	mu  sync.Mutex
	win [windowCount]window
}

// record adds d, observed at now, to the histogram.
func (h *histogram) record(now int64, d time.Duration) {
	e := now / int64(windowSpan)
	w := &h.win[e%windowCount]
	if w.epoch.Load() < e {
		h.rotate(w, e)
	}
	w.counts[bucketOf(d)].Add(1)
	w.total.Add(1)
}

// rotate clears w for span e, unless another goroutine already did.
func (h *histogram) rotate(w *window, e int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if w.epoch.Load() >= e {
		return
	}
	for i := range w.counts {
		w.counts[i].Store(0)
	}
	w.total.Store(0)
	w.epoch.Store(e)
}

// merge sums into c the windows that are part of the sliding window at now and
// returns the number of samples.
func (h *histogram) merge(now int64, c *[numBuckets]uint64) uint64 {
	cur := now / int64(windowSpan)
	var n uint64
	for i := range h.win {
		w := &h.win[i]
		if e := w.epoch.Load(); e > cur || e <= cur-windowCount || w.total.Load() == 0 {
			continue
		}
		for b := range w.counts {
			if k := w.counts[b].Load(); k != 0 {
				c[b] += uint64(k)
				n += uint64(k)
			}
		}
	}
	return n
}

// quantile returns the q-quantile (0 < q ≤ 1) of n samples counted in c, or 0
// when n is 0.
func quantile(c *[numBuckets]uint64, n uint64, q float64) time.Duration {
	if n == 0 {
		return 0
	}
	rank := max(uint64(math.Ceil(q*float64(n))), 1)
	var seen uint64
	for b, k := range c {
		seen += k
		if seen >= rank {
			return bucketMid(b)
		}
	}
	return bucketMid(numBuckets - 1)
}

// quantiles is the summary of a histogram at one instant.
type quantiles struct {
	n             uint64
	p50, p95, p99 time.Duration
}

// summary returns the sample count and p50, p95, p99 of the window at now.
func (h *histogram) summary(now int64) quantiles {
	var c [numBuckets]uint64
	n := h.merge(now, &c)
	return quantiles{
		n:   n,
		p50: quantile(&c, n, 0.50),
		p95: quantile(&c, n, 0.95),
		p99: quantile(&c, n, 0.99),
	}
}
