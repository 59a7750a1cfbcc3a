// Command demo builds the demo's corpus: the doc comments of the Go standard
// library under $GOROOT/src, text every machine with Go already has. Each
// package's overview and each documented exported function, type and method
// becomes one JSON document; the documents are split into -shards JSONL files
// (shard-0.jsonl, ...) that esshard loads with -load.
//
// A package's documents all go to one shard, picked by a hash of its import
// path, so each shard holds whole packages and the shards' vocabularies
// differ, as they would for shards split by source. Package overviews are also
// copied to the next shard: searching for a package name then finds the same
// document in two shards, which federate fuses into one hit with two sources.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"go/ast"
	"go/build"
	"go/doc"
	"go/parser"
	"go/printer"
	"go/token"
	"hash/fnv"
	"io/fs"
	"log"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"unicode"
)

// Doc is one corpus document, as esshard indexes it: id, name and body are
// searched (esshard -text name,body), kind and section are facets
// (-keyword id,kind,section,pkg); the rest is for display.
type Doc struct {
	ID        string `json:"id"`
	Title     string `json:"title"`
	Name      string `json:"name"`
	Pkg       string `json:"pkg"`
	Section   string `json:"section"`
	Kind      string `json:"kind"`
	Signature string `json:"signature,omitempty"`
	Body      string `json:"body"`
	URL       string `json:"url"`
}

// maxBody keeps long package overviews (net/http, fmt) to a readable size.
const maxBody = 4000

func main() {
	goroot := flag.String("goroot", runtime.GOROOT(), "Go root whose src/ is read")
	out := flag.String("out", "demo-corpus", "directory for shard-N.jsonl")
	shards := flag.Int("shards", 3, "number of shard files")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("demo: ")
	if *shards < 1 {
		log.Fatal("-shards must be at least 1")
	}
	docs, err := collect(filepath.Join(*goroot, "src"))
	if err != nil {
		log.Fatal(err)
	}
	counts, err := write(*out, *shards, docs)
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("%d packages, documents per shard %v, in %s", len(docs), counts, *out)
}

// collect reads every standard-library package under src, skipping cmd,
// internal, vendor and testdata trees, in import-path order.
func collect(src string) (map[string][]Doc, error) {
	out := map[string][]Doc{}
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		rel = filepath.ToSlash(rel)
		base := d.Name()
		if rel == "cmd" || base == "internal" || base == "vendor" || base == "testdata" || strings.HasPrefix(base, ".") {
			return filepath.SkipDir
		}
		if rel == "." {
			return nil
		}
		docs, err := packageDocs(path, rel)
		if err != nil {
			return err
		}
		if len(docs) > 0 {
			out[rel] = docs
		}
		return nil
	})
	return out, err
}

// packageDocs turns the package in dir (import path pkg) into documents; a
// directory without a buildable non-main package gives none.
func packageDocs(dir, pkg string) ([]Doc, error) {
	bp, err := build.Default.ImportDir(dir, 0)
	if err != nil || bp.Name == "main" || len(bp.GoFiles) == 0 {
		return nil, nil // no Go files, only tests, or build-constrained away
	}
	fset := token.NewFileSet()
	var files []*ast.File
	for _, name := range bp.GoFiles {
		f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, parser.ParseComments)
		if err != nil {
			return nil, err
		}
		files = append(files, f)
	}
	p, err := doc.NewFromFiles(fset, files, pkg)
	if err != nil {
		return nil, err
	}
	d := docBuilder{fset: fset, pkg: pkg, name: p.Name, section: strings.Split(pkg, "/")[0]}
	out := []Doc{d.doc("package", "", "", "", p.Doc)}
	out[0].Title, out[0].Name = pkg, words(append([]string{p.Name}, strings.Split(pkg, "/")...)...)
	for _, f := range p.Funcs {
		out = d.appendFunc(out, f, "")
	}
	for _, t := range p.Types {
		if ast.IsExported(t.Name) && t.Doc != "" {
			out = append(out, d.doc("type", t.Name, "", typeSignature(t), t.Doc))
		}
		for _, f := range t.Funcs {
			out = d.appendFunc(out, f, "")
		}
		for _, m := range t.Methods {
			out = d.appendFunc(out, m, t.Name)
		}
	}
	return out, nil
}

type docBuilder struct {
	fset               *token.FileSet
	pkg, name, section string
}

// appendFunc adds f (a method of recv when recv is not empty) if it is
// exported and documented.
func (b *docBuilder) appendFunc(out []Doc, f *doc.Func, recv string) []Doc {
	if !ast.IsExported(f.Name) || f.Doc == "" || (recv != "" && !ast.IsExported(recv)) {
		return out
	}
	kind := "func"
	if recv != "" {
		kind = "method"
	}
	decl := *f.Decl
	decl.Body, decl.Doc = nil, nil
	var sig strings.Builder
	printer.Fprint(&sig, b.fset, &decl)
	return append(out, b.doc(kind, recv, f.Name, sig.String(), f.Doc))
}

// doc builds one document for symbol recv.name (either may be empty).
func (b *docBuilder) doc(kind, recv, name, sig, text string) Doc {
	symbol := strings.Trim(recv+"."+name, ".")
	d := Doc{
		ID:        strings.NewReplacer("/", "_", ".", "_").Replace(b.pkg),
		Title:     b.name + "." + symbol,
		Name:      words(b.name, recv, name, splitCamel(recv), splitCamel(name)),
		Pkg:       b.pkg,
		Section:   b.section,
		Kind:      kind,
		Signature: sig,
		Body:      clip(strings.TrimSpace(text), maxBody),
		URL:       "https://pkg.go.dev/" + b.pkg,
	}
	if symbol != "" {
		d.ID += "-" + strings.ReplaceAll(symbol, ".", "-")
		d.URL += "#" + symbol
	}
	return d
}

// typeSignature is "type T struct", "type T interface", "type T = U", ...:
// the declaration's first line, without its fields.
func typeSignature(t *doc.Type) string {
	for _, s := range t.Decl.Specs {
		ts, ok := s.(*ast.TypeSpec)
		if !ok || ts.Name.Name != t.Name {
			continue
		}
		switch x := ts.Type.(type) {
		case *ast.StructType:
			return "type " + t.Name + " struct"
		case *ast.InterfaceType:
			return "type " + t.Name + " interface"
		case *ast.Ident:
			if ts.Assign.IsValid() {
				return "type " + t.Name + " = " + x.Name
			}
			return "type " + t.Name + " " + x.Name
		case *ast.FuncType:
			return "type " + t.Name + " func"
		}
		return "type " + t.Name
	}
	return "type " + t.Name
}

// splitCamel makes "ReadFile" and "HTTPClient" searchable as words:
// "Read File", "HTTP Client".
func splitCamel(s string) string {
	var b strings.Builder
	rs := []rune(s)
	for i, r := range rs {
		if i > 0 && unicode.IsUpper(r) &&
			(unicode.IsLower(rs[i-1]) || (i+1 < len(rs) && unicode.IsLower(rs[i+1]) && unicode.IsUpper(rs[i-1]))) {
			b.WriteByte(' ')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// words joins the distinct non-empty parts with spaces.
func words(parts ...string) string {
	var out []string
	for _, p := range parts {
		if p != "" && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return strings.Join(out, " ")
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := strings.LastIndexAny(s[:n], " \n")
	if i < n/2 {
		i = n
	}
	return s[:i] + " …"
}

// write splits docs into n JSONL files and returns how many documents each
// got. Package overviews also go to the next shard (see the package doc).
func write(dir string, n int, docs map[string][]Doc) ([]int, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	files := make([]*os.File, n)
	ws := make([]*bufio.Writer, n)
	encs := make([]*json.Encoder, n)
	for i := range files {
		f, err := os.Create(filepath.Join(dir, fmt.Sprintf("shard-%d.jsonl.tmp", i)))
		if err != nil {
			return nil, err
		}
		files[i], ws[i] = f, bufio.NewWriter(f)
		encs[i] = json.NewEncoder(ws[i])
		encs[i].SetEscapeHTML(false)
	}
	pkgs := make([]string, 0, len(docs))
	for p := range docs {
		pkgs = append(pkgs, p)
	}
	sort.Strings(pkgs)
	counts := make([]int, n)
	for _, p := range pkgs {
		h := fnv.New32a()
		h.Write([]byte(p))
		home := int(h.Sum32() % uint32(n))
		for i, d := range docs[p] {
			targets := []int{home}
			if i == 0 && n > 1 { // the package overview
				targets = append(targets, (home+1)%n)
			}
			for _, s := range targets {
				if err := encs[s].Encode(d); err != nil {
					return nil, err
				}
				counts[s]++
			}
		}
	}
	for i, f := range files {
		if err := ws[i].Flush(); err != nil {
			return nil, err
		}
		if err := f.Close(); err != nil {
			return nil, err
		}
		tmp := f.Name()
		if err := os.Rename(tmp, strings.TrimSuffix(tmp, ".tmp")); err != nil {
			return nil, err
		}
	}
	return counts, nil
}
