package api_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/bremen/regmo/api"
	"github.com/bremen/regmo/api/oapi"
	"github.com/bremen/regmo/domain"
	"github.com/bremen/regmo/domain/access"
	"github.com/bremen/regmo/domain/notify"
	"github.com/bremen/regmo/domain/store"
	"github.com/bremen/regmo/migrations/testdb"
)

// webhookEnv is a server whose webhooks may reach the loopback receivers of the test, and
// the scheduler that delivers (REGMO_WEBHOOK_ALLOW=127.0.0.1).
type webhookEnv struct {
	*testServer
	notifier *notify.Notifier
}

func newWebhookEnv(t *testing.T, allow string) *webhookEnv {
	t.Helper()
	dsn := testdb.DSN(t)
	db := testdb.Open(t, dsn)
	app := testdb.App(t, dsn)
	srv := startServer(t, api.Config{DB: app, Now: fixedNow, WebhookAllow: allow})
	ts := &testServer{t: t, srv: srv, db: db, access: access.New(store.NewAccess(db)).WithClock(fixedNow)}
	ts.admin = ts.user("admin", domain.Binding{Role: domain.RoleAdmin})
	egress, err := notify.ParseEgress(allow)
	if err != nil {
		t.Fatal(err)
	}
	scope, err := api.AuditScope()
	if err != nil {
		t.Fatal(err)
	}
	n := notify.New(notify.Config{Store: store.NewNotify(app), Egress: egress, ReadScope: scope})
	n.Lease = 10 * time.Second
	return &webhookEnv{testServer: ts, notifier: n}
}

// run does what the scheduler does, after making every waiting retry due: the test drives
// the clock of the backoff instead of sleeping through it.
func (e *webhookEnv) run(t *testing.T) notify.Result {
	t.Helper()
	if err := e.db.Exec(`UPDATE notify_jobs SET run_after = now() WHERE state = 'pending'`).Error; err != nil {
		t.Fatal(err)
	}
	res, err := e.notifier.RunAt(context.Background(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func (e *webhookEnv) createWebhook(t *testing.T, token, body string) (id int64, secret string) {
	t.Helper()
	rec := e.do(request{method: "POST", path: "/v1/webhooks", body: body, token: token})
	if rec.Code != http.StatusCreated {
		t.Fatalf("POST /v1/webhooks = %d, want 201; body %s", rec.Code, rec.Body)
	}
	if got := rec.Header().Get("Cache-Control"); got != "no-store" {
		t.Errorf("got Cache-Control %q on the answer with the secret, want no-store", got)
	}
	var w struct {
		ID     int64  `json:"id"`
		Secret string `json:"secret"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &w); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(w.Secret, "whsec_") {
		t.Errorf("got secret %q, want whsec_…", w.Secret)
	}
	return w.ID, w.Secret
}

// delivery is what a receiver saw of one request.
type delivery struct {
	id, timestamp string
	body          []byte
	verified      bool
}

// receiver is a webhook endpoint that verifies every request as the Standard Webhooks
// specification tells receivers to: the signature over id.timestamp.body with the secret,
// and a timestamp within five minutes. statuses are its answers in turn (then 200).
type receiver struct {
	*httptest.Server
	mu       sync.Mutex
	secret   string
	statuses []int
	got      []delivery
}

func newReceiver(t *testing.T, statuses ...int) *receiver {
	r := &receiver{statuses: statuses}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		defer r.mu.Unlock()
		d := delivery{id: req.Header.Get("webhook-id"), timestamp: req.Header.Get("webhook-timestamp"), body: body}
		ts, err := strconv.ParseInt(d.timestamp, 10, 64)
		if err == nil && time.Since(time.Unix(ts, 0)).Abs() < 5*time.Minute {
			// Verified by hand, not with regmo's signer, as a receiver would.
			key, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(r.secret, "whsec_"))
			mac := hmac.New(sha256.New, key)
			mac.Write([]byte(d.id + "." + d.timestamp + "."))
			mac.Write(body)
			want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
			for _, sig := range strings.Fields(req.Header.Get("webhook-signature")) {
				d.verified = d.verified || hmac.Equal([]byte(sig), []byte(want))
			}
		}
		r.got = append(r.got, d)
		status := http.StatusOK
		if len(r.statuses) > 0 {
			status, r.statuses = r.statuses[0], r.statuses[1:]
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) deliveries() []delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]delivery(nil), r.got...)
}

func TestWebhookDeliveryIsSignedAndRetried(t *testing.T) {
	e := newWebhookEnv(t, "127.0.0.1")
	recv := newReceiver(t, 500, 500)
	id, secret := e.createWebhook(t, "", `{"url":"`+recv.URL+`/hook","events":["entry.created"]}`)
	recv.secret = secret

	if rec := e.do(request{method: "GET", path: fmt.Sprintf("/v1/webhooks/%d", id)}); rec.Code != 200 || strings.Contains(rec.Body.String(), "whsec_") {
		t.Errorf("GET webhook = %d %s, want 200 without the secret", rec.Code, rec.Body)
	}
	if rec := e.do(request{method: "PUT", path: "/v1/ressorts/SIS/registers/melde", body: `{"name":"Melderegister"}`}); rec.Code != 201 {
		t.Fatalf("PUT register = %d, want 201", rec.Code)
	}
	// A change is no entry.created: the webhook did not ask for it.
	if rec := e.do(request{method: "PATCH", path: "/v1/ressorts/SIS/registers/melde", body: `{"description":"neu"}`}); rec.Code != 200 {
		t.Fatalf("PATCH register = %d, want 200", rec.Code)
	}

	for i, want := range []int{500, 500, 200} {
		res := e.run(t)
		got := recv.deliveries()
		if len(got) != i+1 {
			t.Fatalf("run %d: got %d requests, want %d (answer %d)", i+1, len(got), i+1, want)
		}
		if i < 2 && res.Retried != 1 {
			t.Errorf("run %d: got %d retried, want 1", i+1, res.Retried)
		}
	}
	if res := e.run(t); res.Delivered != 0 || len(recv.deliveries()) != 3 {
		t.Errorf("another run: got %d delivered and %d requests in all, want 0 and 3 (delivered once)", res.Delivered, len(recv.deliveries()))
	}

	got := recv.deliveries()
	for i, d := range got {
		if !d.verified {
			t.Errorf("request %d: signature %s did not verify with the secret", i+1, d.id)
		}
		if d.id != got[0].id {
			t.Errorf("request %d: got webhook-id %s, want %s on every retry", i+1, d.id, got[0].id)
		}
	}
	var body struct {
		Type string `json:"type"`
		Data struct {
			Ressort string `json:"ressort"`
			Key     string `json:"key"`
			Kind    string `json:"kind"`
		} `json:"data"`
	}
	if err := json.Unmarshal(got[2].body, &body); err != nil {
		t.Fatal(err)
	}
	if body.Type != "entry.created" || body.Data.Ressort != "SIS" || body.Data.Key != "melde" || body.Data.Kind != "register" {
		t.Errorf("got payload %s, want entry.created of register SIS/melde", got[2].body)
	}

	rec := e.do(request{method: "GET", path: fmt.Sprintf("/v1/webhooks/%d/deliveries", id)})
	if rec.Code != 200 {
		t.Fatalf("GET deliveries = %d, want 200; body %s", rec.Code, rec.Body)
	}
	var list []struct {
		ID       int64  `json:"id"`
		State    string `json:"state"`
		Attempts []struct {
			Attempt int  `json:"attempt"`
			Status  *int `json:"status"`
		} `json:"attempts"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &list); err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].State != "sent" || len(list[0].Attempts) != 3 {
		t.Fatalf("got deliveries %s, want one sent with 3 attempts", rec.Body)
	}
	if got[0].id != fmt.Sprintf("msg_%d", list[0].ID) {
		t.Errorf("got webhook-id %s, want msg_%d", got[0].id, list[0].ID)
	}
	for i, want := range []int{500, 500, 200} {
		if a := list[0].Attempts[i]; a.Attempt != i+1 || a.Status == nil || *a.Status != want {
			t.Errorf("attempt %d: got %+v, want attempt %d with status %d", i+1, a, i+1, want)
		}
	}
	// Deleting the webhook takes its deliveries and attempts with it.
	if rec := e.do(request{method: "DELETE", path: fmt.Sprintf("/v1/webhooks/%d", id)}); rec.Code != http.StatusNoContent {
		t.Fatalf("DELETE webhook = %d, want 204; body %s", rec.Code, rec.Body)
	}
	for _, path := range []string{fmt.Sprintf("/v1/webhooks/%d", id), fmt.Sprintf("/v1/webhooks/%d/deliveries", id)} {
		if rec := e.do(request{method: "GET", path: path}); rec.Code != http.StatusNotFound {
			t.Errorf("GET %s after DELETE = %d, want 404", path, rec.Code)
		}
	}
	if rec := e.do(request{method: "DELETE", path: fmt.Sprintf("/v1/webhooks/%d", id)}); rec.Code != http.StatusNotFound {
		t.Errorf("DELETE again = %d, want 404", rec.Code)
	}
}

// TestWebhookRetryBackoff: a failed delivery waits before its next attempt, longer each time.
func TestWebhookRetryBackoff(t *testing.T) {
	e := newWebhookEnv(t, "127.0.0.1")
	recv := newReceiver(t, 500, 500, 500)
	_, recv.secret = e.createWebhook(t, "", `{"url":"`+recv.URL+`","events":["entry.created"]}`)
	if rec := e.do(request{method: "PUT", path: "/v1/ressorts/SF/registers/kasse", body: `{"name":"Kasse"}`}); rec.Code != 201 {
		t.Fatalf("PUT register = %d, want 201", rec.Code)
	}
	var last time.Duration
	for i := 1; i <= 3; i++ {
		e.run(t)
		var wait float64
		if err := e.db.Raw(`SELECT extract(epoch FROM run_after - now()) FROM notify_jobs WHERE kind = 'webhook'`).Scan(&wait).Error; err != nil {
			t.Fatal(err)
		}
		got := time.Duration(wait * float64(time.Second))
		if got <= last || got < 25*time.Second {
			t.Errorf("after attempt %d: got the next in %v, want more than %v and at least 25s", i, got, last)
		}
		last = got
	}
}

// TestWebhookOnlyOwnersRessorts: a webhook receives what its owner may read when the event
// is delivered, whatever Ressorts it names.
func TestWebhookOnlyOwnersRessorts(t *testing.T) {
	tests := []struct {
		name     string
		ressorts string
		want     []string
	}{
		{"every Ressort the owner reads", `[]`, []string{"SF/kasse"}},
		{"names the foreign Ressort", `["SIS"]`, nil},
		{"names both", `["SF","SIS"]`, []string{"SF/kasse"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newWebhookEnv(t, "127.0.0.1")
			// An admin who is also Ressortverantwortliche of SF registers the webhook and
			// then loses the admin role: from then on the owner may read only SF.
			token := e.user("finn", domain.Binding{Role: domain.RoleAdmin}, domain.Binding{Role: domain.RoleRessortverantwortliche, Ressort: "SF"})
			recv := newReceiver(t)
			id, secret := e.createWebhook(t, token, `{"url":"`+recv.URL+`","events":["entry.created","entry.changed","entry.deleted"],"ressorts":`+tt.ressorts+`}`)
			recv.secret = secret
			if err := e.access.Revoke(context.Background(), "test", domain.WriteAll(), "finn", domain.Binding{Role: domain.RoleAdmin}); err != nil {
				t.Fatal(err)
			}
			for _, path := range []string{"/v1/ressorts/SIS/registers/melde", "/v1/ressorts/SF/registers/kasse"} {
				if rec := e.do(request{method: "PUT", path: path, body: `{"name":"Register"}`}); rec.Code != 201 {
					t.Fatalf("PUT %s = %d, want 201", path, rec.Code)
				}
			}
			res := e.run(t)
			var got []string
			for _, d := range recv.deliveries() {
				var p struct {
					Data struct{ Ressort, Key string } `json:"data"`
				}
				if err := json.Unmarshal(d.body, &p); err != nil {
					t.Fatal(err)
				}
				got = append(got, p.Data.Ressort+"/"+p.Data.Key)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("got deliveries %v, want %v", got, tt.want)
			}
			if res.Withheld != 1 {
				t.Errorf("got %d withheld, want 1 (the SIS event)", res.Withheld)
			}
			rec := e.do(request{method: "GET", path: fmt.Sprintf("/v1/webhooks/%d/deliveries", id)})
			if rec.Code != 200 {
				t.Fatalf("GET deliveries = %d; body %s", rec.Code, rec.Body)
			}
		})
	}
}

func TestWebhookURLRefused(t *testing.T) {
	recv := newReceiver(t)
	port := recv.Listener.Addr().(interface{ String() string }).String()
	_, port, _ = strings.Cut(port, ":")
	tests := []struct {
		name  string
		allow string
		url   string
		want  int
	}{
		{"loopback address", "", "http://127.0.0.1:" + port + "/", 422},
		{"loopback over https", "", "https://127.0.0.1/", 422},
		{"name that resolves to 127.0.0.1", "", "https://localhost:" + port + "/", 422},
		{"IPv6 loopback", "", "https://[::1]/", 422},
		{"private range", "", "https://10.1.2.3/", 422},
		{"metadata service (link-local)", "", "https://169.254.169.254/latest/meta-data", 422},
		{"IPv4-mapped loopback", "", "https://[::ffff:127.0.0.1]/", 422},
		{"http to a public address", "", "http://192.0.2.10/", 422},
		{"user information", "", "https://user:pw@192.0.2.10/", 422},
		{"not a URL", "", "skripte.bremen.de/hook", 422},
		{"public address over https", "", "https://192.0.2.10/hook", 201},
		{"loopback the allow list names", "127.0.0.1", "http://127.0.0.1:" + port + "/", 201},
		{"name the allow list names", "localhost", "http://localhost:" + port + "/", 201},
		{"other loopback than the allow list names", "127.0.0.2", "http://127.0.0.1:" + port + "/", 422},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newWebhookEnv(t, tt.allow)
			rec := e.do(request{method: "POST", path: "/v1/webhooks", body: `{"url":"` + tt.url + `","events":["entry.created"]}`})
			if rec.Code != tt.want {
				t.Fatalf("POST %s = %d, want %d; body %s", tt.url, rec.Code, tt.want, rec.Body)
			}
			if tt.want == 422 && !strings.Contains(rec.Body.String(), `"url"`) {
				t.Errorf("got %s, want the problem to name the field url", rec.Body)
			}
		})
	}
}

// TestWebhookRefusedAtConnect: a host that resolved to a public address at registration and
// to loopback later (DNS rebinding) is refused when the delivery dials it.
func TestWebhookRefusedAtConnect(t *testing.T) {
	e := newWebhookEnv(t, "")
	recv := newReceiver(t)
	id, secret := e.createWebhook(t, "", `{"url":"https://192.0.2.10/hook","events":["entry.created"]}`)
	recv.secret = secret
	u, _ := url.Parse(recv.URL)
	// What a rebinding name would give: the row now points at the loopback receiver.
	if err := e.db.Exec(`UPDATE webhooks SET url = ? WHERE id = ?`, "http://localhost:"+u.Port()+"/", id).Error; err != nil {
		t.Fatal(err)
	}
	if rec := e.do(request{method: "PUT", path: "/v1/ressorts/SF/registers/kasse", body: `{"name":"Kasse"}`}); rec.Code != 201 {
		t.Fatalf("PUT register = %d, want 201", rec.Code)
	}
	res := e.run(t)
	if got := len(recv.deliveries()); got != 0 || res.Retried != 1 {
		t.Errorf("got %d requests at the receiver and %d retried, want 0 and 1", got, res.Retried)
	}
	var last string
	if err := e.db.Raw(`SELECT error FROM webhook_attempts`).Scan(&last).Error; err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(last, "not allowed") {
		t.Errorf("got attempt error %q, want the refused address", last)
	}
}

// TestWebhookVocabulariesAgree: the event types and delivery states are the same in Go,
// openapi.yaml and the SQL CHECK constraints.
func TestWebhookVocabulariesAgree(t *testing.T) {
	doc, err := openapi3.NewLoader().LoadFromData(oapi.Spec)
	if err != nil {
		t.Fatal(err)
	}
	enum := func(schema string, prop string) []string {
		s := doc.Components.Schemas[schema].Value
		if prop != "" {
			s = s.Properties[prop].Value
		}
		var out []string
		for _, v := range s.Enum {
			out = append(out, v.(string))
		}
		slices.Sort(out)
		return out
	}
	ts := newTestServer(t)
	check := func(constraint string) string {
		var def string
		if err := ts.db.Raw(`SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = ?`, constraint).Scan(&def).Error; err != nil {
			t.Fatal(err)
		}
		return def
	}
	tests := []struct {
		name       string
		goValues   []string
		spec       []string
		constraint string
	}{
		{"event types", notify.EventTypes, enum("WebhookEventType", ""), "webhooks_event_types_check"},
		// pending, sent, failed and withheld are a delivery's; empty is the e-mails' only.
		{"delivery states", []string{"failed", "pending", "sent", "withheld"}, enum("WebhookDelivery", "state"), "notify_jobs_state_check"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := slices.Sorted(slices.Values(tt.goValues))
			if !slices.Equal(tt.spec, want) {
				t.Errorf("got OpenAPI enum %v, want %v", tt.spec, want)
			}
			def := check(tt.constraint)
			for _, v := range want {
				if !strings.Contains(def, "'"+v+"'") {
					t.Errorf("got CHECK %s without %s", def, v)
				}
			}
		})
	}
}

// TestWebhookDeliverBetweenRuns: regmo serve delivers webhooks every few seconds between the
// minute's runs; Deliver does that part alone and leaves the e-mails to the run.
func TestWebhookDeliverBetweenRuns(t *testing.T) {
	e := newWebhookEnv(t, "127.0.0.1")
	recv := newReceiver(t)
	_, recv.secret = e.createWebhook(t, "", `{"url":"`+recv.URL+`","events":["entry.deleted"]}`)
	for _, method := range []string{"PUT", "DELETE"} {
		if rec := e.do(request{method: method, path: "/v1/ressorts/SF/registers/alt", body: map[string]string{"PUT": `{"name":"Alt"}`}[method]}); rec.Code >= 300 {
			t.Fatalf("%s register = %d", method, rec.Code)
		}
	}
	res, err := e.notifier.Deliver(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	got := recv.deliveries()
	if res.Delivered != 1 || len(got) != 1 || !got[0].verified || !strings.Contains(string(got[0].body), `"type":"entry.deleted"`) {
		t.Errorf("got %d delivered, %d requests, want the one signed entry.deleted", res.Delivered, len(got))
	}
}
