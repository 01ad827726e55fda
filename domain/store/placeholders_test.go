package store

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestStatementsNumberTheirParameters keeps one placeholder style for whole statements: the
// SQL that store hands to Raw, Exec, QueryContext, ExecContext or pgx numbers its parameters
// $1, $2, …; only filters assembled with GORM's builder (Where and Or chains) use its ?.
func TestStatementsNumberTheirParameters(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	statements := map[string]bool{"Raw": true, "Exec": true, "QueryContext": true, "ExecContext": true, "Query": true, "QueryRow": true, "Queue": true}
	checked := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) == 0 {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || !statements[sel.Sel.Name] {
				return true
			}
			// The statement is the first string argument (after a context, if any).
			for _, arg := range call.Args {
				if lit := literalText(arg); lit != "" {
					checked++
					if strings.Contains(lit, "?") {
						t.Errorf("%s: %s(%q…) uses ?, want $n", fset.Position(call.Pos()), sel.Sel.Name, clipSQL(lit))
					}
					break
				}
			}
			return true
		})
	}
	if checked < 10 {
		t.Fatalf("checked %d statements; the test finds too few to mean anything", checked)
	}
}

// literalText is the text of the string literals in e (joined where e concatenates them).
func literalText(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.BasicLit:
		if e.Kind == token.STRING {
			s, err := strconv.Unquote(e.Value)
			if err == nil {
				return s
			}
		}
	case *ast.BinaryExpr:
		if e.Op == token.ADD {
			return literalText(e.X) + literalText(e.Y)
		}
	}
	return ""
}

func clipSQL(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 60 {
		return s[:60]
	}
	return s
}
