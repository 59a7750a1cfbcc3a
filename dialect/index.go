package dialect

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// maxIndexName is the longest index name a client may give (Elasticsearch
// caps names at 255 bytes, Meilisearch uids at 400).
const maxIndexName = 255

// ValidIndex checks an index, collection or table name a client gave in
// its request before any shard is asked for it. It accepts what every
// engine accepts as an ordinary name: letters, digits, '-', '_' and '.',
// starting with a letter or digit, at most 255 bytes. So it refuses
// hidden and system indices (.security, _all, _internal), wildcards and
// lists (logs-*, a,b), remote clusters (cluster:index), path segments
// (.., a/b) and characters that would end a path or start a query string
// (? # % & = and spaces): a client cannot widen a search to indices the
// operator did not mean to expose. The error is a 400 that names the
// index and the rule.
func ValidIndex(name string) error {
	bad := func(why string) error {
		return &Error{Status: http.StatusBadRequest, Code: "invalid_index_name", Type: "invalid_request",
			Message: "Index " + strconv.Quote(name) + " is not allowed: " + why + ". Use a plain name of letters, digits, '-', '_' and '.', starting with a letter or digit."}
	}
	switch {
	case name == "":
		return bad("no index named")
	case len(name) > maxIndexName:
		return bad("longer than " + strconv.Itoa(maxIndexName) + " bytes")
	case !isAlnum(name[0]):
		return bad("it starts with " + strconv.QuoteRune(rune(name[0])) + " (hidden, system or reserved names)")
	case strings.Contains(name, ".."):
		return bad("it contains '..'")
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !isAlnum(c) && c != '-' && c != '_' && c != '.' {
			return bad("it contains " + strconv.QuoteRune(rune(c)))
		}
	}
	return nil
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// enforceParams applies the parameters an operator gave in a shard's index
// string ("books?fq=tenant:acme") to a shard request's parameters p. They
// are constraints, not defaults: each replaces the client's value, except
// the engine's filter parameter (filterKey), which is combined with the
// client's filter so both must hold. and(client, operator) joins two
// filters; nil means the parameter repeats (Solr ANDs every fq).
func enforceParams(p, extra url.Values, filterKey string, and func(client, operator string) (string, error)) error {
	for k, v := range extra {
		if k != filterKey || len(p[k]) == 0 {
			p[k] = append([]string(nil), v...)
			continue
		}
		if and == nil {
			p[k] = append(p[k], v...)
			continue
		}
		client := strings.Join(p[k], " ")
		for _, op := range v {
			joined, err := and(client, op)
			if err != nil {
				return err
			}
			client = joined
		}
		p[k] = []string{client}
	}
	return nil
}

// andScript joins two filters of an engine with a C-like filter language
// (Typesense filter_by, Groonga's script syntax) as (client) && (operator).
// A client filter whose parentheses do not balance outside quotes could
// close the group and escape the AND, so it is refused. quotes lists the
// characters that open and close a quoted value.
func andScript(quotes string) func(client, operator string) (string, error) {
	return func(client, operator string) (string, error) {
		if strings.TrimSpace(client) == "" {
			return operator, nil
		}
		// Engines differ on backslash escapes inside quotes; a parser
		// that disagrees with the engine on where a quote ends could be
		// led out of the group, so a pinned filter takes none.
		if strings.IndexByte(client, '\\') >= 0 || !balanced(client, quotes) {
			return "", &Error{Status: http.StatusBadRequest, Code: "bad_request", Type: "invalid_request",
				Message: "The filter's parentheses or quotes do not balance, or it has a backslash: this shard adds a filter of its own, so close every group and quoted value and use no backslash escapes."}
		}
		return "(" + client + ") && (" + operator + ")", nil
	}
}

// balanced reports whether every '(' in s outside quotes is closed by a
// later ')' and every quote is closed.
func balanced(s, quotes string) bool {
	depth := 0
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case strings.IndexByte(quotes, c) >= 0:
			quote = c
		case c == '(':
			depth++
		case c == ')':
			depth--
			if depth < 0 {
				return false
			}
		}
	}
	return depth == 0 && quote == 0
}
