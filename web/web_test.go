package web

import (
	"bytes"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func get(t *testing.T, h http.Handler, path string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec
}

func TestHandlerServesIndexForPages(t *testing.T) {
	h := Handler()
	index, err := fs.ReadFile(static, "static/index.html")
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/", "/tasks", "/tasks/abc", "/users/7", "/alerts?acknowledged=any", "/index.html"} {
		rec := get(t, h, path)
		if rec.Code != http.StatusOK {
			t.Errorf("GET %s: status %d, want 200", path, rec.Code)
			continue
		}
		if ct := rec.Header().Get("Content-Type"); ct != "text/html; charset=utf-8" {
			t.Errorf("GET %s: Content-Type %q, want text/html; charset=utf-8", path, ct)
		}
		if !bytes.Equal(rec.Body.Bytes(), index) {
			t.Errorf("GET %s: body is not index.html", path)
		}
	}
}

func TestHandlerServesAssets(t *testing.T) {
	h := Handler()
	for path, want := range map[string]string{
		"/app.js":         "text/javascript; charset=utf-8",
		"/views/tasks.js": "text/javascript; charset=utf-8",
		"/style.css":      "text/css; charset=utf-8",
	} {
		rec := get(t, h, path)
		if rec.Code != http.StatusOK {
			t.Errorf("GET %s: status %d, want 200", path, rec.Code)
			continue
		}
		if ct := rec.Header().Get("Content-Type"); ct != want {
			t.Errorf("GET %s: Content-Type %q, want %q", path, ct, want)
		}
		if rec.Header().Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET %s: no X-Content-Type-Options: nosniff", path)
		}
		if strings.Contains(rec.Body.String(), "<!doctype html>") {
			t.Errorf("GET %s: answered the HTML page", path)
		}
	}
}

func TestHandlerRefusesMissingAssetsAndWrites(t *testing.T) {
	h := Handler()
	if rec := get(t, h, "/missing.js"); rec.Code != http.StatusNotFound {
		t.Errorf("GET /missing.js: status %d, want 404", rec.Code)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/tasks", strings.NewReader("{}")))
	if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != "GET, HEAD" {
		t.Errorf("POST /tasks: status %d Allow %q, want 405 and GET, HEAD", rec.Code, rec.Header().Get("Allow"))
	}
}

func TestHandlerRevalidatesWithETag(t *testing.T) {
	h := Handler()
	first := get(t, h, "/app.js")
	etag := first.Header().Get("ETag")
	if etag == "" {
		t.Fatal("GET /app.js: no ETag")
	}
	req := httptest.NewRequest(http.MethodGet, "/app.js", nil)
	req.Header.Set("If-None-Match", etag)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusNotModified {
		t.Errorf("GET /app.js with If-None-Match: status %d, want 304", rec.Code)
	}
}

// The page runs under a strict Content-Security-Policy and renders data as
// text only: nothing may load from another host, parse markup from strings,
// or evaluate code. Tokens stay out of Web Storage: localStorage holds only
// the hint that a session exists (HINT_KEY in api.js), and sessionStorage
// nothing.
func TestStaticFilesStayWithinPolicy(t *testing.T) {
	external := regexp.MustCompile(`https?://`)
	forbidden := []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function", "sessionStorage"}
	storage := regexp.MustCompile(`localStorage`)
	hint := regexp.MustCompile(`localStorage\.(?:getItem|removeItem)\(HINT_KEY\)|localStorage\.setItem\(HINT_KEY, '1'\)`)
	inline := regexp.MustCompile(`<script(?:\s[^>]*)?>\s*[^<\s]|\sstyle=|\son[a-z]+=`)
	count := 0
	err := fs.WalkDir(static, "static", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		count++
		b, err := fs.ReadFile(static, path)
		if err != nil {
			return err
		}
		text := string(b)
		// The SVG namespace is a name that DOM calls take, never fetched.
		refs := strings.ReplaceAll(text, "'http://www.w3.org/2000/svg'", "")
		if loc := external.FindStringIndex(refs); loc != nil {
			t.Errorf("%s: refers to another host: %q", path, refs[loc[0]:min(len(refs), loc[1]+30)])
		}
		for _, s := range forbidden {
			if strings.Contains(text, s) {
				t.Errorf("%s: contains %q", path, s)
			}
		}
		if n, ok := len(storage.FindAllStringIndex(text, -1)), len(hint.FindAllStringIndex(text, -1)); n != ok || (n > 0 && path != "static/api.js") {
			t.Errorf("%s: uses localStorage %d times, %d of them for the session hint in api.js", path, n, ok)
		}
		if strings.HasSuffix(path, ".html") && inline.MatchString(text) {
			t.Errorf("%s: has an inline script, style attribute or event handler", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if count < 5 {
		t.Errorf("found %d files under static/, want the whole UI", count)
	}
}
