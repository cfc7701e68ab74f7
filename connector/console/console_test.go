package console

import (
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"path"
	"regexp"
	"strings"
	"testing"
)

func serve(t *testing.T, path string) *http.Response {
	t.Helper()
	mux := http.NewServeMux()
	Register(mux)
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec.Result()
}

// Every answer carries the security headers; the page has no inline
// script or style, and loads only files the console embeds.
func TestPageAndAssetsAreServedWithTheirPolicy(t *testing.T) {
	resp := serve(t, "/console/")
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /console/: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	for k, v := range SecurityHeaders {
		if got := resp.Header.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	csp := resp.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("the policy %q lacks %s", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") || strings.Contains(csp, "http") {
		t.Errorf("the policy %q allows inline code or another origin", csp)
	}
	page, _ := io.ReadAll(resp.Body)
	if regexp.MustCompile(`<script(?:[^>]*)>\s*[^<\s]`).Match(page) || strings.Contains(string(page), "<style") ||
		regexp.MustCompile(`\son[a-z]+=`).Match(page) || strings.Contains(string(page), "style=") {
		t.Errorf("the page has inline script or style:\n%s", page)
	}

	// Every file the page or a module refers to is embedded and served
	// with its type.
	refs := regexp.MustCompile(`(?:href|src)="assets/([^"]+)"|from '\./([^']+)'`)
	seen := map[string]bool{}
	queue := []string{string(page)}
	for len(queue) > 0 {
		text := queue[0]
		queue = queue[1:]
		for _, m := range refs.FindAllStringSubmatch(text, -1) {
			name := m[1] + m[2]
			if seen[name] {
				continue
			}
			seen[name] = true
			r := serve(t, "/console/assets/"+name)
			body, _ := io.ReadAll(r.Body)
			if r.StatusCode != http.StatusOK {
				t.Errorf("%s: %d", name, r.StatusCode)
				continue
			}
			want := map[string]string{".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}[path.Ext(name)]
			if want == "" {
				t.Errorf("%s: a file of a type the console does not serve", name)
			}
			if !strings.HasPrefix(r.Header.Get("Content-Type"), want) || r.Header.Get("Content-Security-Policy") == "" {
				t.Errorf("%s: Content-Type %q, policy %q", name, r.Header.Get("Content-Type"), r.Header.Get("Content-Security-Policy"))
			}
			queue = append(queue, string(body))
		}
	}
	files, _ := fs.Glob(static, "static/*")
	for _, f := range files {
		name := strings.TrimPrefix(f, "static/")
		if name != "index.html" && !seen[name] {
			t.Errorf("%s is embedded but nothing loads it", name)
		}
	}
	for _, js := range files {
		b, _ := fs.ReadFile(static, js)
		if strings.Contains(string(b), "innerHTML") || strings.Contains(string(b), "localStorage") || strings.Contains(string(b), "eval(") {
			t.Errorf("%s writes HTML from text, keeps data beyond the session, or evaluates code", js)
		}
	}

	if r := serve(t, "/console"); r.StatusCode != http.StatusMovedPermanently || r.Header.Get("Location") != "/console/" {
		t.Errorf("GET /console: %d to %q", r.StatusCode, r.Header.Get("Location"))
	}
	if r := serve(t, "/console/assets/missing.js"); r.StatusCode != http.StatusNotFound {
		t.Errorf("a missing file: %d", r.StatusCode)
	}
}
