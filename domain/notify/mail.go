package notify

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/smtp"
	"net/url"
	"strings"
	"time"
)

// Mailer sends e-mail through the SMTP server of REGMO_SMTP_URL.
type Mailer struct {
	addr     string
	host     string
	implicit bool // smtps://: TLS from the first byte
	auth     smtp.Auth
	From     string
	// Timeout bounds one delivery; it must stay below the job's lease, so that no second
	// instance takes over a job whose e-mail is still on its way.
	Timeout time.Duration
}

// ParseSMTP reads an smtp:// (STARTTLS, required unless the host is loopback) or smtps://
// URL with optional user:password, and the sender address.
func ParseSMTP(raw, from string) (*Mailer, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("REGMO_SMTP_URL: %w", err)
	}
	m := &Mailer{host: u.Hostname(), From: from, Timeout: 30 * time.Second}
	port := u.Port()
	switch u.Scheme {
	case "smtp":
		if port == "" {
			port = "587"
		}
	case "smtps":
		m.implicit = true
		if port == "" {
			port = "465"
		}
	default:
		return nil, fmt.Errorf("REGMO_SMTP_URL: scheme %q, want smtp or smtps", u.Scheme)
	}
	if m.host == "" {
		return nil, errors.New("REGMO_SMTP_URL: no host")
	}
	if from == "" || !strings.Contains(from, "@") {
		return nil, fmt.Errorf("REGMO_MAIL_FROM: %q is no e-mail address", from)
	}
	m.addr = net.JoinHostPort(m.host, port)
	if u.User != nil {
		pass, _ := u.User.Password()
		m.auth = smtp.PlainAuth("", u.User.Username(), pass, m.host)
	}
	return m, nil
}

// Addr is the server's host:port.
func (m *Mailer) Addr() string { return m.addr }

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Message is one e-mail in plain text.
type Message struct {
	To      string
	Subject string
	Body    string
	// ID is the Message-ID, derived from the job's unique key: the same e-mail always
	// carries the same one, so a receiving system can recognise a repeat.
	ID   string
	Date time.Time
}

// Bytes renders the message as RFC 5322 text, UTF-8 in quoted-printable.
func (m Message) Bytes(from string) []byte {
	var b bytes.Buffer
	h := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, v) }
	h("From", from)
	h("To", m.To)
	h("Subject", mime.QEncoding.Encode("utf-8", m.Subject))
	h("Date", m.Date.Format(time.RFC1123Z))
	h("Message-ID", "<"+m.ID+">")
	h("MIME-Version", "1.0")
	h("Content-Type", "text/plain; charset=utf-8")
	h("Content-Transfer-Encoding", "quoted-printable")
	h("Auto-Submitted", "auto-generated")
	b.WriteString("\r\n")
	w := quotedprintable.NewWriter(&b)
	_, _ = w.Write([]byte(strings.ReplaceAll(m.Body, "\n", "\r\n")))
	_ = w.Close()
	return b.Bytes()
}

// Send delivers one message.
func (m *Mailer) Send(ctx context.Context, msg Message) error {
	ctx, cancel := context.WithTimeout(ctx, m.Timeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", m.addr)
	if err != nil {
		return fmt.Errorf("smtp: dial %s: %w", m.addr, err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	tlsConfig := &tls.Config{ServerName: m.host, MinVersion: tls.VersionTLS12}
	if m.implicit {
		conn = tls.Client(conn, tlsConfig)
	}
	c, err := smtp.NewClient(conn, m.host)
	if err != nil {
		return fmt.Errorf("smtp: greeting from %s: %w", m.addr, err)
	}
	defer c.Close()
	if !m.implicit {
		if ok, _ := c.Extension("STARTTLS"); ok {
			if err := c.StartTLS(tlsConfig); err != nil {
				return fmt.Errorf("smtp: STARTTLS: %w", err)
			}
		} else if !isLoopback(m.host) {
			// Reminders name entries and people; they do not cross a network in clear text.
			return fmt.Errorf("smtp: %s offers no STARTTLS", m.addr)
		}
	}
	if m.auth != nil {
		if err := c.Auth(m.auth); err != nil {
			return fmt.Errorf("smtp: auth: %w", err)
		}
	}
	if err := c.Mail(addressOf(m.From)); err != nil {
		return fmt.Errorf("smtp: MAIL FROM: %w", err)
	}
	if err := c.Rcpt(msg.To); err != nil {
		return fmt.Errorf("smtp: RCPT TO: %w", err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("smtp: DATA: %w", err)
	}
	if _, err := w.Write(msg.Bytes(m.From)); err != nil {
		return fmt.Errorf("smtp: write: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("smtp: end of data: %w", err)
	}
	return c.Quit()
}

// addressOf returns the bare address of "Name <a@b>" or "a@b".
func addressOf(from string) string {
	if i := strings.LastIndex(from, "<"); i >= 0 {
		return strings.TrimSuffix(from[i+1:], ">")
	}
	return from
}

// AccountPath is the page of the web interface where each user turns the reminder and the
// digest on or off; the e-mails link to it.
const AccountPath = "/konto"
