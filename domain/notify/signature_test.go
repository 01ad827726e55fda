package notify_test

import (
	"testing"
	"time"

	"github.com/bremen/regmo/domain/notify"
)

// TestSignStandardWebhooksVectors checks the signer against the test vector the Standard
// Webhooks reference libraries share (libraries/*/webhook_test of standard-webhooks).
func TestSignStandardWebhooksVectors(t *testing.T) {
	tests := []struct {
		name    string
		secret  string
		id      string
		at      int64
		payload string
		want    string
	}{
		{"reference vector", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330,
			`{"test": 2432232314}`, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="},
		{"secret without prefix", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330,
			`{"test": 2432232314}`, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="},
		{"another body", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330,
			`{"test": 2432232315}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := notify.Sign(tt.secret, tt.id, time.Unix(tt.at, 0), []byte(tt.payload))
			if err != nil {
				t.Fatal(err)
			}
			if tt.want == "" {
				if got == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=" {
					t.Errorf("got the reference signature for a changed body")
				}
				return
			}
			if got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
	if s := notify.NewSecret(); len(s) != len("whsec_")+44 {
		t.Errorf("got secret %q of length %d, want whsec_ and 32 bytes in base64", s, len(s))
	}
}
