package httpapi_test

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"tasktrack"
	. "tasktrack/sqlstore/sqlstoretest"
)

// Creating an endpoint: what is refused and why, and the secret shown in
// the answer to create and rotate only.
func TestWebhookCreateValidation(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		ev := newEnv(t, e)
		ev.api.WebhookAllowPrivate = false
		notPublic := `{"url":["This address is not public: loopback, private and link-local addresses are refused."]}` + "\n"
		tests := []struct {
			name string
			body map[string]any
			want string
		}{
			{"no url", map[string]any{"events": []string{"*"}}, `{"url":["This field is required."]}` + "\n"},
			{"no events", map[string]any{"url": "https://hooks.example.com/"}, `{"events":["This field is required."]}` + "\n"},
			{"ftp", map[string]any{"url": "ftp://hooks.example.com/", "events": []string{"*"}}, `{"url":["Enter a valid http or https URL."]}` + "\n"},
			{"no host", map[string]any{"url": "https:///x", "events": []string{"*"}}, `{"url":["Enter a valid http or https URL."]}` + "\n"},
			{"too long", map[string]any{"url": "https://hooks.example.com/" + strings.Repeat("a", 2048), "events": []string{"*"}},
				`{"url":["Ensure this field has no more than 2048 characters."]}` + "\n"},
			{"unknown event", map[string]any{"url": "https://hooks.example.com/", "events": []string{"task.created", "task.exploded"}},
				`{"events":["\"task.exploded\" is not a known event."]}` + "\n"},
			{"no event", map[string]any{"url": "https://hooks.example.com/", "events": []string{}},
				`{"events":["Choose at least one event, or \"*\" for all."]}` + "\n"},
			{"unknown format", map[string]any{"url": "https://hooks.example.com/", "events": []string{"*"}, "format": "teams"},
				`{"format":["\"teams\" is not a valid choice: standard, slack or discord."]}` + "\n"},
			{"loopback", map[string]any{"url": "http://127.0.0.1:8000/", "events": []string{"*"}}, notPublic},
			{"IPv6 loopback", map[string]any{"url": "http://[::1]/", "events": []string{"*"}}, notPublic},
			{"metadata", map[string]any{"url": "http://169.254.169.254/latest/", "events": []string{"*"}}, notPublic},
			{"private", map[string]any{"url": "http://10.0.0.1/", "events": []string{"*"}}, notPublic},
			{"mapped loopback", map[string]any{"url": "http://[::ffff:127.0.0.1]/", "events": []string{"*"}}, notPublic},
			{"name of loopback", map[string]any{"url": "http://localhost:8000/", "events": []string{"*"}},
				`{"url":["This name resolves only to addresses that are not public: loopback, private and link-local addresses are refused."]}` + "\n"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := ev.admin.Do("POST", "/api/webhooks/", tt.body)
				if r.Status != 400 || r.String() != tt.want {
					t.Fatalf("%d %s; want 400 %s", r.Status, r.Body, tt.want)
				}
			})
		}
		if r := ev.admin.Do("GET", "/api/webhooks/", nil); r.String() != "[]\n" {
			t.Fatalf("stored after refusals: %s", r.Body)
		}
	})
}

func TestWebhookSecretShownOnce(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		ev := newEnv(t, e)
		r := ev.admin.Do("POST", "/api/webhooks/", map[string]any{"url": "https://hooks.example.com/tt",
			"events": []string{"task.missed", "task.missed", "user.deactivated"}, "format": "slack", "description": "ops"})
		if r.Status != 201 {
			t.Fatalf("create: %d %s", r.Status, r.Body)
		}
		var created struct {
			ID     string   `json:"id"`
			Events []string `json:"events"`
			Secret string   `json:"secret"`
		}
		r.Decode(t, &created)
		key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(created.Secret, "whsec_"))
		if !strings.HasPrefix(created.Secret, "whsec_") || err != nil || len(key) < 24 {
			t.Fatalf("secret %q: %v", created.Secret, err)
		}
		if strings.Join(created.Events, ",") != "task.missed,user.deactivated" {
			t.Errorf("events %q", created.Events)
		}
		for _, path := range []string{"/api/webhooks/", "/api/webhooks/" + created.ID + "/"} {
			if r := ev.admin.Do("GET", path, nil); r.Status != 200 || strings.Contains(r.String(), "secret") {
				t.Errorf("GET %s: %d %s", path, r.Status, r.Body)
			}
		}
		r = ev.admin.Do("POST", "/api/webhooks/"+created.ID+"/rotate-secret/", nil)
		rotated := r.Object(t)["secret"].(string)
		if r.Status != 200 || rotated == created.Secret || !strings.HasPrefix(rotated, "whsec_") {
			t.Fatalf("rotate: %d %s", r.Status, r.Body)
		}
		if r := ev.admin.Do("PATCH", "/api/webhooks/"+created.ID+"/", map[string]any{"events": []string{"nope"}}); r.Status != 400 {
			t.Errorf("patch with an unknown event: %d %s", r.Status, r.Body)
		}
		if r := ev.admin.Do("PATCH", "/api/webhooks/"+created.ID+"/", map[string]any{"is_active": false, "format": "discord"}); r.Status != 200 ||
			r.Object(t)["format"] != "discord" || r.Object(t)["is_active"] != false {
			t.Errorf("patch: %d %s", r.Status, r.Body)
		}
		audit := ev.admin.Do("GET", "/api/audit/?limit=100", nil)
		for _, s := range []string{created.Secret, rotated, strings.TrimPrefix(created.Secret, "whsec_")} {
			if strings.Contains(audit.String(), s) {
				t.Errorf("the audit log holds a secret")
			}
		}
		for _, path := range []string{"/api/webhooks/" + created.ID + "/deliveries/?status=bogus"} {
			if r := ev.admin.Do("GET", path, nil); r.Status != 400 {
				t.Errorf("GET %s: %d %s", path, r.Status, r.Body)
			}
		}
		for _, path := range []string{"/api/webhooks/nope/", "/api/webhooks/0193c2d4-5e6f-7a81-9b2c-3d4e5f607182/"} {
			if r := ev.admin.Do("GET", path, nil); r.Status != 404 {
				t.Errorf("GET %s: %d %s", path, r.Status, r.Body)
			}
		}
		if r := ev.admin.Do("DELETE", "/api/webhooks/"+created.ID+"/", nil); r.Status != 204 {
			t.Errorf("delete: %d %s", r.Status, r.Body)
		}
		if _, err := ev.db.Webhooks.WebhookTarget(t.Context(), created.ID); !errors.Is(err, tasktrack.ErrNotFound) {
			t.Errorf("after delete: %v", err)
		}
	})
}

// An endpoint turned off after a day of failures raises a
// webhook_disabled alert that admins see and managers do not.
func TestWebhookDisabledAlert(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		ev := newEnv(t, e)
		r := ev.admin.Do("POST", "/api/webhooks/", map[string]any{"url": "http://127.0.0.1:9/down", "events": []string{"*"}})
		id := r.Object(t)["id"].(string)
		for i := 1; i <= 10; i++ {
			if err := ev.db.Webhooks.RecordWebhookAttempt(t.Context(), tasktrack.WebhookAttemptRecord{WebhookID: id,
				DeliveryID: "0193c2d4-5e6f-7a81-9b2c-3d4e5f607182", EventType: tasktrack.EventPing, Attempt: i,
				Error: "connection refused"}); err != nil {
				t.Fatal(err)
			}
			ev.clock.Add(3 * time.Hour)
		}
		// A day later: sign in again.
		ev.admin = ev.login("admin", adminPassword)
		boss := ev.newUser("boss", "manager")
		hook := ev.admin.Do("GET", "/api/webhooks/"+id+"/", nil).Object(t)
		if hook["is_active"] != false || hook["disabled_reason"] != "Every delivery failed for 24 hours; the last error: connection refused" {
			t.Fatalf("endpoint %v", hook)
		}
		tests := []struct {
			who  *client
			path string
			want string
		}{
			{ev.admin, "/api/alerts/", `"kind":"webhook_disabled"`},
			{ev.admin, "/api/alerts/?kind=webhook_disabled", `"webhook":{"id":"` + id + `","url":"http://127.0.0.1:9/down"}`},
			{boss, "/api/alerts/", "[]\n"},
			{boss, "/api/alerts/?kind=webhook_disabled", "[]\n"},
		}
		for _, tt := range tests {
			r := tt.who.Do("GET", tt.path, nil)
			if r.Status != 200 || !strings.Contains(r.String(), tt.want) {
				t.Errorf("GET %s: %d %s; want %s", tt.path, r.Status, r.Body, tt.want)
			}
		}
		if r := ev.admin.Do("GET", "/api/alerts/", nil); strings.Contains(r.String(), `"user"`) {
			t.Errorf("a webhook alert with a user: %s", r.Body)
		}
	})
}
