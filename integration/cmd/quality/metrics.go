package main

import "math"

// overlapAt is |a[:k] ∩ ref[:k]| / min(k, len(ref)).
func overlapAt(a, ref []string, k int) float64 {
	ref = top(ref, k)
	if len(ref) == 0 {
		return math.NaN()
	}
	in := set(ref)
	n := 0
	for _, id := range top(a, k) {
		if in[id] {
			n++
		}
	}
	return float64(n) / float64(len(ref))
}

// exactTop reports whether a's top k equals ref's top k, in order.
func exactTop(a, ref []string, k int) bool {
	a, ref = top(a, k), top(ref, k)
	if len(a) != len(ref) {
		return false
	}
	for i := range a {
		if a[i] != ref[i] {
			return false
		}
	}
	return true
}

// rbo is extrapolated rank-biased overlap (Webber, Moffat, Zobel 2010,
// eq. 32) of the top k of a and ref with persistence p: a missing position
// in a shorter list matches nothing.
func rbo(a, ref []string, p float64, k int) float64 {
	a, ref = top(a, k), top(ref, k)
	if len(ref) == 0 {
		return math.NaN()
	}
	seenA, seenB := map[string]bool{}, map[string]bool{}
	x, sum := 0, 0.0
	for d := 1; d <= k; d++ {
		if d <= len(a) {
			id := a[d-1]
			if seenB[id] {
				x++
			}
			seenA[id] = true
		}
		if d <= len(ref) {
			id := ref[d-1]
			if seenA[id] {
				x++
			}
			seenB[id] = true
		}
		sum += float64(x) / float64(d) * math.Pow(p, float64(d))
	}
	return float64(x)/float64(k)*math.Pow(p, float64(k)) + (1-p)/p*sum
}

// ndcgRef is nDCG@k of a against ref's top k, with gain k − r for the
// document at 0-based rank r of ref (10 … 1 for k = 10).
func ndcgRef(a, ref []string, k int) float64 {
	ref = top(ref, k)
	if len(ref) == 0 {
		return math.NaN()
	}
	gain := map[string]float64{}
	ideal := 0.0
	for r, id := range ref {
		gain[id] = float64(k - r)
		ideal += float64(k-r) / math.Log2(float64(r+2))
	}
	dcg := 0.0
	for i, id := range top(a, k) {
		dcg += gain[id] / math.Log2(float64(i+2))
	}
	return dcg / ideal
}

// ndcgBinary is nDCG@k with binary relevance; nRel is how many relevant
// documents exist.
func ndcgBinary(a []string, rel func(string) bool, nRel, k int) float64 {
	if nRel == 0 {
		return math.NaN()
	}
	dcg, ideal := 0.0, 0.0
	for i, id := range top(a, k) {
		if rel(id) {
			dcg += 1 / math.Log2(float64(i+2))
		}
	}
	for i := 0; i < min(nRel, k); i++ {
		ideal += 1 / math.Log2(float64(i+2))
	}
	return dcg / ideal
}

func top(a []string, k int) []string {
	if len(a) > k {
		return a[:k]
	}
	return a
}

func set(a []string) map[string]bool {
	m := make(map[string]bool, len(a))
	for _, s := range a {
		m[s] = true
	}
	return m
}
