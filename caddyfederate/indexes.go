package caddyfederate

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/searchfront/caddy-federate/dialect"
)

// shardIndex is the index shard s is asked for q: the shard's own when
// it pins one (`index`), else the client's, which must be a plain name
// (dialect.ValidIndex) and, when the shard has allow_indexes, one of
// them. A client can never name a hidden, system, remote or wildcard
// index, nor send a shard without an index to every index.
func (s *Shard) targetIndex(q *dialect.Query) (string, error) {
	if s.Index != "" {
		return s.Index, nil
	}
	if q.Index == "" {
		if s.dialect.Name() == "federate" || s.dialect.Name() == "json" {
			return "", nil // their paths need no index
		}
		return "", badRequest("shard " + strconv.Quote(s.Name) + " needs an index: name one in the request path, or ask the operator to set `index` on the shard")
	}
	if err := dialect.ValidIndex(q.Index); err != nil {
		return "", err
	}
	if len(s.AllowIndexes) > 0 && !allowed(s.AllowIndexes, q.Index) {
		return "", &dialect.Error{Status: 404, Code: "index_not_found", Type: "invalid_request",
			Message: fmt.Sprintf("index %q is not served by this route", q.Index)}
	}
	return q.Index, nil
}

// allowed reports whether name matches one of the patterns: an exact name,
// or a prefix followed by '*'.
func allowed(patterns []string, name string) bool {
	for _, p := range patterns {
		if prefix, ok := strings.CutSuffix(p, "*"); ok {
			if strings.HasPrefix(name, prefix) {
				return true
			}
		} else if p == name {
			return true
		}
	}
	return false
}
