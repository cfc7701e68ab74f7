// Package console serves the support team's web console at /console: a
// few static files (HTML, CSS, JavaScript modules and an icon) embedded in the
// binary, with no build step and nothing fetched from elsewhere. The
// console calls the connector's own API (connector/api) from the browser
// with the bearer token the user signs in with; it adds no route of its
// own that reads or changes data, so what it shows follows the token's
// role exactly as the API does.
//
// The token is kept in the tab's sessionStorage only (never in a URL, a
// cookie or a log): a cookie-less bearer token makes the API safe from
// cross-site request forgery. Every answer carries a Content-Security-Policy
// that allows only the console's own files (no inline script or style, no
// framing) and the connector's API.
package console

import (
	"embed"
	"io/fs"
	"net/http"
)

//go:embed static
var static embed.FS

// Patterns are the console's routes.
var Patterns = []string{"GET /console", "GET /console/{$}", "GET /console/assets/{file}"}

// Mux is where Register adds the routes (*http.ServeMux is one).
type Mux interface {
	Handle(pattern string, handler http.Handler)
}

// SecurityHeaders are set on every answer of the console.
var SecurityHeaders = map[string]string{
	"Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; " +
		"connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
	"X-Content-Type-Options": "nosniff",
	"X-Frame-Options":        "DENY",
	"Referrer-Policy":        "no-referrer",
	"Cache-Control":          "no-cache",
}

// Register adds the console's routes to mux.
func Register(mux Mux) {
	files, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // the embedded folder is part of the build
	}
	assets := http.StripPrefix("/console/assets/", http.FileServerFS(files))
	mux.Handle(Patterns[0], secured(http.RedirectHandler("/console/", http.StatusMovedPermanently)))
	mux.Handle(Patterns[1], secured(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeFileFS(w, r, files, "index.html")
	})))
	mux.Handle(Patterns[2], secured(assets))
}

func secured(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for k, v := range SecurityHeaders {
			w.Header().Set(k, v)
		}
		h.ServeHTTP(w, r)
	})
}
