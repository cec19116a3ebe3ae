package tasktrack

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"testing"
	"time"
)

// encodingJSON is the reference: encoding/json, HTML escaping off, as the
// API's writeJSON sets it, without the Encoder's newline.
func encodingJSON(t testing.TB, v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

func checkTaskJSON(t testing.TB, j *TaskJSON) {
	if got, want := j.AppendJSON(nil), encodingJSON(t, j); !bytes.Equal(got, want) {
		t.Fatalf("AppendJSON\n got %s\nwant %s", got, want)
	}
}

var awkward = []string{"", "plain", `quote " and \ backslash`, "<b>&amp;</b>", "tab\tnew\nline\rcr\bbs\fff",
	"\x00\x01\x1f\x7f", "héllo wörld ✓ 日本", "line\u2028para\u2029end", "bad \xff\xfe utf8 \xc3", "emoji 🎉", "\u00a0nbsp"}

func TestTaskJSONAppendMatchesEncodingJSON(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	pick := func() string { return awkward[rng.IntN(len(awkward))] }
	at := time.Date(2026, 11, 29, 21, 57, 3, 123456789, time.FixedZone("X", 3600))
	for i := range 2000 {
		id := int64(rng.IntN(1 << 40))
		task := &Task{ID: pick(), Title: pick(), Description: pick(), Deadline: at.Add(time.Duration(i) * time.Hour),
			Status: Status(pick()), AssignedTo: int64(i) - 1000, AssignedToUsername: pick(), CreatedAt: at, UpdatedAt: at.Add(time.Microsecond)}
		if i%2 == 0 {
			task.CreatedBy = &id
		}
		if i%3 == 0 {
			c := at.Add(-time.Duration(i) * time.Minute)
			task.CompletedAt = &c
		}
		if i%5 == 0 {
			m := time.Unix(0, 0)
			task.MissedAt = &m
		}
		checkTaskJSON(t, ToTaskJSON(task))
	}
}

func FuzzTaskJSONAppend(f *testing.F) {
	for _, s := range awkward {
		f.Add(s, s, int64(7))
	}
	f.Fuzz(func(t *testing.T, title, description string, assignee int64) {
		at := time.Unix(assignee%(1<<33), assignee%1e9)
		checkTaskJSON(t, ToTaskJSON(&Task{ID: "0193", Title: title, Description: description, Deadline: at,
			Status: StatusPending, AssignedTo: assignee, AssignedToUsername: description, CreatedAt: at, UpdatedAt: at}))
	})
}

// The contract's time, digit by digit, is AppendFormat's: over the years
// 0-9999 at every kind of fraction, and beyond them (AppendFormat's way).
func TestAppendContractTime(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	zone := time.FixedZone("east", 5*3600+30*60)
	check := func(at time.Time) {
		t.Helper()
		if got, want := appendContractTime(nil, at), at.UTC().AppendFormat(nil, contractTime); !bytes.Equal(got, want) {
			t.Fatalf("%v: got %s, want %s", at, got, want)
		}
	}
	for _, at := range []time.Time{{}, time.Unix(0, 0), time.Unix(0, 999), time.Unix(-1, 0),
		time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC), time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(-1, 6, 1, 0, 0, 0, 0, time.UTC), time.Date(0, 1, 1, 0, 0, 0, 0, zone), time.Date(7, 2, 3, 4, 5, 6, 7000, zone)} {
		check(at)
	}
	for range 100000 {
		check(time.Unix(rng.Int64N(400000000000)-62135596800-1000, rng.Int64N(1e9)).In(zone))
	}
}
