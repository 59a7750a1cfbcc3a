package dialect

import (
	"net/http"
	"strconv"

	"github.com/searchfront/caddy-federate/merge"
)

func (f federate) EncodeResponse(q *Query, res *Response) ([]byte, error) {
	b := make([]byte, 0, 512+len(res.Result.Hits)*512)
	b = append(b, `{"hits":[`...)
	for i := range res.Result.Hits {
		h := &res.Result.Hits[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"id":`...)
		b = appendString(b, hitID(h))
		b = append(b, `,"score":`...)
		b = appendFloat(b, h.Score)
		b = append(b, `,"shard":`...)
		b = appendString(b, h.Shard)
		b = append(b, `,"rank":`...)
		b = strconv.AppendInt(b, int64(h.Rank), 10)
		b = append(b, `,"doc":`...)
		if isObject(h.Doc) {
			b = append(b, h.Doc...)
		} else {
			b = append(b, emptyObject...)
		}
		if q.Explain {
			b = append(b, `,"sources":`...)
			b = appendSources(b, h.Sources)
		}
		b = append(b, '}')
	}
	rel := res.Result.TotalRelation
	if rel == "" {
		rel = merge.Eq
	}
	b = append(b, `],"total":`...)
	b = strconv.AppendInt(b, res.Result.Total, 10)
	b = append(b, `,"total_relation":`...)
	b = appendString(b, string(rel))
	b = append(b, `,"offset":`...)
	b = strconv.AppendInt(b, int64(q.Offset), 10)
	b = append(b, `,"limit":`...)
	b = strconv.AppendInt(b, int64(clientLimit(q, f.DefaultLimit())), 10)
	b = appendFederateFacets(b, res.Result.Facets)
	b = appendFederateShards(b, res.Shards)
	b = append(b, `,"complete":`...)
	b = strconv.AppendBool(b, res.Complete)
	b = append(b, `,"took_ms":`...)
	b = strconv.AppendInt(b, tookMillis(res.Took), 10)
	return append(b, '}'), nil
}

func appendFederateFacets(b []byte, facets []merge.Facet) []byte {
	b = append(b, `,"facets":{`...)
	for i, f := range facets {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, f.Name)
		b = append(b, `:{"values":[`...)
		for j, v := range f.Values {
			if j > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"value":`...)
			b = appendString(b, v.Value)
			b = append(b, `,"count":`...)
			b = strconv.AppendInt(b, v.Count, 10)
			b = append(b, '}')
		}
		b = append(b, `],"exact":`...)
		b = strconv.AppendBool(b, f.Exact)
		b = append(b, '}')
	}
	return append(b, '}')
}

func appendFederateShards(b []byte, shards []ShardReport) []byte {
	b = append(b, `,"shards":`...)
	return appendShardMap(b, shards)
}

func (federate) EncodeError(e *Error) []byte {
	code := e.Code
	if code == "" {
		code = codeForStatus(e.Status)
	}
	status := e.Status
	if status == 0 {
		status = http.StatusInternalServerError
	}
	b := make([]byte, 0, 64+len(e.Message))
	b = append(b, `{"error":{"code":`...)
	b = appendString(b, code)
	b = append(b, `,"message":`...)
	b = appendString(b, e.Message)
	b = append(b, `},"status":`...)
	b = strconv.AppendInt(b, int64(status), 10)
	return append(b, '}')
}
