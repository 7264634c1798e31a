package postgres_test

import (
	"context"
	"encoding/binary"
	"io"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/catalyst-cpaas/catalyst/internal/postgres"
	"github.com/catalyst-cpaas/catalyst/internal/testenv"
)

// warnings records the messages of WARN records.
type warnings struct {
	mu   sync.Mutex
	msgs []string
}

func (w *warnings) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }
func (w *warnings) Handle(_ context.Context, r slog.Record) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	msg := r.Message
	r.Attrs(func(a slog.Attr) bool { msg += " " + a.String(); return true })
	w.msgs = append(w.msgs, msg)
	return nil
}
func (w *warnings) WithAttrs([]slog.Attr) slog.Handler { return w }
func (w *warnings) WithGroup(string) slog.Handler      { return w }

func (w *warnings) all() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.msgs...)
}

// nonLoopbackIP is an address of this host that is not loopback, where the test's
// proxy listens so that the platform sees a remote database.
func nonLoopbackIP(t *testing.T) string {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok && ipn.IP.To4() != nil && !ipn.IP.IsLoopback() && !ipn.IP.IsLinkLocalUnicast() {
			return ipn.IP.String()
		}
	}
	t.Skip("this host has no non-loopback IPv4 address to put a remote-looking PostgreSQL on")
	return ""
}

// proxy forwards TCP connections from a non-loopback address to target. With
// refuseTLS it answers PostgreSQL's SSLRequest with 'N', as a server without TLS does.
func proxy(t *testing.T, target string, refuseTLS bool) string {
	t.Helper()
	l, err := net.Listen("tcp", net.JoinHostPort(nonLoopbackIP(t), "0"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go forward(c, target, refuseTLS)
		}
	}()
	return l.Addr().String()
}

func forward(c net.Conn, target string, refuseTLS bool) {
	defer c.Close()
	s, err := net.Dial("tcp", target)
	if err != nil {
		return
	}
	defer s.Close()
	if refuseTLS {
		head := make([]byte, 8)
		if _, err := io.ReadFull(c, head); err != nil {
			return
		}
		if binary.BigEndian.Uint32(head[4:]) == 80877103 { // SSLRequest
			if _, err := c.Write([]byte{'N'}); err != nil {
				return
			}
		} else if _, err := s.Write(head); err != nil {
			return
		}
	}
	go func() { _, _ = io.Copy(s, c); s.Close() }()
	_, _ = io.Copy(c, s)
}

// withHost returns dbURL pointing at addr with the given sslmode.
func withHost(t *testing.T, dbURL, addr, sslmode string) string {
	t.Helper()
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	if addr != "" {
		u.Host = addr
	}
	q := u.Query()
	q.Set("sslmode", sslmode)
	u.RawQuery = q.Encode()
	return u.String()
}

// Open warns when it talks plaintext to a database that is not on this host, and
// only then: not over loopback, not over TLS.
func TestOpenWarnsOfPlaintextToARemoteServer(t *testing.T) {
	t.Parallel()
	dbURL := testenv.Postgres(t)
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		url      string
		wantWarn string // "" means no warning
	}{
		{"loopback, sslmode=disable", withHost(t, dbURL, "", "disable"), ""},
		{"remote, sslmode=disable", withHost(t, dbURL, proxy(t, u.Host, false), "disable"), "why=sslmode=disable"},
		{"remote, server refuses TLS, sslmode=prefer", withHost(t, dbURL, proxy(t, u.Host, true), "prefer"), "why=the server did not negotiate TLS"},
		{"remote, sslmode=require", withHost(t, dbURL, proxy(t, u.Host, false), "require"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := &warnings{}
			db, err := postgres.Open(context.Background(), tt.url, postgres.WithLogger(slog.New(w)))
			if err != nil {
				if strings.Contains(tt.url, "sslmode=require") && strings.Contains(err.Error(), "refused TLS") {
					t.Skip("this PostgreSQL has no TLS (ssl = off)")
				}
				t.Fatalf("Open: %v", err)
			}
			defer db.Close()
			got := w.all()
			switch {
			case tt.wantWarn == "" && len(got) > 0:
				t.Errorf("warned %q, want nothing", got)
			case tt.wantWarn != "" && (len(got) != 1 || !strings.Contains(got[0], "not encrypted") || !strings.Contains(got[0], tt.wantWarn)):
				t.Errorf("warned %q, want one plaintext warning with %s", got, tt.wantWarn)
			}
		})
	}
}
