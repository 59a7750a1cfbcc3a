package dialect

// common_write.go is the writing half of common_json.go: raw objects with
// members cut or added, and the JSON writers the encoders use. Same
// ownership and rules as common.go.

import (
	"bytes"
	"math"
	"strconv"
	"unicode/utf8"
)

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

// memberSpans records where an object's members are, and which are cut,
// during the walk that reads the object, so that the object without the
// cut members can be written without walking it again. Objects with more
// members than it holds report overflow (use withoutMembers then).
type memberSpans struct {
	spans    [32]struct{ start, end int32 }
	keep     uint32 // bit i: spans[i] is kept
	n        int
	cut      bool // at least one member is cut
	overflow bool
}

func (m *memberSpans) add(start, end int, cut bool) {
	if m.n == len(m.spans) {
		m.overflow = true
		return
	}
	m.spans[m.n].start, m.spans[m.n].end = int32(start), int32(end)
	if cut {
		m.cut = true
	} else {
		m.keep |= 1 << m.n
	}
	m.n++
}

// appendKept writes obj's kept members as an object to *arena and returns
// that object. arena is meant to be shared by many objects: when it lacks
// the room, the object gets a buffer of its own rather than moving the
// objects written before.
func (m *memberSpans) appendKept(arena *[]byte, obj []byte) []byte {
	size := 2
	for i := 0; i < m.n; i++ {
		if m.keep&(1<<i) != 0 {
			size += int(m.spans[i].end-m.spans[i].start) + 1
		}
	}
	buf := *arena
	own := cap(buf)-len(buf) < size
	if own {
		buf = make([]byte, 0, size)
	}
	start := len(buf)
	buf = append(buf, '{')
	first := true
	for i := 0; i < m.n; i++ {
		if m.keep&(1<<i) == 0 {
			continue
		}
		if !first {
			buf = append(buf, ',')
		}
		first = false
		buf = append(buf, obj[m.spans[i].start:m.spans[i].end]...)
	}
	buf = append(buf, '}')
	if !own {
		*arena = buf
	}
	return buf[start:len(buf):len(buf)]
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
