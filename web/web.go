// Package web holds the embedded browser UI: plain HTML, CSS and JavaScript
// modules under static/, served without a build step. Every path that is not
// a file under static/ answers index.html, so the client-side router can serve
// deep links such as /tasks or /users/7.
package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed static
var static embed.FS

// contentTypes fixes the types of the files we ship, so they do not depend on
// the host's mime tables (a module script served with a wrong type is refused
// by the browser).
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".svg":  "image/svg+xml",
	".json": "application/json",
	".txt":  "text/plain; charset=utf-8",
	".png":  "image/png",
	".ico":  "image/x-icon",
}

type asset struct {
	body        []byte
	contentType string
	etag        string
}

// Handler serves the UI: static assets, and index.html for every other non-API path (client-side routing).
// A path whose last segment names a missing file of a known asset type
// (/missing.js) answers 404 rather than the page, so a broken reference fails
// loudly instead of being parsed as HTML.
func Handler() http.Handler {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // the embed directive guarantees the directory exists
	}
	assets := map[string]asset{}
	err = fs.WalkDir(sub, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(sub, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		assets["/"+p] = asset{
			body:        body,
			contentType: typeOf(p),
			etag:        `"` + hex.EncodeToString(sum[:8]) + `"`,
		}
		return nil
	})
	if err != nil {
		panic(err) // reading an embedded file cannot fail
	}
	index, ok := assets["/index.html"]
	if !ok {
		panic("web: static/index.html is missing")
	}

	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "Method not allowed.", http.StatusMethodNotAllowed)
			return
		}
		p := path.Clean("/" + r.URL.Path)
		a, ok := assets[p]
		if !ok {
			if _, known := contentTypes[strings.ToLower(path.Ext(p))]; known {
				http.NotFound(w, r)
				return
			}
			a = index
		}
		h := w.Header()
		h.Set("Content-Type", a.contentType)
		h.Set("X-Content-Type-Options", "nosniff")
		// Modules are loaded by plain names with no content hash, so the
		// browser must revalidate each time; the ETag keeps that cheap.
		h.Set("Cache-Control", "no-cache")
		h.Set("ETag", a.etag)
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.body))
	})
}

func typeOf(name string) string {
	ext := strings.ToLower(path.Ext(name))
	if t, ok := contentTypes[ext]; ok {
		return t
	}
	if t := mime.TypeByExtension(ext); t != "" {
		return t
	}
	return "application/octet-stream"
}
