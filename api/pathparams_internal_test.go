package api

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3filter"
)

// TestPlainPathParamsAgree keeps matchRoute's direct schema check of a plain path parameter
// (see pathParam) equal to kin-openapi's ValidateParameter: for every plain path parameter
// of the contract, both accept and refuse the same values with the same message.
func TestPlainPathParamsAgree(t *testing.T) {
	ct, err := loadContract()
	if err != nil {
		t.Fatal(err)
	}
	// Not "": matchRoute leaves an empty segment to ValidateParameter.
	values := []string{"SF", "MAG-BHV", "sf", "r-00001", "melderegister", "-x", "x y", "ä", "1",
		"A", "ABCDEFGHIJKLMNOPQ", string(make([]byte, 65)), "a\x00b", "12345678901234567890123456789012345678901234567890123456789012345", "true", "null",
		"😀", "a😀", "\xff", "a\xffb", "sf\n", "SF\n", strings.Repeat("a", 64), strings.Repeat("a", 63) + "ä", "ABCDEFGHIJKLMNOP"}
	plain, quick, accepted := 0, 0, 0
	for route, rp := range ct.params {
		for _, p := range rp.path {
			if !p.plain {
				continue
			}
			plain++
			if p.quick != nil {
				quick++
			}
			for _, v := range values {
				params := map[string]string{p.Name: v}
				input := &openapi3filter.RequestValidationInput{
					Request: httptest.NewRequest("GET", "/", nil), PathParams: params, Route: route,
					Options: &openapi3filter.Options{MultiError: true, AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
				}
				want := openapi3filter.ValidateParameter(context.Background(), input, p.Parameter)
				got := p.Schema.Value.VisitJSON(v, openapiMultiErrors...)
				if got != nil {
					got = &openapi3filter.RequestError{Parameter: p.Parameter, Err: got}
				}
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Errorf("%s %s, %s = %q: got %v, want %v", route.Method, route.Path, p.Name, v, got, want)
				}
				// The quick check may leave a value to kin-openapi, never pass one it refuses.
				if p.quick != nil && p.quick.accepts(v) {
					accepted++
					if want != nil {
						t.Errorf("%s %s, %s = %q: the quick check accepts it, kin-openapi says %v", route.Method, route.Path, p.Name, v, want)
					}
				}
			}
		}
	}
	if plain == 0 || quick == 0 || accepted == 0 {
		t.Errorf("got %d plain path parameters, %d of them checked quickly, %d values accepted quickly; want the contract's codes and keys in all",
			plain, quick, accepted)
	}
}
