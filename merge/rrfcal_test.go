package merge

import (
	"math"
	"testing"
)

// TestRRFCalibrated: RRF's interleaving stays, and among hits RRF ties
// (same rank in different shards) the one its shard's history calls
// stronger comes first; the score is 0.9·z(RRF) + 0.1·z(calibrated).
func TestRRFCalibrated(t *testing.T) {
	auto := calibratedAuto() // F_A(v) = (10·(v−1) + 5)/100, F_B(v) = (v − 5)/100
	// B is listed first, so RRF puts B's hit first at every rank; A answers
	// near the top of its history (F .95, .94, .93), B near the bottom of
	// its own (.10, .09, .08).
	lists := []List{
		scored("B", "b1", 15.0, "b2", 14.0, "b3", 13.0),
		scored("A", "a1", 10.0, "a2", 9.9, "a3", 9.8),
	}
	if got := render(Merge(lists, 0, Options{Strategy: RRF}).Hits); got != "B/b1@1 A/a1@1 B/b2@2 A/a2@2 B/b3@3 A/a3@3" {
		t.Fatalf("rrf %s", got)
	}
	for _, s := range []Strategy{RRFCalibrated, AutoChoice} {
		res := Merge(lists, 0, Options{Strategy: s, Auto: auto, Dedupe: true})
		if res.Strategy != RRFCalibrated {
			t.Fatalf("%s applied %s", s, res.Strategy)
		}
		if got := render(res.Hits); got != "A/a1@1 B/b1@1 A/a2@2 B/b2@2 A/a3@3 B/b3@3" {
			t.Errorf("%s: %s", s, got)
		}
		checkFused(t, res.Hits, true)
		// a1 by the formula: R and C over the six documents.
		if want := 0.9*z(calR, 0) + 0.1*z(calC, 0); !near(res.Hits[0].Score, want) {
			t.Errorf("%s: a1 scores %v, want %v", s, res.Hits[0].Score, want)
		}
	}
	// Without tables (no Auto) it is RRF.
	if res := Merge(lists, 0, Options{Strategy: RRFCalibrated}); res.Strategy != RRF {
		t.Errorf("without Auto applied %s", res.Strategy)
	}
}

// calR and calC are the RRF values and the calibrated values of a1, a2,
// a3, b1, b2, b3 in the lists of TestRRFCalibrated and
// TestRRFCalibratedTopical.
var (
	calR = []float64{1.0 / 61, 1.0 / 62, 1.0 / 63, 1.0 / 61, 1.0 / 62, 1.0 / 63}
	calC = []float64{0.95, 0.94, 0.93, 0.10, 0.09, 0.08}
)

// z is x[i] standardized over x (population σ).
func z(x []float64, i int) float64 {
	mu, v := 0.0, 0.0
	for _, y := range x {
		mu += y / float64(len(x))
	}
	for _, y := range x {
		v += (y - mu) * (y - mu) / float64(len(x))
	}
	return (x[i] - mu) / math.Sqrt(v)
}

// TestRRFCalibratedTopical: on a declared topical split the calibrated
// term counts for 0.4, so the shard answering far above its usual level
// (A, the shard holding the query's topic) gets its second hit ahead of
// B's first, where the undeclared share keeps RRF's interleaving. Other
// strategies ignore the declaration.
func TestRRFCalibratedTopical(t *testing.T) {
	auto := calibratedAuto()
	lists := []List{
		scored("B", "b1", 15.0, "b2", 14.0, "b3", 13.0),
		scored("A", "a1", 10.0, "a2", 9.9, "a3", 9.8),
	}
	for _, s := range []Strategy{RRFCalibrated, AutoChoice} {
		res := Merge(lists, 0, Options{Strategy: s, Auto: auto, Dedupe: true, Topical: true})
		if res.Strategy != RRFCalibrated {
			t.Fatalf("%s applied %s", s, res.Strategy)
		}
		if got := render(res.Hits); got != "A/a1@1 A/a2@2 B/b1@1 A/a3@3 B/b2@2 B/b3@3" {
			t.Errorf("%s topical: %s", s, got)
		}
		checkFused(t, res.Hits, true)
		if want := 0.6*z(calR, 1) + 0.4*z(calC, 1); !near(res.Hits[1].Score, want) {
			t.Errorf("%s topical: a2 scores %v, want %v", s, res.Hits[1].Score, want)
		}
	}
	for _, s := range []Strategy{RRF, RRFZ, Calibrated} {
		plain := render(Merge(lists, 0, Options{Strategy: s, Auto: auto, Dedupe: true}).Hits)
		if got := render(Merge(lists, 0, Options{Strategy: s, Auto: auto, Dedupe: true, Topical: true}).Hits); got != plain {
			t.Errorf("%s changed with Topical: %s, was %s", s, got, plain)
		}
	}
}
