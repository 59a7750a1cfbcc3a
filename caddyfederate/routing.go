package caddyfederate

// routing.go places documents on shards: rendezvous (highest random weight)
// hashing of the document id over the shard names. A bulk loader that
// wants to write to the engines directly computes the same placement:
//
//	score(shard, id) = mix64(fnv1a64(shard + "\x00" + id))
//	owner(id)        = the shard with the highest score (ties: first in config order)
//
// fnv1a64 is 64-bit FNV-1a (offset 14695981039346656037, prime
// 1099511628211) over the bytes of the shard's name, one zero byte and the
// id as the engine compares it (a string id's characters, an integer id's
// decimal literal); mix64 is the splitmix64 finalizer:
//
//	x ^= x >> 30; x *= 0xbf58476d1ce4e5b9
//	x ^= x >> 27; x *= 0x94d049bb133111eb
//	x ^= x >> 31
//
// Adding a shard moves to it only the ids it now wins, about 1/n of them;
// removing one moves only its own ids. Order of the shards in the config
// does not matter except for ties (which 64-bit scores make negligible).

// placementScore is shard's score for id.
func placementScore(shard, id string) uint64 {
	const (
		offset = 14695981039346656037
		prime  = 1099511628211
	)
	h := uint64(offset)
	for i := 0; i < len(shard); i++ {
		h ^= uint64(shard[i])
		h *= prime
	}
	h ^= 0
	h *= prime
	for i := 0; i < len(id); i++ {
		h ^= uint64(id[i])
		h *= prime
	}
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	h ^= h >> 31
	return h
}

// owner is the index in shards of the shard that holds id.
func owner(shards []string, id string) int {
	best, bestScore := 0, uint64(0)
	for i, s := range shards {
		if sc := placementScore(s, id); i == 0 || sc > bestScore {
			best, bestScore = i, sc
		}
	}
	return best
}

// splitByOwner groups item positions by owning shard, keeping the client's
// order within each group. ids[i] is item i's id; skip[i] true leaves the
// item out (rejected before sending).
func splitByOwner(shards []string, ids []string, skip []bool) [][]int {
	groups := make([][]int, len(shards))
	for i, id := range ids {
		if skip != nil && skip[i] {
			continue
		}
		o := owner(shards, id)
		groups[o] = append(groups[o], i)
	}
	return groups
}
