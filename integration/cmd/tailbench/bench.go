package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/searchfront/caddy-federate/integration/internal/benchproc"
)

const nShards, nReplicas = 3, 2

type scenario struct {
	key, name string
	slow      bool
	hedge     string // the shard's hedge option
}

func scenarios(o options) []scenario {
	out := []scenario{
		{"a", "a baseline (no slow replica)", false, "off"},
		{"b", "b slow replica, hedge off", true, "off"},
	}
	for i, d := range o.hedgeDelays {
		key := "c"
		if len(o.hedgeDelays) > 1 {
			key = fmt.Sprintf("c%d", i+1)
		}
		out = append(out, scenario{key, key + " slow replica, hedge " + d.String(), true, d.String()})
	}
	out = append(out, scenario{"d", "d slow replica, hedge auto", true, "auto"})
	// Diagnostic extras (off by default): hedge auto with a larger budget.
	for i, b := range o.autoBudgets {
		key := fmt.Sprintf("e%d", i+1)
		h := fmt.Sprintf("auto budget %g", b)
		out = append(out, scenario{key, key + " slow replica, hedge " + h, true, h})
	}
	return out
}

// site is the Caddyfile site block of scenario s on port: an Elasticsearch
// route over three shards named <key>-s0.. with two round-robin replicas
// each. Coalescing is off so that every client request is exactly three
// primary shard requests.
func site(port int, s scenario, reps [][]*replica) string {
	var b strings.Builder
	fmt.Fprintf(&b, "http://127.0.0.1:%d {\n\tfederate {\n\t\tdialect elasticsearch\n\t\ttimeout 2s\n\t\tcoalesce off\n", port)
	for i, rs := range reps {
		fmt.Fprintf(&b, "\t\tshard %s-s%d {\n\t\t\tto", s.key, i)
		for _, r := range rs {
			b.WriteString(" " + r.addr)
		}
		fmt.Fprintf(&b, "\n\t\t\tlb_policy round_robin\n\t\t\tdialect elasticsearch\n\t\t\tindex docs\n\t\t\thedge %s\n\t\t}\n", s.hedge)
	}
	b.WriteString("\t}\n}\n")
	return b.String()
}

// roundResult is one scenario's measurements in one round.
type roundResult struct {
	lat              []time.Duration // client-side, every measured request
	s0               []time.Duration // shard s0's duration from Server-Timing
	errors, partial  int
	upstream         int     // searches the six replicas saw
	hedgesSent, won  float64 // caddy's counters
	elapsed          time.Duration
	slowReplicaShare float64 // share of shard s0's searches that went to the slow replica
}

func run(ctx context.Context, o options) error {
	dir, err := benchproc.Root()
	if err != nil {
		return err
	}
	bin, err := caddyBin(ctx, o, dir)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "tailbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	defer benchproc.StopAll() // before RemoveAll: the processes' files live in tmp

	t0 := time.Now()
	esshard, err := benchproc.ESShard(ctx, dir, tmp, o.esshard)
	if err != nil {
		return err
	}
	vocab := vocabulary(400)
	files, err := writeCorpus(tmp, nShards, o.docs, vocab)
	if err != nil {
		return err
	}
	reps := make([][]*replica, nShards)
	var wg sync.WaitGroup
	errs := make(chan error, nShards*nReplicas)
	for s := range nShards {
		reps[s] = make([]*replica, nReplicas)
		for r := range nReplicas {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rep, err := startReplica(ctx, esshard, tmp, s, r, files[s])
				reps[s][r] = rep
				errs <- err
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return err
		}
	}
	slowRep := reps[0][1]
	scs := scenarios(o)
	ports := map[string]int{}
	var sites strings.Builder
	for _, s := range scs {
		if ports[s.key], err = benchproc.FreePort(); err != nil {
			return err
		}
		sites.WriteString(site(ports[s.key], s, reps))
	}
	adminPort, err := benchproc.FreePort()
	if err != nil {
		return err
	}
	c, err := startCaddy(ctx, bin, tmp, sites.String(), ports[scs[0].key], adminPort)
	if err != nil {
		return err
	}
	front := func(s scenario) string { return fmt.Sprintf("http://127.0.0.1:%d", ports[s.key]) }
	fmt.Printf("setup: %d shards × %d replicas of esshard (%d docs per shard), caddy %s, in %v\n",
		nShards, nReplicas, o.docs, bin, time.Since(t0).Round(100*time.Millisecond))
	fmt.Printf("slow replica: %s (shard s0), slow_share %g, slow_ms %d; %d rounds × %d scenarios × (%d warm-up + %d measured) requests, %d clients\n",
		slowRep.addr, o.slowShare, o.slowMS, o.rounds, len(scs), o.warmup, o.requests, o.concurrency)

	client := &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: o.concurrency * 2, DisableCompression: true},
	}
	queries := makeQueries(vocab, 5000)
	results := map[string][]roundResult{}
	tBench := time.Now()
	setFault := func(s scenario) error {
		if s.slow {
			return slowRep.setFault(o.slowShare, o.slowMS)
		}
		return slowRep.setFault(0, 0)
	}
	// Warm up every route once (connections, and the latency history that
	// `hedge auto` reads), then wait out the tracker's 1 s summary cache so
	// the first measured round does not run on the 100 ms fallback delay.
	for _, s := range scs {
		if err := setFault(s); err != nil {
			return err
		}
		if _, err := generate(ctx, client, front(s), queries, 2*o.warmup, o.concurrency, "", 0); err != nil {
			return err
		}
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(1200 * time.Millisecond):
	}
	for round := range o.rounds {
		for i := range scs {
			s := scs[(i+round)%len(scs)]
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := setFault(s); err != nil {
				return err
			}
			// A short unmeasured run on the route after the switch.
			if _, err := generate(ctx, client, front(s), queries, o.warmup, o.concurrency, "", round*7919); err != nil {
				return err
			}
			before, err := searches(reps)
			if err != nil {
				return err
			}
			sent0, won0, err := c.hedgeCounters(s.key + "-")
			if err != nil {
				return err
			}
			s0before, _, err := c.hedgeCounters(s.key + "-s0")
			if err != nil {
				return err
			}
			res, err := generate(ctx, client, front(s), queries, o.requests, o.concurrency, s.key+"-s0", round*7919+o.warmup)
			if err != nil {
				return err
			}
			after, err := searches(reps)
			if err != nil {
				return err
			}
			sent1, won1, err := c.hedgeCounters(s.key + "-")
			if err != nil {
				return err
			}
			for k := range before {
				res.upstream += after[k] - before[k]
			}
			if n := (after[0] - before[0]) + (after[1] - before[1]); n > 0 {
				res.slowReplicaShare = float64(after[1]-before[1]) / float64(n)
			}
			res.hedgesSent, res.won = sent1-sent0, won1-won0
			results[s.key] = append(results[s.key], res)
			tracked := ""
			if s.hedge != "off" {
				if s0sent, _, err := c.hedgeCounters(s.key + "-s0"); err == nil {
					tracked = fmt.Sprintf("  hedges on s0 %.0f", s0sent-s0before)
				}
			}
			{
				fmt.Printf("round %d %-32s p50 %6.1f p99 %6.1f p99.9 %6.1f ms  extra %5.2f%%  hedges %3.0f (won %3.0f)  errors %d partial %d  %v%s\n",
					round+1, s.name, ms(q(res.lat, 0.5)), ms(q(res.lat, 0.99)), ms(q(res.lat, 0.999)),
					extraPct(res, o.requests), res.hedgesSent, res.won, res.errors, res.partial, res.elapsed.Round(10*time.Millisecond), tracked)
			}
		}
	}
	slowRep.setFault(0, 0)
	benchTime := time.Since(tBench)
	table := report(o, scs, results)
	fmt.Println()
	fmt.Print(table)
	fmt.Printf("\nrounds took %v; whole run %v\n", benchTime.Round(time.Second), time.Since(t0).Round(time.Second))
	if o.md != "" {
		return writeMarkdown(o, table, benchTime, time.Since(t0))
	}
	return nil
}

func searches(reps [][]*replica) ([]int, error) {
	var out []int
	for _, rs := range reps {
		for _, r := range rs {
			n, err := r.searches()
			if err != nil {
				return nil, err
			}
			out = append(out, n)
		}
	}
	return out, nil
}

// makeQueries returns Elasticsearch bodies: a match on one or two words from
// the vocabulary's first half (so nearly all match), size 10.
func makeQueries(vocab []string, n int) [][]byte {
	r := rand.New(rand.NewPCG(5, 6))
	out := make([][]byte, n)
	for i := range out {
		words := vocab[r.IntN(len(vocab)/2)]
		if r.IntN(2) == 0 {
			words += " " + vocab[r.IntN(len(vocab)/2)]
		}
		out[i] = fmt.Appendf(nil, `{"query":{"match":{"body":%q}},"size":10}`, words)
	}
	return out
}

// generate sends n requests from conc closed-loop clients and times each one.
// s0 names the shard whose Server-Timing duration is collected ("" for none).
func generate(ctx context.Context, client *http.Client, front string, queries [][]byte, n, conc int, s0 string, offset int) (roundResult, error) {
	var res roundResult
	lat := make([]time.Duration, n)
	s0d := make([]time.Duration, n)
	var next, errs, partial atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	start := time.Now()
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				body := queries[(offset+i)%len(queries)]
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, front+"/docs/_search", bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				t := time.Now()
				resp, err := client.Do(req)
				if err == nil {
					_, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				lat[i] = time.Since(t)
				if err != nil || resp.StatusCode != 200 {
					errs.Add(1)
					if err == nil {
						err = fmt.Errorf("status %s", resp.Status)
					}
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				if resp.Header.Get("Federate-Complete") != "true" {
					partial.Add(1)
				}
				if s0 != "" {
					s0d[i] = serverTiming(resp.Header.Get("Server-Timing"), s0)
				}
			}
		}()
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	if err := ctx.Err(); err != nil {
		return res, err
	}
	res.lat, res.errors, res.partial = lat, int(errs.Load()), int(partial.Load())
	for _, d := range s0d {
		if d > 0 {
			res.s0 = append(res.s0, d)
		}
	}
	if res.errors > n/10 {
		return res, fmt.Errorf("%d of %d requests failed, first: %v", res.errors, n, firstErr.Load())
	}
	return res, nil
}

// serverTiming returns the dur of entry name in a Server-Timing header
// (`name;desc="ok";dur=1.2, ...`), or 0.
func serverTiming(h, name string) time.Duration {
	for _, e := range strings.Split(h, ",") {
		parts := strings.Split(strings.TrimSpace(e), ";")
		if len(parts) == 0 || parts[0] != name {
			continue
		}
		for _, p := range parts[1:] {
			if v, ok := strings.CutPrefix(strings.TrimSpace(p), "dur="); ok {
				f, err := strconv.ParseFloat(v, 64)
				if err == nil {
					return time.Duration(f * float64(time.Millisecond))
				}
			}
		}
	}
	return 0
}

// q is the nearest-rank quantile of ds.
func q(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(float64(len(s))*p+0.999999) - 1
	return s[min(max(i, 0), len(s)-1)]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func extraPct(r roundResult, requests int) float64 {
	want := float64(nShards * requests)
	return 100 * (float64(r.upstream) - want) / want
}
