// Package caddyfederate is the Caddy module http.handlers.federate (the
// `federate` Caddyfile directive) and the admin endpoint /federate/status
// (admin.api.federate).
//
// A federate route answers a search the way one engine over all the data
// would: it decodes the client's request in the route's dialect (package
// dialect), sends every shard its own request through that shard's own
// reverse_proxy, collects the answers within the route's and each shard's
// deadline, fuses them (package merge) and encodes one answer in the
// client's dialect, with every shard's outcome in it.
//
// Invariants:
//   - Caddy does the proxying: replicas, load balancing, retries, health
//     checks, TLS and dynamic upstreams are each shard's reverse_proxy's.
//     Federate reads Caddy's upstream state and never sets it; a shard none
//     of whose replicas (static, or dynamic as the proxy last saw them) is
//     available is answered `unavailable` without being asked.
//   - Every shard call is isolated: its own context, cloned request, body
//     reader, vars map, Replacer and response writer (reverse_proxy writes
//     the vars and the Replacer on every request). Calls end by the route's
//     deadline, leave no goroutine behind, and a panic fails the shard only.
//   - Every answer reports every shard: ok, timeout, error, unavailable,
//     invalid or skipped, with took, replica, upstream status and a reason
//     (dialect.AppendShardStatus writes that object wherever it appears).
//     Quorum met is a 200, partial or not; otherwise 503, 504 or 502.
//   - Provision validates and builds everything; ServeHTTP does not fail on
//     configuration. State that must outlive a config reload (latency
//     history) lives in package-level usage pools; metrics are package-level
//     collectors re-registered on each load, every series labelled by route.
package caddyfederate
