package health

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp/reverseproxy"
)

func BenchmarkObserve(b *testing.B) {
	tr := NewTracker()
	defer tr.Destruct()
	tr.Observe("10.0.13.1:7700", time.Millisecond, true)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		tr.Observe("10.0.13.1:7700", time.Duration(i%5000)*time.Microsecond, true)
	}
}

func BenchmarkObserveParallel(b *testing.B) {
	tr := NewTracker()
	defer tr.Destruct()
	addrs := []string{"10.0.14.1:7700", "10.0.14.2:7700", "10.0.14.3:7700"}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			tr.Observe(addrs[i%len(addrs)], time.Duration(i%5000)*time.Microsecond, true)
			i++
		}
	})
}

func BenchmarkStartDone(b *testing.B) {
	tr := NewTracker()
	defer tr.Destruct()
	b.ReportAllocs()
	for b.Loop() {
		tr.Start("10.0.15.1:7700").Done(true)
	}
}

func BenchmarkSelectLatency(b *testing.B) {
	tr := NewTracker()
	defer tr.Destruct()
	pool := testPool(b, "10.0.16.1:7700", "10.0.16.2:7700", "10.0.16.3:7700")
	for _, u := range pool {
		tr.Observe(u.Dial, time.Millisecond, true)
	}
	sel := provisioned(b)
	r := httptest.NewRequest("GET", "/", nil)
	b.ReportAllocs()
	for b.Loop() {
		sel.Select(pool, r, nil)
	}
}

func BenchmarkSelectLatencyExcluded(b *testing.B) {
	pool := testPool(b, "10.0.17.1:7700", "10.0.17.2:7700", "10.0.17.3:7700")
	sel := provisioned(b)
	r := httptest.NewRequest("GET", "/", nil)
	r = r.WithContext(WithExcluded(r.Context(), "10.0.17.1:7700"))
	b.ReportAllocs()
	for b.Loop() {
		sel.Select(pool, r, nil)
	}
}

func BenchmarkSelectExcludingWrap(b *testing.B) {
	pool := testPool(b, "10.0.18.1:7700", "10.0.18.2:7700", "10.0.18.3:7700")
	sel := Wrap(provisionedRoundRobin())
	r := httptest.NewRequest("GET", "/", nil)
	b.Run("primary", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sel.Select(pool, r, nil)
		}
	})
	hr := r.WithContext(WithExcluded(r.Context(), "10.0.18.1:7700"))
	b.Run("hedge", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sel.Select(pool, hr, nil)
		}
	})
}

func BenchmarkHedgeDelay(b *testing.B) {
	tr := NewTracker()
	defer tr.Destruct()
	for i := range 1000 {
		tr.Observe("10.0.19.1:7700", time.Duration(i)*time.Microsecond, true)
	}
	b.ReportAllocs()
	for b.Loop() {
		HedgeDelay(tr, time.Second)
	}
}

func BenchmarkBudget(b *testing.B) {
	bud := NewBudget(5, 10)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			bud.Earn()
			bud.Allow()
		}
	})
}

func provisionedRoundRobin() *reverseproxy.RoundRobinSelection {
	return new(reverseproxy.RoundRobinSelection)
}
