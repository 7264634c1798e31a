package httpserver

import (
	"bufio"
	"github.com/catalyst-cpaas/catalyst/internal/httpserver/httpservertest"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// tiny are timeouts short enough for a test; guard bounds how long a test waits for
// the server to act on them (never a sleep: the client blocks on its connection).
var tiny = Config{ReadHeaderTimeout: 150 * time.Millisecond, ReadTimeout: 300 * time.Millisecond,
	WriteTimeout: 600 * time.Millisecond, IdleTimeout: 300 * time.Millisecond, MaxHeaderBytes: 8 << 10}

func serve(t *testing.T, h http.Handler, c Config) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := New(h, c, nil)
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return l.Addr().String()
}

// wantClosed fails unless the server closes c (EOF or reset) before the guard.
func wantClosed(t *testing.T, c net.Conn, what string) {
	t.Helper()
	if httpservertest.StillOpen(c) {
		t.Fatalf("%s: the connection is still open after %s", what, httpservertest.Guard)
	}
}

// readBody answers 408 when the body does not arrive in time, as the API does.
var readBody = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	if _, err := io.ReadAll(r.Body); err != nil {
		http.Error(w, err.Error(), http.StatusRequestTimeout)
		return
	}
	w.WriteHeader(http.StatusNoContent)
})

func TestSlowBodyIsCutAtTheReadTimeout(t *testing.T) {
	t.Parallel()
	addr := serve(t, readBody, tiny)
	start := time.Now() // before the dial: the server's read deadline runs from its accept
	c := httpservertest.Dial(t, addr)
	if _, err := io.WriteString(c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nhello"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no answer to a body that stopped after 5 of 1000 bytes: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestTimeout || time.Since(start) < tiny.ReadTimeout {
		t.Errorf("answer %d after %s, want 408 after the read timeout %s", resp.StatusCode, time.Since(start), tiny.ReadTimeout)
	}
	wantClosed(t, c, "after the slow body")
}

func TestSlowHeadersAreCut(t *testing.T) {
	t.Parallel()
	c := httpservertest.Dial(t, serve(t, readBody, tiny))
	if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n"); err != nil { // no blank line: headers never end
		t.Fatal(err)
	}
	wantClosed(t, c, "headers never finished")
}

func TestIdleConnectionIsClosed(t *testing.T) {
	t.Parallel()
	c := httpservertest.Dial(t, serve(t, readBody, tiny))
	if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent || resp.Close {
		t.Fatalf("answer %d (close %v), want a kept-alive 204", resp.StatusCode, resp.Close)
	}
	if _, err := br.ReadByte(); err == nil {
		t.Fatal("data after the answer")
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("an idle connection is still open after %s", httpservertest.Guard)
	}
}

// A client that never reads its answer loses the connection at the write timeout.
func TestAnswerNotTakenIsCutAtTheWriteTimeout(t *testing.T) {
	t.Parallel()
	failed := make(chan error, 1)
	big := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		chunk := make([]byte, 1<<20)
		for {
			if _, err := w.Write(chunk); err != nil {
				failed <- err
				return
			}
		}
	})
	c := httpservertest.Dial(t, serve(t, big, tiny))
	if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-failed:
	case <-time.After(httpservertest.Guard):
		t.Fatalf("the handler still writes to a client that reads nothing after %s", httpservertest.Guard)
	}
}

func TestHugeHeaderIs431(t *testing.T) {
	t.Parallel()
	resp := httpservertest.HugeHeader(t, httpservertest.Dial(t, serve(t, readBody, tiny)), "/")
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("a 1 MB Authorization header: %d, want 431", resp.StatusCode)
	}
}

func TestDefaultsRefuseAMegabyteHeader(t *testing.T) {
	t.Parallel()
	if d := Defaults(); d.MaxHeaderBytes+4096 >= 1<<20 { // net/http allows 4096 bytes more
		t.Errorf("Defaults().MaxHeaderBytes = %d lets a 1 MB header through", d.MaxHeaderBytes)
	}
	for _, c := range []Config{Defaults(), FunctionDefaults()} {
		if c.ReadTimeout == 0 || c.WriteTimeout == 0 || c.IdleTimeout == 0 || c.ReadHeaderTimeout == 0 {
			t.Errorf("%+v leaves a timeout unset", c)
		}
	}
}

func TestFromEnv(t *testing.T) {
	t.Setenv(EnvReadTimeout, "2s")
	t.Setenv(EnvMaxHeaderBytes, "1024")
	c, err := FromEnv(FunctionDefaults())
	if err != nil || c.ReadTimeout != 2*time.Second || c.MaxHeaderBytes != 1024 || c.WriteTimeout != FunctionDefaults().WriteTimeout {
		t.Errorf("FromEnv = %+v, %v", c, err)
	}
	t.Setenv(EnvWriteTimeout, "2s")
	if _, err := FromEnv(FunctionDefaults()); err == nil {
		t.Error("a write timeout no longer than the read timeout was accepted: a slow body would get no answer")
	}
	t.Setenv(EnvWriteTimeout, "-1s")
	if _, err := FromEnv(FunctionDefaults()); err == nil {
		t.Error("a negative write timeout was accepted")
	}
	t.Setenv(EnvWriteTimeout, "soon")
	if _, err := FromEnv(FunctionDefaults()); err == nil || !strings.Contains(err.Error(), EnvWriteTimeout) {
		t.Errorf("an unparsable duration: %v", err)
	}
}
