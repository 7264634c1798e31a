// Package carrier reads config/carriers.yaml, the SMPP carriers the SMS connector
// binds to, and plans which carriers may carry a message: those whose routes cover
// the destination, most preferred first, sharing load among equals, so the connector
// fails over down the list when a carrier is down.
package carrier

import (
	"fmt"
	"net"
	"os"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
)

// Bind modes.
const (
	BindTransceiver            = "transceiver"
	BindTransmitterAndReceiver = "transmitter+receiver"
)

// SMPP is one carrier's bind settings.
type SMPP struct {
	Address    string `json:"address"`     // host:port of the SMSC
	SystemID   string `json:"system_id"`   // at most 15 characters (16 octets with NUL)
	Password   string `json:"password"`    // at most 8 characters (9 octets with NUL)
	SystemType string `json:"system_type"` // at most 12 characters
	Bind       string `json:"bind"`        // transceiver (default) or transmitter+receiver
	Binds      int    `json:"binds"`       // sessions, default 1
	Window     int    `json:"window"`      // unacknowledged submit_sm per session, default 64
	Throughput int    `json:"throughput"`  // submit_sm per second per session, 0 = unlimited
	// EnquireLink is the keepalive interval, a Go duration ("30s"), default 30s.
	EnquireLink string `json:"enquire_link"`
	// ReceiptTimeout is how long after a message was accepted the gateway waits for
	// the final delivery receipts of all its parts before it reports the message
	// failed (expired, "receipt-timeout"), a Go duration ("48h"), default 48h.
	ReceiptTimeout string `json:"receipt_timeout"`
	// MOPartTimeout is how long the gateway waits for the missing parts of a
	// concatenated mobile-originated SMS, from its first part, before it delivers
	// the parts it has as a partial message; a Go duration, default 10m.
	MOPartTimeout string `json:"mo_part_timeout"`
	// MOPackedGSM7 reads mobile-originated GSM-7 text as packed septets, for an
	// SMSC that delivers it so rather than one septet per octet; default false.
	MOPackedGSM7 bool `json:"mo_packed_gsm7"`
}

// DefaultMOPartTimeout is MOPartTimeout's default.
const DefaultMOPartTimeout = 10 * time.Minute

// DefaultReceiptTimeout is ReceiptTimeout's default: 48h, the usual maximum
// validity period of an SMSC.
const DefaultReceiptTimeout = 48 * time.Hour

// Carrier is one route to the SMS network.
type Carrier struct {
	Name     string   `json:"name"`
	Priority int      `json:"priority"` // lower is preferred; equal priorities share load
	SMPP     SMPP     `json:"smpp"`
	Routes   []string `json:"routes"` // E.164 prefixes ("44", "+4477") or "*" for every number
}

// KeepAlive is EnquireLink parsed (Load has validated it).
func (c Carrier) KeepAlive() time.Duration {
	d, _ := time.ParseDuration(c.SMPP.EnquireLink)
	return d
}

// MOPartTimeout is SMPP.MOPartTimeout parsed (Load has validated it);
// DefaultMOPartTimeout when it is empty or not a positive duration.
func (c Carrier) MOPartTimeout() time.Duration {
	d, err := time.ParseDuration(c.SMPP.MOPartTimeout)
	if err != nil || d <= 0 {
		return DefaultMOPartTimeout
	}
	return d
}

// ReceiptTimeout is SMPP.ReceiptTimeout parsed (Load has validated it);
// DefaultReceiptTimeout when it is empty or not a positive duration (a Config
// built without Parse).
func (c Carrier) ReceiptTimeout() time.Duration {
	d, err := time.ParseDuration(c.SMPP.ReceiptTimeout)
	if err != nil || d <= 0 {
		return DefaultReceiptTimeout
	}
	return d
}

// Config is the whole file.
type Config struct {
	Carriers []Carrier `json:"carriers"`
	next     atomic.Uint64
}

// Load reads and validates a carriers file.
func Load(path string) (*Config, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("carriers: %w", err)
	}
	return Parse(raw)
}

// Parse decodes strictly (unknown fields are errors), fills defaults and validates,
// reporting every problem with its field path.
func Parse(raw []byte) (*Config, error) {
	var c Config
	if err := yaml.UnmarshalStrict(raw, &c); err != nil {
		return nil, errs.Wrap(errs.Invalid, err, "carriers: malformed YAML")
	}
	c.defaults()
	if err := c.validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

func (c *Config) defaults() {
	for i := range c.Carriers {
		s := &c.Carriers[i].SMPP
		if s.Bind == "" {
			s.Bind = BindTransceiver
		}
		if s.Binds == 0 {
			s.Binds = 1
		}
		if s.Window == 0 {
			s.Window = 64
		}
		if s.EnquireLink == "" {
			s.EnquireLink = "30s"
		}
		if s.ReceiptTimeout == "" {
			s.ReceiptTimeout = "48h"
		}
		if s.MOPartTimeout == "" {
			s.MOPartTimeout = DefaultMOPartTimeout.String()
		}
		for j, r := range c.Carriers[i].Routes {
			c.Carriers[i].Routes[j] = strings.TrimPrefix(strings.TrimSpace(r), "+")
		}
	}
}

func (c *Config) validate() error {
	var fields []errs.FieldViolation
	bad := func(path, reason string) { fields = append(fields, errs.FieldViolation{Field: path, Reason: reason}) }
	if len(c.Carriers) == 0 {
		bad("carriers", "at least one carrier is required")
	}
	names := map[string]bool{}
	for i, cr := range c.Carriers {
		p := fmt.Sprintf("carriers[%d]", i)
		if cr.Name == "" || names[cr.Name] {
			bad(p+".name", "required and unique")
		}
		names[cr.Name] = true
		if cr.Priority < 1 {
			bad(p+".priority", "must be 1 or more (lower is preferred)")
		}
		s := cr.SMPP
		if _, port, err := net.SplitHostPort(s.Address); err != nil || port == "" {
			bad(p+".smpp.address", "must be host:port")
		}
		if s.SystemID == "" || len(s.SystemID) > 15 {
			bad(p+".smpp.system_id", "required, at most 15 characters (SMPP 3.4)")
		}
		if len(s.Password) > 8 {
			bad(p+".smpp.password", "at most 8 characters (SMPP 3.4)")
		}
		if len(s.SystemType) > 12 {
			bad(p+".smpp.system_type", "at most 12 characters (SMPP 3.4)")
		}
		if s.Bind != BindTransceiver && s.Bind != BindTransmitterAndReceiver {
			bad(p+".smpp.bind", "must be transceiver or transmitter+receiver")
		}
		if s.Binds < 1 || s.Binds > 32 {
			bad(p+".smpp.binds", "must be 1 to 32 sessions")
		}
		if s.Window < 1 || s.Window > 1024 {
			bad(p+".smpp.window", "must be 1 to 1024")
		}
		if s.Throughput < 0 {
			bad(p+".smpp.throughput", "must be 0 (unlimited) or more")
		}
		if d, err := time.ParseDuration(s.EnquireLink); err != nil || d < time.Second || d > 10*time.Minute {
			bad(p+".smpp.enquire_link", "must be a duration from 1s to 10m, such as 30s")
		}
		if d, err := time.ParseDuration(s.ReceiptTimeout); err != nil || d < time.Second || d > 168*time.Hour {
			bad(p+".smpp.receipt_timeout", "must be a duration from 1s to 168h, such as 48h")
		}
		if d, err := time.ParseDuration(s.MOPartTimeout); err != nil || d < time.Second || d > 24*time.Hour {
			bad(p+".smpp.mo_part_timeout", "must be a duration from 1s to 24h, such as 10m")
		}
		if len(cr.Routes) == 0 {
			bad(p+".routes", "at least one route: an E.164 prefix or \"*\"")
		}
		for j, r := range cr.Routes {
			if r != "*" && (r == "" || strings.Trim(r, "0123456789") != "" || len(r) > 15) {
				bad(fmt.Sprintf("%s.routes[%d]", p, j), "must be \"*\" or the digits of an E.164 prefix, such as 44 or +4477")
			}
		}
	}
	if len(fields) > 0 {
		return &errs.Error{Code: errs.Invalid, Message: "carriers: invalid configuration", Fields: fields}
	}
	return nil
}

// serves reports whether a carrier routes the destination (+E.164 or bare digits).
func (cr Carrier) serves(digits string) bool {
	for _, r := range cr.Routes {
		if r == "*" || strings.HasPrefix(digits, r) {
			return true
		}
	}
	return false
}

// Plan lists the carriers that may carry a message to dest, in the order to try them:
// by priority, and within one priority rotated from call to call so equal carriers
// share the load. The connector moves down the list while carriers are down.
func (c *Config) Plan(dest string) []Carrier {
	digits := strings.TrimPrefix(dest, "+")
	var out []Carrier
	for _, cr := range c.Carriers {
		if cr.serves(digits) {
			out = append(out, cr)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Priority < out[j].Priority })
	turn := c.next.Add(1)
	for start := 0; start < len(out); {
		end := start
		for end < len(out) && out[end].Priority == out[start].Priority {
			end++
		}
		group := out[start:end]
		if n := len(group); n > 1 {
			k := int(turn % uint64(n))
			rotated := append(append([]Carrier(nil), group[k:]...), group[:k]...)
			copy(group, rotated)
		}
		start = end
	}
	return out
}
