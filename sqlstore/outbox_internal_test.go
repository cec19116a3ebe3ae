package sqlstore

import (
	"database/sql/driver"
	"encoding/json"
	"math"
	"testing"
)

// TestJSONBuildObjectAsEncodingJSON: SQLite's json_build_object writes
// the text encoding/json makes of the map of its pairs, byte for byte:
// payloads written by the sweep read the same as those written one by
// one with json.Marshal, escapes, key order and repeated keys included.
func TestJSONBuildObjectAsEncodingJSON(t *testing.T) {
	values := []driver.Value{
		nil, int64(0), int64(-42), int64(math.MaxInt64), int64(math.MinInt64),
		1.5, 1e21, 1e-7, math.Copysign(0, -1), 3.0,
		"", "plain words", `quote " and \ backslash`, "<b>&amp;</b>", "line\nbreak\ttab\r\b\f\x01\x1f",
		"del \x7f", "é ü 日本", "\u2028 \u2029", "bad \xff utf-8", []byte("a blob"), []byte("<blob>\x00"),
	}
	keys := []string{"task_title", "a", "Z", "name", "<k>", "é", "", "task_id"}
	var cases [][]driver.Value
	for i, v := range values {
		cases = append(cases, []driver.Value{keys[i%len(keys)], v, "kind", "task_missed"})
	}
	cases = append(cases,
		[]driver.Value{},
		[]driver.Value{"b", int64(1), "a", int64(2), "b", int64(3)}, // the last of equal keys
		[]driver.Value{"x", "first", "x", nil},
		values2pairs(keys, values),
	)
	for _, args := range cases {
		got, err := jsonBuildObject(nil, args)
		if err != nil {
			t.Fatalf("%q: %v", args, err)
		}
		m := map[string]any{}
		for i := 0; i < len(args); i += 2 {
			v := args[i+1]
			if b, ok := v.([]byte); ok {
				v = string(b)
			}
			m[args[i].(string)] = v
		}
		want, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		if got != string(want) {
			t.Errorf("json_build_object(%q)\n got %s\nwant %s", args, got, want)
		}
	}
	if _, err := jsonBuildObject(nil, []driver.Value{"x", math.NaN()}); err == nil {
		t.Error("NaN: no error")
	}
	if _, err := jsonBuildObject(nil, []driver.Value{int64(1), "x"}); err == nil {
		t.Error("a number as key: no error")
	}
	if _, err := jsonBuildObject(nil, []driver.Value{"x"}); err == nil {
		t.Error("an odd number of arguments: no error")
	}
}

func values2pairs(keys []string, values []driver.Value) []driver.Value {
	var out []driver.Value
	for i, v := range values {
		out = append(out, keys[(i*3)%len(keys)], v)
	}
	return out
}
