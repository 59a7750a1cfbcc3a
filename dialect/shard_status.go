package dialect

import "strconv"

// AppendShardStatus appends the members of a shard's status object (no
// braces): status, took_ms (whole milliseconds), replica, http_status,
// reason (empty when ok, else [ShardReport.ReasonOrDefault]) and hits. It
// is the one writer of that object: the federate dialect's `shards` and a
// broadcast answer's `shards` both use it, so they agree member for member.
func AppendShardStatus(b []byte, r ShardReport) []byte {
	b = append(b, `"status":`...)
	b = appendString(b, string(r.Status))
	b = append(b, `,"took_ms":`...)
	b = strconv.AppendInt(b, tookMillis(r.Took), 10)
	b = append(b, `,"replica":`...)
	b = appendString(b, r.Replica)
	b = append(b, `,"http_status":`...)
	b = strconv.AppendInt(b, int64(r.HTTPStatus), 10)
	b = append(b, `,"reason":`...)
	reason := ""
	if r.Status != StatusOK {
		reason = r.ReasonOrDefault()
	}
	b = appendString(b, reason)
	b = append(b, `,"hits":`...)
	return strconv.AppendInt(b, int64(r.Hits), 10)
}

// ReasonOrDefault is the report's one-line reason, or, when it has none, a
// default for its status ("" for ok). Every rendering of a shard's outcome
// (status objects, error messages, logs) uses it, so they name the same
// cause.
func (r ShardReport) ReasonOrDefault() string { return shardReason(r) }
