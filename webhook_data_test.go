package tasktrack

import (
	"encoding/json"
	"testing"
	"time"
)

// An alert in a webhook's data has the API's shape: a webhook_disabled
// alert names its endpoint and no user; any other alert its user.
func TestWebhookAlertData(t *testing.T) {
	at := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		alert Alert
		want  string
	}{
		{Alert{ID: "a1", Kind: AlertWebhookDisabled, WebhookID: "w1", WebhookURL: "https://hooks.example.com/tt", CreatedAt: at},
			`{"acknowledged_at":null,"acknowledged_by":null,"created_at":"2026-11-29T12:00:00.000000Z","id":"a1","kind":"webhook_disabled","task":null,"webhook":{"id":"w1","url":"https://hooks.example.com/tt"}}`},
		{Alert{ID: "a2", Kind: AlertUserDeactivated, UserID: 7, Username: "alice", CreatedAt: at},
			`{"acknowledged_at":null,"acknowledged_by":null,"created_at":"2026-11-29T12:00:00.000000Z","id":"a2","kind":"user_deactivated","task":null,"user":{"id":7,"username":"alice"}}`},
	}
	for _, c := range cases {
		b, err := json.Marshal(WebhookAlertData(&c.alert))
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.alert.Kind, b, c.want)
		}
	}
}
