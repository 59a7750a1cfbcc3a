package dialect

import (
	"bytes"
	"encoding/json"
	"strings"
)

// Meilisearch filter expressions (https://www.meilisearch.com/docs/learn/filtering_and_sorting/filter_expression_reference)
// are translated only in the subset Filter holds: `attr = value`,
// `attr IN [v1, v2]`, joined by AND; the array form ANDs its elements and ORs
// the strings of an inner array, which fits only when they all test one
// attribute for equality. Everything else (OR across attributes, NOT, !=,
// ranges, TO, EXISTS, IS NULL, geo, parentheses) is left raw.

// meiliToken is one lexical token of a filter expression.
type meiliToken struct {
	text   string
	quoted bool // a quoted value ("..." or '...')
}

// lexMeiliFilter splits a filter expression into tokens. ok is false on an
// unterminated quote, which Meilisearch itself rejects.
func lexMeiliFilter(s string) (toks []meiliToken, ok bool) {
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '"' || c == '\'':
			var b strings.Builder
			j := i + 1
			for ; j < len(s) && s[j] != c; j++ {
				if s[j] == '\\' && j+1 < len(s) {
					j++
				}
				b.WriteByte(s[j])
			}
			if j >= len(s) {
				return nil, false
			}
			toks = append(toks, meiliToken{text: b.String(), quoted: true})
			i = j + 1
		case strings.IndexByte("[](),", c) >= 0:
			toks = append(toks, meiliToken{text: s[i : i+1]})
			i++
		case strings.IndexByte("=!<>", c) >= 0:
			j := i + 1
			for j < len(s) && strings.IndexByte("=!<>", s[j]) >= 0 {
				j++
			}
			toks = append(toks, meiliToken{text: s[i:j]})
			i = j
		default:
			j := i
			for j < len(s) && strings.IndexByte(" \t\n\r\"'[](),=!<>", s[j]) < 0 {
				j++
			}
			toks = append(toks, meiliToken{text: s[i:j]})
			i = j
		}
	}
	return toks, true
}

func isMeiliKeyword(t meiliToken, kw string) bool {
	return !t.quoted && strings.EqualFold(t.text, kw)
}

// parseMeiliFilterString parses one filter string into clauses. fits is false
// when the expression leaves the subset; ok is false when it is malformed.
func parseMeiliFilterString(s string) (clauses []Clause, fits, ok bool) {
	toks, ok := lexMeiliFilter(s)
	if !ok {
		return nil, false, false
	}
	for i := 0; i < len(toks); {
		if len(clauses) > 0 {
			if !isMeiliKeyword(toks[i], "AND") {
				return nil, false, true
			}
			i++
		}
		c, next, fit := parseMeiliCondition(toks, i)
		if !fit {
			return nil, false, true
		}
		clauses = append(clauses, c)
		i = next
	}
	return clauses, true, true
}

// parseMeiliCondition reads `attr = value` or `attr IN [values]` at toks[i].
// The attribute may be quoted (`"kind" = "func"`), as Meilisearch allows and
// instant-meilisearch writes its facet filters.
func parseMeiliCondition(toks []meiliToken, i int) (Clause, int, bool) {
	if i+2 >= len(toks) || (!toks[i].quoted && isMeiliReserved(toks[i])) {
		return Clause{}, 0, false
	}
	field := toks[i].text
	switch {
	case !toks[i+1].quoted && toks[i+1].text == "=":
		v := toks[i+2]
		if !meiliValue(v) {
			return Clause{}, 0, false
		}
		return Clause{Field: field, Values: []string{v.text}}, i + 3, true
	case isMeiliKeyword(toks[i+1], "IN") && !toks[i+2].quoted && toks[i+2].text == "[":
		var vals []string
		j := i + 3
		for j < len(toks) {
			if !meiliValue(toks[j]) {
				return Clause{}, 0, false
			}
			vals = append(vals, toks[j].text)
			j++
			if j >= len(toks) || toks[j].quoted {
				return Clause{}, 0, false
			}
			if toks[j].text == "]" {
				return Clause{Field: field, Values: vals}, j + 1, true
			}
			if toks[j].text != "," {
				return Clause{}, 0, false
			}
			j++
		}
	}
	return Clause{}, 0, false
}

func meiliValue(t meiliToken) bool {
	if t.quoted {
		return true
	}
	return t.text != "" && strings.IndexByte("[](),=!<>", t.text[0]) < 0 && !isMeiliReserved(t)
}

func isMeiliReserved(t meiliToken) bool {
	if t.quoted {
		return false
	}
	switch strings.ToUpper(t.text) {
	case "AND", "OR", "NOT", "IN", "TO", "EXISTS", "IS", "NULL", "EMPTY", "CONTAINS", "STARTS", "_GEORADIUS", "_GEOBOUNDINGBOX", "_GEOPOLYGON":
		return true
	}
	return false
}

// parseMeiliFilter reads the raw "filter" value (string, array or null).
// It returns the Filter when the expression fits the subset, raw=true when it
// does not, and an *Error when Meilisearch would reject it.
func parseMeiliFilter(raw []byte) (f *Filter, rawOnly bool, err error) {
	raw = bytes.TrimSpace(raw)
	bad := func() (*Filter, bool, error) {
		return nil, false, meiliError("invalid_search_filter", "Invalid value type at `.filter`: expected a string or an array of strings or arrays of strings, and a closed quote for every opened one.")
	}
	if len(raw) == 0 || string(raw) == "null" {
		return nil, false, nil
	}
	var clauses []Clause
	fits := true
	switch raw[0] {
	case '"':
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return bad()
		}
		cs, fit, ok := parseMeiliFilterString(s)
		if !ok {
			return bad()
		}
		clauses, fits = cs, fit
	case '[':
		var elems []json.RawMessage
		if json.Unmarshal(raw, &elems) != nil {
			return bad()
		}
		for _, e := range elems {
			cs, fit, ok := parseMeiliFilterElement(e)
			if !ok {
				return bad()
			}
			fits = fits && fit
			clauses = append(clauses, cs...)
		}
	default:
		return bad()
	}
	if !fits {
		return nil, true, nil
	}
	if len(clauses) == 0 {
		return nil, false, nil
	}
	return &Filter{And: clauses}, false, nil
}

// parseMeiliFilterElement reads one element of the array form: a string, or
// an array of strings ORed together.
func parseMeiliFilterElement(e json.RawMessage) (clauses []Clause, fits, ok bool) {
	e = bytes.TrimSpace(e)
	if len(e) > 0 && e[0] == '"' {
		var s string
		if json.Unmarshal(e, &s) != nil {
			return nil, false, false
		}
		return parseMeiliFilterString(s)
	}
	var ors []string
	if json.Unmarshal(e, &ors) != nil {
		return nil, false, false
	}
	var merged Clause
	fits = true
	for _, s := range ors {
		cs, fit, ok := parseMeiliFilterString(s)
		if !ok {
			return nil, false, false
		}
		if !fit || len(cs) != 1 || (merged.Field != "" && cs[0].Field != merged.Field) {
			fits = false
			continue
		}
		merged.Field = cs[0].Field
		merged.Values = append(merged.Values, cs[0].Values...)
	}
	if !fits || merged.Field == "" {
		return nil, fits && merged.Field == "", true
	}
	return []Clause{merged}, true, true
}

// formatMeiliFilter renders f in Meilisearch syntax.
func formatMeiliFilter(f *Filter) string {
	var b strings.Builder
	for i, c := range f.And {
		if i > 0 {
			b.WriteString(" AND ")
		}
		b.WriteString(c.Field)
		if len(c.Values) == 1 {
			b.WriteString(" = ")
			writeMeiliQuoted(&b, c.Values[0])
			continue
		}
		b.WriteString(" IN [")
		for j, v := range c.Values {
			if j > 0 {
				b.WriteString(", ")
			}
			writeMeiliQuoted(&b, v)
		}
		b.WriteByte(']')
	}
	return b.String()
}

func writeMeiliQuoted(b *strings.Builder, v string) {
	b.WriteByte('"')
	for i := 0; i < len(v); i++ {
		if v[i] == '"' || v[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(v[i])
	}
	b.WriteByte('"')
}
