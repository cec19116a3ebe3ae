package httpapi

import (
	"embed"
	"encoding/json"
	"io/fs"
	"net/http"
	"strings"
	"sync"

	"tasktrack/internal/staticfile"
)

// openAPIDocument is the OpenAPI 3.1 description of the API, served at
// /api/schema/.
//
//go:embed openapi.json
var openAPIDocument []byte

// docsFiles holds the interactive docs page: index.html and init.js at the
// top, and the Swagger UI release in a folder named after its version
// (scripts/update-docs-assets.sh fetches it).
//
//go:embed docs
var docsFiles embed.FS

// docsTypes are the types of the files the docs page is made of; any
// other name answers 404.
var docsTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".txt":  "text/plain; charset=utf-8",
	"":      "text/plain; charset=utf-8", // LICENSE, NOTICE
}

// docsSet is docsFiles in memory, read once for every server.
var docsSet = sync.OnceValue(func() *staticfile.Set {
	sub, err := fs.Sub(docsFiles, "docs")
	if err != nil {
		panic(err) // the embed directive guarantees the directory exists
	}
	set, err := staticfile.Load(sub, docsTypes)
	if err != nil {
		panic(err) // reading an embedded file cannot fail
	}
	return set
})

// docsHandler serves docsFiles under /api/docs/, with index.html at both
// /api/docs/ and /api/docs. Files in a subfolder belong to a versioned
// release whose folder name changes with every update, so browsers may keep
// them for a year; the page and its initialiser are revalidated every time.
func docsHandler() http.Handler {
	files := docsSet()
	writeError := func(w http.ResponseWriter, status int, detail string) {
		body, _ := json.Marshal(map[string]string{"detail": detail})
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(status)
		w.Write(append(body, '\n'))
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			writeError(w, http.StatusMethodNotAllowed, `Method "`+r.Method+`" not allowed.`)
			return
		}
		name, ok := strings.CutPrefix(r.URL.Path, "/api/docs")
		if !ok || (name != "" && !strings.HasPrefix(name, "/")) {
			writeError(w, http.StatusNotFound, "Not found.")
			return
		}
		name = strings.TrimPrefix(name, "/")
		if name == "" {
			name = "index.html"
		}
		cacheControl := "no-cache"
		if strings.Contains(name, "/") {
			cacheControl = "public, max-age=31536000, immutable"
		}
		if !files.Known(name) || !files.Serve(w, r, name, cacheControl) {
			writeError(w, http.StatusNotFound, "Not found.")
		}
	})
}
