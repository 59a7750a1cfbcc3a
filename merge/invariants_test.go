package merge

import (
	"fmt"
	"math"
	"testing"
)

// checkInvariants asserts what every merge must keep, whatever the input:
// pages concatenate to the whole list, no duplicate ID with dedupe, scores
// finite and non-increasing, sources present, best first and explaining the
// score, and the same input giving the same output.
func checkInvariants(t *testing.T, lists []List, failed int, opts Options) {
	t.Helper()
	all := opts
	all.Offset, all.Limit = 0, 0
	full := Merge(lists, failed, all)
	if again := Merge(lists, failed, all); !sameResult(full, again) {
		t.Fatalf("same input, different output")
	}
	checkFused(t, full.Hits, opts.Dedupe)
	for _, size := range []int{1, 3, 7} {
		var pages []Fused
		for off := 0; off < len(full.Hits)+size; off += size {
			o := opts
			o.Offset, o.Limit = off, size
			page := Merge(lists, failed, o).Hits
			if len(page) > size {
				t.Fatalf("page of %d at %d holds %d", size, off, len(page))
			}
			pages = append(pages, page...)
		}
		if got, want := render(pages), render(full.Hits); got != want {
			t.Fatalf("pages of %d:\n got %s\nwant %s", size, got, want)
		}
	}
}

// checkFused checks one fused list on its own.
func checkFused(t *testing.T, hits []Fused, dedupe bool) {
	t.Helper()
	seen := make(map[string]bool, len(hits))
	for i, h := range hits {
		if dedupe && h.ID != "" {
			if seen[h.ID] {
				t.Fatalf("duplicate %q at %d", h.ID, i)
			}
			seen[h.ID] = true
		}
		if math.IsNaN(h.Score) || math.IsInf(h.Score, 0) {
			t.Fatalf("hit %d score %v", i, h.Score)
		}
		if i > 0 && h.Score > hits[i-1].Score {
			t.Fatalf("hit %d score %v above previous %v", i, h.Score, hits[i-1].Score)
		}
		if len(h.Sources) == 0 || h.Sources[0].Shard != h.Shard || h.Sources[0].Rank != h.Rank {
			t.Fatalf("hit %d: sources %+v do not start with %s#%d", i, h.Sources, h.Shard, h.Rank)
		}
		sum := 0.0
		for j, s := range h.Sources {
			if j > 0 && s.Rank < h.Sources[j-1].Rank {
				t.Fatalf("hit %d: sources not best first: %+v", i, h.Sources)
			}
			sum += s.Contribution
		}
		if math.Abs(h.Score) < 1e100 && math.Abs(sum-h.Score) > 1e-6*max(1, math.Abs(h.Score)) {
			t.Fatalf("hit %d: contributions sum to %v, score %v", i, sum, h.Score)
		}
	}
}

// sameResult compares two results field by field (bodies by content).
func sameResult(a, b Result) bool {
	return fmt.Sprintf("%+v", a) == fmt.Sprintf("%+v", b)
}
