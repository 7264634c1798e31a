// Package sms turns text into SMPP 3.4 short_message parts and back, and reads
// delivery receipts. It is pure codec: no sockets, no PDUs, no clock.
//
// Choices made once here so the rest of the gateway need not repeat them:
//   - GSM-7 payloads are unpacked, one septet per octet, as SMPP's data_coding 0
//     expects from an ESME; the SMSC packs them for the air interface (and adds the
//     fill bits after a UDH), so no fill bits appear here.
//   - Concatenation uses a 6-octet UDH with an 8-bit reference (IEI 0x00). Per-part
//     sizes match channel.SMSParts, so a price quoted there is the part count sent.
//   - A character is never cut between parts: neither a GSM-7 escape pair nor a
//     UTF-16 surrogate pair, since handsets cannot rejoin half a character.
//
// Errors wrap the sentinels below in *errs.Error, so errors.Is works and the
// boundary maps them to a status once.
package sms

import (
	"errors"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
)

// Sentinel errors; match them with errors.Is.
var (
	ErrInvalidUTF8     = errors.New("sms: text is not valid UTF-8")
	ErrTextAndBinary   = errors.New("sms: both text and a binary payload given")
	ErrTooManyParts    = errors.New("sms: message needs more than 255 parts")
	ErrUnsupported     = errors.New("sms: unsupported data_coding")
	ErrMalformedUDH    = errors.New("sms: malformed user data header")
	ErrMalformedText   = errors.New("sms: short_message does not match its data_coding")
	ErrNotReceipt      = errors.New("sms: not a delivery receipt")
	ErrNoReceiptID     = errors.New("sms: delivery receipt without a message id")
	ErrNoReceiptStatus = errors.New("sms: delivery receipt without a state")
)

func invalid(sentinel error, format string, args ...any) error {
	return errs.Wrap(errs.Invalid, sentinel, format, args...)
}
