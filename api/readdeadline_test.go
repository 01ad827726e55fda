package api_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/bremen/regmo/api"
	"github.com/bremen/regmo/migrations/testdb"
)

// TestSlowImportOutlivesReadTimeout: an import may take until its own deadline (55 s) to
// upload; the server's ReadTimeout, which protects every other request from slow clients,
// cut it off before (issue 12, finding 7). Here the server's ReadTimeout is 300 ms and the
// body arrives over a second.
func TestSlowImportOutlivesReadTimeout(t *testing.T) {
	dsn := testdb.DSN(t)
	srv := startServer(t, api.Config{DB: testdb.App(t, dsn)})
	token := adminToken(t, testdb.Open(t, dsn), time.Now)
	hs := httptest.NewUnstartedServer(srv)
	hs.Config.ReadTimeout = 300 * time.Millisecond
	hs.Start()
	t.Cleanup(hs.Close)

	body, w := io.Pipe()
	go func() {
		fmt.Fprint(w, "ressort,key,name\n")
		for i := range 5 {
			time.Sleep(250 * time.Millisecond)
			fmt.Fprintf(w, "SF,langsam-%d,Langsam %d\n", i, i)
		}
		w.Close()
	}()
	req, err := http.NewRequest(http.MethodPost, hs.URL+"/v1/import?kind=registers", body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "text/csv")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("slow import: %v, want an answer", err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("slow import: status %d, want 200; body %s", resp.StatusCode, out)
	}
	// Other requests keep the server's ReadTimeout.
	slow, w2 := io.Pipe()
	go func() {
		time.Sleep(time.Second)
		fmt.Fprint(w2, `{"name":"Zu langsam"}`)
		w2.Close()
	}()
	req, _ = http.NewRequest(http.MethodPut, hs.URL+"/v1/ressorts/SF/registers/zu-langsam", slow)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		if resp.StatusCode < 400 {
			t.Errorf("a slow PUT: status %d, want it cut off by the server's ReadTimeout", resp.StatusCode)
		}
	}
}
