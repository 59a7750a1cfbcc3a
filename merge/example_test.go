package merge_test

import (
	"fmt"

	"github.com/searchfront/caddy-federate/merge"
)

func ExampleMerge() {
	books := merge.List{Shard: "books", Total: 2, Hits: []merge.Hit{
		{ID: "dune", Score: 12.1, Scored: true},
		{ID: "emma", Score: 7.5, Scored: true},
	}}
	films := merge.List{Shard: "films", Total: 40, TotalRelation: merge.Gte, Hits: []merge.Hit{
		{ID: "alien", Score: 0.9, Scored: true},
		{ID: "dune", Score: 0.8, Scored: true},
	}}
	res := merge.Merge([]merge.List{books, films}, 0, merge.Options{Dedupe: true, Limit: 2})
	for _, h := range res.Hits {
		fmt.Printf("%s %.4f from %s#%d, %d source(s)\n", h.ID, h.Score, h.Shard, h.Rank, len(h.Sources))
	}
	fmt.Println(res.Total, res.TotalRelation, res.Strategy)
	// Output:
	// dune 0.0325 from books#1, 2 source(s)
	// alien 0.0164 from films#1, 1 source(s)
	// 42 gte rrf
}

func ExampleAuto() {
	auto := merge.NewAuto(false) // one per handler instance
	// On the request path, with every answer:
	lists := []merge.List{{Shard: "a", Hits: []merge.Hit{{ID: "x", Score: 3, Scored: true}}}}
	auto.Observe(lists)
	res := merge.Merge(lists, 0, merge.Options{Strategy: merge.AutoChoice, Auto: auto})
	// Off the request path, every few seconds (the caller's ticker):
	auto.Refresh()
	fmt.Println(res.Strategy, auto.Choice()) // too little history yet: rrf
	// Output: rrf rrf
}
