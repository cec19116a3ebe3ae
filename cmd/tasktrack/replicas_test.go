package main

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"tasktrack/sqlstore/sqlstoretest"
)

// Three replicas over one PostgreSQL database, started at the same moment
// and each sweeping every second: the first admin and the JWT secret are
// made once and shared, every task is marked missed once with exactly one
// alert, a deactivation raises one alert, an event stream on one replica
// carries every alert, a user deactivated through one replica is locked
// out of the others at once, and the service goes on with one replica
// stopped.
func TestReplicasOnPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three servers")
	}
	dsn := sqlstoretest.DSN(t, sqlstoretest.Postgres)
	flags := []string{"--sweep-interval", "1s", "--missed-threshold", "3"}
	replicas := make([]*server, 3)
	for i := range replicas {
		replicas[i] = launchServeIn(t, "", dsn, adminEnv, flags...)
	}
	for _, r := range replicas {
		r.waitReady()
	}
	admin := replicas[0].login(t, "admin", adminPassword)
	// One admin, bootstrapped once; a token from one replica works on all.
	users := admin.Want("GET", "/api/user/users/", nil, http.StatusOK)
	if users.Header.Get("X-Total-Count") != "1" {
		t.Fatalf("after three replicas started: %s users", users.Header.Get("X-Total-Count"))
	}
	for _, r := range replicas[1:] {
		r.client(t, admin.Access).Want("GET", "/api/user/me/", nil, http.StatusOK)
	}

	admin.CreateUser("boss", "manager", "boss@example.com")
	uid := admin.CreateUser("una", "user", "una@example.com")
	vid := admin.CreateUser("vic", "user", "vic@example.com")
	boss := replicas[1].login(t, "boss", userPassword("boss"))
	una := replicas[2].login(t, "una", userPassword("una"))
	vic := replicas[1].login(t, "vic", userPassword("vic"))
	stream := replicas[2].client(t, boss.Access).OpenEvents(alertStreamPath, "")

	// Tasks created through every replica, due in a few seconds.
	due := time.Now().Add(3 * time.Second)
	var late []string
	for i, r := range replicas {
		c := r.client(t, boss.Access)
		late = append(late, c.CreateTask(uid, "una late "+strconv.Itoa(i), due))
	}
	late = append(late, boss.CreateTask(vid, "vic late", due))
	boss.CreateTask(vid, "vic later", time.Now().Add(time.Hour))

	waitFor(t, 20*time.Second, "all four tasks missed", func() bool {
		r := boss.Do("GET", "/api/task/tasks/missed/", nil)
		return r.Status == http.StatusOK && r.Header.Get("X-Total-Count") == "4"
	})
	// una missed three: deactivated by whichever replica swept, once.
	waitFor(t, 10*time.Second, "una deactivated", func() bool {
		r := una.Do("GET", "/api/user/me/", nil)
		return r.Status == http.StatusUnauthorized
	})
	var alerts []struct {
		ID   string
		Kind string
		Task *struct{ ID string }
		User struct{ ID int64 }
	}
	boss.Want("GET", "/api/alerts/?limit=1000", nil, http.StatusOK).Decode(t, &alerts)
	perTask := map[string]int{}
	deactivations := 0
	for _, a := range alerts {
		switch a.Kind {
		case "task_missed":
			perTask[a.Task.ID]++
		case "user_deactivated":
			deactivations++
			if a.User.ID != uid {
				t.Errorf("deactivation alert for user %d, want una (%d)", a.User.ID, uid)
			}
		}
	}
	for _, id := range late {
		if perTask[id] != 1 {
			t.Errorf("task %s has %d task_missed alerts, want 1", id, perTask[id])
		}
	}
	if len(perTask) != 4 || deactivations != 1 || len(alerts) != 5 {
		t.Fatalf("alerts: %d tasks alerted, %d deactivations, %d in all; want 4, 1, 5", len(perTask), deactivations, len(alerts))
	}
	var audit []struct {
		TargetID string `json:"target_id"`
	}
	admin.Want("GET", "/api/audit/?action=task.missed&limit=1000", nil, http.StatusOK).Decode(t, &audit)
	if len(audit) != 4 {
		t.Errorf("%d task.missed audit entries, want 4", len(audit))
	}

	// The stream on replica 2 carries all five, whichever replica swept.
	seen := map[string]bool{}
	for len(seen) < 5 {
		ev := stream.Next(t, 10*time.Second)
		if ev.Type != "alert" || ev.ID == "" {
			t.Fatalf("stream event %+v", ev)
		}
		if seen[ev.ID] {
			t.Fatalf("alert %s streamed twice", ev.ID)
		}
		seen[ev.ID] = true
	}
	for _, a := range alerts {
		if !seen[a.ID] {
			t.Errorf("alert %s (%s) not streamed", a.ID, a.Kind)
		}
	}

	// Deactivated through replica 0: vic's token from replica 1 fails on
	// replica 2 at once.
	admin.Want("POST", "/api/user/users/"+strconv.FormatInt(vid, 10)+"/deactivate/", nil, http.StatusOK)
	r := replicas[2].client(t, vic.Access).Do("GET", "/api/task/tasks/", nil)
	if r.Status != http.StatusUnauthorized || r.Object(t)["code"] != "token_not_valid" {
		t.Fatalf("deactivated user's token on another replica: %d %s", r.Status, r.Body)
	}

	// One replica stops; the others go on, and keep sweeping.
	replicas[0].stop()
	c1 := replicas[1].client(t, boss.Access)
	admin.URL = replicas[2].url
	wid := admin.CreateUser("wes", "user", "wes@example.com")
	soon := c1.CreateTask(wid, "after the stop", time.Now().Add(2*time.Second))
	waitFor(t, 15*time.Second, "task missed after a replica stopped", func() bool {
		var task struct{ Status string }
		c1.Want("GET", "/api/task/tasks/"+soon+"/", nil, http.StatusOK).Decode(t, &task)
		return task.Status == "missed"
	})
	ev := stream.Next(t, 10*time.Second)
	if ev.Type != "alert" || seen[ev.ID] {
		t.Fatalf("after the stop the stream sent %+v", ev)
	}
}
