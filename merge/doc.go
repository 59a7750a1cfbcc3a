// Package merge fuses the ranked answers of several search shards into one
// ranked list, the way one search engine over all the data would answer.
//
// It is pure: byte slices and numbers in, values out; no Caddy, no globals,
// no I/O. Document bodies travel as opaque bytes and are never parsed here.
//
// Invariants every strategy keeps:
//   - the same input gives the same output (ties break by fused score, then
//     best rank, then shard order, then id);
//   - a fused page never contains two hits with the same non-empty ID when
//     dedupe is on;
//   - consecutive windows [offset, offset+limit) of the same input neither
//     overlap nor skip.
package merge
