package ui

import (
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	passkeyd "github.com/passkeyd/passkeyd"
)

// Body limits. A connector form may carry a certificate chain, a key and
// a PKCS #12 file.
const (
	maxFormBytes      = 64 << 10
	maxMultipartBytes = 512 << 10
	maxUploadBytes    = 128 << 10
)

// parseForm reads a urlencoded body of at most limit bytes.
func parseForm(w http.ResponseWriter, r *http.Request, limit int64) error {
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	if err := r.ParseForm(); err != nil {
		return formError(err, limit)
	}
	return nil
}

// parseMultipart reads a multipart (or urlencoded) body of at most limit
// bytes, all in memory.
func parseMultipart(w http.ResponseWriter, r *http.Request, limit int64) error {
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
		if err := r.ParseForm(); err != nil {
			return formError(err, limit)
		}
		return nil
	}
	if err := r.ParseMultipartForm(limit); err != nil {
		return formError(err, limit)
	}
	return nil
}

func formError(err error, limit int64) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return passkeyd.WrapError(passkeyd.ETooLarge, err, "the form is larger than %d KiB", limit>>10)
	}
	return passkeyd.WrapError(passkeyd.EInvalid, err, "the form could not be read")
}

// form reads validated fields of a parsed form, collecting every problem.
type form struct {
	r  *http.Request
	fe passkeyd.FieldErrors
}

// str returns a trimmed printable field of at most max characters.
func (f *form) str(name string, max int) string {
	s := strings.TrimSpace(f.r.FormValue(name))
	if len([]rune(s)) > max || !passkeyd.Printable(s) {
		f.fe.Add(name, "must be at most "+itoa(max)+" printable characters")
		return ""
	}
	return s
}

// text returns a multi-line field of at most max bytes (PEM text).
func (f *form) text(name string, max int) string {
	s := strings.TrimSpace(f.r.FormValue(name))
	if len(s) > max {
		f.fe.Add(name, "must be at most "+itoa(max>>10)+" KiB")
		return ""
	}
	return s
}

// checked reports whether a checkbox is ticked.
func (f *form) checked(name string) bool { return f.r.FormValue(name) != "" }

// oneOf returns an optional field that must be one of allowed.
func (f *form) oneOf(name string, allowed ...string) string {
	s := strings.TrimSpace(f.r.FormValue(name))
	if s == "" {
		return ""
	}
	for _, a := range allowed {
		if s == a {
			return s
		}
	}
	f.fe.Add(name, "must be one of "+strings.Join(allowed, ", "))
	return ""
}

// int returns an integer field within [min, max]; def when empty.
func (f *form) int(name string, min, max, def int64) int64 {
	s := strings.TrimSpace(f.r.FormValue(name))
	if s == "" {
		return def
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < min || n > max {
		f.fe.Add(name, "must be a whole number from "+strconv.FormatInt(min, 10)+" to "+strconv.FormatInt(max, 10))
		return def
	}
	return n
}

// id returns an optional GUID field.
func (f *form) id(name string) string {
	s := strings.TrimSpace(f.r.FormValue(name))
	if s != "" && !passkeyd.IsGUID(s) {
		f.fe.Add(name, "must be a GUID")
		return ""
	}
	return s
}

// file returns the content of an uploaded file field, "" when none.
func (f *form) file(name string) []byte {
	if f.r.MultipartForm == nil {
		return nil
	}
	fhs := f.r.MultipartForm.File[name]
	if len(fhs) == 0 || fhs[0].Size == 0 {
		return nil
	}
	if len(fhs) > 1 || fhs[0].Size > maxUploadBytes {
		f.fe.Add(name, "must be one file of at most "+itoa(maxUploadBytes>>10)+" KiB")
		return nil
	}
	b, err := readUpload(fhs[0])
	if err != nil {
		f.fe.Add(name, "could not be read")
		return nil
	}
	return b
}

func readUpload(fh *multipart.FileHeader) ([]byte, error) {
	fl, err := fh.Open()
	if err != nil {
		return nil, err
	}
	defer fl.Close()
	return io.ReadAll(io.LimitReader(fl, maxUploadBytes+1))
}

// err returns the collected problems as one EInvalid error, or nil.
func (f *form) err(what string) error { return f.fe.Err(what) }

// pathID returns the {id} path value, which must be a GUID.
func pathID(r *http.Request) (string, error) {
	id := r.PathValue("id")
	if !passkeyd.IsGUID(id) {
		return "", passkeyd.Errorf(passkeyd.ENotFound, "no such object: the ID in the address must be a GUID")
	}
	return id, nil
}

// backTo returns the form's "back" field when it is a path of this UI,
// else def: never a redirect to another site.
func backTo(r *http.Request, def string) string {
	b := r.PostFormValue("back")
	if b == "" || len(b) > 512 || !strings.HasPrefix(b, Prefix) || strings.Contains(b, "//") || strings.ContainsAny(b, "\\\r\n") {
		return def
	}
	u, err := url.Parse(b)
	if err != nil || u.Scheme != "" || u.Host != "" {
		return def
	}
	return b
}

func itoa(n int) string { return strconv.Itoa(n) }
