package caddyfederate

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// BenchmarkRequest measures whole requests through an in-process Caddy over
// loopback: plain reverse_proxy to one engine, and federate over 1 and 3
// engines. The engines answer a fixed Meilisearch answer of 10 hits (about
// 6 KB, uncompressed) in microseconds, as integration/cmd/loadbench's fixed
// backend, so the proxies' own work dominates; every request asks a query
// of its own, as coalescing is off. Client, Caddy and engines share the
// process, so ns/op and allocs/op count all three; compare the rows with
// each other (benchstat), not with other machines.
func BenchmarkRequest(b *testing.B) {
	var engines []*httptest.Server
	for i := 0; i < 3; i++ {
		body := fixedAnswer(i, 10)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			_, _ = w.Write(body)
		}))
		b.Cleanup(srv.Close)
		engines = append(engines, srv)
	}
	addr := func(i int) string { return strings.TrimPrefix(engines[i].URL, "http://") }
	shards := func(n int) string {
		var s []string
		for i := 0; i < n; i++ {
			s = append(s, fmt.Sprintf("\t\t\tshard s%d %s", i, addr(i)))
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
	}
	handle /fed1co/* {
		uri strip_prefix /fed1co
		federate {
			dialect meilisearch
%s
		}
	}`, addr(0), shards(1), shards(3), shards(1))
	url := startCaddy(b, site)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	var n atomic.Int64
	// fed1co is fed1 with coalescing on, the default: with a query of its
	// own per request it has nothing to share, so it shows what keying and
	// the flight cost.
	for _, route := range []string{"rp", "fed1", "fed3", "fed1co"} {
		b.Run(route, func(b *testing.B) {
			b.ReportAllocs()
			cpu0 := processCPU()
			defer func() {
				b.ReportMetric(float64(processCPU()-cpu0)/float64(time.Microsecond)/float64(b.N), "cpu-µs/op")
			}()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					q := `{"q":"title ` + strconv.FormatInt(n.Add(1), 10) + `","limit":10,"showRankingScore":true}`
					resp, err := client.Post(url+"/"+route+"/indexes/docs/search", "application/json", strings.NewReader(q))
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

// processCPU is the CPU time (user+system) the process has used: on a
// machine shared with other work, CPU per request is steadier than ns/op,
// which counts the time spent waiting for a core.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// fixedAnswer is a Meilisearch answer of n hits of engine e, each a
// package-like document of about 600 bytes with its _rankingScore.
func fixedAnswer(e, n int) []byte {
	type doc struct {
		ID      string   `json:"id"`
		Title   string   `json:"title"`
		Body    string   `json:"body"`
		Section string   `json:"section"`
		Tags    []string `json:"tags"`
		Score   float64  `json:"_rankingScore"`
	}
	hits := make([]doc, n)
	for j := range hits {
		hits[j] = doc{
			ID:      fmt.Sprintf("pkg-%d-%d", e, j),
			Title:   "network monitoring tool for the command line",
			Body:    strings.Repeat("A long description of the package, as Debian writes them. ", 8),
			Section: "net",
			Tags:    []string{"admin::monitoring", "interface::commandline", "network::scanner", "role::program"},
			Score:   float64(100-5*j) / 100,
		}
	}
	b, err := json.Marshal(map[string]any{"hits": hits, "query": "q", "processingTimeMs": 0, "limit": n, "offset": 0,
		"estimatedTotalHits": 1000})
	if err != nil {
		panic(err)
	}
	return b
}
