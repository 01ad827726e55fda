// Package mailpittest starts a real SMTP server for tests: mailpit (github.com/axllent/mailpit,
// a tool dependency in go.mod), on free ports, read back through its HTTP API.
package mailpittest

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// Server is a running mailpit.
type Server struct {
	SMTP string // host:port
	API  string // http://host:port
}

// Message is what the API says of one message.
type Message struct {
	ID        string `json:"ID"`
	MessageID string `json:"MessageID"`
	Subject   string `json:"Subject"`
	To        []struct {
		Address string `json:"Address"`
	} `json:"To"`
	Text string `json:"Text"`
}

// Recipient is the first To address.
func (m Message) Recipient() string {
	if len(m.To) == 0 {
		return ""
	}
	return m.To[0].Address
}

func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// Start runs mailpit until the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	s, stop, err := Launch(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return s
}

// Launch runs mailpit with its database in dir until stop is called; it is Start for
// programs that are no test (the load test).
func Launch(dir string) (s *Server, stop func(), err error) {
	out, err := exec.Command("go", "tool", "-n", "mailpit").Output()
	if err != nil {
		return nil, nil, fmt.Errorf("build mailpit (go tool -n mailpit): %w", err)
	}
	bin := strings.TrimSpace(string(out))
	smtp, err := freePort()
	if err != nil {
		return nil, nil, err
	}
	api, err := freePort()
	if err != nil {
		return nil, nil, err
	}
	s = &Server{SMTP: smtp, API: "http://" + api}
	//nolint:gosec // bin is the path go tool printed for the pinned mailpit
	cmd := exec.Command(bin, "--smtp", s.SMTP, "--listen", api,
		"--database", dir+"/mailpit.db", "--disable-version-check", "--quiet", "--smtp-auth-allow-insecure")
	if err := cmd.Start(); err != nil {
		return nil, nil, fmt.Errorf("start mailpit: %w", err)
	}
	stop = func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(s.API + "/api/v1/messages")
		if err == nil {
			_ = resp.Body.Close()
			if c, err := net.Dial("tcp", s.SMTP); err == nil {
				_ = c.Close()
				return s, stop, nil
			}
		}
		if time.Now().After(deadline) {
			stop()
			return nil, nil, fmt.Errorf("mailpit does not answer on %s: %w", s.API, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Messages returns every message received, with its text, oldest first.
func (s *Server) Messages(t testing.TB) []Message {
	t.Helper()
	out, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// List is Messages for programs that are no test.
func (s *Server) List() ([]Message, error) {
	var list struct {
		Messages []Message `json:"messages"`
	}
	if err := s.get("/api/v1/messages?limit=1000", &list); err != nil {
		return nil, err
	}
	out := make([]Message, 0, len(list.Messages))
	for i := len(list.Messages) - 1; i >= 0; i-- { // the API lists the newest first
		var full Message
		if err := s.get("/api/v1/message/"+list.Messages[i].ID, &full); err != nil {
			return nil, err
		}
		out = append(out, full)
	}
	return out, nil
}

// Clear deletes every message.
func (s *Server) Clear(t testing.TB) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodDelete, s.API+"/api/v1/messages", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("mailpit: clear: %v", err)
	}
	_ = resp.Body.Close()
}

func (s *Server) get(path string, v any) error {
	resp, err := http.Get(s.API + path)
	if err != nil {
		return fmt.Errorf("mailpit: GET %s: %w", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("mailpit: GET %s: status %d", path, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		return fmt.Errorf("mailpit: GET %s: decode: %w", path, err)
	}
	return nil
}
