package api

import (
	"fmt"
	"testing"
)

func TestListLengths(t *testing.T) {
	tests := []struct {
		raw  string
		want string
	}{
		{`{"name":"leika_keys","leika_keys":[]}`, "map[leika_keys:0]"},
		{`{"leika_keys":["a"]}`, "map[leika_keys:1]"},
		{`{"leika_keys":["a,b","c\"],d"], "nachweise_from" : [ "x" , "y" ]}`, "map[leika_keys:2 nachweise_from:2]"},
		{`{"leika_keys":[[1,2],{"a":[3,4]},5]}`, "map[leika_keys:3]"},
		{`{"readiness":{"leika_keys":[1,2]},"url":"leika_keys"}`, "map[]"},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			if got := fmt.Sprint(listLengths([]byte(tt.raw))); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}
