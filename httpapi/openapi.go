package httpapi

import (
	"embed"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
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

// docsHandler serves docsFiles under /api/docs/, with index.html at both
// /api/docs/ and /api/docs. Files in a subfolder belong to a versioned
// release whose folder name changes with every update, so browsers may keep
// them for a year; the page and its initialiser are revalidated every time.
func docsHandler() http.Handler {
	contentTypes := map[string]string{
		".html": "text/html; charset=utf-8",
		".js":   "text/javascript; charset=utf-8",
		".css":  "text/css; charset=utf-8",
		".txt":  "text/plain; charset=utf-8",
		"":      "text/plain; charset=utf-8", // LICENSE, NOTICE
	}
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
		contentType, known := contentTypes[path.Ext(name)]
		if !fs.ValidPath(name) || !known {
			writeError(w, http.StatusNotFound, "Not found.")
			return
		}
		f, err := docsFiles.Open("docs/" + name)
		if err != nil {
			writeError(w, http.StatusNotFound, "Not found.")
			return
		}
		defer f.Close()
		// Files of an embed.FS are io.ReadSeekers; folders are not.
		content, isFile := f.(io.ReadSeeker)
		if !isFile {
			writeError(w, http.StatusNotFound, "Not found.")
			return
		}
		h := w.Header()
		h.Set("Content-Type", contentType)
		h.Set("X-Content-Type-Options", "nosniff")
		if strings.Contains(name, "/") {
			h.Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			h.Set("Cache-Control", "no-cache")
		}
		http.ServeContent(w, r, name, time.Time{}, content)
	})
}
