package merge

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"testing"
)

// bytesReader hands out fuzz bytes; past the end it yields zeros.
type bytesReader []byte

func (b *bytesReader) byte() byte {
	if len(*b) == 0 {
		return 0
	}
	c := (*b)[0]
	*b = (*b)[1:]
	return c
}

// float reads a score: mostly small values (so that ties and duplicates are
// common), sometimes 8 raw bytes (any float64, NaN and ±Inf included).
func (b *bytesReader) float() float64 {
	c := b.byte()
	if c < 0xf0 {
		return float64(int(c)-120) / 8
	}
	var u [8]byte
	for i := range u {
		u[i] = b.byte()
	}
	return math.Float64frombits(binary.LittleEndian.Uint64(u[:]))
}

var fuzzStrategies = []Strategy{RRF, RRFZ, Score, Raw, Interleave, AutoChoice, "bogus", Calibrated, RRFCalibrated}
var fuzzNormalizers = []Normalizer{MinMax, ZScore, L2, Max, None, ""}

// decodeOptions reads merge options from fuzz bytes.
func decodeOptions(b *bytesReader) Options {
	o := Options{
		Strategy:       fuzzStrategies[int(b.byte())%len(fuzzStrategies)],
		Normalizer:     fuzzNormalizers[int(b.byte())%len(fuzzNormalizers)],
		Dedupe:         b.byte()%2 == 0,
		Offset:         int(int8(b.byte())),
		Limit:          int(int8(b.byte())),
		Depth:          int(b.byte()%16) - 2,
		K:              b.float(),
		MaxFacetValues: int(b.byte()%5) - 1,
	}
	if b.byte()%2 == 1 {
		o.Combine = MNZ
	}
	if b.byte()%2 == 1 {
		// With history for every shard name decodeLists uses, so that
		// auto and calibrated can calibrate.
		o.Auto = historyAuto(b.byte()%2 == 0, 8)
	}
	return o
}

// decodeLists reads up to 6 shard answers of up to 20 hits each.
func decodeLists(b *bytesReader) []List {
	lists := make([]List, b.byte()%7)
	for i := range lists {
		l := &lists[i]
		l.Shard = fmt.Sprintf("s%d", b.byte()%8) // shard names may repeat
		l.Weight = b.float()
		l.Total = int64(int8(b.byte())) << (b.byte() % 64)
		if b.byte()%3 == 0 {
			l.TotalRelation = Gte
		}
		l.FacetsTruncated = b.byte()%4 == 0
		flags := b.byte()
		for range b.byte() % 21 {
			h := Hit{Scored: flags%4 != 0, Score: b.float()}
			if c := b.byte(); c%8 != 0 {
				h.ID = fmt.Sprintf("d%d", c%16)
			}
			l.Hits = append(l.Hits, h)
		}
		for range b.byte() % 3 {
			if l.Facets == nil {
				l.Facets = map[string]map[string]int64{}
			}
			name := fmt.Sprintf("f%d", b.byte()%3)
			if l.Facets[name] == nil {
				l.Facets[name] = map[string]int64{}
			}
			l.Facets[name][fmt.Sprintf("v%d", b.byte()%6)] = int64(int8(b.byte())) << (b.byte() % 64)
		}
	}
	return lists
}

// FuzzMerge decodes options, a failed-shard count and shard answers from the
// fuzz input and checks that Merge and a reused Merger do not panic, agree
// and keep their invariants.
func FuzzMerge(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 2, 3, 0, 0, 1, 0, 1, 5, 0, 3, 1, 5, 2, 10, 3})
	f.Add([]byte("\x01\x01\x00\x01\x03\x04\x00\x00\x00\x00\x01\x03\x01\x20\x03\x00\x00\x07\x81\x02\x50\x02"))
	f.Add([]byte("\x02\x02\x00\x00\x00\x10\x00\x00\x01\x00\x01\x04\x05\xff\x00\x00\x00\x00\x00\x00\xf8\x7f\x03\x02\x01"))
	f.Fuzz(func(t *testing.T, data []byte) {
		b := bytesReader(data)
		opts := decodeOptions(&b)
		failed := int(b.byte() % 3)
		lists := decodeLists(&b)
		checkInvariants(t, lists, failed, opts)
		res := Merge(lists, failed, opts)
		var m Merger // reused: must answer as a fresh Merge
		m.Merge(lists[min(1, len(lists)):], 0, Options{Dedupe: true})
		if again := m.Merge(lists, failed, opts); !sameResult(again, res) {
			t.Fatalf("reused Merger differs from Merge")
		}
		checkFacets(t, res.Facets, max(opts.MaxFacetValues, 0))
		if res.Total < 0 {
			t.Fatalf("negative total %d", res.Total)
		}
	})
}

// checkFacets: facets by name, values count descending then value
// ascending, at most maxValues (0 = 100) values.
func checkFacets(t *testing.T, fs []Facet, maxValues int) {
	t.Helper()
	if maxValues == 0 {
		maxValues = defaultMaxFacetValues
	}
	for i, f := range fs {
		if i > 0 && fs[i-1].Name >= f.Name {
			t.Fatalf("facets out of order: %q then %q", fs[i-1].Name, f.Name)
		}
		if len(f.Values) > maxValues {
			t.Fatalf("facet %q holds %d values, cap %d", f.Name, len(f.Values), maxValues)
		}
		for j := 1; j < len(f.Values); j++ {
			p, v := f.Values[j-1], f.Values[j]
			if p.Count < v.Count || p.Count == v.Count && p.Value >= v.Value {
				t.Fatalf("facet %q values out of order: %+v then %+v", f.Name, p, v)
			}
		}
	}
}

// FuzzAutoObserve feeds fuzzed answers to Observe and runs Refresh: no
// panic, Choice is always Raw, Calibrated, RRFCalibrated or RRF, and
// merging the answers with Calibrated, RRFCalibrated and AutoChoice keeps
// the invariants.
func FuzzAutoObserve(f *testing.F) {
	f.Add([]byte{}, false)
	f.Add([]byte{2, 0, 1, 0, 0, 1, 9, 5, 1, 6, 2, 7, 3, 1, 0, 0, 0, 1, 5, 5, 1, 6, 2}, false)
	f.Fuzz(func(t *testing.T, data []byte, hint bool) {
		b := bytesReader(data)
		auto := NewAuto(hint)
		for len(b) > 0 {
			lists := decodeLists(&b)
			auto.Observe(lists)
			if b.byte()%4 == 0 {
				auto.Refresh()
			}
			if c := auto.Choice(); c != Raw && c != Calibrated && c != RRFCalibrated && c != RRF {
				t.Fatalf("choice %q", c)
			}
			for _, s := range []Strategy{Calibrated, RRFCalibrated, AutoChoice} {
				res := Merge(lists, 0, Options{Strategy: s, Auto: auto, Dedupe: true})
				checkFused(t, res.Hits, true)
			}
			if d := auto.Distance(); d < 0 || d > 1 {
				t.Fatalf("distance %v", d)
			}
		}
	})
}

// FuzzKSDistance: the statistic of two samples lies in [0, 1], is symmetric
// and is 0 for a sample against itself.
func FuzzKSDistance(f *testing.F) {
	f.Add([]byte{1, 2, 3}, []byte{3, 4, 5})
	f.Add([]byte{1, 1, 2}, []byte{1, 2, 2})
	f.Fuzz(func(t *testing.T, x, y []byte) {
		a, b := sortedFloats(x), sortedFloats(y)
		d := ksDistance(a, b)
		if d < 0 || d > 1 || d != ksDistance(b, a) {
			t.Fatalf("ks %v (reverse %v)", d, ksDistance(b, a))
		}
		if len(a) > 0 && ksDistance(a, a) != 0 {
			t.Fatalf("ks(a, a) = %v", ksDistance(a, a))
		}
	})
}

func sortedFloats(p []byte) []float64 {
	out := make([]float64, len(p))
	for i, c := range p {
		out[i] = float64(c % 32)
	}
	insertionSort(out)
	return out
}

func insertionSort(a []float64) {
	for i := 1; i < len(a); i++ {
		for j := i; j > 0 && a[j] < a[j-1]; j-- {
			a[j], a[j-1] = a[j-1], a[j]
		}
	}
}

// FuzzQuantiles builds a quantile table from a fuzzed history and checks it:
// knots strictly ascending, their CDF values strictly ascending inside
// (0, 1), the smallest and largest history values as knots, and at()
// non-decreasing, within [0, 1] and equal to the CDF at every knot; the
// same, non-strictly, for a blend of two tables; and a cursor answering as
// at does whatever the order of the scores.
func FuzzQuantiles(f *testing.F) {
	f.Add([]byte{1, 2, 3, 4}, []byte{0, 5, 9})
	f.Add([]byte{7, 7, 7}, []byte{6, 7, 8})
	// ±MaxFloat64 as history, 0 as probe.
	f.Add([]byte{0xf0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xef, 0xff, 0xf0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xef, 0x7f}, []byte{120})
	f.Fuzz(func(t *testing.T, hist, probes []byte) {
		b := bytesReader(hist)
		var h []float64
		for len(b) > 0 {
			// Observe records finite scores only.
			if x := b.float(); x-x == 0 {
				h = append(h, x)
			}
		}
		if len(h) == 0 {
			return
		}
		slices.Sort(h)
		q := newQuantiles(h)
		if len(q.v) == 0 || len(q.v) > calibrationKnots || len(q.v) != len(q.p) {
			t.Fatalf("%d knots, %d values", len(q.v), len(q.p))
		}
		if q.v[0] != h[0] || q.v[len(q.v)-1] != h[len(h)-1] {
			t.Fatalf("knots %v do not span [%v, %v]", q.v, h[0], h[len(h)-1])
		}
		for i := range q.v {
			if q.p[i] <= 0 || q.p[i] >= 1 || i > 0 && (q.v[i] <= q.v[i-1] || q.p[i] <= q.p[i-1]) {
				t.Fatalf("knot %d: %v at %v after %v at %v", i, q.p[i], q.v[i], q.p[max(i-1, 0)], q.v[max(i-1, 0)])
			}
			if got := q.at(q.v[i]); got != q.p[i] {
				t.Fatalf("at(%v) = %v, want %v", q.v[i], got, q.p[i])
			}
		}
		pb := bytesReader(probes)
		xs := append([]float64{}, h...)
		for len(pb) > 0 {
			if x := pb.float(); x-x == 0 {
				xs = append(xs, x)
			}
		}
		checkCursor(t, q, xs) // fuzz order: scores that fall and rise
		slices.Reverse(xs)
		checkCursor(t, q, xs)
		slices.Sort(xs)
		checkCursor(t, q, xs)
		checkMonotone(t, q, xs)
		// The blend of the first half's table with the whole one's.
		lambda := float64(len(probes)%5) / 4
		bq := blend(newQuantiles(h[:max(1, len(h)/2)]), q, lambda)
		for i := range bq.v {
			if bq.p[i] < 0 || bq.p[i] > 1 || i > 0 && (bq.v[i] <= bq.v[i-1] || bq.p[i] < bq.p[i-1]) {
				t.Fatalf("blend %v knot %d: %v at %v", lambda, i, bq.p[i], bq.v[i])
			}
		}
		checkMonotone(t, bq, xs)
		checkCursor(t, bq, xs)
	})
}

// checkCursor: a cursor walked over xs in their order answers as at does.
func checkCursor(t *testing.T, q *quantiles, xs []float64) {
	t.Helper()
	c := cursor{q: q, i: len(q.v) - 1}
	for _, x := range xs {
		if got, want := c.at(x), q.at(x); got != want {
			t.Fatalf("cursor at(%v) = %v, at = %v", x, got, want)
		}
	}
}

// checkMonotone: at is non-decreasing over the sorted xs and within [0, 1].
func checkMonotone(t *testing.T, q *quantiles, xs []float64) {
	t.Helper()
	prev := 0.0
	for _, x := range xs {
		y := q.at(x)
		if y < prev || y > 1 || y != y {
			t.Fatalf("at(%v) = %v after %v", x, y, prev)
		}
		prev = y
	}
}
