// Package staticfile serves files embedded in the binary, for the web UI
// and the API's docs page alike: from memory, each with a content type
// fixed by its extension, so that it does not depend on the host's mime
// tables (a module script served with a wrong type is refused by the
// browser), and with an ETag of its content, so that a revalidation costs
// a 304 and no body.
package staticfile

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"
)

// Set is the files of one tree.
type Set struct {
	files map[string]file
	types map[string]string
}

type file struct {
	body        []byte
	contentType string
	etag        string
}

// Load reads every file of fsys. types maps a lowercase extension (with
// its dot; "" for none) to a content type; the host's mime tables answer
// the others.
func Load(fsys fs.FS, types map[string]string) (*Set, error) {
	s := &Set{files: map[string]file{}, types: types}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		s.files[p] = file{body: body, contentType: s.typeOf(p), etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Known reports whether name's extension is one of the types Load was
// given.
func (s *Set) Known(name string) bool {
	_, ok := s.types[strings.ToLower(path.Ext(name))]
	return ok
}

// Serve answers the file name (a path in the tree, without a leading
// slash) with cacheControl, and with 304 when the
// caller's copy is current; it reports false, having written nothing,
// when there is no such file.
func (s *Set) Serve(w http.ResponseWriter, r *http.Request, name, cacheControl string) bool {
	f, ok := s.files[name]
	if !ok {
		return false
	}
	h := w.Header()
	h.Set("Content-Type", f.contentType)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", cacheControl)
	h.Set("ETag", f.etag)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(f.body))
	return true
}

func (s *Set) typeOf(name string) string {
	ext := strings.ToLower(path.Ext(name))
	if t, ok := s.types[ext]; ok {
		return t
	}
	if t := mime.TypeByExtension(ext); t != "" {
		return t
	}
	return "application/octet-stream"
}
