package caddyfederate

import (
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"testing"
)

// TestPlacementStableAndBalanced: over many ids and shard counts, every id
// has one owner that does not depend on the order of the shards, the
// shards hold about 1/n each, and adding a shard moves about 1/(n+1) of
// the ids, all of them to the new shard.
func TestPlacementStableAndBalanced(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const ids = 20000
	keys := make([]string, ids)
	for i := range keys {
		if i%2 == 0 {
			keys[i] = fmt.Sprint(i) // integer ids, as Meilisearch's literal
		} else {
			keys[i] = fmt.Sprintf("doc-%x", rng.Uint64())
		}
	}
	for n := 1; n <= 12; n++ {
		shards := make([]string, n)
		for i := range shards {
			shards[i] = fmt.Sprintf("shard-%d", i)
		}
		counts := make([]int, n)
		owners := make([]int, ids)
		for i, k := range keys {
			owners[i] = owner(shards, k)
			counts[owners[i]]++
		}
		// Balance: each shard within 5 standard deviations of ids/n.
		mean := float64(ids) / float64(n)
		sd := math.Sqrt(mean * (1 - 1/float64(n)))
		for s, c := range counts {
			if math.Abs(float64(c)-mean) > 5*sd+1 {
				t.Errorf("%d shards: shard %d holds %d ids, want about %.0f", n, s, c, mean)
			}
		}
		// Stable under reordering the config.
		rev := make([]string, n)
		for i := range shards {
			rev[n-1-i] = shards[i]
		}
		for i, k := range keys[:2000] {
			if got := rev[owner(rev, k)]; got != shards[owners[i]] {
				t.Fatalf("%d shards: id %q owned by %s, by %s after reordering", n, k, shards[owners[i]], got)
			}
		}
		// Adding a shard moves only ids to it, about 1/(n+1) of them.
		grown := append(append([]string(nil), shards...), fmt.Sprintf("shard-%d", n))
		moved := 0
		for i, k := range keys {
			o := owner(grown, k)
			if o != owners[i] {
				if o != n {
					t.Fatalf("%d→%d shards: id %q moved from %s to %s, not to the new shard", n, n+1, k, shards[owners[i]], grown[o])
				}
				moved++
			}
		}
		want := float64(ids) / float64(n+1)
		if math.Abs(float64(moved)-want) > 5*math.Sqrt(want)+1 {
			t.Errorf("%d→%d shards moved %d ids, want about %.0f", n, n+1, moved, want)
		}
	}
}

// TestPlacementScoreIsDocumented checks the hash against the recipe
// docs/writes.md gives bulk loaders, written with the standard library's
// FNV-1a: changing either would move documents.
func TestPlacementScoreIsDocumented(t *testing.T) {
	mix := func(x uint64) uint64 {
		x ^= x >> 30
		x *= 0xbf58476d1ce4e5b9
		x ^= x >> 27
		x *= 0x94d049bb133111eb
		x ^= x >> 31
		return x
	}
	for _, shard := range []string{"a", "eu-1", "shard b", ""} {
		for i := 0; i < 500; i++ {
			id := fmt.Sprint(i * 7919)
			f := fnv.New64a()
			f.Write([]byte(shard + "\x00" + id))
			if want, got := mix(f.Sum64()), placementScore(shard, id); got != want {
				t.Fatalf("score(%q, %q) = %d, the documented recipe gives %d", shard, id, got, want)
			}
		}
	}
	// A fixed point a loader can check its own implementation against.
	if got := placementScore("s1", "42"); got != 0xa1e4ed27ce21e341 {
		t.Errorf("score(s1, 42) = %#x, docs/writes.md says 0xa1e4ed27ce21e341", got)
	}
}
