// Package staticfile serves files embedded in the binary, for the web UI
// and the API's docs page alike: each with a content type fixed by its
// extension, so that it does not depend on the host's mime tables (a
// module script served with a wrong type is refused by the browser), and
// with an ETag of its content, so that a revalidation costs a 304 and no
// body.
//
// The files are read where they lie, in the binary's read-only data, and
// each is hashed for its ETag when it is first asked for, not at start:
// a server that is never asked for its docs page (1.9 MB of Swagger UI)
// neither copies it into the Go heap, where it would stay live and the
// collector would let the heap grow by as much again, nor touches its
// pages of the executable, which would then count in the resident set.
package staticfile

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"
)

// Set is the files of one tree.
type Set struct {
	fsys  fs.FS
	files map[string]*file
	types map[string]string
}

type file struct {
	contentType string
	etag        func() string // computed once, at the first request
}

// Load lists every file of fsys; it reads none of them. types maps a
// lowercase extension (with its dot; "" for none) to a content type; the
// host's mime tables answer the others.
func Load(fsys fs.FS, types map[string]string) (*Set, error) {
	s := &Set{fsys: fsys, files: map[string]*file{}, types: types}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		s.files[p] = &file{contentType: s.typeOf(p), etag: sync.OnceValue(func() string { return s.etagOf(p) })}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// etagOf hashes the file p; "" when it cannot be read (Serve then fails
// the same way and answers 500).
func (s *Set) etagOf(p string) string {
	f, err := s.fsys.Open(p)
	if err != nil {
		return ""
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return ""
	}
	return `"` + hex.EncodeToString(h.Sum(nil)[:8]) + `"`
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
	body, err := s.open(name)
	if err != nil {
		http.Error(w, "Internal server error.", http.StatusInternalServerError)
		return true
	}
	defer body.Close()
	h := w.Header()
	h.Set("Content-Type", f.contentType)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", cacheControl)
	if etag := f.etag(); etag != "" {
		h.Set("ETag", etag)
	}
	http.ServeContent(w, r, "", time.Time{}, body)
	return true
}

// readSeekCloser is what ServeContent reads a body from.
type readSeekCloser interface {
	io.ReadSeeker
	io.Closer
}

// open opens name for reading and seeking: an embedded file can do both
// in place; a file of another tree that cannot seek is read whole.
func (s *Set) open(name string) (readSeekCloser, error) {
	f, err := s.fsys.Open(name)
	if err != nil {
		return nil, err
	}
	if rs, ok := f.(readSeekCloser); ok {
		return rs, nil
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		return nil, err
	}
	return nopCloser{bytes.NewReader(b)}, nil
}

type nopCloser struct{ *bytes.Reader }

func (nopCloser) Close() error { return nil }

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
