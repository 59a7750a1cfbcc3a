package dialect

import (
	"net/http"
	"net/url"
	"sort"
	"strconv"

	"github.com/searchfront/caddy-federate/merge"
)

func (solr) EncodeResponse(q *Query, res *Response) ([]byte, error) {
	r := &res.Result
	b := make([]byte, 0, 1024+512*len(r.Hits))
	b = append(b, `{"responseHeader":{"status":0,"QTime":`...)
	b = strconv.AppendInt(b, tookMillis(res.Took), 10)
	if !res.Complete {
		b = append(b, `,"partialResults":true`...)
	}
	b = append(b, `,"params":`...)
	b = appendSolrParams(b, q.Params)
	b = append(b, `},"response":{"numFound":`...)
	b = strconv.AppendInt(b, r.Total, 10)
	b = append(b, `,"start":`...)
	b = strconv.AppendInt(b, int64(q.Offset), 10)
	if len(r.Hits) > 0 {
		b = append(b, `,"maxScore":`...)
		b = appendFloat(b, r.Hits[0].Score)
	}
	b = append(b, `,"numFoundExact":`...)
	b = strconv.AppendBool(b, r.TotalRelation != merge.Gte)
	b = append(b, `,"docs":[`...)
	for i := range r.Hits {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendDoc(b, withID(r.Hits[i].Doc, "id", &r.Hits[i]))
	}
	b = append(b, "]}"...)
	b = appendSolrHighlighting(b, q, r)
	if names := solrJSONFacetNames(q); names != nil {
		b = appendSolrJSONFacets(b, r, names)
	} else if len(q.Facets) > 0 {
		b = appendSolrFacetCounts(b, askedFacets(q, r.Facets))
	}
	if q.Explain {
		b = append(b, `,"debug":{"explain":{`...)
		for i := range r.Hits {
			if i > 0 {
				b = append(b, ',')
			}
			h := &r.Hits[i]
			b = appendString(b, h.ID)
			b = append(b, `:{"match":true,"value":`...)
			b = appendFloat(b, h.Score)
			b = append(b, `,"description":"federated fusion of shard ranks","details":`...)
			b = appendSources(b, h.Sources)
			b = append(b, '}')
		}
		b = append(b, "}}"...)
	}
	b = append(b, `,"shards.info":`...)
	b = appendSolrShardsInfo(b, res.Shards)
	return append(b, '}'), nil
}

// appendSolrParams echoes the request parameters as Solr does with
// echoParams=explicit: a string, or an array when repeated.
func appendSolrParams(b []byte, p url.Values) []byte {
	keys := make([]string, 0, len(p))
	for k := range p {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, k)
		b = append(b, ':')
		if vs := p[k]; len(vs) == 1 {
			b = appendString(b, vs[0])
		} else {
			b = appendStrings(b, vs)
		}
	}
	return append(b, '}')
}

// appendSolrFacetCounts writes facet_counts with json.nl=flat pairs.
func appendSolrFacetCounts(b []byte, fs []merge.Facet) []byte {
	b = append(b, `,"facet_counts":{"facet_queries":{},"facet_fields":{`...)
	for i, f := range fs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, f.Name)
		b = append(b, ":["...)
		for j, v := range f.Values {
			if j > 0 {
				b = append(b, ',')
			}
			b = appendString(b, v.Value)
			b = append(b, ',')
			b = strconv.AppendInt(b, v.Count, 10)
		}
		b = append(b, ']')
	}
	return append(b, `},"facet_ranges":{},"facet_intervals":{},"facet_heatmaps":{}}`...)
}

// solrJSONFacetNames maps field → JSON facet name when the client used the
// JSON Facet API; nil otherwise.
func solrJSONFacetNames(q *Query) map[string]string {
	if len(q.Display.FacetNames) == 0 {
		return nil
	}
	names := make(map[string]string, len(q.Display.FacetNames))
	for _, f := range q.Display.FacetNames {
		names[f.Field] = f.Name
	}
	return names
}

// appendSolrJSONFacets writes the JSON Facet API's "facets" section.
func appendSolrJSONFacets(b []byte, r *merge.Result, names map[string]string) []byte {
	b = append(b, `,"facets":{"count":`...)
	b = strconv.AppendInt(b, r.Total, 10)
	for _, f := range r.Facets {
		name, ok := names[f.Name]
		if !ok {
			continue
		}
		b = append(b, ',')
		b = appendString(b, name)
		b = append(b, `:{"buckets":[`...)
		for j, v := range f.Values {
			if j > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"val":`...)
			b = appendString(b, v.Value)
			b = append(b, `,"count":`...)
			b = strconv.AppendInt(b, v.Count, 10)
			b = append(b, '}')
		}
		b = append(b, "]}"...)
	}
	return append(b, '}')
}

// appendSolrShardsInfo writes shards.info keyed by shard name. Solr's
// numFound/maxScore per shard are not known after the merge and are left
// out; failed shards get error and a one-line trace with federate's status.
func appendSolrShardsInfo(b []byte, rs []ShardReport) []byte {
	b = append(b, '{')
	for i, r := range rs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, r.Name)
		b = append(b, `:{"time":`...)
		b = strconv.AppendInt(b, tookMillis(r.Took), 10)
		if r.Replica != "" {
			b = append(b, `,"shardAddress":`...)
			b = appendString(b, r.Replica)
		}
		if r.Status != StatusOK {
			b = append(b, `,"error":`...)
			b = appendString(b, shardReason(r))
			trace := "federate: status=" + string(r.Status)
			if r.HTTPStatus != 0 {
				trace += " upstream_status=" + strconv.Itoa(r.HTTPStatus)
			}
			b = append(b, `,"trace":`...)
			b = appendString(b, trace)
		}
		b = append(b, '}')
	}
	return append(b, '}')
}

func (solr) EncodeError(e *Error) []byte {
	status := e.Status
	if status == 0 {
		status = http.StatusInternalServerError
	}
	b := make([]byte, 0, 256+len(e.Message))
	b = append(b, `{"responseHeader":{"status":`...)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, `,"QTime":0},"error":{"metadata":["error-class","org.apache.solr.common.SolrException","root-error-class","org.apache.solr.common.SolrException"`...)
	if e.Code != "" {
		b = append(b, `,"federate-code",`...)
		b = appendString(b, e.Code)
	}
	b = append(b, `],"msg":`...)
	b = appendString(b, e.Message)
	b = append(b, `,"code":`...)
	b = strconv.AppendInt(b, int64(status), 10)
	return append(b, "}}"...)
}
