package dialect

import "testing"

func TestESAggregations(t *testing.T) {
	for body, want := range map[string][2]int64{
		`{"query":{}}`: {0, 0},
		`{"aggs":{"a":{"terms":{"field":"f","size":10}},"b":{"terms":{"field":"g","shard_size":50}}}}`: {2, 50},
		`{"aggregations":{"a":{"terms":{"size":5},"aggs":{"b":{"terms":{"size":2147483647}}}}}}`:       {2, 2147483647},
	} {
		n, size, err := ESAggregations([]byte(body))
		if err != nil || int64(n) != want[0] || size != want[1] {
			t.Errorf("%s: %d, %d, %v; want %v", body, n, size, err, want)
		}
	}
	if _, _, err := ESAggregations([]byte(`{"aggs":{"a":5}}`)); err == nil {
		t.Error("an aggregation that is no object was accepted")
	}
}

func FuzzESAggregations(f *testing.F) {
	for _, s := range []string{`{"aggs":{"a":{"terms":{"field":"f","size":10},"aggs":{"b":{"avg":{"field":"x"}}}}}}`,
		`{"aggregations":{"a":{"terms":{"size":1e300}}}}`, `{"aggs":{"a":5}}`, `{}`, `[]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		n, size, err := ESAggregations(body)
		if err == nil && (n < 0 || n > maxAggs+1 || size < 0) {
			t.Fatalf("ESAggregations(%q) = %d, %d", body, n, size)
		}
	})
}
