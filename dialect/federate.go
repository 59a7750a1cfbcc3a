package dialect

import (
	"bytes"
	"encoding/json"
	"net/http"
	"sort"
)

// federate is the project's canonical dialect: the Query fields as JSON, and
// an answer that carries the whole partial-result contract. Clients call
// GET ?q=&offset=&limit=&facets=a,b&fields=a,b&explain=true or POST a JSON
// body; shards (another caddy-federate, or any service speaking it) are asked
// POST {index}/search, where index is a path prefix.
//
// Requests are decoded strictly (unknown members are a 400), since nothing in
// this dialect is passed through as raw.
type federate struct{}

func init() { register(federate{}) }

const federateName = "federate"

func (federate) Name() string      { return federateName }
func (federate) DefaultLimit() int { return 10 }

func federateError(msg string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: "bad_request", Type: "invalid_request", Message: msg}
}

// federateBody is the POST request body, and the body of shard requests.
type federateBody struct {
	Q       string                     `json:"q,omitempty"`
	Offset  *int                       `json:"offset,omitempty"`
	Limit   *int                       `json:"limit,omitempty"`
	Filter  map[string]json.RawMessage `json:"filter,omitempty"`
	Facets  []string                   `json:"facets,omitempty"`
	Fields  []string                   `json:"fields,omitempty"`
	Explain bool                       `json:"explain,omitempty"`
	Sort    []string                   `json:"sort,omitempty"`
}

func (f federate) DecodeRequest(r *http.Request, body []byte) (*Query, error) {
	p := r.URL.Query()
	q := &Query{Dialect: federateName, Method: r.Method, Params: p}
	if body = bytes.TrimSpace(body); len(body) > 0 && r.Method != http.MethodGet {
		q.Body = body
		return q, decodeFederateBody(q, body)
	}
	q.Text = p.Get("q")
	for _, w := range []struct {
		key string
		dst *int
	}{{"offset", &q.Offset}, {"limit", &q.Limit}} {
		if !p.Has(w.key) {
			continue
		}
		n, ok := parseCount(p.Get(w.key))
		if !ok {
			return nil, federateError("parameter " + w.key + " must be a non-negative integer")
		}
		*w.dst = n
	}
	q.HasLimit = p.Has("limit")
	q.Facets = splitList(p.Get("facets"))
	if p.Has("fields") {
		q.Fields = splitList(p.Get("fields"))
		if q.Fields == nil {
			q.Fields = []string{}
		}
	}
	switch v := p.Get("explain"); v {
	case "", "false":
	case "true":
		q.Explain = true
	default:
		return nil, federateError("parameter explain must be true or false")
	}
	return q, decodeFederateSort(q, splitList(p.Get("sort")))
}

func decodeFederateBody(q *Query, body []byte) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var b federateBody
	if err := dec.Decode(&b); err != nil {
		return federateError("invalid request body: " + err.Error())
	}
	if dec.More() {
		return federateError("invalid request body: trailing data after the JSON object")
	}
	q.Text, q.Facets, q.Fields, q.Explain = b.Q, b.Facets, b.Fields, b.Explain
	if err := decodeFederateSort(q, b.Sort); err != nil {
		return err
	}
	if b.Offset != nil {
		if *b.Offset < 0 {
			return federateError("offset must be a non-negative integer")
		}
		q.Offset = *b.Offset
	}
	if b.Limit != nil {
		if *b.Limit < 0 {
			return federateError("limit must be a non-negative integer")
		}
		q.Limit, q.HasLimit = *b.Limit, true
	}
	if len(b.Filter) == 0 {
		return nil
	}
	fields := make([]string, 0, len(b.Filter))
	for k := range b.Filter {
		fields = append(fields, k)
	}
	sort.Strings(fields)
	q.Filter = &Filter{}
	for _, k := range fields {
		c := Clause{Field: k}
		raw := bytes.TrimSpace(b.Filter[k])
		if len(raw) > 0 && raw[0] == '[' {
			var elems []json.RawMessage
			if json.Unmarshal(raw, &elems) != nil {
				return federateError("filter." + k + " must be a value or an array of values")
			}
			for _, e := range elems {
				s, ok := jsonScalar(e)
				if !ok {
					return federateError("filter." + k + " values must be strings, numbers or booleans")
				}
				c.Values = append(c.Values, s)
			}
		} else {
			s, ok := jsonScalar(raw)
			if !ok {
				return federateError("filter." + k + " must be a string, number, boolean or an array of them")
			}
			c.Values = []string{s}
		}
		if len(c.Values) == 0 {
			return federateError("filter." + k + " has no values")
		}
		q.Filter.And = append(q.Filter.And, c)
	}
	return nil
}
