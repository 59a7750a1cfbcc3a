package dialect

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"

	"github.com/searchfront/caddy-federate/merge"
)

func (f federate) BuildRequest(q *Query, t Target) (*Request, error) {
	if q.RawFilter {
		return nil, unsupportedFilter(q, t, federateName)
	}
	index := targetIndex(q, t)
	path := "/search"
	if segs := pathSegments(index); len(segs) > 0 {
		for i, s := range segs {
			segs[i] = url.PathEscape(s)
		}
		path = "/" + strings.Join(segs, "/") + "/search"
	}
	off, limit := t.Offset, windowLimit(t, f.DefaultLimit())
	b := federateBody{Q: q.Text, Offset: &off, Limit: &limit, Facets: q.Facets, Fields: q.Fields}
	if q.Filter != nil && len(q.Filter.And) > 0 {
		b.Filter = map[string]json.RawMessage{}
		for _, c := range q.Filter.And {
			var v []byte
			if len(c.Values) == 1 {
				v = appendString(nil, c.Values[0])
			} else {
				v = appendStrings(nil, c.Values)
			}
			if prev, ok := b.Filter[c.Field]; ok {
				// Two clauses on one field: both must hold; a JSON object
				// cannot say so, and "f IN a AND f IN b" is "f IN a∩b".
				v = intersectFederate(prev, c.Values)
			}
			b.Filter[c.Field] = v
		}
	}
	body, err := json.Marshal(b)
	if err != nil {
		return nil, err
	}
	return &Request{Method: http.MethodPost, Path: path, Body: body, ContentType: "application/json"}, nil
}

// intersectFederate keeps the values of prev that are also in vals.
func intersectFederate(prev json.RawMessage, vals []string) []byte {
	var old []string
	if s, ok := rawStrings(prev); ok {
		old = s
	}
	keep := []string{}
	for _, o := range old {
		for _, v := range vals {
			if o == v {
				keep = append(keep, o)
				break
			}
		}
	}
	return appendStrings(nil, keep)
}

// federateFacets is the decoded facets member of a federate answer.
type federateFacets map[string]struct {
	Values []struct {
		Value string `json:"value"`
		Count int64  `json:"count"`
	} `json:"values"`
	Exact bool `json:"exact"`
}

func (federate) DecodeResponse(body []byte, idField string) (merge.List, error) {
	var l merge.List
	var bad error
	walk := hitsWalker(&l, &bad, func(h []byte) (merge.Hit, error) {
		var id, score, doc []byte
		if err := eachMemberRaw(h, func(k, v []byte, _, _ int) bool {
			switch string(k) {
			case "id":
				id = v
			case "score":
				score = v
			case "doc":
				doc = v
			}
			return true
		}); err != nil {
			return merge.Hit{}, errInvalidMsg(federateName, "a hit is not an object")
		}
		hit := merge.Hit{Native: h, Doc: doc}
		if !isObject(doc) {
			hit.Doc = emptyObject
		}
		if idField == "" || idField == "id" {
			hit.ID = scalarString(id)
		} else if v, ok := lookupPath(hit.Doc, idField); ok {
			hit.ID = scalarString(v)
		}
		hit.Score, hit.Scored = rawFloat(score)
		return hit, nil
	})
	top, err := topMembers(body, walk, "hits", "total", "total_relation", "complete", "facets")
	if bad != nil {
		return merge.List{}, bad
	}
	if err != nil {
		return merge.List{}, errInvalid(federateName, err)
	}
	if !isArray(top[0]) {
		return merge.List{}, errInvalidMsg(federateName, "no hits array")
	}
	total, hasTotal, err := rawInt(top[1])
	if err != nil {
		return merge.List{}, errInvalid(federateName, err)
	}
	l.Total = total
	if !hasTotal {
		l.Total, l.TotalRelation = int64(len(l.Hits)), merge.Gte
	}
	if scalarString(top[2]) == string(merge.Gte) {
		l.TotalRelation = merge.Gte
	}
	if complete, ok := rawBool(top[3]); ok && !complete {
		l.TotalRelation = merge.Gte
	}
	if len(top[4]) > 0 && string(top[4]) != "null" {
		var facets federateFacets
		if err := json.Unmarshal(top[4], &facets); err != nil {
			return merge.List{}, errInvalid(federateName, err)
		}
		for name, f := range facets {
			if l.Facets == nil {
				l.Facets = map[string]map[string]int64{}
			}
			vals := make(map[string]int64, len(f.Values))
			for _, v := range f.Values {
				vals[v.Value] += v.Count
			}
			l.Facets[name] = vals
			if !f.Exact {
				l.FacetsTruncated = true
			}
		}
	}
	return l, nil
}
