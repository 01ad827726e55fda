package domain

import (
	"encoding/json"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestContentFieldsReachContent keeps ContentFields and Content equal: every field's accessor
// reaches the member of Content's JSON at the field's path, and every member of that JSON is
// a field.
func TestContentFieldsReachContent(t *testing.T) {
	var c Content
	want := map[string]any{}
	for i, f := range ContentFields {
		v := "v" + strconv.Itoa(i)
		switch f.Type {
		case FieldNumber:
			n := i
			*f.Number(&c) = &n
			want[f.Path] = float64(i)
		case FieldList:
			*f.List(&c) = []string{v}
			want[f.Path] = []any{v}
		default:
			*f.Text(&c) = v
			want[f.Path] = v
		}
	}
	data, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	got := Fields(doc)
	for path, w := range want {
		t.Run(path, func(t *testing.T) {
			g, ok := got[path]
			if !ok {
				t.Fatalf("Content's JSON has no member %s; got members %v", path, keys(got))
			}
			gj, _ := json.Marshal(g)
			wj, _ := json.Marshal(w)
			if string(gj) != string(wj) {
				t.Errorf("%s: got %s, want %s (the accessor reaches another field)", path, gj, wj)
			}
		})
	}
	for path := range got {
		if _, ok := want[path]; !ok {
			t.Errorf("Content's JSON member %s: got no field of ContentFields, want one", path)
		}
	}
}

func TestFieldsOf(t *testing.T) {
	tests := []struct {
		kind      Kind
		has, lack string
	}{
		{KindRegister, "idnrg_anlage_nr", "leika_keys"},
		{KindOnlinedienst, "nachweise_from", "contact"},
	}
	for _, tt := range tests {
		t.Run(string(tt.kind), func(t *testing.T) {
			var names []string
			for _, f := range FieldsOf(tt.kind) {
				names = append(names, f.Name)
			}
			if !slices.Contains(names, tt.has) || slices.Contains(names, tt.lack) {
				t.Errorf("FieldsOf(%s) = %v; want %s in it and %s not", tt.kind, names, tt.has, tt.lack)
			}
			if !slices.Contains(names, "name") || !slices.Contains(names, "dsc_evidence_url") {
				t.Errorf("FieldsOf(%s) = %v; want the shared fields name and dsc_evidence_url", tt.kind, names)
			}
		})
	}
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// TestContentFieldsAreComplete: every member of Content, found by reflection on its JSON
// names, is declared in ContentFields, and nothing else is.
func TestContentFieldsAreComplete(t *testing.T) {
	var paths []string
	var walk func(prefix string, typ reflect.Type)
	walk = func(prefix string, typ reflect.Type) {
		for i := range typ.NumField() {
			sf := typ.Field(i)
			name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
			if name == "" || name == "-" {
				continue
			}
			if sf.Type.Kind() == reflect.Struct {
				walk(prefix+name+".", sf.Type)
				continue
			}
			paths = append(paths, prefix+name)
		}
	}
	walk("", reflect.TypeFor[Content]())
	var declared []string
	for _, f := range ContentFields {
		declared = append(declared, f.Path)
	}
	slices.Sort(paths)
	slices.Sort(declared)
	if !slices.Equal(declared, paths) {
		t.Errorf("ContentFields' paths: got %v, want Content's members %v", declared, paths)
	}
}

func TestFieldLimits(t *testing.T) {
	tests := []struct {
		name     string
		min, max int
	}{
		{"idnrg_anlage_nr", 1, 50},
		{"leika_keys", 0, 100},
		{"nachweise_from", 0, 200},
		{"name", 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			i := slices.IndexFunc(ContentFields, func(f Field) bool { return f.Name == tt.name })
			if i < 0 {
				t.Fatalf("no field %s", tt.name)
			}
			if f := ContentFields[i]; f.Min != tt.min || f.Max != tt.max {
				t.Errorf("%s: got min %d max %d, want %d and %d", tt.name, f.Min, f.Max, tt.min, tt.max)
			}
		})
	}
}
