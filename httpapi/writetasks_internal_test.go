package httpapi

import (
	"net/http/httptest"
	"testing"

	"tasktrack"
)

// A page of tasks written without reflection is the page writeJSON writes,
// headers and bytes.
func TestWriteTasksMatchesWriteJSON(t *testing.T) {
	for _, n := range []int{0, 1, 20, 100} {
		page := mapSlice(benchTasks(n), tasktrack.ToTaskJSON)
		fast, slow := httptest.NewRecorder(), httptest.NewRecorder()
		writeTasks(fast, page)
		writeJSON(slow, 200, page)
		if fast.Body.String() != slow.Body.String() {
			t.Fatalf("%d tasks:\n got %s\nwant %s", n, fast.Body, slow.Body)
		}
		for _, h := range []string{"Content-Type", "Content-Length"} {
			if fast.Header().Get(h) != slow.Header().Get(h) {
				t.Errorf("%d tasks: %s %q, want %q", n, h, fast.Header().Get(h), slow.Header().Get(h))
			}
		}
	}
}
