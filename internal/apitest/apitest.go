// Package apitest is the HTTP side of the API tests, shared by httpapi's
// tests (a server in the test process, wired by app.New) and the binary's
// (a `tasktrack serve` process): how a request is built and sent, and its
// answer read. Each keeps its own client around it, for what differs: the
// server it talks to, and whether a failure stops the test.
package apitest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
)

// Response is one answer, read whole.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// NewRequest builds a request to url with body: nil for none, a string or
// []byte sent as it is (so that a test can send what no encoder would),
// anything else as JSON. Any body is labelled application/json. The body's
// bytes are returned too, for the checks that read it again.
func NewRequest(method, url string, body any) (*http.Request, []byte, error) {
	var raw []byte
	switch b := body.(type) {
	case nil:
	case []byte:
		raw = b
	case string:
		raw = []byte(b)
	default:
		var err error
		if raw, err = json.Marshal(b); err != nil {
			return nil, nil, err
		}
	}
	req, err := http.NewRequest(method, url, bytes.NewReader(raw))
	if err != nil {
		return nil, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req, raw, nil
}

// Send sends req through hc with token as its bearer token (none when
// empty) and the header pairs, name then value (an empty value removes the
// header), and reads the whole answer.
func Send(hc *http.Client, req *http.Request, token string, headers ...string) (*Response, error) {
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] == "" {
			req.Header.Del(headers[i])
		} else {
			req.Header.Set(headers[i], headers[i+1])
		}
	}
	res, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	out, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, err
	}
	return &Response{Status: res.StatusCode, Header: res.Header, Body: out}, nil
}
