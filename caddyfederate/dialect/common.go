package dialect

// common.go holds helpers shared by every dialect file: a raw JSON object
// walker that never decodes document bodies, field lookup by dotted path,
// splicing fields into raw objects, JSON string/number writers and small
// parsers for query-string parameters.
//
// Owned by the meilisearch/elasticsearch/federate engineer; other dialect
// files may call these helpers but should not edit this file (ask instead).
//
// The walkers (eachMember, eachElement, lookupPath) expect input that
// encoding/json has already validated (for example bytes held in a
// json.RawMessage decoded from the shard's answer): they skip values by
// bracket counting, which is only correct on valid JSON. On invalid input they
// return errBadJSON or stop early, and never panic.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/searchfront/caddy-federate/merge"
)

var errBadJSON = errors.New("malformed JSON")

// skipSpace returns the index of the first non-space byte at or after i.
func skipSpace(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// skipValue returns the index just past the JSON value starting at b[i].
func skipValue(b []byte, i int) (int, error) {
	if i >= len(b) {
		return 0, errBadJSON
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				end, err := skipString(b, i)
				if err != nil {
					return 0, err
				}
				i = end
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1, nil
				}
			}
			i++
		}
		return 0, errBadJSON
	default:
		j := i
		for j < len(b) {
			switch b[j] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				if j == i {
					return 0, errBadJSON
				}
				return j, nil
			}
			j++
		}
		if j == i {
			return 0, errBadJSON
		}
		return j, nil
	}
}

// skipString returns the index just past the JSON string starting at b[i].
func skipString(b []byte, i int) (int, error) {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1, nil
		}
	}
	return 0, errBadJSON
}

// eachMember calls fn for every top-level member of the JSON object obj, with
// the member's key (unquoted) and its raw value, plus the byte range
// [start, end) the member occupies (key through value). fn returns false to
// stop.
func eachMember(obj []byte, fn func(key string, val []byte, start, end int) bool) error {
	return eachMemberRaw(obj, func(key, val []byte, start, end int) bool {
		return fn(string(key), val, start, end)
	})
}

// eachMemberRaw is eachMember with the key as bytes, which callers compare
// with string(key) == "..." without allocating. key aliases obj unless it
// holds escapes.
func eachMemberRaw(obj []byte, fn func(key, val []byte, start, end int) bool) error {
	i := skipSpace(obj, 0)
	if i >= len(obj) || obj[i] != '{' {
		return errBadJSON
	}
	i = skipSpace(obj, i+1)
	if i < len(obj) && obj[i] == '}' {
		return nil
	}
	for i < len(obj) {
		start := i
		if obj[i] != '"' {
			return errBadJSON
		}
		kend, err := skipString(obj, i)
		if err != nil {
			return err
		}
		key := obj[i+1 : kend-1]
		if bytes.IndexByte(key, '\\') >= 0 {
			key = []byte(unquoteKey(obj[i:kend]))
		}
		i = skipSpace(obj, kend)
		if i >= len(obj) || obj[i] != ':' {
			return errBadJSON
		}
		i = skipSpace(obj, i+1)
		vend, err := skipValue(obj, i)
		if err != nil {
			return err
		}
		if !fn(key, obj[i:vend], start, vend) {
			return nil
		}
		i = skipSpace(obj, vend)
		if i >= len(obj) {
			return errBadJSON
		}
		if obj[i] == '}' {
			return nil
		}
		if obj[i] != ',' {
			return errBadJSON
		}
		i = skipSpace(obj, i+1)
	}
	return errBadJSON
}

// eachElement calls fn for every element of the JSON array arr.
func eachElement(arr []byte, fn func(val []byte) bool) error {
	i := skipSpace(arr, 0)
	if i >= len(arr) || arr[i] != '[' {
		return errBadJSON
	}
	i = skipSpace(arr, i+1)
	if i < len(arr) && arr[i] == ']' {
		return nil
	}
	for i < len(arr) {
		end, err := skipValue(arr, i)
		if err != nil {
			return err
		}
		if !fn(arr[i:end]) {
			return nil
		}
		i = skipSpace(arr, end)
		if i >= len(arr) {
			return errBadJSON
		}
		if arr[i] == ']' {
			return nil
		}
		if arr[i] != ',' {
			return errBadJSON
		}
		i = skipSpace(arr, i+1)
	}
	return errBadJSON
}

// unquoteKey turns a raw JSON string into a Go string; the fast path avoids
// encoding/json for keys without escapes.
func unquoteKey(raw []byte) string {
	if len(raw) >= 2 && bytes.IndexByte(raw, '\\') < 0 {
		return string(raw[1 : len(raw)-1])
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return ""
	}
	return s
}

// member returns the raw value of key in obj, if present.
func member(obj []byte, key string) ([]byte, bool) {
	var out []byte
	found := false
	_ = eachMemberRaw(obj, func(k, v []byte, _, _ int) bool {
		if string(k) == key {
			out, found = v, true
			return false
		}
		return true
	})
	return out, found
}

// lookupPath finds a field by dotted path ("a.b.c") in obj. A key that itself
// contains dots is matched first, as Meilisearch and Elasticsearch both allow
// flattened keys.
func lookupPath(obj []byte, path string) ([]byte, bool) {
	if v, ok := member(obj, path); ok {
		return v, true
	}
	for i := 0; i < len(path); i++ {
		if path[i] != '.' {
			continue
		}
		sub, ok := member(obj, path[:i])
		if !ok {
			continue
		}
		sub = bytes.TrimSpace(sub)
		if len(sub) > 0 && sub[0] == '{' {
			if v, ok := lookupPath(sub, path[i+1:]); ok {
				return v, true
			}
		}
	}
	return nil, false
}

// scalarString renders a raw JSON scalar as text: strings unquoted, numbers
// and booleans as written, null and composites as "" (they make no id).
func scalarString(raw []byte) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return ""
	}
	switch raw[0] {
	case '"':
		return unquoteKey(raw)
	case '{', '[', 'n':
		return ""
	default:
		return string(raw)
	}
}

// rawFloat parses a raw JSON number; ok is false for null or non-numbers.
func rawFloat(raw []byte) (float64, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] == 'n' || raw[0] == '"' {
		return 0, false
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

// isObject reports whether raw is (starts as) a JSON object.
func isObject(raw []byte) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) > 0 && raw[0] == '{'
}

// withoutMembers returns obj minus the top-level members drop selects. When
// nothing is dropped obj itself is returned (no copy).
func withoutMembers(obj []byte, drop func(key []byte) bool) []byte {
	dropped := false
	if err := eachMemberRaw(obj, func(k, _ []byte, _, _ int) bool {
		dropped = drop(k)
		return !dropped
	}); err != nil || !dropped {
		return obj
	}
	out := make([]byte, 1, len(obj))
	out[0] = '{'
	_ = eachMemberRaw(obj, func(k, _ []byte, start, end int) bool {
		if drop(k) {
			return true
		}
		if len(out) > 1 {
			out = append(out, ',')
		}
		out = append(out, obj[start:end]...)
		return true
	})
	return append(out, '}')
}

// field is one member to splice into a raw JSON object.
type field struct {
	Key string
	Val []byte // raw JSON
}

// appendObjectWith appends obj with fields added at its end to dst. obj must
// be a JSON object; an empty or non-object obj is treated as {}.
func appendObjectWith(dst, obj []byte, fields ...field) []byte {
	obj = bytes.TrimSpace(obj)
	empty := true
	if len(obj) >= 2 && obj[0] == '{' && obj[len(obj)-1] == '}' {
		inner := bytes.TrimSpace(obj[1 : len(obj)-1])
		empty = len(inner) == 0
		dst = append(dst, obj[:len(obj)-1]...)
	} else {
		dst = append(dst, '{')
	}
	for _, f := range fields {
		if !empty {
			dst = append(dst, ',')
		}
		dst = appendString(dst, f.Key)
		dst = append(dst, ':')
		dst = append(dst, f.Val...)
		empty = false
	}
	return append(dst, '}')
}

// appendString appends s as a JSON string (the escapes encoding/json uses,
// minus HTML escaping, which search answers do not need).
func appendString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// appendFloat appends f as a JSON number (NaN and ±Inf, which JSON cannot
// carry, become 0).
func appendFloat(dst []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(dst, '0')
	}
	return strconv.AppendFloat(dst, f, 'g', -1, 64)
}

// appendStrings appends ss as a JSON array of strings.
func appendStrings(dst []byte, ss []string) []byte {
	dst = append(dst, '[')
	for i, s := range ss {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendString(dst, s)
	}
	return append(dst, ']')
}

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

// topMembers validates body as JSON and returns the raw values of the named
// top-level members (nil when absent), aliasing body. It is how shard answers
// are read: one validating scan, then a walk that skips everything else.
func topMembers(body []byte, keys ...string) ([][]byte, error) {
	if !json.Valid(body) {
		return nil, errBadJSON
	}
	vals := make([][]byte, len(keys))
	err := eachMemberRaw(body, func(k, v []byte, _, _ int) bool {
		for i, key := range keys {
			if string(k) == key && vals[i] == nil {
				vals[i] = v
			}
		}
		return true
	})
	return vals, err
}

// isArray reports whether raw is a JSON array.
func isArray(raw []byte) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) > 0 && raw[0] == '['
}

// rawInt reads an optional JSON integer: absent or null is not present, any
// other non-integer is an error.
func rawInt(raw []byte) (n int64, present bool, err error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return 0, false, nil
	}
	n, err = strconv.ParseInt(string(raw), 10, 64)
	if err != nil {
		return 0, false, fmt.Errorf("%.40q is not an integer", raw)
	}
	return n, true, nil
}
