package staticfile

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"testing/fstest"
)

func TestServe(t *testing.T) {
	set, err := Load(fstest.MapFS{
		"index.html":     {Data: []byte("<!doctype html>")},
		"lib/app.js":     {Data: []byte("export {}")},
		"LICENSE":        {Data: []byte("terms")},
		"pic.unknownext": {Data: []byte("?")},
	}, map[string]string{".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", "": "text/plain; charset=utf-8"})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, contentType, body string
	}{
		{"index.html", "text/html; charset=utf-8", "<!doctype html>"},
		{"lib/app.js", "text/javascript; charset=utf-8", "export {}"},
		{"LICENSE", "text/plain; charset=utf-8", "terms"},
		{"pic.unknownext", "application/octet-stream", "?"},
	}
	for _, c := range cases {
		rec := httptest.NewRecorder()
		if !set.Serve(rec, httptest.NewRequest("GET", "/"+c.name, nil), c.name, "no-cache") {
			t.Fatalf("%s: not served", c.name)
		}
		h := rec.Header()
		if rec.Code != http.StatusOK || rec.Body.String() != c.body || h.Get("Content-Type") != c.contentType ||
			h.Get("Cache-Control") != "no-cache" || h.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: %d %q %v", c.name, rec.Code, rec.Body, h)
		}
		etag := h.Get("ETag")
		if etag == "" {
			t.Fatalf("%s: no ETag", c.name)
		}
		req := httptest.NewRequest("GET", "/"+c.name, nil)
		req.Header.Set("If-None-Match", etag)
		rec = httptest.NewRecorder()
		set.Serve(rec, req, c.name, "no-cache")
		if rec.Code != http.StatusNotModified || rec.Body.Len() != 0 {
			t.Errorf("%s revalidated: %d %q, want 304 and no body", c.name, rec.Code, rec.Body)
		}
	}
	for _, name := range []string{"missing.html", "lib", ""} {
		rec := httptest.NewRecorder()
		if set.Serve(rec, httptest.NewRequest("GET", "/"+name, nil), name, "no-cache") || rec.Code != http.StatusOK || len(rec.Header()) != 0 {
			t.Errorf("%q: served, or wrote %d %v", name, rec.Code, rec.Header())
		}
	}
	for name, want := range map[string]bool{"a.html": true, "A.JS": true, "NOTICE": true, "x.map": false} {
		if got := set.Known(name); got != want {
			t.Errorf("Known(%q) = %v, want %v", name, got, want)
		}
	}
}
