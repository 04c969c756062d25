package ui

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	passkeyd "github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/server/api"
)

//go:embed templates/*.html static/style.css
var assets embed.FS

// view is what every page template receives: the layout's needs (title,
// signed-in admin, navigation) and the page's own Data.
type view struct {
	Title string
	// Nav is the navigation entry to highlight.
	Nav    string
	Admin  *passkeyd.AdminUser
	Now    time.Time
	Flash  string
	Error  string
	Fields passkeyd.FieldErrors
	Data   any

	perms map[string][]passkeyd.Role
}

// Can reports whether the signed-in admin may use the route pattern, so
// that pages offer only the buttons that will work. The route itself
// still checks: hiding a button is a courtesy, not access control.
func (v *view) Can(pattern string) bool {
	return v.Admin != nil && slices.Contains(v.perms[pattern], v.Admin.Role)
}

// FieldError returns the problem with field, if any.
func (v *view) FieldError(field string) string {
	for _, f := range v.Fields {
		if f.Field == field {
			return f.Message
		}
	}
	return ""
}

// passkeyTable is the argument of the shared passkey table template.
type passkeyTable struct {
	Passkeys  []passkeyd.Passkey
	Back      string
	CanRevoke bool
}

// templateFuncs are the helpers the templates use.
func templateFuncs() template.FuncMap {
	return template.FuncMap{
		"datetime": func(t any) string {
			switch t := t.(type) {
			case time.Time:
				if t.IsZero() {
					return "—"
				}
				return t.UTC().Format("2006-01-02 15:04 UTC")
			case *time.Time:
				if t == nil || t.IsZero() {
					return "—"
				}
				return t.UTC().Format("2006-01-02 15:04 UTC")
			}
			return "—"
		},
		"date": func(t *time.Time) string {
			if t == nil || t.IsZero() {
				return ""
			}
			return t.UTC().Format("2006-01-02")
		},
		// badge names the CSS class of a state or status.
		"badge": func(s any) string {
			switch strings.ToLower(fmt.Sprint(s)) {
			case "active", "ok", "success", "completed", "done", "true", "optional", "required":
				return "badge ok"
			case "revoking", "registering", "warning", "unknown", "options_issued":
				return "badge warn"
			case "revoke_failed", "failed", "failure", "missing", "false":
				return "badge bad"
			}
			return "badge"
		},
		// pkTable bundles the arguments of the shared passkeyTable.
		"pkTable": func(pks []passkeyd.Passkey, back string, canRevoke bool) passkeyTable {
			return passkeyTable{Passkeys: pks, Back: back, CanRevoke: canRevoke}
		},
		"short": func(id string) string {
			if len(id) > 8 {
				return id[:8]
			}
			return id
		},
	}
}

// parsePages parses each page template together with the layout.
func parsePages() (map[string]*template.Template, error) {
	names, err := fs.Glob(assets, "templates/*.html")
	if err != nil {
		return nil, err
	}
	pages := make(map[string]*template.Template, len(names))
	for _, n := range names {
		base := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if base == "layout" {
			continue
		}
		t, err := template.New(base).Funcs(templateFuncs()).ParseFS(assets, "templates/layout.html", n)
		if err != nil {
			return nil, err
		}
		pages[base] = t
	}
	return pages, nil
}

// render executes the page into a buffer first, so that a template error
// becomes a clean 500 rather than half a page.
func (u *UI) render(w http.ResponseWriter, r *http.Request, status int, page string, v *view) {
	t, ok := u.pages[page]
	if !ok {
		u.log.ErrorContext(r.Context(), "ui: no such template", "page", page)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	if v.perms == nil {
		v.perms = u.perms
	}
	v.Now = u.now()
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", v); err != nil {
		u.log.ErrorContext(r.Context(), "ui: rendering failed", "page", page, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// defaultRetryAfter is shown with a 429 whose cause does not say how long
// to wait.
const defaultRetryAfter = 60 * time.Second

// retryAfterer is implemented by errors that know when to retry.
type retryAfterer interface {
	RetryAfter() time.Duration
}

// errorData is the Data of the error page.
type errorData struct {
	Status     int
	StatusText string
	RetryAfter int
}

// renderError answers err as an error page. Only an error's safe message
// is shown; internal errors are logged with their cause.
func (u *UI) renderError(w http.ResponseWriter, r *http.Request, v *view, err error) {
	code := passkeyd.ErrorCodeOf(err)
	status := api.StatusOf(code)
	msg := passkeyd.ErrorMessage(err)
	switch {
	case code == passkeyd.EInternal:
		msg = "internal error"
		u.log.ErrorContext(r.Context(), "ui: internal error", "path", r.URL.Path, "err", err)
	case status >= 500:
		u.log.WarnContext(r.Context(), "ui: request failed", "path", r.URL.Path, "code", string(code), "err", err)
	}
	d := errorData{Status: status, StatusText: http.StatusText(status)}
	if code == passkeyd.ERateLimited {
		d.RetryAfter = retryAfterSeconds(err)
		w.Header().Set("Retry-After", strconv.Itoa(d.RetryAfter))
	}
	if v == nil {
		v = &view{}
	}
	v.Title, v.Error, v.Fields, v.Data = d.StatusText, msg, passkeyd.ErrorFields(err), d
	u.render(w, r, status, "error", v)
}

// retryAfterSeconds is how long the cause of a 429 says to wait.
func retryAfterSeconds(err error) int {
	d := defaultRetryAfter
	var ra retryAfterer
	if errors.As(err, &ra) && ra.RetryAfter() > 0 {
		d = ra.RetryAfter()
	}
	return int(math.Ceil(d.Seconds()))
}

// serveCSS serves the one stylesheet.
func serveCSS(w http.ResponseWriter, r *http.Request) {
	b, err := assets.ReadFile("static/style.css")
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	// The stylesheet holds nothing secret; let browsers keep it a while.
	w.Header().Set("Cache-Control", "public, max-age=3600")
	_, _ = w.Write(b)
}
