package dialect

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// fuzzMulti decodes body as a multi-search of dialect name and checks: no
// panic; an error is an *Error; a decoded request has a query or an error
// for every search, and every query builds a shard request (or a 400) for
// every dialect of ours.
func fuzzMulti(t *testing.T, name, target string, body []byte) {
	d, _ := Lookup(name)
	m, err := d.(MultiSearcher).DecodeMulti(httptest.NewRequest(http.MethodPost, target, nil), body)
	if err != nil {
		if _, ok := err.(*Error); !ok {
			t.Fatalf("error %v is %T, not *Error", err, err)
		}
		return
	}
	if name == "elasticsearch" && len(m.Queries) == 0 {
		t.Fatal("a decoded _msearch has no search")
	}
	for i, q := range m.Queries {
		if (q == nil) == (m.Errs == nil || m.Errs[i] == nil) {
			t.Fatalf("search %d: query %v, error %v: want exactly one", i, q, m.Errs)
		}
		if q == nil {
			continue
		}
		if q.Offset < 0 || q.Limit < 0 {
			t.Fatalf("search %d: window %d+%d", i, q.Offset, q.Limit)
		}
		for _, sd := range fuzzDialects {
			s, _ := Lookup(sd)
			if _, err := s.BuildRequest(q, Target{Shard: "s", Index: "i", Limit: 10}); err != nil {
				if e, ok := err.(*Error); !ok || e.Status != http.StatusBadRequest {
					t.Fatalf("search %d to %s: %v", i, sd, err)
				}
			}
		}
	}
}

func FuzzESMultiSearch(f *testing.F) {
	for _, s := range []string{
		"{}\n{\"query\":{\"match\":{\"title\":\"x\"}},\"size\":3}\n",
		"{\"index\":\"movies\"}\n{\"from\":5,\"aggs\":{\"g\":{\"terms\":{\"field\":\"genre\"}}}}\n{\"index\":[\"a\",\"b\"]}\n{}\n",
		"{}\n{\"size\":-1}\n{}\n{\"aggs\":{\"p\":{\"avg\":{\"field\":\"x\"}}}}\n",
		"{}\n", "\n\n", "{\"index\":3}\n{}\n", "[]\n{}\n", "{}\n[1]\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) { fuzzMulti(t, "elasticsearch", "/movies/_msearch", body) })
}

func FuzzMeiliMultiSearch(f *testing.F) {
	for _, s := range []string{
		`{"queries":[{"indexUid":"movies","q":"batman","limit":3},{"indexUid":"books","q":"x","filter":"a = 1"}]}`,
		`{"federation":{"offset":2,"limit":5,"facetsByIndex":{"movies":["genre"]},"mergeFacets":{}},"queries":[{"indexUid":"movies","q":"a","federationOptions":{"weight":2}},{"indexUid":"books"}]}`,
		`{"federation":{},"queries":[{"indexUid":"m","limit":3}]}`,
		`{"queries":[{"q":"no index"}]}`, `{"queries":[{"indexUid":"m","federationOptions":{"weight":1}}]}`,
		`{"queries":{}}`, `{"federation":[],"queries":[]}`, `[]`, `{"queries":[{"indexUid":"m","page":0}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) { fuzzMulti(t, "meilisearch", "/multi-search", body) })
}
