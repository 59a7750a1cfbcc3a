package caddyfederate

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
)

// BenchmarkRequest measures whole requests through an in-process Caddy over
// loopback: plain reverse_proxy to one engine, and federate over 1 and 3
// engines (all fakes answering 20 hits, uncompressed). Client, Caddy and engines share the
// process, so ns/op and allocs/op count all three; compare the rows with
// each other (benchstat), not with other machines.
func BenchmarkRequest(b *testing.B) {
	var engines []*fakeEngine
	for i := 0; i < 3; i++ {
		var hits []fakeHit
		for j := 0; j < 20; j++ {
			hits = append(hits, fakeHit{ID: fmt.Sprintf("e%d-%d", i, j), Score: float64(20 - j), Title: "a title of some length"})
		}
		e := newFakeEngine(b, "meilisearch", hits...)
		e.noGzip = true // as integration/cmd/loadbench's shards (-gzip=false)
		engines = append(engines, e)
	}
	shards := func(n int) string {
		var s []string
		for i := 0; i < n; i++ {
			s = append(s, fmt.Sprintf("\t\t\tshard s%d %s", i, engines[i].addr()))
		}
		return strings.Join(s, "\n")
	}
	site := fmt.Sprintf(`	handle /rp/* {
		uri strip_prefix /rp
		reverse_proxy %s
	}
	handle /fed1/* {
		uri strip_prefix /fed1
		federate {
			dialect meilisearch
			coalesce off
%s
		}
	}
	handle /fed3/* {
		uri strip_prefix /fed3
		federate {
			dialect meilisearch
			coalesce off
%s
		}
	}`, engines[0].addr(), shards(1), shards(3))
	url := startCaddy(b, site)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	for _, route := range []string{"rp", "fed1", "fed3"} {
		b.Run(route, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					resp, err := client.Post(url+"/"+route+"/indexes/docs/search", "application/json", strings.NewReader(`{"q":"title","limit":10}`))
					if err != nil {
						b.Error(err)
						return
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						b.Errorf("status %d", resp.StatusCode)
						return
					}
				}
			})
		})
	}
}
