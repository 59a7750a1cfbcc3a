package dialect

import (
	"reflect"
	"testing"
)

// TestDecodeDisplay: each decoder keeps what its encoder needs to shape the
// answer, so that no encoder reads the client's body again.
func TestDecodeDisplay(t *testing.T) {
	tests := []struct {
		name, dialect, method, target, body string
		want                                Display
	}{
		{"meili page", "meilisearch", "POST", "/indexes/m/search", `{"page":2,"hitsPerPage":5}`, Display{Paged: true}},
		{"meili score", "meilisearch", "POST", "/indexes/m/search", `{"showRankingScore":true}`, Display{ShowScore: true}},
		{"meili get", "meilisearch", "GET", "/indexes/m/search?page=1&showRankingScore=true", "", Display{Paged: true, ShowScore: true}},
		{"meili plain", "meilisearch", "POST", "/indexes/m/search", `{"q":"x","limit":3}`, Display{}},
		{"es aggs", "elasticsearch", "POST", "/i/_search", `{"aggs":{"by_genre":{"terms":{"field":"genre","size":3}}}}`,
			Display{FacetNames: []NamedFacet{{Name: "by_genre", Field: "genre", Size: 3}}}},
		{"solr json facet", "solr", "POST", "/solr/c/select", `{"query":"x","facet":{"g":{"type":"terms","field":"genre"}}}`,
			Display{FacetNames: []NamedFacet{{Name: "g", Field: "genre"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, _ := Lookup(tt.dialect)
			r := newReq(tt.method, tt.target)
			r.Header.Set("Content-Type", "application/json")
			q, err := d.DecodeRequest(r, []byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(q.Display, tt.want) {
				t.Errorf("Display = %+v, want %+v", q.Display, tt.want)
			}
		})
	}
}
