package dialect

import (
	"math"
	"strconv"
)

func (typesense) EncodeResponse(q *Query, res *Response) ([]byte, error) {
	return appendTSResult(make([]byte, 0, 1024+512*len(res.Result.Hits)), q, res, nil), nil
}

// appendTSResult writes one search answer.
//
// positions, when set, is the search each hit came from (a union answer's
// search_index).
func appendTSResult(b []byte, q *Query, res *Response, positions []int) []byte {
	r := &res.Result
	limit := clientLimit(q, 10)
	b = append(b, `{"facet_counts":[`...)
	for i, f := range askedFacets(q, r.Facets) {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"counts":[`...)
		for j, v := range f.Values {
			if j > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"count":`...)
			b = strconv.AppendInt(b, v.Count, 10)
			b = append(b, `,"highlighted":`...)
			b = appendString(b, v.Value)
			b = append(b, `,"value":`...)
			b = appendString(b, v.Value)
			b = append(b, '}')
		}
		b = append(b, `],"field_name":`...)
		b = appendString(b, f.Name)
		b = append(b, `,"sampled":false,"stats":{"total_values":`...)
		b = strconv.AppendInt(b, int64(len(f.Values)), 10)
		b = append(b, "}}"...)
	}
	b = append(b, `],"found":`...)
	b = strconv.AppendInt(b, r.Total, 10)
	b = append(b, `,"hits":[`...)
	for i := range r.Hits {
		if i > 0 {
			b = append(b, ',')
		}
		h := &r.Hits[i]
		b = append(b, `{"document":`...)
		b = appendDoc(b, withID(h.Doc, "id", h))
		b = append(b, ',')
		b = appendTSHighlights(b, q, h)
		b = append(b, `,"text_match":`...)
		b = strconv.AppendInt(b, tsTextMatch(h.Score), 10)
		if positions != nil {
			b = append(b, `,"search_index":`...)
			b = strconv.AppendInt(b, int64(positions[i]), 10)
		}
		b = append(b, '}')
	}
	// out_of is the collections' size, which federate does not know; found
	// is the largest count it can vouch for.
	b = append(b, `],"out_of":`...)
	b = strconv.AppendInt(b, r.Total, 10)
	b = append(b, `,"page":`...)
	page := 1
	if limit > 0 {
		page = q.Offset/limit + 1
	}
	b = strconv.AppendInt(b, int64(page), 10)
	b = append(b, `,"request_params":{`...)
	b = appendTSRequestParams(b, "collection_name", q.Index, q.Text, limit)
	b = append(b, `},"search_cutoff":`...)
	b = strconv.AppendBool(b, !res.Complete)
	b = append(b, `,"search_time_ms":`...)
	b = strconv.AppendInt(b, tookMillis(res.Took), 10)
	if !res.Complete {
		b = append(b, `,"federate":`...)
		b = appendShardStatus(b, res.Shards)
	}
	return append(b, '}')
}

// appendTSRequestParams writes the members of a request_params object
// (union_request_params entries name the collection "collection").
func appendTSRequestParams(b []byte, collectionKey, index, text string, limit int) []byte {
	if text == "" {
		text = "*"
	}
	b = appendString(b, collectionKey)
	b = append(b, ':')
	b = appendString(b, index)
	b = append(b, `,"first_q":`...)
	b = appendString(b, text)
	b = append(b, `,"per_page":`...)
	b = strconv.AppendInt(b, int64(limit), 10)
	b = append(b, `,"q":`...)
	return appendString(b, text)
}

// tsTextMatch scales a fused score to an integer, clamped to int64.
func tsTextMatch(s float64) int64 {
	v := math.Round(s * tsScoreScale)
	switch {
	case math.IsNaN(v):
		return 0
	case v >= math.MaxInt64:
		return math.MaxInt64
	case v <= math.MinInt64:
		return math.MinInt64
	}
	return int64(v)
}

func (typesense) EncodeError(e *Error) []byte {
	return append(appendString([]byte(`{"message":`), e.Message), '}')
}
