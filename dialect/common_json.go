package dialect

// common_json.go is the raw JSON half of common.go: a walker over validated
// JSON that never decodes document bodies, field lookup by dotted path and
// the readers of shard answers' top-level members (writing is in
// common_write.go, validation in common_valid.go). Same ownership and rules
// as common.go.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"unicode/utf8"
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

// skipString returns the index just past the JSON string starting at b[i]:
// the next '"' that an even run of backslashes precedes (bytes.IndexByte is
// vectorized, so long strings cost little). The bytes are not validated.
func skipString(b []byte, i int) (int, error) {
	for j := i + 1; j < len(b); j++ {
		k := bytes.IndexByte(b[j:], '"')
		if k < 0 {
			break
		}
		j += k
		n := 0
		for p := j - 1; p > i && b[p] == '\\'; p-- {
			n++
		}
		if n%2 == 0 {
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

// rawObject reads a client's JSON object into its members' raw values
// (the last of duplicate keys wins, as in encoding/json); ok is false when
// b is not valid JSON or not an object.
func rawObject(b []byte) (map[string]json.RawMessage, bool) {
	if !validJSON(b) {
		return nil, false
	}
	m := make(map[string]json.RawMessage, 8)
	if eachMemberRaw(b, func(k, v []byte, _, _ int) bool {
		m[string(k)] = v
		return true
	}) != nil {
		return nil, false
	}
	return m, true
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

// plainString returns the JSON string raw (already validated) when it holds
// no escape and is valid UTF-8, as encoding/json would decode it, without
// encoding/json; ok is false for anything else, which the caller decodes
// the slow way.
func plainString(raw []byte) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return "", false
	}
	in := raw[1 : len(raw)-1]
	if bytes.IndexByte(in, '\\') >= 0 || bytes.IndexByte(in, '"') >= 0 || !utf8.Valid(in) {
		return "", false
	}
	for _, c := range in {
		if c < 0x20 {
			return "", false
		}
	}
	return string(in), true
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

// topMembers validates body as one JSON object and returns the raw values
// of the named top-level members (nil when absent), aliasing body. It is how
// shard answers are read: one validating walk (validValue, as strict as
// encoding/json.Valid); later walks over the values may skip, not check.
//
// walk, when not nil, validates the value of the first occurrence of
// keys[0] instead of validValue: it gets the value's first index and
// returns the index just past it, reading the value as it validates it (a
// decoder's hits), so that the value is walked once, not validated and then
// walked again.
func topMembers(body []byte, walk func(b []byte, i int) (int, error), keys ...string) ([][]byte, error) {
	vals := make([][]byte, len(keys))
	i := skipSpace(body, 0)
	if i >= len(body) || body[i] != '{' {
		return nil, errBadJSON
	}
	i = skipSpace(body, i+1)
	if i < len(body) && body[i] == '}' {
		i++
	} else {
		for {
			kend, vstart, err := validKey(body, i)
			if err != nil {
				return nil, err
			}
			key := body[i+1 : kend-1]
			if bytes.IndexByte(key, '\\') >= 0 {
				key = []byte(unquoteKey(body[i:kend]))
			}
			var vend int
			if walk != nil && vals[0] == nil && string(key) == keys[0] {
				vend, err = walk(body, vstart)
			} else {
				vend, err = validValue(body, vstart)
			}
			if err != nil {
				return nil, err
			}
			for j, want := range keys {
				if string(key) == want && vals[j] == nil {
					vals[j] = body[vstart:vend]
				}
			}
			i = skipSpace(body, vend)
			if i < len(body) && body[i] == ',' {
				i = skipSpace(body, i+1)
				continue
			}
			if i < len(body) && body[i] == '}' {
				i++
				break
			}
			return nil, errBadJSON
		}
	}
	if skipSpace(body, i) != len(body) {
		return nil, errBadJSON
	}
	return vals, nil
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

// jsonScalar renders a JSON scalar as text: a string, number or boolean; ok is false otherwise.
func jsonScalar(raw []byte) (string, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] == '{' || raw[0] == '[' || raw[0] == 'n' {
		return "", false
	}
	return scalarString(raw), true
}
