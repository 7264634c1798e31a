// Package channel is the one place that knows which channels Catalyst sends on and
// what each accepts: the address forms of `to` and `from`, the content types and the
// length limits (from ../shared/reference/channels.md, beside the repository, and the
// providers' docs).
// The messages API calls Decode (or Validate) before anything is emitted, so a send
// request that a provider would refuse is answered with a 4xx instead of a
// dead-lettered event minutes later.
package channel

import (
	"slices"

	"github.com/catalyst-cpaas/catalyst/internal/catalog"
)

// Request is the body of POST /api/v1/messages. Options are channel-specific settings
// (parse_mode, messaging_type, ttl, …) passed through to the channel function; only
// their shape is checked here.
type Request struct {
	Channel string          `json:"channel"`
	To      string          `json:"to"`
	From    string          `json:"from,omitempty"`
	Content catalog.Content `json:"content"`
	Options map[string]any  `json:"options,omitempty"`
}

// Content types (catalog.Content.Type).
const (
	Text     = "text"
	Media    = "media"
	Template = "template"
	Binary   = "binary"
)

// Address kinds, as Spec.AddressKind and Spec.FromKind name them.
const (
	KindE164         = "e164"          // +CC…; parsed and validated with libphonenumber
	KindSMSSender    = "sms_sender"    // e164, alphanumeric sender id or short code
	KindServiceCode  = "service_code"  // USSD code such as *384*12#
	KindTelegramChat = "telegram_chat" // chat id (-?digits) or @username
	KindTelegramBot  = "telegram_bot"  // @username ending in "bot"
	KindNumericID    = "numeric_id"    // Meta PSID, IGSID, Page id, IG account id
	KindViberID      = "viber_id"      // Viber user id (base64-like)
	KindSenderName   = "sender_name"   // display name (Viber sender.name)
	KindAgentID      = "agent_id"      // RBM agent id or MaaP bot id
	KindJID          = "jid"           // XMPP localpart@domain[/resource] (RFC 7622)
	KindOpaque       = "opaque"        // anything printable, for custom channels
)

// Units Spec.MaxTextChars is counted in.
const (
	UnitCodePoints = "code points"
	UnitUTF8Bytes  = "UTF-8 bytes"
	UnitGSM        = "GSM-7 septets (UCS-2 text: UTF-16 units)"
)

// MaxSMSParts is how many concatenated parts one SMS may take: at most 1,530 GSM-7
// septets or 670 UCS-2 units (153 / 67 per part behind an 8-bit-reference UDH; fewer
// when an escape or surrogate pair would straddle a part, see SMSParts). Ten parts is
// a common carrier and aggregator cap, and Twilio's 1,600-character ceiling (about
// 10.5 parts) is of the same size; longer texts are cheaper and safer as MMS or links.
const MaxSMSParts = 10

// ussdUCS2Units is USSD's limit for text outside GSM-7: the USSD-String is 160 octets
// (3GPP TS 24.080 / GSM 04.80), which is 182 septets or 80 UCS-2 units.
const ussdUCS2Units = 80

// Spec describes one channel for docs and the OpenAPI description.
type Spec struct {
	Name string
	// AddressKind is the form of `to`; FromKind the form of `from` (optional always).
	AddressKind, FromKind string
	// Content lists the accepted content types.
	Content []string
	// MaxTextChars bounds content.text for text messages, MaxCaptionChars for media
	// captions (0: media carries no caption), both in Unit.
	MaxTextChars, MaxCaptionChars int
	Unit                          string
	// MaxParts is the SMS part cap (sms only; 0 elsewhere).
	MaxParts int
	// Source says where the limits come from.
	Source string
}

var specs = map[string]Spec{
	"sms": {AddressKind: KindE164, FromKind: KindSMSSender, Content: []string{Text, Binary},
		MaxTextChars: MaxSMSParts * 153, Unit: UnitGSM, MaxParts: MaxSMSParts,
		Source: "channels.md §9 (160/153 septets, 70/67 UCS-2 units per part); 10-part cap is ours"},
	"ussd": {AddressKind: KindE164, FromKind: KindServiceCode, Content: []string{Text},
		MaxTextChars: 182, Unit: UnitGSM,
		Source: "channels.md §8 (182 per screen); GSM 04.80 USSD-String 160 octets = 182 septets or 80 UCS-2 units"},
	"whatsapp": {AddressKind: KindE164, FromKind: KindE164, Content: []string{Text, Media, Template},
		MaxTextChars: 4096, MaxCaptionChars: 1024, Unit: UnitCodePoints,
		Source: "channels.md §1 (text 4,096; caption 1,024 [U])"},
	"telegram": {AddressKind: KindTelegramChat, FromKind: KindTelegramBot, Content: []string{Text, Media},
		MaxTextChars: 4096, MaxCaptionChars: 1024, Unit: UnitCodePoints,
		Source: "channels.md §2 (text 1–4,096 after entity parsing; caption 1,024)"},
	"messenger": {AddressKind: KindNumericID, FromKind: KindNumericID, Content: []string{Text, Media},
		MaxTextChars: 2000, Unit: UnitCodePoints,
		Source: "channels.md §3 (text 2,000 [U]; an attachment carries no text)"},
	"instagram": {AddressKind: KindNumericID, FromKind: KindNumericID, Content: []string{Text, Media},
		MaxTextChars: 1000, Unit: UnitUTF8Bytes,
		Source: "channels.md §4 (text ≤1,000 bytes UTF-8; an attachment carries no text)"},
	"viber": {AddressKind: KindViberID, FromKind: KindSenderName, Content: []string{Text, Media},
		MaxTextChars: 7000, MaxCaptionChars: 512, Unit: UnitCodePoints,
		Source: "Viber REST Bot API (text 7,000; sender name 28 per channels.md §5); picture caption 512 per Infobip's Viber docs [U]"},
	"rcs": {AddressKind: KindE164, FromKind: KindAgentID, Content: []string{Text, Media},
		MaxTextChars: 3072, MaxCaptionChars: 2000, Unit: UnitCodePoints,
		Source: "channels.md §6 (text 3,072; rich card description 2,000 carries the caption)"},
	"xmpp": {AddressKind: KindJID, FromKind: KindJID, Content: []string{Text, Media},
		MaxTextChars: 10000, MaxCaptionChars: 10000, Unit: UnitCodePoints,
		Source: "ours: 10,000 code points stays under a 64 KiB stanza limit even fully XML-escaped; JID parts ≤1,023 bytes (RFC 7622)"},
	"custom": {AddressKind: KindOpaque, FromKind: KindOpaque, Content: []string{Text, Media, Template},
		MaxTextChars: 65536, MaxCaptionChars: 65536, Unit: UnitCodePoints,
		Source: "ours: 64 Ki code points bounds an event well under the broker's 1 MB message limit"},
}

var names = func() []string {
	n := make([]string, 0, len(specs))
	for k, s := range specs {
		s.Name = k
		specs[k] = s
		n = append(n, k)
	}
	slices.Sort(n)
	return n
}()

// Names returns the known channels, sorted.
func Names() []string { return slices.Clone(names) }

// Lookup returns the Spec of a known channel. The Spec is a copy: callers can't change
// the rules Validate applies.
func Lookup(name string) (Spec, bool) {
	s, ok := specs[name]
	s.Content = slices.Clone(s.Content)
	return s, ok
}

func (s Spec) accepts(contentType string) bool { return slices.Contains(s.Content, contentType) }
