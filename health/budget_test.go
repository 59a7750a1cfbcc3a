package health

import (
	"sync"
	"sync/atomic"
	"testing"
)

func TestBudgetSequential(t *testing.T) {
	for _, c := range []struct {
		percent, burst float64
		want           int
	}{
		// starts with 10 tokens; 1000 primaries earn 50 more, and the 50th
		// token is earned after the last hedge attempt: 59
		{5, 10, 59},
		{5, 0, 59}, // 0 means DefaultBurst
		{0, 10, 10},
		{2.5, 1, 25}, // 1 + 24.975
		{100, 10, 1000},
		{250, 10, 1000}, // clamped to 100 %
	} {
		b := NewBudget(c.percent, c.burst)
		var hedges int
		for range 1000 {
			if b.Allow() { // every request is slow enough to want a hedge
				hedges++
			}
			b.Earn()
		}
		if hedges != c.want {
			t.Errorf("NewBudget(%v, %v): %d hedges over 1000 requests, want %d", c.percent, c.burst, hedges, c.want)
		}
	}
}

func TestBudgetDoesNotOverfill(t *testing.T) {
	b := NewBudget(50, 3)
	for range 100 {
		b.Earn()
	}
	if got := b.Tokens(); got != 3 {
		t.Fatalf("tokens after idle earning = %v, want the cap 3", got)
	}
	for range 3 {
		if !b.Allow() {
			t.Fatal("a full bucket refused a hedge")
		}
	}
	if b.Allow() {
		t.Fatal("an empty bucket allowed a hedge")
	}
}

func TestBudgetConcurrent(t *testing.T) {
	const workers, perWorker = 8, 5000
	b := NewBudget(5, 10)
	var hedges atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range perWorker {
				b.Earn()
				if b.Allow() {
					hedges.Add(1)
				}
			}
		})
	}
	wg.Wait()
	// at most the burst plus 5 % of the primaries; at least what was earned
	// minus the tokens that may be left over
	if got, most := hedges.Load(), int64(10+workers*perWorker*5/100); got > most || got < most-11 {
		t.Errorf("%d hedges over %d requests, want in [%d, %d]", got, workers*perWorker, most-11, most)
	}
}

func TestNilBudgetAllows(t *testing.T) {
	var b *Budget
	b.Earn()
	if !b.Allow() || b.Tokens() != 0 {
		t.Error("a nil budget must allow every hedge")
	}
}
