// Package web holds the embedded browser UI: plain HTML, CSS and JavaScript
// modules under static/, served without a build step. Every path that is not
// a file under static/ answers index.html, so the client-side router can serve
// deep links such as /tasks or /users/7.
package web

import (
	"embed"
	"io/fs"
	"net/http"
	"path"

	"tasktrack/internal/staticfile"
)

//go:embed static
var static embed.FS

// contentTypes fixes the types of the files we ship (see staticfile).
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

// Handler serves the UI: static assets, and index.html for every other non-API path (client-side routing).
// A path whose last segment names a missing file of a known asset type
// (/missing.js) answers 404 rather than the page, so a broken reference fails
// loudly instead of being parsed as HTML.
func Handler() http.Handler {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // the embed directive guarantees the directory exists
	}
	if _, err := fs.Stat(sub, "index.html"); err != nil {
		panic("web: static/index.html is missing")
	}
	files, err := staticfile.Load(sub, contentTypes)
	if err != nil {
		panic(err) // reading an embedded file cannot fail
	}

	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "Method not allowed.", http.StatusMethodNotAllowed)
			return
		}
		// Modules are loaded by plain names with no content hash, so the
		// browser must revalidate each time; the ETag keeps that cheap.
		const cacheControl = "no-cache"
		p := path.Clean("/" + r.URL.Path)
		if files.Serve(w, r, p[1:], cacheControl) {
			return
		}
		if files.Known(p) {
			http.NotFound(w, r)
			return
		}
		files.Serve(w, r, "index.html", cacheControl)
	})
}
