package dialect

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestPureImports: dialect and merge are pure packages. Their files import
// the standard library, merge (dialect only) and, in tests, goleak; never
// Caddy or any other module, so the wire formats stay usable and testable
// without a server.
func TestPureImports(t *testing.T) {
	const module = "github.com/searchfront/caddy-federate/"
	for _, dir := range []string{".", "../merge"} {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil || len(files) == 0 {
			t.Fatalf("%s: no Go files (%v)", dir, err)
		}
		for _, f := range files {
			af, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
			if err != nil {
				t.Fatal(err)
			}
			for _, imp := range af.Imports {
				p, _ := strconv.Unquote(imp.Path.Value)
				first, _, _ := strings.Cut(p, "/")
				switch {
				case !strings.Contains(first, "."): // the standard library
				case p == module+"merge" && (dir == "." || strings.HasSuffix(f, "_test.go")):
				case p == "go.uber.org/goleak" && strings.HasSuffix(f, "_test.go"):
				default:
					t.Errorf("%s imports %s: dialect and merge must stay free of Caddy and other modules", f, p)
				}
			}
		}
	}
}
