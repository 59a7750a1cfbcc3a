package dialect

// common.go and common_json.go hold helpers shared by every dialect file:
// a raw JSON object walker that never decodes document bodies, field lookup
// by dotted path, splicing fields into raw objects, JSON string/number
// writers (common_json.go); parsers for query-string parameters, the
// errors for what a shard cannot express, shard report wording and the
// provenance objects answers carry (here).
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
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
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
	// The usual case, a few plain digits, without encoding/json; anything
	// else (space, sign, exponent, leading zeros) takes the slow path.
	if len(raw) > 0 && len(raw) <= 9 && (raw[0] != '0' || len(raw) == 1) {
		n := 0
		for _, c := range raw {
			if c < '0' || c > '9' {
				n = -1
				break
			}
			n = n*10 + int(c-'0')
		}
		if n >= 0 {
			return n, true
		}
	}
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
	return appendSplitNonEmpty(nil, s, sep)
}

// appendSplitNonEmpty is splitNonEmpty appending to out, so that a caller
// can split into an array on its stack.
func appendSplitNonEmpty(out []string, s string, sep byte) []string {
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

// unsupportedFilter is the BuildRequest error for a filter or query only the
// client's own dialect can express, sent to a shard of another dialect.
func unsupportedFilter(q *Query, t Target, shardDialect string) *Error {
	return unsupportedConstruct(t, shardDialect, "this "+q.Dialect+" filter or query (only field = value, AND and IN translate across dialects; use only those or query "+q.Dialect+" shards)")
}

// unsupportedConstruct names the shard and what it cannot take. Every
// construct a shard's dialect cannot express shares one code, whichever
// dialect the client and the shard speak.
func unsupportedConstruct(t Target, shardDialect, construct string) *Error {
	return &Error{
		Status:  http.StatusBadRequest,
		Code:    "unsupported_filter",
		Type:    "invalid_request",
		Message: "Shard " + t.Shard + " (" + shardDialect + ") cannot express " + construct + ".",
	}
}

// isFieldName accepts the field names the translatable subset allows.
func isFieldName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c == '.' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || i > 0 && c == '-') {
			return false
		}
	}
	return true
}

// quoteEscaped writes s as a double-quoted literal with " and \ escaped:
// a Solr phrase and a Groonga query phrase or script string alike.
func quoteEscaped(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// targetIndex is the index a shard is asked: its own, else the client's.
func targetIndex(q *Query, t Target) string {
	if t.Index != "" {
		return t.Index
	}
	return q.Index
}

// cloneParams copies p so that a shard request can be rewritten without
// touching the client's parameters.
func cloneParams(p url.Values) url.Values {
	out := make(url.Values, len(p))
	for k, v := range p {
		out[k] = append([]string(nil), v...)
	}
	return out
}

// facetCounts returns l's value counts for facet name, creating them; a
// shard's counts are added to it.
func facetCounts(l *merge.List, name string, sizeHint int) map[string]int64 {
	if l.Facets == nil {
		l.Facets = map[string]map[string]int64{}
	}
	m := l.Facets[name]
	if m == nil {
		m = make(map[string]int64, sizeHint)
		l.Facets[name] = m
	}
	return m
}

// decodeHits reads a shard's array of hits with decode, whose error says
// why a hit is invalid; a malformed array is an invalid answer of dialect.
func decodeHits(dialect string, arr []byte, decode func([]byte) (merge.Hit, error)) ([]merge.Hit, error) {
	hits := newHits()
	var bad error
	err := eachElement(arr, func(h []byte) bool {
		hit, err := decode(h)
		if err != nil {
			bad = err
			return false
		}
		hits = append(hits, hit)
		return true
	})
	if bad != nil {
		return nil, bad
	}
	if err != nil {
		return nil, errInvalid(dialect, err)
	}
	return hits, nil
}

// hitsWalker returns a topMembers walk hook for a top-level hits array: it
// validates each hit and decodes it right away, into l.Hits (from the
// pool), so that the array is walked once by the validator and each hit
// once by decode, instead of validated, skipped and walked. A hit decode
// refuses is reported through *bad, as the dialect's own error. A value
// that is not an array is only validated (the caller reports it).
func hitsWalker(l *merge.List, bad *error, decode func([]byte) (merge.Hit, error)) func(b []byte, i int) (int, error) {
	return func(b []byte, i int) (int, error) {
		if i >= len(b) || b[i] != '[' {
			return validValue(b, i)
		}
		l.Hits = newHits()
		return validArray(b, i, func(b []byte, i int) (int, error) {
			end, err := validValue(b, i)
			if err != nil {
				return 0, err
			}
			hit, err := decode(b[i:end])
			if err != nil {
				*bad = err
				return 0, err
			}
			l.Hits = append(l.Hits, hit)
			return end, nil
		})
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

// appendDoc appends a raw document, or {} when there is none.
func appendDoc(b, doc []byte) []byte {
	if len(bytes.TrimSpace(doc)) == 0 {
		return append(b, "{}"...)
	}
	return append(b, doc...)
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

// isLiteral reports whether v is a number or boolean literal.
func isLiteral(v string) bool {
	if v == "true" || v == "false" {
		return true
	}
	_, err := strconv.ParseFloat(v, 64)
	return err == nil
}

// appendShardStatus writes, for dialects without a partial-result field of
// their own, {"complete":false,"shards":{...}}.
func appendShardStatus(b []byte, rs []ShardReport) []byte {
	b = append(b, `{"complete":false,"shards":`...)
	b = appendShardMap(b, rs)
	return append(b, '}')
}

// appendShardMap writes {name: {status object}, ...} in config order, each
// object by AppendShardStatus.
func appendShardMap(b []byte, rs []ShardReport) []byte {
	b = append(b, '{')
	for i, r := range rs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, r.Name)
		b = append(b, `:{`...)
		b = AppendShardStatus(b, r)
		b = append(b, '}')
	}
	return append(b, '}')
}

// codeForStatus is the error code of an error that has none, by status.
func codeForStatus(status int) string {
	switch {
	case status == http.StatusRequestEntityTooLarge:
		return "payload_too_large"
	case status == http.StatusNotFound:
		return "index_not_found"
	case status == http.StatusGatewayTimeout:
		return "shard_timeout"
	case status >= 500:
		return "shard_unavailable"
	}
	return "bad_request"
}

// emptyObject is the document of a hit that has none.
var emptyObject = []byte("{}")

// pooledHits is the capacity of a pooled hits slice: most pages are 10 or
// 20 hits, so one slice serves most answers without growing.
const pooledHits = 16

// hitsPool holds *[pooledHits]merge.Hit arrays for the hits of decoded
// shard answers, given back by ReleaseHits: a shard answer's hits are
// needed only until the merged answer is encoded, and at about 2 KiB they
// are the largest allocation of a decoded answer.
var hitsPool = sync.Pool{New: func() any { return new([pooledHits]merge.Hit) }}

// newHits returns an empty hits slice from the pool.
func newHits() []merge.Hit {
	return hitsPool.Get().(*[pooledHits]merge.Hit)[:0]
}

// ReleaseHits gives back the Hits of a List that DecodeResponse returned,
// once nothing reads them any more (in caddyfederate: once the merged
// answer is encoded; merge.Result holds copies of the hits, not the slice).
// Slices that did not come from the pool, or grew out of it, are left to
// the garbage collector.
func ReleaseHits(hits []merge.Hit) {
	if cap(hits) != pooledHits {
		return
	}
	a := (*[pooledHits]merge.Hit)(hits[:pooledHits])
	clear(a[:]) // drop the references into the answer's buffer
	hitsPool.Put(a)
}
