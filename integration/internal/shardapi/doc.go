// Package shardapi is the HTTP face shared by the integration suite's shard
// servers (cmd/esshard, cmd/pgshard): the Elasticsearch _search subset and the
// Meilisearch search route decoded into one Query, answers encoded in each
// engine's exact response shape, document loading, and fault injection.
//
// A shard server supplies a Backend; everything on the wire lives here, so
// every engine behind it speaks byte-for-byte the same dialects.
package shardapi
