package sqlstore_test

import (
	"testing"
	"time"

	"tasktrack"
	. "tasktrack/sqlstore/sqlstoretest"
)

// One task created through the service: its transaction, audit entry and
// the counters its triggers keep. With the dashboard's per-user tallies
// this measures what they add to every write.
func BenchmarkCreateTask(b *testing.B) {
	benchEngines(b, 10_000, func(b *testing.B, s *benchSet) {
		ctx := As(s.manager)
		in := tasktrack.TaskCreate{Title: "Bench", Deadline: t0.Add(48 * time.Hour), AssignedTo: s.caller.ID}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.db.CreateTask(ctx, in); err != nil {
				b.Fatal(err)
			}
		}
	})
}
