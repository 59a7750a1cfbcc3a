package dialect

// common_valid.go validates untrusted JSON (shard answers) in one pass, as
// strictly as encoding/json.Valid and several times faster: a string's end
// and escapes are found with bytes.IndexByte and its control characters
// eight bytes at a time. Same ownership and rules as common.go.

import (
	"bytes"
	"encoding/binary"
	"errors"
)

// maxJSONDepth bounds the nesting validValue accepts, as encoding/json's
// own limit does (10000): deeper input is rejected, not walked.
const maxJSONDepth = 10000

var errTooDeep = errors.New("JSON nested too deeply")

// SWAR constants: one byte repeated eight times.
const (
	lsb   = 0x0101010101010101
	msb   = 0x8080808080808080
	space = 0x20 * lsb
)

// validString returns the index just past the valid JSON string starting at
// b[i] (which is '"'). It finds the next quote and the next backslash with
// bytes.IndexByte (vectorised), so a run of plain text costs one pass
// that only looks for control characters.
func validString(b []byte, i int) (int, error) {
	j, q := i+1, 0
	for {
		if q < j { // the first quote, or the last one found was escaped
			if q = bytes.IndexByte(b[j:], '"'); q < 0 {
				return 0, errBadJSON
			}
			q += j
		}
		end := q
		if e := bytes.IndexByte(b[j:q], '\\'); e >= 0 {
			end = j + e
		}
		if hasControl(b[j:end]) {
			return 0, errBadJSON
		}
		if end == q {
			return q + 1, nil
		}
		// An escape at b[end].
		j = end
		if j+1 >= len(b) {
			return 0, errBadJSON
		}
		switch b[j+1] {
		case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			j += 2
		case 'u':
			if j+6 > len(b) || !isHex(b[j+2]) || !isHex(b[j+3]) || !isHex(b[j+4]) || !isHex(b[j+5]) {
				return 0, errBadJSON
			}
			j += 6
		default:
			return 0, errBadJSON
		}
	}
}

// hasControl reports whether s holds a control character (< 0x20), which
// a JSON string may not hold raw: eight bytes at a time.
func hasControl(s []byte) bool {
	for len(s) >= 8 {
		w := binary.LittleEndian.Uint64(s)
		// Exact as a yes/no: a byte below 0x20 sets its top bit in
		// w-space where w's is clear; a borrow reaches higher bytes only
		// from such a byte.
		if (w-space)&^w&msb != 0 {
			return true
		}
		s = s[8:]
	}
	for _, c := range s {
		if c < 0x20 {
			return true
		}
	}
	return false
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// validNumber returns the index just past the JSON number at b[i]:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func validNumber(b []byte, i int) (int, error) {
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i >= len(b):
		return 0, errBadJSON
	case b[i] == '0':
		i++
	case '1' <= b[i] && b[i] <= '9':
		for i++; i < len(b) && isDigit(b[i]); i++ {
		}
	default:
		return 0, errBadJSON
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || !isDigit(b[i]) {
			return 0, errBadJSON
		}
		for i++; i < len(b) && isDigit(b[i]); i++ {
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || !isDigit(b[i]) {
			return 0, errBadJSON
		}
		for i++; i < len(b) && isDigit(b[i]); i++ {
		}
	}
	return i, nil
}

// validLiteral returns the index just past lit (true, false or null) at b[i].
func validLiteral(b []byte, i int, lit string) (int, error) {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return 0, errBadJSON
	}
	return i + len(lit), nil
}

// validScalar validates the string, number or literal at b[i].
func validScalar(b []byte, i int) (int, error) {
	switch b[i] {
	case '"':
		return validString(b, i)
	case 't':
		return validLiteral(b, i, "true")
	case 'f':
		return validLiteral(b, i, "false")
	case 'n':
		return validLiteral(b, i, "null")
	default:
		return validNumber(b, i)
	}
}

// validKey validates `"key" :` at b[i] (after space) and returns the index
// just past the key's closing quote and the index of the member's value
// (after space).
func validKey(b []byte, i int) (kend, val int, err error) {
	if i >= len(b) || b[i] != '"' {
		return 0, 0, errBadJSON
	}
	if kend, err = validString(b, i); err != nil {
		return 0, 0, err
	}
	i = skipSpace(b, kend)
	if i >= len(b) || b[i] != ':' {
		return 0, 0, errBadJSON
	}
	return kend, skipSpace(b, i+1), nil
}

// validValue returns the index just past the valid JSON value that starts
// at b[i] (after optional space), or an error. It accepts exactly what
// encoding/json.Valid accepts for one value (invalid UTF-8 included, which
// encoding/json replaces when decoding), iteratively, with nesting bounded
// by maxJSONDepth.
func validValue(b []byte, i int) (int, error) {
	var buf [32]byte
	stack := buf[:0] // open containers, '{' or '['
	var err error
	i = skipSpace(b, i)
value:
	for {
		if i >= len(b) {
			return 0, errBadJSON
		}
		switch b[i] {
		case '{', '[':
			open, closer := b[i], byte('}')
			if open == '[' {
				closer = ']'
			}
			if len(stack) >= maxJSONDepth {
				return 0, errTooDeep
			}
			i = skipSpace(b, i+1)
			if i < len(b) && b[i] == closer {
				i++
				break
			}
			stack = append(stack, open)
			if open == '{' {
				if _, i, err = validKey(b, i); err != nil {
					return 0, err
				}
			}
			continue value
		default:
			if i, err = validScalar(b, i); err != nil {
				return 0, err
			}
		}
		// A value ended: close containers until one continues.
		for {
			if len(stack) == 0 {
				return i, nil
			}
			i = skipSpace(b, i)
			if i >= len(b) {
				return 0, errBadJSON
			}
			top := stack[len(stack)-1]
			switch {
			case b[i] == ',':
				i = skipSpace(b, i+1)
				if top == '{' {
					if _, i, err = validKey(b, i); err != nil {
						return 0, err
					}
				}
				continue value
			case top == '{' && b[i] == '}', top == '[' && b[i] == ']':
				stack = stack[:len(stack)-1]
				i++
			default:
				return 0, errBadJSON
			}
		}
	}
}

// validJSON reports whether b is one valid JSON value, optionally
// surrounded by space: encoding/json.Valid, faster.
func validJSON(b []byte) bool {
	end, err := validValue(b, 0)
	return err == nil && skipSpace(b, end) == len(b)
}

// validObject validates the JSON object at b[i] (after optional space) in
// one pass and calls fn for each member with its key (unquoted; it aliases b
// unless it holds escapes), its raw value and the range [start, end) the
// member occupies, relative to the object's first byte, as eachMemberRaw
// reports them. It returns the object's start and the index just past it.
// Decoders that read every member of many objects (the hits of a shard's
// answer) use it instead of validating the answer and walking it again.
func validObject(b []byte, i int, fn func(key, val []byte, start, end int)) (start, end int, err error) {
	start = skipSpace(b, i)
	end, err = walkObject(b, start, func(key []byte, kstart, vstart int) (int, error) {
		vend, err := validValue(b, vstart)
		if err == nil {
			fn(key, b[vstart:vend], kstart-start, vend-start)
		}
		return vend, err
	})
	return start, end, err
}

// walkObject validates the structure of the JSON object at b[i] (after
// optional space) and lets member validate each member's value: member
// gets the member's key (as validObject gives it), the index of its
// opening quote and the index where its value starts, and returns the
// index just past the value. It returns the index just past the object.
func walkObject(b []byte, i int, member func(key []byte, kstart, vstart int) (int, error)) (int, error) {
	i = skipSpace(b, i)
	if i >= len(b) || b[i] != '{' {
		return 0, errBadJSON
	}
	j := skipSpace(b, i+1)
	if j < len(b) && b[j] == '}' {
		return j + 1, nil
	}
	for {
		kend, vstart, err := validKey(b, j)
		if err != nil {
			return 0, err
		}
		key := b[j+1 : kend-1]
		if bytes.IndexByte(key, '\\') >= 0 {
			key = []byte(unquoteKey(b[j:kend]))
		}
		vend, err := member(key, j, vstart)
		if err != nil {
			return 0, err
		}
		j = skipSpace(b, vend)
		if j >= len(b) {
			return 0, errBadJSON
		}
		switch b[j] {
		case '}':
			return j + 1, nil
		case ',':
			j = skipSpace(b, j+1)
		default:
			return 0, errBadJSON
		}
	}
}

// validArray validates the JSON array at b[i] (after optional space),
// letting elem validate each element: elem gets the element's first index
// and returns the index just past it. It returns the index just past the
// array.
func validArray(b []byte, i int, elem func(b []byte, i int) (int, error)) (int, error) {
	i = skipSpace(b, i)
	if i >= len(b) || b[i] != '[' {
		return 0, errBadJSON
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == ']' {
		return i + 1, nil
	}
	for {
		end, err := elem(b, i)
		if err != nil {
			return 0, err
		}
		i = skipSpace(b, end)
		if i >= len(b) {
			return 0, errBadJSON
		}
		switch b[i] {
		case ']':
			return i + 1, nil
		case ',':
			i = skipSpace(b, i+1)
		default:
			return 0, errBadJSON
		}
	}
}
