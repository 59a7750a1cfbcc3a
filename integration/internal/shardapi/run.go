package shardapi

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"
)

// Flags are the command-line options every shard server shares.
type Flags struct {
	Addr     string
	AddrFile string
	Index    string
	IDField  string
	Load     string
	Gzip     bool
	Fault    string
}

// Register adds the shared flags to fs.
func (f *Flags) Register(fs *flag.FlagSet) {
	fs.StringVar(&f.Addr, "addr", "127.0.0.1:0", "listen address (loopback; port 0 picks a free one)")
	fs.StringVar(&f.AddrFile, "addr-file", "", "write the bound address to this file once listening")
	fs.StringVar(&f.Index, "index", "docs", "index name (Elasticsearch) and index uid (Meilisearch)")
	fs.StringVar(&f.IDField, "id-field", "id", "document field holding the id")
	fs.StringVar(&f.Load, "load", "", "JSONL file of documents to index before serving")
	fs.BoolVar(&f.Gzip, "gzip", true, "gzip answers for clients sending Accept-Encoding: gzip, as Elasticsearch does")
	fs.StringVar(&f.Fault, "fault", "", `initial fault as JSON, e.g. {"delay_ms":50}`)
}

// Serve loads f.Load into b, listens on f.Addr and serves until SIGINT or
// SIGTERM. engine names the backend on GET /.
func Serve(f *Flags, engine string, b Backend) error {
	var fault Fault
	if f.Fault != "" {
		if err := json.Unmarshal([]byte(f.Fault), &fault); err != nil {
			return fmt.Errorf("-fault: %v", err)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if f.Load != "" {
		start := time.Now()
		n, err := LoadJSONL(ctx, b, f.Load, f.IDField)
		if err != nil {
			return err
		}
		log.Printf("indexed %d documents from %s in %v", n, f.Load, time.Since(start).Round(time.Millisecond))
	}
	ln, err := net.Listen("tcp", f.Addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           NewServer(f.Index, f.IDField, engine, b, f.Gzip, fault).Handler(),
		ReadHeaderTimeout: 10 * time.Second,
	}
	if f.AddrFile != "" {
		tmp := f.AddrFile + ".tmp"
		if err := os.WriteFile(tmp, []byte(ln.Addr().String()), 0o644); err != nil {
			return err
		}
		if err := os.Rename(tmp, filepath.Clean(f.AddrFile)); err != nil {
			return err
		}
	}
	log.Printf("%s listening on %s", engine, ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}

// LoadJSONL indexes a file of one JSON document per line, in batches.
func LoadJSONL(ctx context.Context, b Backend, path, idField string) (int, error) {
	fh, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	var batch []Doc
	n := 0
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := b.Index(ctx, batch)
		n += len(batch)
		batch = batch[:0]
		return err
	}
	for sc.Scan() {
		line := sc.Bytes()
		if len(line) == 0 {
			continue
		}
		src := append(json.RawMessage{}, line...)
		id := DocID(src, idField)
		if id == "" {
			return n, fmt.Errorf("%s: document without %q: %.80s", path, idField, line)
		}
		batch = append(batch, Doc{ID: id, Source: src})
		if len(batch) == 1000 {
			if err := flush(); err != nil {
				return n, err
			}
		}
	}
	if err := sc.Err(); err != nil {
		return n, err
	}
	return n, flush()
}
