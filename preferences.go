package tasktrack

import (
	"context"
	"time"
)

// How a manager or admin hears of alerts by email.
const (
	AlertMailOff   = "off"
	AlertMailEach  = "each"
	AlertMailDaily = "daily"
)

// DigestHour is the local hour at which daily digests are sent.
const DigestHour = 8

// Preferences are a person's choices of what tasktrack emails them, and
// the timezone their emails show times in.
type Preferences struct {
	// Email says, by notification kind, whether it is also emailed.
	Email map[string]bool
	// Alerts is off, each or daily (managers and admins; ignored for
	// users).
	Alerts   string
	Timezone string
}

// DefaultPreferences are everyone's until they choose: every
// notification emailed, an email per alert, UTC.
func DefaultPreferences() Preferences {
	p := Preferences{Email: map[string]bool{}, Alerts: AlertMailEach, Timezone: "UTC"}
	for _, k := range NotificationKinds {
		p.Email[k] = true
	}
	return p
}

// PreferencesUpdate holds the choices to change; nil leaves one as it is.
type PreferencesUpdate struct {
	Email    map[string]bool
	Alerts   *string
	Timezone *string
}

// PreferencesService keeps the acting user's own preferences.
type PreferencesService interface {
	// Every method may also answer KindUnavailable when the database does
	// not answer, and an internal error when something unexpected fails.

	// FindPreferences returns the actor's preferences, the defaults when
	// they set none; KindUnauthenticated without an actor.
	FindPreferences(ctx context.Context) (Preferences, error)
	// UpdatePreferences changes what in names and returns the result;
	// KindUnauthenticated without an actor, KindInvalid for a kind, mode
	// or timezone unknown.
	UpdatePreferences(ctx context.Context, in PreferencesUpdate) (Preferences, error)
}

// ValidatePreferences checks an update: known notification kinds, an
// alerts mode, an IANA timezone. The email choices and the alerts mode
// are one object in the API, so their errors are reported under "email".
func ValidatePreferences(errs FieldErrors, in PreferencesUpdate) {
	for k := range in.Email {
		if !ValidNotificationKind(k) {
			errs.Add("email", `"`+k+`" is not a kind of notification.`)
		}
	}
	if in.Alerts != nil {
		switch *in.Alerts {
		case AlertMailOff, AlertMailEach, AlertMailDaily:
		default:
			errs.Add("email", `alerts: "`+*in.Alerts+`" is not a valid choice (off, each or daily).`)
		}
	}
	if in.Timezone != nil {
		if _, err := LoadTimezone(*in.Timezone); err != nil {
			errs.Add("timezone", `"`+*in.Timezone+`" is not a known timezone (an IANA name such as Europe/Paris).`)
		}
	}
}

// LoadTimezone loads an IANA timezone by name. "Local" names the
// server's zone, which is nobody's choice, and is refused.
func LoadTimezone(name string) (*time.Location, error) {
	if name == "" || name == "Local" {
		return nil, Errorf(KindInvalid, "unknown timezone %q", name)
	}
	return time.LoadLocation(name)
}
