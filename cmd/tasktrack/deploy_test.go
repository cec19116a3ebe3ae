package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The examples in deploy/ are accepted by the programs that read them:
// systemd-analyze verify for the unit (with the test's binary standing in
// for /usr/local/bin/tasktrack), haproxy -c, and Patroni's validator (with
// this machine's loopback standing in for the node's listen addresses,
// and passwords in the environment, as the file asks). A tool that is not
// installed skips its case, except systemd-analyze under CI=true and the
// cluster's tools with TASKTRACK_TEST_HA=1, where they must be there.
func TestDeployExamples(t *testing.T) {
	read := func(t *testing.T, name string) string {
		b, err := os.ReadFile(filepath.Join("..", "..", "deploy", name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	ha := os.Getenv("TASKTRACK_TEST_HA") == "1"
	cases := []struct {
		name     string
		tool     string
		required bool
		// prepare writes the file to check into dir and returns the
		// tool's arguments and extra environment.
		prepare func(t *testing.T, dir string) (args, env []string)
	}{
		{"tasktrack.service", "systemd-analyze", os.Getenv("CI") == "true", func(t *testing.T, dir string) ([]string, []string) {
			unit := read(t, "tasktrack.service")
			if !strings.Contains(unit, "ExecStart=/usr/local/bin/tasktrack serve\n") {
				t.Fatal("the unit does not start /usr/local/bin/tasktrack serve")
			}
			unit = strings.Replace(unit, "ExecStart=/usr/local/bin/tasktrack", "ExecStart="+binary(t), 1)
			path := filepath.Join(dir, "tasktrack.service")
			if err := os.WriteFile(path, []byte(unit), 0o644); err != nil {
				t.Fatal(err)
			}
			return []string{"verify", "--man=no", path}, nil
		}},
		{"haproxy.cfg", "haproxy", ha, func(t *testing.T, dir string) ([]string, []string) {
			return []string{"-c", "-f", filepath.Join("..", "..", "deploy", "haproxy.cfg")}, nil
		}},
		{"patroni.yml", "patroni", ha, func(t *testing.T, dir string) ([]string, []string) {
			conf := read(t, "patroni.yml")
			for _, l := range []string{"listen: 10.0.0.11:8008", "listen: 10.0.0.11:5432"} {
				if !strings.Contains(conf, l) {
					t.Fatalf("patroni.yml has no %q", l)
				}
				conf = strings.Replace(conf, l, "listen: "+freeAddr(t), 1)
			}
			path := filepath.Join(dir, "patroni.yml")
			if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
				t.Fatal(err)
			}
			return []string{"--validate-config", path}, []string{
				"PATRONI_RESTAPI_PASSWORD=test", "PATRONI_SUPERUSER_PASSWORD=test",
				"PATRONI_REPLICATION_PASSWORD=test", "PATRONI_REWIND_PASSWORD=test",
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tool, err := exec.LookPath(c.tool)
			if err != nil {
				if c.required {
					t.Fatalf("%s is not installed", c.tool)
				}
				t.Skipf("%s is not installed", c.tool)
			}
			args, env := c.prepare(t, t.TempDir())
			cmd := exec.Command(tool, args...)
			cmd.Env = append(os.Environ(), env...)
			out, err := cmd.CombinedOutput()
			// Warnings do not change the exit code of systemd-analyze:
			// a clean file is one it says nothing about.
			if err != nil || (c.tool == "systemd-analyze" && len(out) > 0) {
				t.Fatalf("%s %s: %v\n%s", c.tool, strings.Join(args, " "), err, out)
			}
		})
	}
}
