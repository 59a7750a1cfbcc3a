package health

import (
	"math"
	"testing"
	"time"
)

func near(t *testing.T, what string, got, want, relTol float64) {
	t.Helper()
	if math.Abs(got-want) > relTol*math.Abs(want) {
		t.Errorf("%s = %v, want %v (±%.1f%%)", what, got, want, relTol*100)
	}
}

func TestPeakEWMAByHand(t *testing.T) {
	ms := float64(time.Millisecond)
	tau := float64(10 * time.Second)
	at := func(s float64) int64 { return int64(s * float64(time.Second)) }
	var e peakEWMA

	e.observe(at(1), 10*ms, tau) // first sample is a peak
	near(t, "after first sample", e.value(at(1), tau), 10*ms, 1e-12)

	// lower sample one tau later: 10·e⁻¹ + 4·(1−e⁻¹) = 6.20728 ms
	e.observe(at(11), 4*ms, tau)
	near(t, "after lower sample", e.value(at(11), tau), 6.207277*ms, 1e-6)

	// lower sample at the same instant: weight of the old estimate is 1
	e.observe(at(11), 1*ms, tau)
	near(t, "same-instant lower sample", e.value(at(11), tau), 6.207277*ms, 1e-6)

	// a peak replaces the estimate at once, whatever its age
	e.observe(at(12), 20*ms, tau)
	near(t, "after peak", e.value(at(12), tau), 20*ms, 1e-12)

	// reads decay toward zero: 20·e⁻¹ after one tau, 20·e⁻³ after three
	near(t, "one tau idle", e.value(at(22), tau), 20*ms*math.Exp(-1), 1e-9)
	near(t, "three tau idle", e.value(at(42), tau), 20*ms*math.Exp(-3), 1e-9)

	// half a tau later a 2 ms sample: 20·e^−½ + 2·(1−e^−½) = 12.91755 ms
	e.observe(at(17), 2*ms, tau)
	near(t, "half tau blend", e.value(at(17), tau), 12.917552*ms, 1e-6)

	// a clock that goes backwards does not amplify the estimate
	if v := e.value(at(16), tau); v > 12.918*ms {
		t.Errorf("value before stamp = %v, want ≤ estimate", v)
	}
}

func TestFailureCost(t *testing.T) {
	ms := float64(time.Millisecond)
	for _, c := range []struct{ current, rtt, want float64 }{
		{0, 1 * ms, 100 * ms},                                   // fast failure on an unknown replica
		{80 * ms, 1 * ms, 160 * ms},                             // doubles the current cost
		{40e3 * ms, 1 * ms, float64(time.Minute)},               // bounded
		{0, 2 * float64(time.Minute), 2 * float64(time.Minute)}, // a slow failure counts as slow as it was
		{10 * ms, 500 * ms, 500 * ms},
	} {
		if got := failureCost(c.current, c.rtt); got != c.want {
			t.Errorf("failureCost(%v, %v) = %v, want %v", time.Duration(c.current), time.Duration(c.rtt), time.Duration(got), time.Duration(c.want))
		}
	}
}
