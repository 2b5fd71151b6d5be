package client_test

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/veriflow/veriflow/internal/contract"
)

// TestVocabularyIsGenerated keeps client/vocab.go equal to what the one list
// of each vocabulary in internal/contract/vocab.go generates (the client is
// for outsiders and cannot import internal packages). Regenerate with
//
//	VERIFLOW_UPDATE_CLIENT=1 go test ./client -run TestVocabularyIsGenerated
func TestVocabularyIsGenerated(t *testing.T) {
	want, err := generateVocab(filepath.Join("..", "internal", "contract", "vocab.go"))
	if err != nil {
		t.Fatal(err)
	}
	if os.Getenv("VERIFLOW_UPDATE_CLIENT") == "1" {
		if err := os.WriteFile("vocab.go", want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile("vocab.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("client/vocab.go is out of date with internal/contract/vocab.go: " +
			"run VERIFLOW_UPDATE_CLIENT=1 go test ./client -run TestVocabularyIsGenerated")
	}
}

// constDocs reads the doc comment of each constant of a Go file, by name.
func constDocs(path string) (map[string]string, error) {
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ParseComments)
	if err != nil {
		return nil, err
	}
	docs := map[string]string{}
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, s := range g.Specs {
			vs := s.(*ast.ValueSpec)
			if vs.Doc == nil {
				continue
			}
			for _, n := range vs.Names {
				docs[n.Name] = strings.TrimSpace(vs.Doc.Text())
			}
		}
	}
	return docs, nil
}

func generateVocab(src string) ([]byte, error) {
	docs, err := constDocs(src)
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	b.WriteString("// Code generated from internal/contract/vocab.go by TestVocabularyIsGenerated; DO NOT EDIT.\n\n")
	b.WriteString("package client\n\n")
	section := func(typ, doc, list string, names, values []string) {
		fmt.Fprintf(&b, "// %s\ntype %s string\n\n// %s values.\nconst (\n", doc, typ, typ)
		for i, n := range names {
			if d := docs[n]; d != "" {
				for _, line := range strings.Split(d, "\n") {
					fmt.Fprintf(&b, "\t// %s\n", line)
				}
			}
			fmt.Fprintf(&b, "\t%s %s = %s\n", n, typ, strconv.Quote(values[i]))
		}
		fmt.Fprintf(&b, ")\n\n// %s lists every %s value; the API may add values, so treat an unknown one generically.\nvar %s = []%s{\n", list, typ, list, typ)
		for _, n := range names {
			fmt.Fprintf(&b, "\t%s,\n", n)
		}
		b.WriteString("}\n\n")
	}
	var rn, rv []string
	for _, r := range contract.FailureReasons {
		name, err := constName("Reason", string(r), src)
		if err != nil {
			return nil, err
		}
		rn, rv = append(rn, name), append(rv, string(r))
	}
	var en, ev []string
	for _, e := range contract.EventTypes {
		name, err := constName("Event", string(e), src)
		if err != nil {
			return nil, err
		}
		en, ev = append(en, name), append(ev, string(e))
	}
	section("FailureReason", "FailureReason is a stable reason why a message was not delivered or a channel was left (Attempt.Error).",
		"FailureReasons", rn, rv)
	section("EventType", "EventType names an entry of a verification's audit trail; outbound events carry a subset.",
		"EventTypes", en, ev)
	return format.Source([]byte(b.String()))
}

// constName finds the Go name of the constant with this value in src.
func constName(prefix, value, src string) (string, error) {
	f, err := parser.ParseFile(token.NewFileSet(), src, nil, 0)
	if err != nil {
		return "", err
	}
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, s := range g.Specs {
			vs := s.(*ast.ValueSpec)
			for i, n := range vs.Names {
				if !strings.HasPrefix(n.Name, prefix) || i >= len(vs.Values) {
					continue
				}
				if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Value == strconv.Quote(value) {
					return n.Name, nil
				}
			}
		}
	}
	return "", fmt.Errorf("%s: no %s… constant with value %q", src, prefix, value)
}
