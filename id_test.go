package tasktrack

import "testing"

func TestValidID(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{"0193a5f2-7c4e-7b1a-8f3d-2e6c9a1b4d5f", true},
		{"0193A5F2-7C4E-7B1A-8F3D-2E6C9A1B4D5F", true},
		{"", false},
		{"0193a5f27c4e7b1a8f3d2e6c9a1b4d5f", false},
		{"{0193a5f2-7c4e-7b1a-8f3d-2e6c9a1b4d5f}", false},
		{"urn:uuid:0193a5f2-7c4e-7b1a-8f3d-2e6c9a1b", false},
		{"0193a5f2-7c4e-7b1a-8f3d_2e6c9a1b4d5f", false},
		{"0193a5f2-7c4e-7b1a-8f3d-2e6c9a1b4d5g", false},
		{"0193a5f2+7c4e-7b1a-8f3d-2e6c9a1b4d5f", false},
	} {
		if got := ValidID(tc.in); got != tc.want {
			t.Errorf("ValidID(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}
