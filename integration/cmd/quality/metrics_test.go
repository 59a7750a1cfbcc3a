package main

import (
	"math"
	"testing"
)

func TestMetrics(t *testing.T) {
	ref := []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"}
	if v := rbo(ref, ref, 0.9, 10); math.Abs(v-1) > 1e-12 {
		t.Errorf("rbo identical = %v", v)
	}
	if v := ndcgRef(ref, ref, 10); math.Abs(v-1) > 1e-12 {
		t.Errorf("ndcg identical = %v", v)
	}
	other := []string{"k", "l", "m", "n", "o", "p", "q", "r", "s", "t"}
	if v := rbo(other, ref, 0.9, 10); v != 0 {
		t.Errorf("rbo disjoint = %v", v)
	}
	rev := []string{"j", "i", "h", "g", "f", "e", "d", "c", "b", "a"}
	if o := overlapAt(rev, ref, 10); o != 1 {
		t.Errorf("overlap reversed = %v", o)
	}
	if v := rbo(rev, ref, 0.9, 10); v <= 0 || v >= 1 {
		t.Errorf("rbo reversed = %v", v)
	}
	if v := ndcgRef(rev, ref, 10); v <= 0 || v >= 1 {
		t.Errorf("ndcg reversed = %v", v)
	}
	if exactTop(rev, ref, 10) || !exactTop(ref, ref, 10) {
		t.Error("exactTop")
	}
	rel := func(s string) bool { return s == "a" }
	if v := ndcgBinary(ref, rel, 1, 10); v != 1 {
		t.Errorf("ndcg binary = %v", v)
	}
}
