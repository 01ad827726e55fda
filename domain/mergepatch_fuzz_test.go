package domain

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

// FuzzMergePatch checks MergePatch against RFC 7396 on arbitrary documents and patches, and
// Content.patched (what PATCH of an entry runs) on arbitrary patches. The seed corpus in
// testdata/fuzz/FuzzMergePatch holds the examples of RFC 7396, Appendix A, and entry patches.
func FuzzMergePatch(f *testing.F) {
	f.Fuzz(func(t *testing.T, docJSON, patchJSON []byte) {
		checkContentPatch(t, patchJSON)

		var doc, patch any
		if DecodeJSON(docJSON, &doc) != nil || DecodeJSON(patchJSON, &patch) != nil {
			return
		}
		docBefore, patchBefore := mustMarshal(t, doc), mustMarshal(t, patch)
		got := MergePatch(doc, patch)
		out, err := json.Marshal(got)
		if err != nil || !json.Valid(out) {
			t.Fatalf("MergePatch(%s, %s) cannot be written as JSON: %v", docJSON, patchJSON, err)
		}
		if mustMarshal(t, doc) != docBefore || mustMarshal(t, patch) != patchBefore {
			t.Fatalf("MergePatch(%s, %s) modified its arguments", docJSON, patchJSON)
		}
		if again := MergePatch(got, patch); !reflect.DeepEqual(again, got) {
			t.Fatalf("MergePatch is not idempotent: once %s, twice %s (document %s, patch %s)",
				out, mustMarshal(t, again), docJSON, patchJSON)
		}

		p, isObject := patch.(map[string]any)
		if !isObject {
			if !reflect.DeepEqual(got, patch) {
				t.Fatalf("MergePatch(%s, %s) = %s, want the patch itself", docJSON, patchJSON, out)
			}
			return
		}
		result, ok := got.(map[string]any)
		if !ok {
			t.Fatalf("MergePatch(%s, %s) = %s, want an object", docJSON, patchJSON, out)
		}
		target, _ := doc.(map[string]any)
		for k, v := range result {
			pv, inPatch := p[k]
			tv, inTarget := target[k]
			switch {
			case inPatch && pv == nil:
				t.Fatalf("member %q is null in the patch but kept: %s", k, out)
			case !inPatch && !inTarget:
				t.Fatalf("member %q is in neither document nor patch: %s", k, out)
			case !inPatch && !reflect.DeepEqual(v, tv):
				t.Fatalf("member %q is not in the patch but changed: %s", k, out)
			}
		}
		for k, pv := range p {
			if _, kept := result[k]; pv != nil && !kept {
				t.Fatalf("member %q of the patch is missing from %s", k, out)
			}
		}
		for k := range target {
			if _, kept := result[k]; !kept {
				if pv, inPatch := p[k]; !inPatch || pv != nil {
					t.Fatalf("member %q of the document was dropped: %s", k, out)
				}
			}
		}
	})
}

// checkContentPatch applies a patch to a full entry: it gives an entry or a validation
// error, and applying the same patch to its result changes nothing more.
func checkContentPatch(t *testing.T, data []byte) {
	t.Helper()
	// The contract hands on only JSON objects (RegisterPatch and OnlinedienstPatch are objects).
	var doc any
	if DecodeJSON(data, &doc) != nil {
		return
	}
	patch, ok := doc.(map[string]any)
	if !ok {
		return
	}
	nr := 1
	base := Content{Name: "Melderegister", Description: "Einwohnermelderegister", AnlageNr: &nr,
		Contact: "meldewesen@buergeramt.bremen.de", LeikaKeys: []string{"99050012104000"},
		NachweiseFrom: []string{"SIS/melderegister"}}
	base.Readiness.IDNr.Stage = StageLive
	base.Normalize()
	once, err := base.Patched(patch)
	if err != nil {
		var verr *ValidationError
		if !errors.As(err, &verr) || len(verr.Fields) == 0 {
			t.Fatalf("patched(%q) = %v (%T), want a ValidationError naming what is wrong", data, err, err)
		}
		return
	}
	once.Normalize()
	twice, err := once.Patched(patch)
	if err != nil {
		t.Fatalf("patch %q applies once but not twice: %v", data, err)
	}
	twice.Normalize()
	if !reflect.DeepEqual(twice, once) {
		t.Fatalf("patch %q is not idempotent on an entry: once %+v, twice %+v", data, once, twice)
	}
}

func mustMarshal(t *testing.T, v any) string {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal %#v: %v", v, err)
	}
	return string(data)
}

// TestMergePatchRFC7396 runs the examples of RFC 7396, Appendix A.
func TestMergePatchRFC7396(t *testing.T) {
	tests := []struct{ doc, patch, want string }{
		{`{"a":"b"}`, `{"a":"c"}`, `{"a":"c"}`},
		{`{"a":"b"}`, `{"b":"c"}`, `{"a":"b","b":"c"}`},
		{`{"a":"b"}`, `{"a":null}`, `{}`},
		{`{"a":"b","b":"c"}`, `{"a":null}`, `{"b":"c"}`},
		{`{"a":["b"]}`, `{"a":"c"}`, `{"a":"c"}`},
		{`{"a":"c"}`, `{"a":["b"]}`, `{"a":["b"]}`},
		{`{"a":{"b":"c"}}`, `{"a":{"b":"d","c":null}}`, `{"a":{"b":"d"}}`},
		{`{"a":[{"b":"c"}]}`, `{"a":[1]}`, `{"a":[1]}`},
		{`["a","b"]`, `["c","d"]`, `["c","d"]`},
		{`{"a":"b"}`, `["c"]`, `["c"]`},
		{`{"a":"foo"}`, `null`, `null`},
		{`{"a":"foo"}`, `"bar"`, `"bar"`},
		{`{"e":null}`, `{"a":1}`, `{"a":1,"e":null}`},
		{`[1,2]`, `{"a":"b","c":null}`, `{"a":"b"}`},
		{`{}`, `{"a":{"bb":{"ccc":null}}}`, `{"a":{"bb":{}}}`},
	}
	for _, tt := range tests {
		t.Run(tt.doc+" "+tt.patch, func(t *testing.T) {
			var doc, patch any
			if err := DecodeJSON([]byte(tt.doc), &doc); err != nil {
				t.Fatal(err)
			}
			if err := DecodeJSON([]byte(tt.patch), &patch); err != nil {
				t.Fatal(err)
			}
			if got := mustMarshal(t, MergePatch(doc, patch)); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}
