// Command cachebench measures the response cache: requests per second and
// shard calls per request for a Zipf-distributed mix of queries, with the
// cache off, the memory store and the redis store, side by side in one run.
//
//	cd integration && go run ./cmd/cachebench [-docs 3000] [-queries 3000] [-zipf 1.1] [-duration 10s] [-rounds 2] [-long]
//
// It builds a corpus from the machine's Debian package lists (package
// corpus), splits it by hash over three esshards, starts a private
// redis-server (Debian package redis-server, no persistence) and one caddy
// (bin/caddy, built by scripts/setup.sh) serving three sites with the same
// federate route over the three shards:
//
//	off      no cache (coalescing on, the default)
//	memory   cache { max_size 64MiB }
//	redis    cache { store redis <the private server> }
//
// The queries are -queries distinct words of the corpus; each client draws
// them from a Zipf distribution (exponent -zipf: a few queries are very
// popular, most are rare, as in search logs). Every target runs for
// -duration with -clients concurrent keep-alive clients, in interleaved
// rounds (the order rotated each round), and starts cold: before every
// round caddy is reloaded with the route names suffixed by the round,
// which changes the routes' config and so starts both caches empty; every
// run therefore includes the cache's warm-up.
// Shard calls are the shards' own search counters (GET /_stats) before and
// after a run, divided by the requests answered.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/searchfront/caddy-federate/integration/corpus"
	"github.com/searchfront/caddy-federate/integration/internal/benchproc"
)

type options struct {
	docs, queries, clients, rounds int
	zipf                           float64
	long                           bool
	duration                       time.Duration
	caddy, esshard                 string
}

func main() {
	var o options
	flag.IntVar(&o.docs, "docs", 3000, "documents in the corpus")
	flag.IntVar(&o.queries, "queries", 3000, "distinct queries in the mix")
	flag.IntVar(&o.clients, "clients", 16, "concurrent clients")
	flag.IntVar(&o.rounds, "rounds", 2, "interleaved rounds")
	flag.Float64Var(&o.zipf, "zipf", 1.1, "Zipf exponent s (> 1) of the query mix")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "length of one run")
	flag.BoolVar(&o.long, "long", false, "add the long descriptions (needs apt's Translation-en lists)")
	flag.StringVar(&o.caddy, "caddy", "", "caddy with the federate module (default bin/caddy)")
	flag.StringVar(&o.esshard, "esshard", "", "esshard binary (default: built from cmd/esshard)")
	flag.Parse()
	benchproc.Main("cachebench", func(ctx context.Context) error { return run(ctx, o) })
}

type target struct {
	name, url string
	port      int
	reqs      []float64 // requests per second, per round
	calls     []float64 // shard calls per request, per round
	hits      []float64 // hit ratio, per round
	bypass    []float64 // bypass ratio, per round
}

func run(ctx context.Context, o options) error {
	root, err := benchproc.Root()
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "cachebench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	bin := o.caddy
	if bin == "" {
		bin = filepath.Join(root, "bin", "caddy")
	}
	if !benchproc.HasFederate(bin) {
		return fmt.Errorf("%s lacks http.handlers.federate: run scripts/setup.sh", bin)
	}
	es, err := benchproc.ESShard(ctx, root, tmp, o.esshard)
	if err != nil {
		return err
	}
	docs, err := corpus.Build(ctx, corpus.Options{N: o.docs, Long: o.long})
	if err != nil {
		return err
	}
	var shards []string
	for i, part := range corpus.SplitHash(docs, 3) {
		load := filepath.Join(tmp, fmt.Sprintf("part%d.jsonl", i))
		if err := corpus.WriteFile(load, part); err != nil {
			return err
		}
		addr, err := startShard(ctx, es, tmp, fmt.Sprintf("s%d", i), load)
		if err != nil {
			return err
		}
		shards = append(shards, addr)
	}
	redisAddr, err := startRedis(ctx, tmp)
	if err != nil {
		return err
	}
	queries := corpus.Words(docs, o.queries)
	targets := []*target{{name: "off"}, {name: "memory"}, {name: "redis"}}
	blocks := map[string]string{"off": "", "memory": "cache {\n\t\tmax_size 64MiB\n\t}", "redis": "cache {\n\t\tstore redis " + redisAddr + "\n\t}"}
	adminPort, err := benchproc.FreePort()
	if err != nil {
		return err
	}
	admin := fmt.Sprintf("127.0.0.1:%d", adminPort)
	for _, t := range targets {
		port, err := benchproc.FreePort()
		if err != nil {
			return err
		}
		t.port = port
	}
	caddyfile := func(round int) string {
		var sites strings.Builder
		for _, t := range targets {
			fmt.Fprintf(&sites, "http://127.0.0.1:%d {\n\tfederate {\n\t\tname %s-r%d\n\t\tdialect meilisearch\n\t%s\n", t.port, t.name, round, blocks[t.name])
			for i, a := range shards {
				fmt.Fprintf(&sites, "\t\tshard s%d %s\n", i, a)
			}
			sites.WriteString("\t}\n}\n")
		}
		return fmt.Sprintf("{\n\tadmin %s\n\tauto_https off\n\tpersist_config off\n\tskip_install_trust\n\tgrace_period 1s\n\tstorage file_system %s\n}\n\n%s",
			admin, filepath.Join(tmp, "storage"), sites.String())
	}
	for _, t := range targets {
		t.url = fmt.Sprintf("http://127.0.0.1:%d/indexes/docs/search", t.port)
	}
	if _, err := benchproc.StartCaddy(ctx, bin, tmp, admin, caddyfile(0)); err != nil {
		return err
	}
	fmt.Printf("corpus %d docs over 3 esshards; %d distinct queries, Zipf s=%.2f; %d clients; %v per run; %d rounds\n",
		len(docs), len(queries), o.zipf, o.clients, o.duration, o.rounds)
	for round := 0; round < o.rounds; round++ {
		if round > 0 {
			if err := reload(admin, caddyfile(round)); err != nil {
				return err
			}
		}
		for i := range targets {
			t := targets[(i+round)%len(targets)]
			rps, calls, hits, bypass, err := load(ctx, o, t.url, shards, queries, int64(round))
			if err != nil {
				return fmt.Errorf("%s: %w", t.name, err)
			}
			fmt.Printf("round %d %-7s %8.0f req/s  %.3f shard calls/request  hits %.3f  bypasses %.3f\n", round+1, t.name, rps, calls, hits, bypass)
			t.reqs, t.calls, t.hits, t.bypass = append(t.reqs, rps), append(t.calls, calls), append(t.hits, hits), append(t.bypass, bypass)
		}
	}
	fmt.Printf("\n| cache | requests/s (median) | shard calls per request | hits | bypasses |\n|---|---:|---:|---:|---:|\n")
	for _, t := range targets {
		fmt.Printf("| %s | %.0f | %.3f | %.3f | %.3f |\n", t.name, median(t.reqs), median(t.calls), median(t.hits), median(t.bypass))
	}
	return nil
}

// load runs one target for o.duration and returns requests per second,
// shard calls per request and the fractions of Federate-Cache hits and
// bypasses (a bypass on a complete answer: the store was skipped).
func load(ctx context.Context, o options, url string, shards, queries []string, seed int64) (rps, calls, hitRatio, bypassRatio float64, err error) {
	before, err := shardSearches(shards)
	if err != nil {
		return 0, 0, 0, 0, err
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: o.clients}, Timeout: 10 * time.Second}
	var n, hits, bypass, failed atomic.Int64
	var firstErr atomic.Value
	deadline := time.Now().Add(o.duration)
	var wg sync.WaitGroup
	for c := 0; c < o.clients; c++ {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(seed), uint64(c)))
			z := rand.NewZipf(r, o.zipf, 1, uint64(len(queries)-1))
			for time.Now().Before(deadline) && ctx.Err() == nil {
				body := fmt.Sprintf(`{"q":%q,"limit":10}`, queries[z.Uint64()])
				req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				resp, err := client.Do(req)
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, resp.Status)
					continue
				}
				n.Add(1)
				switch resp.Header.Get("Federate-Cache") {
				case "hit":
					hits.Add(1)
				case "bypass":
					bypass.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return 0, 0, 0, 0, err
	}
	if f := failed.Load(); f > 0 {
		return 0, 0, 0, 0, fmt.Errorf("%d failed requests (first: %v)", f, firstErr.Load())
	}
	after, err := shardSearches(shards)
	if err != nil {
		return 0, 0, 0, 0, err
	}
	total := float64(n.Load())
	return total / o.duration.Seconds(), float64(after-before) / total, float64(hits.Load()) / total, float64(bypass.Load()) / total, nil
}
