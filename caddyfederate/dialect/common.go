package dialect

// common.go and common_json.go hold helpers shared by every dialect file:
// a raw JSON object walker that never decodes document bodies, field lookup
// by dotted path, splicing fields into raw objects, JSON string/number
// writers (common_json.go); parsers for query-string parameters, shard
// report wording and the provenance objects answers carry (here).
//
// Owned by the meilisearch/elasticsearch/federate engineer; other dialect
// files may call these helpers but should not edit these files (ask
// instead). Signatures other files use stay stable.
//
// The walkers (eachMember, eachElement, lookupPath) expect input that
// encoding/json has already validated (topMembers does so, as does a
// json.RawMessage decoded from the shard's answer): they skip values by
// bracket counting, which is only correct on valid JSON. On invalid input they
// return errBadJSON or stop early, and never panic.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/searchfront/caddy-federate/merge"
)

// splitList splits a comma-separated parameter, trimming blanks and dropping
// empty items; "" gives nil.
func splitList(s string) []string {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	parts := strings.Split(s, ",")
	out := parts[:0]
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// parseCount parses a non-negative integer parameter.
func parseCount(s string) (int, bool) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 0 {
		return 0, false
	}
	return n, true
}

// rawCount reads a non-negative JSON integer.
func rawCount(raw []byte) (int, bool) {
	var n int64
	if json.Unmarshal(raw, &n) != nil || n < 0 || n > math.MaxInt32 {
		return 0, false
	}
	return int(n), true
}

// rawBool reads a JSON boolean; ok is false for any other value.
func rawBool(raw []byte) (v, ok bool) {
	switch string(bytes.TrimSpace(raw)) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	return false, false
}

// rawStrings reads a JSON array of strings, or a single string as a list of
// one.
func rawStrings(raw []byte) ([]string, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return nil, false
		}
		return []string{s}, true
	}
	var ss []string
	if json.Unmarshal(raw, &ss) != nil {
		return nil, false
	}
	return ss, true
}

// pathSegments splits a URL path into its non-empty segments.
func pathSegments(p string) []string {
	return splitNonEmpty(p, '/')
}

func splitNonEmpty(s string, sep byte) []string {
	var out []string
	for len(s) > 0 {
		i := strings.IndexByte(s, sep)
		if i < 0 {
			out = append(out, s)
			break
		}
		if i > 0 {
			out = append(out, s[:i])
		}
		s = s[i+1:]
	}
	return out
}

// windowLimit is the limit asked of a shard: t.Limit, or the dialect default
// when the handler gave none.
func windowLimit(t Target, def int) int {
	if t.Limit > 0 {
		return t.Limit
	}
	return def
}

// sameFamily reports whether a query decoded by client dialect c can be passed
// through to a shard of dialect s (Elasticsearch and OpenSearch share one
// wire format).
func sameFamily(c, s string) bool {
	if c == s {
		return true
	}
	es := func(n string) bool { return n == "elasticsearch" || n == "opensearch" }
	return es(c) && es(s)
}

// rawFilterError is the BuildRequest error for a filter or query only the
// client's own dialect can express.
func rawFilterError(q *Query, t Target, shardDialect string) *Error {
	return &Error{
		Status:  400,
		Code:    "untranslatable_query",
		Type:    "invalid_request",
		Message: "shard " + t.Shard + " (" + shardDialect + ") cannot take this " + q.Dialect + " query: its filter or query uses constructs beyond field = value, AND and IN; use only those or query " + q.Dialect + " shards",
	}
}

// errInvalid wraps why a shard's answer is not what its dialect returns.
func errInvalid(dialect string, err error) error {
	return fmt.Errorf("%s: invalid answer: %w", dialect, err)
}

func errInvalidMsg(dialect, msg string) error {
	return fmt.Errorf("%s: invalid answer: %s", dialect, msg)
}

// tookMillis renders a duration as whole milliseconds.
func tookMillis(d time.Duration) int64 { return d.Milliseconds() }

// failedShards returns the reports whose status is not ok.
func failedShards(rs []ShardReport) []ShardReport {
	var out []ShardReport
	for _, r := range rs {
		if r.Status != StatusOK {
			out = append(out, r)
		}
	}
	return out
}

// shardReason is a report's one-line reason, or a default by status.
func shardReason(r ShardReport) string {
	if r.Reason != "" {
		return r.Reason
	}
	switch r.Status {
	case StatusTimeout:
		return "no answer before the shard's deadline"
	case StatusUnavailable:
		return "no healthy upstream"
	case StatusInvalid:
		return "the answer was not a valid search answer"
	case StatusSkipped:
		return "the query could not be sent to this shard"
	case StatusError:
		if r.HTTPStatus != 0 {
			return "upstream answered HTTP " + strconv.Itoa(r.HTTPStatus)
		}
		return "upstream request failed"
	}
	return ""
}

// appendSources appends a fused hit's sources as a JSON array.
func appendSources(dst []byte, ss []merge.Source) []byte {
	dst = append(dst, '[')
	for i, s := range ss {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"shard":`...)
		dst = appendString(dst, s.Shard)
		dst = append(dst, `,"rank":`...)
		dst = strconv.AppendInt(dst, int64(s.Rank), 10)
		dst = append(dst, `,"raw":`...)
		dst = appendFloat(dst, s.Raw)
		dst = append(dst, `,"normalized":`...)
		dst = appendFloat(dst, s.Normalized)
		dst = append(dst, `,"contribution":`...)
		dst = appendFloat(dst, s.Contribution)
		dst = append(dst, '}')
	}
	return append(dst, ']')
}

// appendFederation appends {"shard","rank","score"[,"sources"]} for a fused
// hit: the provenance object Meilisearch and Elasticsearch answers carry.
func appendFederation(dst []byte, h *merge.Fused, explain bool) []byte {
	dst = append(dst, `{"shard":`...)
	dst = appendString(dst, h.Shard)
	dst = append(dst, `,"rank":`...)
	dst = strconv.AppendInt(dst, int64(h.Rank), 10)
	dst = append(dst, `,"score":`...)
	dst = appendFloat(dst, h.Score)
	if explain {
		dst = append(dst, `,"sources":`...)
		dst = appendSources(dst, h.Sources)
	}
	return append(dst, '}')
}

// clientLimit is the page size to report: the client's, else the handler's
// applied default, else the dialect's.
func clientLimit(q *Query, def int) int {
	if q.HasLimit || q.Limit > 0 {
		return q.Limit
	}
	return def
}
