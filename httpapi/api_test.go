package httpapi_test

import (
	"encoding/json"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"tasktrack/httpapi"
	. "tasktrack/sqlstore/sqlstoretest"
)

// Every route the server has is in the OpenAPI document, and the document
// lists no operation the server does not have.
func TestRoutesMatchOpenAPI(t *testing.T) {
	data, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	var documented []string
	for path, ops := range doc.Paths {
		for method := range ops {
			switch method {
			case "get", "put", "post", "patch", "delete":
				documented = append(documented, strings.ToUpper(method)+" "+path)
			}
		}
	}
	served := (&httpapi.Server{}).Routes()
	slices.Sort(documented)
	slices.Sort(served)
	for _, r := range served {
		if !slices.Contains(documented, r) {
			t.Errorf("route %s is served but not in openapi.json", r)
		}
	}
	for _, d := range documented {
		if !slices.Contains(served, d) {
			t.Errorf("openapi.json lists %s, which is not served", d)
		}
	}
}

func TestMainFlow(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		ev := newEnv(t, e)
		boss := ev.newUser("boss", "manager")
		alice := ev.newUser("alice", "user")
		id := boss.newTask(alice, "Write report", 2*time.Hour)

		r := alice.Do("GET", "/api/task/tasks/", nil)
		if r.Status != 200 || r.Header.Get("X-Total-Count") != "1" {
			t.Fatalf("alice's list: %d %s", r.Status, r.Body)
		}
		r = alice.Do("PATCH", "/api/task/tasks/"+id+"/update_status/", map[string]string{"status": "completed", "title": "hacked"})
		if r.Status != 200 {
			t.Fatalf("update_status: %d %s", r.Status, r.Body)
		}
		task := r.Object(t)
		if task["status"] != "completed" || task["completed_at"] == nil || task["title"] != "Write report" {
			t.Fatalf("after update_status: %v", task)
		}
		// Deactivated by an admin: the token dies at once.
		if r := ev.admin.Do("POST", "/api/user/users/"+itoa(alice.user.ID)+"/deactivate/", nil); r.Status != 200 || r.Object(t)["status"] != "User deactivated" {
			t.Fatalf("deactivate: %d %s", r.Status, r.Body)
		}
		r = alice.Do("GET", "/api/task/tasks/", nil)
		if r.Status != 401 || r.Object(t)["code"] != "token_not_valid" || r.Header.Get("WWW-Authenticate") != `Bearer realm="api"` {
			t.Fatalf("deactivated user's token: %d %v %s", r.Status, r.Header, r.Body)
		}
		if r := ev.anon().Do("POST", "/api/token/", map[string]string{"username": "alice", "password": userPassword("alice")}); r.Status != 401 {
			t.Fatalf("deactivated user logs in: %d", r.Status)
		}
		// The manager brings her back.
		if r := boss.Do("POST", "/api/user/users/"+itoa(alice.user.ID)+"/reactivate/", nil); r.Status != 200 || r.Object(t)["status"] != "User reactivated" {
			t.Fatalf("reactivate: %d %s", r.Status, r.Body)
		}
		if r := boss.Do("POST", "/api/user/users/"+itoa(alice.user.ID)+"/reactivate/", nil); r.Status != 400 || r.Object(t)["status"] != "User already active" {
			t.Fatalf("reactivate twice: %d %s", r.Status, r.Body)
		}
		again := ev.login("alice", userPassword("alice"))
		if r := again.Do("GET", "/api/task/tasks/"+id, nil); r.Status != 200 {
			t.Fatalf("after reactivation: %d %s", r.Status, r.Body)
		}
	})
}

func TestErrorShapes(t *testing.T) {
	ev := newEnv(t, SQLite)
	a := ev.admin
	cases := []struct {
		name    string
		method  string
		path    string
		body    any
		headers []string
		status  int
		want    string // a substring of the body
	}{
		{"malformed JSON", "POST", "/api/task/tasks/", `{"title":`, nil, 400, `"detail":"JSON parse error - `},
		{"not an object", "POST", "/api/task/tasks/", `[1,2]`, nil, 400, `"non_field_errors":["Invalid data. Expected a dictionary, but got list."]`},
		{"not JSON", "POST", "/api/task/tasks/", `title=x`, []string{"Content-Type", "application/x-www-form-urlencoded"}, 415, `"detail":"Unsupported media type`},
		{"too large", "POST", "/api/task/tasks/", `{"title":"` + strings.Repeat("a", 1<<20) + `"}`, nil, 413, `"detail"`},
		{"missing fields", "POST", "/api/task/tasks/", `{}`, nil, 400, `"title":["This field is required."]`},
		{"wrong type", "POST", "/api/task/tasks/", `{"title":5,"deadline":"2030-01-01T00:00:00Z","assigned_to":"x"}`, nil, 400, `"assigned_to":["A valid integer is required."]`},
		{"bad method", "DELETE", "/api/task/tasks/", nil, nil, 405, `"detail":"Method \"DELETE\" not allowed."`},
		{"unknown path", "GET", "/api/nothing/", nil, nil, 404, `"detail":"Not found."`},
		{"bad task id", "GET", "/api/task/tasks/not-a-uuid/", nil, nil, 404, `"detail":"Not found."`},
		{"bad ordering", "GET", "/api/task/tasks/?ordering=secret", nil, nil, 400, `"ordering"`},
		{"bad limit", "GET", "/api/task/tasks/?limit=0", nil, nil, 400, `"limit"`},
		{"no credentials", "GET", "/api/user/me/", nil, []string{"Authorization", ""}, 401, `"detail":"Authentication credentials were not provided."`},
		{"garbage token", "GET", "/api/user/me/", nil, []string{"Authorization", "Bearer abc.def.ghi"}, 401, `"code":"token_not_valid"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := a.Do(c.method, c.path, c.body, c.headers...)
			if r.Status != c.status || !strings.Contains(string(r.Body), c.want) {
				t.Fatalf("%d %.300s; want %d with %s", r.Status, r.Body, c.status, c.want)
			}
			if c.status == 405 && r.Header.Get("Allow") == "" {
				t.Error("405 without Allow")
			}
			if c.status == 401 && r.Header.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
		})
	}
	// Same path without the trailing slash, no redirect.
	if r := a.Do("GET", "/api/user/me", nil); r.Status != http.StatusOK {
		t.Fatalf("no trailing slash: %d", r.Status)
	}
	// The caller's request id comes back.
	if r := a.Do("GET", "/api/user/me/", nil, "X-Request-ID", "abc-123"); r.Header.Get("X-Request-ID") != "abc-123" {
		t.Fatalf("request id: %q", r.Header.Get("X-Request-ID"))
	}
}

func itoa(n int64) string { return strconvFormat(n) }
