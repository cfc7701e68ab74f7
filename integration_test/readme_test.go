package integration_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chatsync/sfconnector/sfclient/standin"
)

// readmeSetup is the first block of the README's "Try it by hand": the
// test does what it says (the connector binary this package built, the
// stand-in as cmd/sfstandin runs with no flags), so it must read exactly
// so.
const readmeSetup = `go build -o bin/ ./cmd/connector ./cmd/sfstandin
bin/sfstandin &                                  # the stand-in, on 127.0.0.1:8443
bin/connector serve -config connector.dev.yaml   # the connector, on 127.0.0.1:8080`

// The addresses and the store of connector.dev.yaml, which the README's
// blocks use too. The test moves them to free ports and a temporary
// folder, replacing these strings.
const (
	devConnectorAddr = "127.0.0.1:8080"
	devStandinAddr   = "127.0.0.1:8443"
	devStore         = "connector-data/dev.db"
)

// fence is one fenced block of a Markdown text.
type fence struct {
	lang, text string
	line       int
}

var fenceRe = regexp.MustCompile("(?ms)^```([a-z]*)\n(.*?)^```\n")

// fences returns the fenced blocks of md, in order.
func fences(md string) []fence {
	var out []fence
	for _, m := range fenceRe.FindAllStringSubmatchIndex(md, -1) {
		out = append(out, fence{lang: md[m[2]:m[3]], text: md[m[4]:m[5]], line: strings.Count(md[:m[0]], "\n") + 1})
	}
	return out
}

// readmeSection returns the text of the README's "## title" section and
// the line it starts on.
func readmeSection(t *testing.T, title string) (string, int) {
	t.Helper()
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	md := string(b)
	start := strings.Index(md, "\n## "+title+"\n")
	if start < 0 {
		t.Fatalf("README.md has no section %q", title)
	}
	rest := md[start+1:]
	if end := strings.Index(rest[1:], "\n## "); end >= 0 {
		rest = rest[:end+2]
	}
	return rest, strings.Count(md[:start+1], "\n")
}

// TestReadmeTryItByHand runs the README's "Try it by hand" as a reader
// would: connector.dev.yaml with `connector serve` and the stand-in, then
// every shell block in order, in one bash session, in a folder holding
// bin/connector; the text block after a shell block is what it must print
// (a shell block without one must print nothing). A changed route, flag,
// answer or configuration key breaks this test, not the reader.
func TestReadmeTryItByHand(t *testing.T) {
	for _, tool := range []string{"bash", "curl", "jq"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("the README's examples need %s: %v", tool, err)
		}
	}
	section, first := readmeSection(t, "Try it by hand")
	blocks := fences(section)
	if len(blocks) == 0 || blocks[0].lang != "sh" || strings.TrimSpace(blocks[0].text) != readmeSetup {
		t.Fatalf("the first block of \"Try it by hand\" must read, as the test runs it:\n%s", readmeSetup)
	}

	// Free ports for the connector and the stand-in, a folder for the
	// store, and the README's strings moved to them.
	e := newEnv(t, envOptions{})
	sfAddr := freeAddr(t)
	dir := t.TempDir()
	subst := strings.NewReplacer(devConnectorAddr, e.addr, devStandinAddr, sfAddr, devStore, e.dbPath)
	dev, err := os.ReadFile("../connector.dev.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{devConnectorAddr, devStandinAddr, devStore} {
		if !strings.Contains(string(dev), s) {
			t.Fatalf("connector.dev.yaml does not hold %q, which the README and this test rely on", s)
		}
	}
	if err := os.WriteFile(e.cfgPath, []byte(subst.Replace(string(dev))), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "connector.dev.yaml"), []byte(subst.Replace(string(dev))), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(connectorBin, filepath.Join(dir, "bin", "connector")); err != nil {
		t.Fatal(err)
	}

	// The stand-in as `sfstandin` runs with no flags, and the connector.
	ln, err := net.Listen("tcp", sfAddr)
	if err != nil {
		t.Fatalf("listen for the stand-in: %v", err)
	}
	sf := standin.New(standin.Options{})
	srv := &http.Server{Handler: sf, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln) //nolint:errcheck // ends with Close
	t.Cleanup(func() { _ = srv.Close() })
	if err := e.launch(); err != nil {
		t.Fatalf("connector serve -config connector.dev.yaml: %v", err)
	}

	// The shell blocks, each followed by a marker line, and what each
	// must print.
	type step struct {
		line       int
		want, code string
	}
	var steps []step
	var script strings.Builder
	script.WriteString("set -eo pipefail\n")
	for i := 1; i < len(blocks); i++ {
		b := blocks[i]
		if b.lang != "sh" {
			t.Fatalf("README.md line %d: a %q block follows no shell block", first+b.line, b.lang)
		}
		st := step{line: first + b.line, code: b.text}
		if i+1 < len(blocks) && blocks[i+1].lang == "text" {
			st.want = blocks[i+1].text
			i++
		}
		steps = append(steps, st)
		fmt.Fprintf(&script, "%s\nprintf '\\n@@@ end of block %d\\n'\n", subst.Replace(b.text), len(steps)-1)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*waitTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-c", script.String())
	cmd.Dir = dir
	cmd.Env = append(cleanEnviron(), "NO_COLOR=1")
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("run bash: %v", err)
	}

	// Compare, block by block, with the ports put back as the README has
	// them.
	back := strings.NewReplacer(e.addr, devConnectorAddr, sfAddr, devStandinAddr, e.dbPath, devStore)
	parts := strings.Split(back.Replace(string(out)), "\n@@@ end of block ")
	for i, st := range steps {
		if i >= len(parts) {
			t.Fatalf("README.md line %d: the block did not finish (bash: %v); output so far:\n%s", st.line, err, back.Replace(string(out)))
		}
		got := parts[i]
		if i > 0 {
			got = got[strings.Index(got, "\n")+1:] // the marker's number
		}
		if normalise(got) != normalise(st.want) {
			t.Errorf("README.md line %d:\n%s\nprinted:\n%s\nthe README shows:\n%s", st.line, st.code, normalise(got), normalise(st.want))
		}
	}
	if err != nil {
		t.Errorf("bash: %v", err)
	}
}

// normalise trims trailing white space of every line and blank lines at
// both ends.
func normalise(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " \t\r")
	}
	return strings.Trim(strings.Join(lines, "\n"), "\n")
}

// TestReadmeStaysInTheRepository: the README links only to the web, to
// its own sections and to files of the repository, and names no path
// outside it.
func TestReadmeStaysInTheRepository(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	md := string(b)
	if m := regexp.MustCompile(`(^|[^.])\.\./`).FindStringIndex(md); m != nil {
		t.Errorf("README.md line %d names a path outside the repository", strings.Count(md[:m[0]], "\n")+1)
	}
	for _, m := range regexp.MustCompile(`\]\(([^)]+)\)`).FindAllStringSubmatch(md, -1) {
		target := m[1]
		if strings.HasPrefix(target, "http://") || strings.HasPrefix(target, "https://") || strings.HasPrefix(target, "#") {
			continue
		}
		target, _, _ = strings.Cut(target, "#")
		if _, err := os.Stat(filepath.Join("..", filepath.FromSlash(target))); err != nil {
			t.Errorf("README.md links to %q, which is not a file of the repository: %v", m[1], err)
		}
	}
}
