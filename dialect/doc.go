// Package dialect holds the wire formats of search engines: how a client's
// search request reads, how a shard request is built, how a shard's answer is
// decoded into ranked hits and how a merged answer and an error are encoded.
//
// Each engine has its own files (X.go, and X_shard.go, X_encode.go where
// they grow), implements Dialect and registers itself in init. The package is pure: bytes in, values out, no Caddy import, no I/O.
// Hits travel as raw bytes; only ids, scores, totals and facets are decoded.
//
// Invariants: a Query decoded once carries what the encoder needs, so the
// client's request is never parsed twice; a construct a shard's dialect
// cannot express is a 400 in the client's dialect, never a silently
// different search; untrusted bytes (client requests, shard answers) are
// fuzzed (testdata/fuzz) and never panic.
package dialect
