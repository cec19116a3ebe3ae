package tasktrack_test

import (
	"slices"
	"testing"
	"time"

	"tasktrack"
)

func TestParseReminders(t *testing.T) {
	cases := []struct {
		in   string
		want []time.Duration
		err  string
	}{
		{"24h,1h", []time.Duration{time.Hour, 24 * time.Hour}, ""},
		{" 1h , 24h ,1h,", []time.Duration{time.Hour, 24 * time.Hour}, ""},
		{"", nil, ""},
		{"90s", []time.Duration{90 * time.Second}, ""},
		{"1h,soon", nil, `"soon" is not a duration (such as 24h, 1h, 30m)`},
		{"-5m", nil, `"-5m" is shorter than a second`},
		{"0", nil, `"0" is shorter than a second`},
	}
	for _, c := range cases {
		got, err := tasktrack.ParseReminders(c.in)
		if c.err != "" {
			if err == nil || err.Error() != c.err {
				t.Errorf("%q: error %v, want %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("%q: %v %v, want %v", c.in, got, err, c.want)
		}
	}
}

func TestReminderWithinMessage(t *testing.T) {
	if got, want := tasktrack.ReminderWithinMessage("Report", 24*time.Hour), `"Report" is due within 24 hours`; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestLeadWordsAndLabel(t *testing.T) {
	cases := []struct {
		d            time.Duration
		words, label string
	}{
		{time.Hour, "1 hour", "1h"},
		{24 * time.Hour, "24 hours", "24h"},
		{48 * time.Hour, "2 days", "48h"},
		{7 * 24 * time.Hour, "7 days", "168h"},
		{90 * time.Minute, "1 hour 30 minutes", "1h30m"},
		{time.Minute, "1 minute", "1m"},
		{90 * time.Second, "1 minute 30 seconds", "1m30s"},
		{20 * time.Second, "20 seconds", "20s"},
	}
	for _, c := range cases {
		if got := tasktrack.LeadWords(c.d); got != c.words {
			t.Errorf("LeadWords(%v) = %q, want %q", c.d, got, c.words)
		}
		if got := tasktrack.LeadLabel(c.d); got != c.label {
			t.Errorf("LeadLabel(%v) = %q, want %q", c.d, got, c.label)
		}
	}
}

func TestValidatePreferences(t *testing.T) {
	off, hourly, paris, mars, local := "off", "hourly", "Europe/Paris", "Mars/Olympus", "Local"
	cases := []struct {
		name string
		in   tasktrack.PreferencesUpdate
		want map[string][]string
	}{
		{"good", tasktrack.PreferencesUpdate{Email: map[string]bool{"task_reminder": false}, Alerts: &off, Timezone: &paris}, map[string][]string{}},
		{"unknown kind", tasktrack.PreferencesUpdate{Email: map[string]bool{"task_lost": true}}, map[string][]string{"email": {`"task_lost" is not a kind of notification.`}}},
		{"bad alerts", tasktrack.PreferencesUpdate{Alerts: &hourly}, map[string][]string{"email": {`alerts: "hourly" is not a valid choice (off, each or daily).`}}},
		{"bad timezone", tasktrack.PreferencesUpdate{Timezone: &mars}, map[string][]string{"timezone": {`"Mars/Olympus" is not a known timezone (an IANA name such as Europe/Paris).`}}},
		{"the server's zone", tasktrack.PreferencesUpdate{Timezone: &local}, map[string][]string{"timezone": {`"Local" is not a known timezone (an IANA name such as Europe/Paris).`}}},
	}
	for _, c := range cases {
		errs := tasktrack.FieldErrors{}
		tasktrack.ValidatePreferences(errs, c.in)
		if len(errs) != len(c.want) {
			t.Errorf("%s: %v, want %v", c.name, errs, c.want)
			continue
		}
		for k, v := range c.want {
			if !slices.Equal(errs[k], v) {
				t.Errorf("%s: %s = %q, want %q", c.name, k, errs[k], v)
			}
		}
	}
}
