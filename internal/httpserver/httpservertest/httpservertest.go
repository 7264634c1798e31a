// Package httpservertest holds the raw-connection client the servers' timeout tests
// share: a test writes what a slow or hostile client would and blocks on the
// connection (never a sleep); Guard only bounds a failing test.
package httpservertest

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Guard is how long a test waits for a server to act on its timeouts.
const Guard = 10 * time.Second

// Dial connects a raw client to addr (host:port, or a base URL) whose reads give up
// after Guard; the connection closes with the test.
func Dial(t testing.TB, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(addr, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	if err := c.SetReadDeadline(time.Now().Add(Guard)); err != nil {
		t.Fatal(err)
	}
	return c
}

// StillOpen reports whether reading c to its end ran into the Guard: the server
// neither answered to the end nor closed the connection.
func StillOpen(c net.Conn) bool {
	_, err := io.ReadAll(c)
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// HugeHeader sends a GET of path with a 1 MB Authorization header on c and returns
// the answer; the write goes on in the background, since the server answers before
// it has read it all.
func HugeHeader(t testing.TB, c net.Conn, path string) *http.Response {
	t.Helper()
	go func() {
		_, _ = io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "+strings.Repeat("a", 1<<20)+"\r\n\r\n")
	}()
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no answer to a 1 MB Authorization header: %v", err)
	}
	resp.Body.Close()
	return resp
}
