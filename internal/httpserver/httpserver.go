// Package httpserver builds every HTTP server Catalyst listens with (the API, the
// broker ingress, function pods, the profiler), so that none lets a client hold a
// connection for ever: a request's headers and body must arrive, and its answer be
// taken, within bounded times, and an idle keep-alive connection is closed.
package httpserver

import (
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"time"
)

// Config bounds one server's connections (net/http.Server's fields of the same names).
// A zero field takes the default it is completed with (Or).
type Config struct {
	// ReadHeaderTimeout: the request line and headers must arrive within it.
	ReadHeaderTimeout time.Duration
	// ReadTimeout: the whole request, body included; a body still arriving then fails
	// to read (the API answers 408).
	ReadTimeout time.Duration
	// WriteTimeout: from the end of the headers until the answer is written; a
	// handler still running then has its connection closed.
	WriteTimeout time.Duration
	// IdleTimeout: how long a keep-alive connection waits for its next request.
	IdleTimeout time.Duration
	// MaxHeaderBytes bounds the request line and headers; more is answered 431.
	MaxHeaderBytes int
}

// Defaults for servers facing clients: the API (with its webhooks) and the broker
// ingress.
func Defaults() Config {
	return Config{ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: time.Minute,
		IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10}
}

// FunctionDefaults for a function's server: its answer is the event's outcome, so
// the write timeout is Knative's default request timeout (a delivery may set a
// longer attempt timeout than the API would wait), and headers carry CloudEvents
// attributes (Go's default limit).
func FunctionDefaults() Config {
	return Config{ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 5 * time.Minute,
		IdleTimeout: 2 * time.Minute, MaxHeaderBytes: http.DefaultMaxHeaderBytes}
}

// Or completes c's zero fields from d.
func (c Config) Or(d Config) Config {
	pick := func(v, def time.Duration) time.Duration {
		if v == 0 {
			return def
		}
		return v
	}
	c.ReadHeaderTimeout = pick(c.ReadHeaderTimeout, d.ReadHeaderTimeout)
	c.ReadTimeout = pick(c.ReadTimeout, d.ReadTimeout)
	c.WriteTimeout = pick(c.WriteTimeout, d.WriteTimeout)
	c.IdleTimeout = pick(c.IdleTimeout, d.IdleTimeout)
	if c.MaxHeaderBytes == 0 {
		c.MaxHeaderBytes = d.MaxHeaderBytes
	}
	return c
}

// Validate refuses negative values (net/http would read them as "no limit") and a
// write timeout not longer than the read timeout.
func (c Config) Validate() error {
	for name, d := range map[string]time.Duration{"read header timeout": c.ReadHeaderTimeout, "read timeout": c.ReadTimeout,
		"write timeout": c.WriteTimeout, "idle timeout": c.IdleTimeout} {
		if d < 0 {
			return fmt.Errorf("http %s %s: must not be negative", name, d)
		}
	}
	if c.MaxHeaderBytes < 0 {
		return fmt.Errorf("http max header bytes %d: must not be negative", c.MaxHeaderBytes)
	}
	// Both deadlines start as the headers arrive: a body cut at the read timeout
	// is answered 408 only while writing is still allowed.
	if c.WriteTimeout != 0 && c.WriteTimeout <= c.ReadTimeout {
		return fmt.Errorf("http write timeout %s: must be longer than the read timeout %s, or a request cut at the read timeout gets no answer", c.WriteTimeout, c.ReadTimeout)
	}
	return nil
}

// New returns a server for h bounded by c (zero fields: Defaults), logging what
// net/http reports (TLS handshakes, panics) to log at warn.
func New(h http.Handler, c Config, log *slog.Logger) *http.Server {
	c = c.Or(Defaults())
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: c.ReadHeaderTimeout,
		ReadTimeout:       c.ReadTimeout,
		WriteTimeout:      c.WriteTimeout,
		IdleTimeout:       c.IdleTimeout,
		MaxHeaderBytes:    c.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// Flags registers c's fields as --http-read-header-timeout, --http-read-timeout,
// --http-write-timeout, --http-idle-timeout and --http-max-header-bytes, defaulting
// to d.
func (c *Config) Flags(fs *flag.FlagSet, d Config) {
	fs.DurationVar(&c.ReadHeaderTimeout, "http-read-header-timeout", d.ReadHeaderTimeout, "HTTP servers: a request's line and headers must arrive within this")
	fs.DurationVar(&c.ReadTimeout, "http-read-timeout", d.ReadTimeout, "HTTP servers: a whole request, body included, must arrive within this (the API answers 408)")
	fs.DurationVar(&c.WriteTimeout, "http-write-timeout", d.WriteTimeout, "HTTP servers: an answer must be written within this of the request's headers")
	fs.DurationVar(&c.IdleTimeout, "http-idle-timeout", d.IdleTimeout, "HTTP servers: close a keep-alive connection idle this long")
	fs.IntVar(&c.MaxHeaderBytes, "http-max-header-bytes", d.MaxHeaderBytes, "HTTP servers: larger request headers are answered 431")
}

// Env names of FromEnv.
const (
	EnvReadHeaderTimeout = "CATALYST_HTTP_READ_HEADER_TIMEOUT"
	EnvReadTimeout       = "CATALYST_HTTP_READ_TIMEOUT"
	EnvWriteTimeout      = "CATALYST_HTTP_WRITE_TIMEOUT"
	EnvIdleTimeout       = "CATALYST_HTTP_IDLE_TIMEOUT"
	EnvMaxHeaderBytes    = "CATALYST_HTTP_MAX_HEADER_BYTES"
)

// FromEnv reads a Config from the CATALYST_HTTP_* variables (durations as Go writes
// them, "30s"); an unset variable takes d's value.
func FromEnv(d Config) (Config, error) {
	c := d
	for name, dst := range map[string]*time.Duration{EnvReadHeaderTimeout: &c.ReadHeaderTimeout, EnvReadTimeout: &c.ReadTimeout,
		EnvWriteTimeout: &c.WriteTimeout, EnvIdleTimeout: &c.IdleTimeout} {
		if v := os.Getenv(name); v != "" {
			dur, err := time.ParseDuration(v)
			if err != nil {
				return c, fmt.Errorf("%s: %w", name, err)
			}
			*dst = dur
		}
	}
	if v := os.Getenv(EnvMaxHeaderBytes); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return c, fmt.Errorf("%s: %w", EnvMaxHeaderBytes, err)
		}
		c.MaxHeaderBytes = n
	}
	return c, c.Validate()
}
