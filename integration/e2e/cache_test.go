package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/searchfront/caddy-federate/integration/corpus"
	"github.com/searchfront/caddy-federate/integration/harness"
)

// redisServer is a private redis-server (Debian package redis-server)
// without persistence.
type redisServer struct {
	Addr string
	proc *harness.Proc
}

func startRedis(t *testing.T, port int) *redisServer {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	harness.Require(t, err == nil, "redis-server: %v (integration/scripts/setup.sh installs it)", err)
	r := &redisServer{Addr: harness.Addr(port)}
	cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no")
	r.proc = harness.Start(t, "redis-"+strconv.Itoa(port), t.TempDir(), cmd)
	harness.WaitFor(t, r.proc, "redis PING", 10*time.Second, func(ctx context.Context) error { return redisPing(r.Addr) })
	return r
}

// redisPing sends PING and expects PONG.
func redisPing(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "+PONG") {
		return fmt.Errorf("PING answered %q: %v", line, err)
	}
	return nil
}

// cacheFleet is two caddy instances (A and B, on two ports) serving one
// federation with writes, over two esshards, sharing a cache.
type cacheFleet struct {
	a, b   string // base URLs
	ca, cb *harness.Caddy
	shards []*harness.Shard
}

// startCacheFleet starts the fleet with cacheBlock as the route's cache
// option; docs go to the shards directly (the first half to s0).
func startCacheFleet(t *testing.T, cacheBlock string, docs []corpus.Doc) *cacheFleet {
	t.Helper()
	bin := federateBin(t)
	f := &cacheFleet{}
	for i := 0; i < 2; i++ {
		var part []corpus.Doc
		if docs != nil {
			part = docs[i*len(docs)/2 : (i+1)*len(docs)/2]
		}
		f.shards = append(f.shards, harness.StartESShard(t, harness.ShardOptions{Name: fmt.Sprintf("s%d", i), Docs: part}))
	}
	route := "\tfederate {\n\t\tname docs\n\t\tdialect elasticsearch\n\t\twrites route\n\t\twrite_timeout 10s\n\t\t" + cacheBlock + "\n"
	for i, s := range f.shards {
		route += fmt.Sprintf("\t\tshard s%d %s\n", i, s.Addr)
	}
	route += "\t}\n"
	for _, dst := range []*string{&f.a, &f.b} {
		port := harness.FreePort(t)
		c := harness.StartCaddy(t, harness.CaddyOptions{Bin: bin, Sites: fmt.Sprintf("http://%s {\n%s}\n", harness.Addr(port), route)})
		*dst = "http://" + harness.Addr(port)
		if f.ca == nil {
			f.ca = c
		} else {
			f.cb = c
		}
	}
	return f
}

// cacheSearch runs an Elasticsearch search and returns the status, the
// Federate-Cache header and the hit count.
func cacheSearch(t *testing.T, base, text string) (int, string, int) {
	t.Helper()
	code, hdr, b, err := doHeader(http.MethodPost, base+"/docs/_search", textQuery(text, 10))
	if err != nil {
		t.Fatalf("search %q at %s: %v", text, base, err)
	}
	if code != 200 {
		return code, hdr.Get("Federate-Cache"), 0
	}
	return code, hdr.Get("Federate-Cache"), len(decodeES(t, code, b).Hits.Hits)
}

// doHeader is harness.DoErr with the answer's headers.
func doHeader(method, url string, body any) (int, http.Header, []byte, error) {
	b, _ := json.Marshal(body)
	req, err := http.NewRequest(method, url, bytes.NewReader(b))
	if err != nil {
		return 0, nil, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := cacheClient.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, out, err
}

var cacheClient = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}

// TestCacheWriteInvalidatesOtherInstance: with the redis store, an entry
// filled through instance B is a hit through A (one host name, two
// ports); a write through A is answered only after B's entry is
// invalidated, so B's first search after A's answer sees the write.
func TestCacheWriteInvalidatesOtherInstance(t *testing.T) {
	r := startRedis(t, harness.FreePort(t))
	f := startCacheFleet(t, "cache {\n\t\t\tstore redis "+r.Addr+"\n\t\t\tttl 5m\n\t\t}", nil)
	put := func(base, id, title string) {
		t.Helper()
		code, b := harness.Do(t, http.MethodPut, base+"/docs/_doc/"+id, map[string]any{"title": title, "body": title})
		if code != 200 && code != 201 {
			t.Fatalf("PUT %s through %s: %d %s", id, base, code, b)
		}
	}
	put(f.a, "1", "zebra one")
	for i, step := range []struct{ base, want string }{{f.b, "miss"}, {f.b, "hit"}, {f.a, "hit"}} {
		code, st, n := cacheSearch(t, step.base, "zebra")
		if code != 200 || st != step.want || n != 1 {
			t.Fatalf("search %d: %d %q %d hits, want 200 %q 1 hit", i, code, st, n, step.want)
		}
	}
	for round := 2; round <= 6; round++ {
		put(f.a, strconv.Itoa(round), "zebra "+strconv.Itoa(round))
		// The write's answer is back: B must not serve its entry.
		code, st, n := cacheSearch(t, f.b, "zebra")
		if code != 200 || st != "miss" || n != round {
			t.Fatalf("B's first search after write %d through A: %d %q %d hits, want a miss with %d hits", round, code, st, n, round)
		}
		if _, st, n := cacheSearch(t, f.a, "zebra"); st != "hit" || n != round {
			t.Fatalf("A after B refilled: %q %d hits, want a hit with %d", st, n, round)
		}
	}
}

// TestCacheRedisStoppedMidLoad: Redis killed while clients search through
// both instances costs no failed search (the cache fails open within its
// timeout), and hits come back once Redis does.
func TestCacheRedisStoppedMidLoad(t *testing.T) {
	docs := titleCorpus(t)[:200]
	port := harness.FreePort(t)
	r := startRedis(t, port)
	f := startCacheFleet(t, "cache {\n\t\t\tstore redis "+r.Addr+"\n\t\t\ttimeout 30ms\n\t\t}", docs)
	words := []string{"library", "tool", "python", "data", "server", "file", "perl", "font"}
	var failed, total atomic.Int64
	states := sync.Map{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for c := 0; c < 8; c++ {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				base := f.a
				if (c+i)%2 == 1 {
					base = f.b
				}
				code, hdr, b, err := doHeader(http.MethodPost, base+"/docs/_search", textQuery(words[(c*3+i)%len(words)], 10))
				total.Add(1)
				if err != nil || code != 200 {
					failed.Add(1)
					t.Errorf("search failed: %d %v %.200s", code, err, b)
				}
				if hdr != nil {
					v, _ := states.LoadOrStore(hdr.Get("Federate-Cache"), new(atomic.Int64))
					v.(*atomic.Int64).Add(1)
				}
			}
		})
	}
	count := func(st string) int64 {
		v, _ := states.Load(st)
		if v == nil {
			return 0
		}
		return v.(*atomic.Int64).Load()
	}
	time.Sleep(1500 * time.Millisecond)
	hitsBefore := count("hit")
	r.proc.Kill()
	time.Sleep(2 * time.Second)
	bypass := count("bypass")
	startRedis(t, port)
	time.Sleep(2500 * time.Millisecond)
	hitsAfter := count("hit")
	close(stop)
	wg.Wait()
	t.Logf("%d searches, %d failed; hits before the kill %d, bypasses %d, hits after the restart %d",
		total.Load(), failed.Load(), hitsBefore, bypass, hitsAfter-hitsBefore)
	if failed.Load() > 0 {
		t.Fatalf("%d of %d searches failed while Redis was stopped", failed.Load(), total.Load())
	}
	if hitsBefore == 0 || bypass == 0 || hitsAfter == hitsBefore {
		t.Errorf("want hits before the kill (%d), bypasses while Redis was down (%d) and hits after it came back (%d)",
			hitsBefore, bypass, hitsAfter-hitsBefore)
	}
}

// TestCacheMemoryWithinMaxSize: under a load of distinct queries whose
// answers add up to many times max_size, the memory store holds at most
// max_size bytes (its own count, overhead included) and evicts; and once
// the store is full, a second load of as many new queries does not grow
// caddy's live heap by more than max_size (an unbounded store would grow
// by at least the answers it took).
func TestCacheMemoryWithinMaxSize(t *testing.T) {
	docs := titleCorpus(t)
	const maxSize = 512 << 10
	f := startCacheFleet(t, "cache {\n\t\t\tmax_size 512KiB\n\t\t}", docs)
	words := corpus.Words(docs, 3000)
	half := len(words) / 2
	pass := func(words []string) int64 {
		var answered atomic.Int64
		var wg sync.WaitGroup
		next := atomic.Int64{}
		for c := 0; c < 4; c++ {
			wg.Go(func() {
				for {
					i := int(next.Add(1)) - 1
					if i >= len(words) {
						return
					}
					code, hdr, b, err := doHeader(http.MethodPost, f.a+"/docs/_search", textQuery(words[i], 50))
					if err != nil || code != 200 || hdr.Get("Federate-Cache") != "miss" {
						t.Errorf("search %q: %d %q %v", words[i], code, hdr.Get("Federate-Cache"), err)
						return
					}
					answered.Add(int64(len(b)))
				}
			})
		}
		wg.Wait()
		return answered.Load()
	}
	first := pass(words[:half])
	heap1 := heapInuse(t, f.ca)
	second := pass(words[half:])
	heap2 := heapInuse(t, f.ca)
	held := metricValue(t, f.ca, `caddy_federate_cache_bytes{route="docs"}`)
	evicted := metricValue(t, f.ca, `caddy_federate_cache_evictions_total{route="docs"}`)
	t.Logf("%d distinct queries, %.1f MiB of answers; store holds %.2f MiB (max 0.5 MiB) after %v evictions; "+
		"heap in use %.2f MiB after the first half, %.2f MiB after the second (%.2f MiB of answers)",
		len(words), float64(first+second)/(1<<20), held/(1<<20), evicted, float64(heap1)/(1<<20), float64(heap2)/(1<<20), float64(second)/(1<<20))
	if first < 2*maxSize || second < 2*maxSize {
		t.Fatalf("each half answered %d and %d bytes: not enough to fill the store twice", first, second)
	}
	if held > maxSize || held < maxSize/2 || evicted == 0 {
		t.Errorf("store holds %v bytes with %v evictions, want between max_size/2 and max_size (%d), with evictions", held, evicted, maxSize)
	}
	if heap2 > heap1+maxSize {
		t.Errorf("the second half grew the heap by %.2f MiB, more than max_size", float64(heap2-heap1)/(1<<20))
	}
}

// titleCorpus is 1000 packages of the machine's Debian archive, without
// the long descriptions (which need the Translation-en lists).
func titleCorpus(t *testing.T) []corpus.Doc {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	docs, err := corpus.Build(ctx, corpus.Options{N: 1000})
	harness.Require(t, err == nil, "Debian archive corpus: %v", err)
	return docs
}

// metricValue reads one sample from caddy's /metrics (0 when absent).
func metricValue(t *testing.T, c *harness.Caddy, series string) float64 {
	t.Helper()
	code, b := harness.Do(t, http.MethodGet, c.AdminURL+"/metrics", nil)
	if code != 200 {
		t.Fatalf("GET /metrics: %d", code)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), series+" "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return 0
}

// heapInuse is caddy's live heap after a GC (from the admin API's heap
// profile, which ends with the runtime's MemStats).
func heapInuse(t *testing.T, c *harness.Caddy) uint64 {
	t.Helper()
	code, b := harness.Do(t, http.MethodGet, c.AdminURL+"/debug/pprof/heap?debug=1&gc=1", nil)
	if code != 200 {
		t.Fatalf("heap profile: %d", code)
	}
	i := bytes.Index(b, []byte("# HeapInuse = "))
	if i < 0 {
		t.Fatal("heap profile without HeapInuse")
	}
	var n uint64
	fmt.Sscanf(string(b[i+len("# HeapInuse = "):]), "%d", &n)
	return n
}
