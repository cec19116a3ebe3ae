package djangoimport

import (
	"testing"
	"time"
)

func TestParseTime(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Time
	}{
		{"2025-06-10 14:31:52", time.Date(2025, 6, 10, 14, 31, 52, 0, time.UTC)},
		{"2025-06-10 14:39:13.777294", time.Date(2025, 6, 10, 14, 39, 13, 777294000, time.UTC)},
		{"2025-06-10 14:39:13.777294+00:00", time.Date(2025, 6, 10, 14, 39, 13, 777294000, time.UTC)},
		{"2025-06-10T14:39:13.5Z", time.Date(2025, 6, 10, 14, 39, 13, 500000000, time.UTC)},
		{"2025-06-10 16:39:13+02:00", time.Date(2025, 6, 10, 14, 39, 13, 0, time.UTC)},
		{"2025-06-10 14:39:13.1234567", time.Date(2025, 6, 10, 14, 39, 13, 123456000, time.UTC)},
		{"2025-06-10", time.Date(2025, 6, 10, 0, 0, 0, 0, time.UTC)},
	} {
		got, err := parseTime(tc.in)
		if err != nil || !got.Equal(tc.want) || got.Location() != time.UTC {
			t.Errorf("parseTime(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "yesterday", "10/06/2025 14:31"} {
		if got, err := parseTime(bad); err == nil {
			t.Errorf("parseTime(%q) = %v, want an error", bad, got)
		}
	}
}

func TestDashedUUID(t *testing.T) {
	for in, want := range map[string]string{
		"182b40f8086d4873add9c018fc95ada7":     "182b40f8-086d-4873-add9-c018fc95ada7",
		"182B40F8086D4873ADD9C018FC95ADA7":     "182b40f8-086d-4873-add9-c018fc95ada7",
		"182b40f8-086d-4873-add9-c018fc95ada7": "182b40f8-086d-4873-add9-c018fc95ada7",
		"182b40f8086d4873add9c018fc95ada":      "",
		"zz2b40f8086d4873add9c018fc95ada7":     "",
	} {
		got, ok := dashedUUID(in)
		if got != want || ok != (want != "") {
			t.Errorf("dashedUUID(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}
