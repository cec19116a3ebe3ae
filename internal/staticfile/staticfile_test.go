package staticfile

import (
	"io/fs"
	"net/http"
	"net/http/httptest"
	"strings"
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

// countingFS counts the opens of each file and hides everything of its
// files but Read, Stat and Close, as a tree that cannot seek would.
type countingFS struct {
	fs.FS
	opens map[string]int
}

func (c countingFS) Open(name string) (fs.File, error) {
	f, err := c.FS.Open(name)
	if err != nil {
		return nil, err
	}
	if st, err := f.Stat(); err == nil && !st.IsDir() {
		c.opens[name]++
		return plainFile{f}, nil
	}
	return f, nil
}

type plainFile struct{ f fs.File }

func (p plainFile) Read(b []byte) (int, error) { return p.f.Read(b) }
func (p plainFile) Stat() (fs.FileInfo, error) { return p.f.Stat() }
func (p plainFile) Close() error               { return p.f.Close() }

// TestLoadReadsNothing: Load lists the tree and reads no file, so that
// files nobody asks for cost no memory; a file is read when it is served
// (and hashed for its ETag the first time), even from a tree whose files
// cannot seek.
func TestLoadReadsNothing(t *testing.T) {
	fsys := countingFS{FS: fstest.MapFS{
		"index.html":    {Data: []byte("<!doctype html>")},
		"big/bundle.js": {Data: []byte(strings.Repeat("x", 1<<20))},
	}, opens: map[string]int{}}
	set, err := Load(fsys, map[string]string{".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8"})
	if err != nil {
		t.Fatal(err)
	}
	if len(fsys.opens) != 0 {
		t.Fatalf("Load opened %v", fsys.opens)
	}
	for range 2 {
		rec := httptest.NewRecorder()
		if !set.Serve(rec, httptest.NewRequest("GET", "/index.html", nil), "index.html", "no-cache") {
			t.Fatal("index.html: not served")
		}
		if rec.Code != http.StatusOK || rec.Body.String() != "<!doctype html>" || rec.Header().Get("ETag") == "" {
			t.Fatalf("index.html: %d %q %v", rec.Code, rec.Body, rec.Header())
		}
	}
	// Twice served: opened for its ETag once and for each body.
	if fsys.opens["index.html"] != 3 || fsys.opens["big/bundle.js"] != 0 {
		t.Errorf("opens %v, want index.html 3 times and big/bundle.js never", fsys.opens)
	}
}
