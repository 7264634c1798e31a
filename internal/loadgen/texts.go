package loadgen

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// Message texts: ordinary transactional traffic (codes, reminders, confirmations) that
// the firewall passes, with the variable parts (codes, names, times) drawn per message
// so that no two texts repeat often enough to look like a blast. Codes are written as
// two groups of three digits, as many senders do: the content model reads a run of
// four to six digits as a premium short code. A unit test checks every template, with
// every brand, against the repository's content model and DPI patterns.

// gsm7Templates fit one GSM 7-bit part (at most 160 characters once filled in).
var gsm7Templates = []string{
	"Your {brand} code is {code}. Enter it in the app to finish signing in.",
	"{brand}: your table for {n} is booked for {day} at {time}. See you then!",
	"Hi {name}, your {brand} booking is confirmed for {day} at {time}. Thank you.",
	"Hi {name}, your dentist appointment at {brand} is tomorrow at {time}.",
	"Hi {name}, your haircut at {brand} is on {day} at {time}. See you then.",
	"Hi {name}, thanks for visiting {brand} today. We hope to see you again soon.",
	"Hi {name}, your {brand} order has been dispatched and should arrive on {day}.",
	"{brand}: your table is ready, please come to the front desk.",
	"Hi {name}, your physio session at {brand} is on {day} at {time}.",
	"Hi {name}, your class at {brand} starts at {time} on {day}. See you there.",
	"Hi {name}, your {brand} delivery is booked for {day} morning.",
}

// ucs2Templates contain characters outside GSM 7-bit (a typographic apostrophe or
// dash, a letter GSM lacks, a symbol), so they go as UCS-2; each fits one part (70).
var ucs2Templates = []string{
	"{brand}: see you on {day} at {time} ✓",
	"Hi {name}, we’ve booked you in on {day} at {time}.",
	"Hi {name}, you’re booked in at {brand} on {day} at {time}.",
	"Twój kod {brand}: {code}. Ważny przez {mins} minut.",
	"Kodunuz {code}. {brand} girişiniz için {mins} dakika geçerli.",
	"Hi {name}, your table at {brand} is ready – see you soon.",
	"Hi {name}, thanks for visiting {brand} today ☺",
	"{brand}: you’re all set for {day} at {time}.",
	"Your {brand} code is {code} – enter it in the app to sign in.",
}

// longTemplates need two GSM 7-bit parts.
var longTemplates = []string{
	"Hi {name}, this is a reminder from {brand} that your appointment is on {day} at {time}. " +
		"Please arrive ten minutes early and bring any letters we sent you. If you need to change the time, " +
		"reply R and we will call you back. Thank you.",
	"Hi {name}, thank you for your order with {brand}. It has been packed and will be with you on {day} " +
		"from {time}. You do not need to be in: the driver can leave it with a neighbour " +
		"or in a safe place you choose in the app.",
	"{brand}: your booking for {n} people on {day} at {time} is confirmed. The restaurant is on the " +
		"first floor and there is parking behind the building. If your plans change, please let us know a day before.",
	"Hi {name}, {brand} here. Your car is booked in for its service on {day} at {time}. The work usually takes " +
		"about three hours and we will text you when it is ready. A courtesy car is available if you ask in advance.",
}

// flashTemplates are short GSM 7-bit texts sent as flash SMS (class 0, shown at once).
var flashTemplates = []string{
	"{brand}: your table is ready",
	"{brand}: your driver is outside",
	"{brand}: your driver arrives in {mins} minutes",
	"{brand}: your taxi is here",
	"Your {brand} code is {code}. Enter it in the app.",
	"Hi {name}, your room at {brand} is ready",
}

var (
	firstNames = []string{"Anna", "Ben", "Chloe", "David", "Emma", "Farid", "Grace", "Hugo", "Ines", "Jonas",
		"Karin", "Luca", "Maya", "Noah", "Olga", "Pavel", "Rosa", "Sam", "Tariq", "Vera"}
	weekdays = []string{"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"}
	times    = []string{"9:00", "9:30", "10:15", "11:00", "12:30", "14:00", "15:45", "16:30", "17:00", "18:30"}
)

// fillText renders tmpl with brand and values drawn from r.
func fillText(tmpl, brand string, r *rand.Rand) string {
	repl := strings.NewReplacer(
		"{brand}", brand,
		"{code}", fmt.Sprintf("%03d %03d", r.IntN(1000), r.IntN(1000)),
		"{mins}", fmt.Sprint(5+r.IntN(26)),
		"{name}", firstNames[r.IntN(len(firstNames))],
		"{day}", weekdays[r.IntN(len(weekdays))],
		"{time}", times[r.IntN(len(times))],
		"{n}", fmt.Sprint(2+r.IntN(7)),
	)
	return repl.Replace(tmpl)
}

// templatesFor is the template list of a shape.
func templatesFor(s Shape) []string {
	switch s {
	case ShapeUCS2:
		return ucs2Templates
	case ShapeLong:
		return longTemplates
	case ShapeFlash:
		return flashTemplates
	}
	return gsm7Templates
}
