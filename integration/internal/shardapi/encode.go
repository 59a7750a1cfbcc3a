package shardapi

import (
	"bytes"
	"encoding/json"
	"math"
	"sort"
)

type esShards struct {
	Total      int `json:"total"`
	Successful int `json:"successful"`
	Skipped    int `json:"skipped"`
	Failed     int `json:"failed"`
}

type esHit struct {
	Index     string              `json:"_index"`
	ID        string              `json:"_id"`
	Score     *float64            `json:"_score"`
	Source    json.RawMessage     `json:"_source,omitempty"`
	Highlight map[string][]string `json:"highlight,omitempty"`
	Sort      []any               `json:"sort,omitempty"`
}

type esTotal struct {
	Value    int    `json:"value"`
	Relation string `json:"relation"`
}

type esHits struct {
	Total    esTotal  `json:"total"`
	MaxScore *float64 `json:"max_score"`
	Hits     []esHit  `json:"hits"`
}

type esBucket struct {
	Key      string `json:"key"`
	DocCount int    `json:"doc_count"`
}

type esTermsAgg struct {
	DocCountErrorUpperBound int        `json:"doc_count_error_upper_bound"`
	SumOtherDocCount        int        `json:"sum_other_doc_count"`
	Buckets                 []esBucket `json:"buckets"`
}

type esResponse struct {
	Took         int64                 `json:"took"`
	TimedOut     bool                  `json:"timed_out"`
	Shards       esShards              `json:"_shards"`
	Hits         esHits                `json:"hits"`
	Aggregations map[string]esTermsAgg `json:"aggregations,omitempty"`
}

// EncodeES writes res in Elasticsearch's _search response shape.
func EncodeES(index string, q *Query, res *Result, tookMS int64) []byte {
	out := esResponse{
		Took:   tookMS,
		Shards: esShards{Total: 1, Successful: 1},
		Hits:   esHits{Total: esTotal{Value: res.Total, Relation: "eq"}, Hits: []esHit{}},
	}
	for _, h := range res.Hits {
		s := h.Score
		if out.Hits.MaxScore == nil || s > *out.Hits.MaxScore {
			out.Hits.MaxScore = &s
		}
		hit := esHit{Index: index, ID: h.ID, Score: &s, Highlight: HighlightSource(q, h.Source), Sort: SortValues(q, h)}
		if q.Source == nil || len(q.Source) > 0 { // _source: false omits the key
			hit.Source = FilterSource(h.Source, q.Source)
		}
		out.Hits.Hits = append(out.Hits.Hits, hit)
	}
	if len(q.Facets) > 0 {
		out.Aggregations = map[string]esTermsAgg{}
		for _, f := range q.Facets {
			fr := res.Facets[f.Name]
			agg := esTermsAgg{SumOtherDocCount: fr.Other, Buckets: []esBucket{}}
			for _, b := range fr.Buckets {
				agg.Buckets = append(agg.Buckets, esBucket{Key: b.Key, DocCount: b.Count})
			}
			name := f.Name
			if q.TypedKeys {
				name = "sterms#" + name
			}
			out.Aggregations[name] = agg
		}
	}
	b, _ := json.Marshal(out)
	return b
}

// EncodeMeili writes res in Meilisearch's search response shape. The ranking
// score is score/(1+score): in [0,1) like Meilisearch's, query-independent and
// order-preserving, so shards with the same scorer stay comparable.
func EncodeMeili(q *Query, p *meiliParams, res *Result, tookMS int64) []byte {
	var buf bytes.Buffer
	buf.WriteString(`{"hits":[`)
	for i, h := range res.Hits {
		if i > 0 {
			buf.WriteByte(',')
		}
		src := FilterSource(h.Source, q.Source)
		if p.ShowRankingScore {
			src = addField(src, "_rankingScore", RankingScore(h.Score))
		}
		if q.Highlight != nil {
			src = addField(src, "_formatted", formatted(q, FilterSource(h.Source, q.Source)))
		}
		buf.Write(src)
	}
	buf.WriteString(`],`)
	tail := map[string]any{"query": p.Query, "processingTimeMs": tookMS}
	if p.Paged {
		tail["page"], tail["hitsPerPage"], tail["totalHits"] = p.Page, p.PerPage, res.Total
		tail["totalPages"] = 0
		if p.PerPage > 0 {
			tail["totalPages"] = (res.Total + p.PerPage - 1) / p.PerPage
		}
	} else {
		tail["offset"], tail["limit"], tail["estimatedTotalHits"] = p.Offset, p.Limit, res.Total
	}
	if p.Facets != nil {
		dist := map[string]map[string]int{}
		for _, f := range q.Facets {
			m := map[string]int{}
			for _, b := range res.Facets[f.Name].Buckets {
				m[b.Key] = b.Count
			}
			dist[f.Name] = m
		}
		tail["facetDistribution"], tail["facetStats"] = dist, map[string]any{}
	}
	t, _ := json.Marshal(tail) // map keys are sorted: a stable shape
	buf.Write(t[1:])
	return buf.Bytes()
}

// RankingScore maps an engine score into Meilisearch's [0,1) range.
func RankingScore(s float64) float64 {
	if s <= 0 || math.IsNaN(s) {
		return 0
	}
	return s / (1 + s)
}

// FilterSource keeps the top-level fields named in include (nil: all; empty:
// none).
func FilterSource(src json.RawMessage, include []string) json.RawMessage {
	if include == nil || len(src) == 0 {
		return src
	}
	if len(include) == 0 {
		return json.RawMessage(`{}`)
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(src, &m) != nil {
		return src
	}
	keep := map[string]json.RawMessage{}
	for _, k := range include {
		if v, ok := m[k]; ok {
			keep[k] = v
		}
	}
	b, _ := json.Marshal(keep)
	return b
}

func addField(src json.RawMessage, key string, v any) json.RawMessage {
	var m map[string]json.RawMessage
	if json.Unmarshal(src, &m) != nil || m == nil {
		m = map[string]json.RawMessage{}
	}
	b, _ := json.Marshal(v)
	m[key] = b
	out, _ := json.Marshal(m)
	return out
}

// ESError is an Elasticsearch error body.
func ESError(status int, typ, reason string) []byte {
	cause := map[string]string{"type": typ, "reason": reason}
	b, _ := json.Marshal(map[string]any{
		"error":  map[string]any{"root_cause": []any{cause}, "type": typ, "reason": reason},
		"status": status,
	})
	return b
}

// MeiliError is a Meilisearch error body.
func MeiliError(code, typ, message string) []byte {
	b, _ := json.Marshal(map[string]string{
		"message": message, "code": code, "type": typ,
		"link": "https://docs.meilisearch.com/errors#" + code,
	})
	return b
}

// SortBuckets orders facet buckets as both engines do: count desc, key asc.
func SortBuckets(b []Bucket) {
	sort.Slice(b, func(i, j int) bool {
		if b[i].Count != b[j].Count {
			return b[i].Count > b[j].Count
		}
		return b[i].Key < b[j].Key
	})
}
