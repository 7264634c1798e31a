package dev_test

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/catalyst-cpaas/catalyst/internal/dev"
	"github.com/catalyst-cpaas/catalyst/internal/httpserver"
	"github.com/catalyst-cpaas/catalyst/internal/httpserver/httpservertest"
)

// The API and the ingress hold a slow client no longer than their configured
// timeouts: a body announced as 1000 bytes of which 5 arrive is answered (the API:
// 408 in its JSON error shape) or cut at the read timeout, not kept open for ever,
// and a 1 MB header is 431. The client blocks on its connection; the guard only
// bounds a failing test.
func TestSlowClientsAreCut(t *testing.T) {
	t.Parallel()
	const readTimeout = 300 * time.Millisecond
	r := serveWith(t, func(c *dev.Config) {
		c.HTTP = httpserver.Config{ReadHeaderTimeout: 200 * time.Millisecond, ReadTimeout: readTimeout,
			WriteTimeout: 2 * time.Second, IdleTimeout: time.Second}
		c.AdminToken = "admin-token"
	})
	t.Run("api slow body", func(t *testing.T) {
		start := time.Now() // before the dial: the server's read deadline runs from its accept
		c := httpservertest.Dial(t, r.p.APIURL())
		_, err := io.WriteString(c, "POST /api/v2/tenants HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer admin-token\r\n"+
			"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"na")
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("no answer to a body that stopped after 5 of 1000 bytes: %v", err)
		}
		defer resp.Body.Close()
		var body struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != http.StatusRequestTimeout || body.Error.Code != "timeout" {
			t.Errorf("answer %d %+v (%v), want 408 with code timeout", resp.StatusCode, body, err)
		}
		if waited := time.Since(start); waited < readTimeout {
			t.Errorf("answered after %s, before the read timeout %s", waited, readTimeout)
		}
	})
	t.Run("ingress slow body", func(t *testing.T) {
		c := httpservertest.Dial(t, r.p.IngressURL())
		_, err := io.WriteString(c, "POST /catalyst/default HTTP/1.1\r\nHost: x\r\nCe-Specversion: 1.0\r\nCe-Id: slow-1\r\n"+
			"Ce-Type: io.catalyst.test\r\nCe-Source: /test\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"n\":")
		if err != nil {
			t.Fatal(err)
		}
		// An answer (whatever the ingress makes of the cut body) or a close, in time.
		if httpservertest.StillOpen(c) {
			t.Fatalf("the ingress holds a slow body's connection past %s", httpservertest.Guard)
		}
	})
	t.Run("api idle connection", func(t *testing.T) {
		c := httpservertest.Dial(t, r.p.APIURL())
		if _, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		br := bufio.NewReader(c)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if _, err := br.ReadByte(); err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				t.Fatalf("an idle API connection is still open after %s", httpservertest.Guard)
			}
		}
	})
	t.Run("api 1 MB header", func(t *testing.T) {
		resp := httpservertest.HugeHeader(t, httpservertest.Dial(t, r.p.APIURL()), "/api/v2/tenants/x")
		if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
			t.Errorf("a 1 MB Authorization header: %d, want 431", resp.StatusCode)
		}
	})
}

func TestStartRefusesAWriteTimeoutBelowTheReadTimeout(t *testing.T) {
	t.Parallel()
	cfg, _, _ := testConfig()
	cfg.HTTP = httpserver.Config{ReadTimeout: time.Minute, WriteTimeout: time.Second}
	if _, err := dev.Start(t.Context(), cfg); err == nil || !strings.Contains(err.Error(), "write timeout") {
		t.Errorf("Start = %v, want the write timeout refused", err)
	}
}
