package integration_test

import (
	"archive/tar"
	"bytes"
	"crypto/x509"
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// The image's layout: the only files it may hold, and the folders they
// and the volumes need.
var (
	imageFiles = []string{
		"etc/ssl/certs/ca-certificates.crt",
		"usr/local/bin/connector",
	}
	imageDirs = []string{
		"etc", "etc/connector", "etc/ssl", "etc/ssl/certs", "tmp",
		"usr", "usr/local", "usr/local/bin", "var", "var/lib", "var/lib/connector",
	}
)

// imageConfig is the part of an OCI/Docker image configuration the test
// reads.
type imageConfig struct {
	Config struct {
		User         string
		Env          []string
		Entrypoint   []string
		Cmd          []string
		WorkingDir   string
		Volumes      map[string]struct{}
		ExposedPorts map[string]struct{}
		Labels       map[string]string
	} `json:"config"`
}

// TestImage builds the image with `make image`, as the README says, and
// checks what it holds through its saved archive: only the static binary
// and the CA bundle, a non-root user, the volumes, `serve` as the default
// command and the OCI labels; the binary out of the image runs and prints
// the stamped version. Where this machine can run containers, it also runs
// the image, gets /readyz and stops it with SIGTERM (a drained exit 0).
func TestImage(t *testing.T) {
	root, version, revision := imageTestStamps(t)
	name := "localhost/sfconnector-imagetest"
	ref := buildImage(t, root, "image", name, version)
	dir := t.TempDir()
	cfg, entries, files := saveImage(t, dir, ref)

	// The files: the binary and the CA bundle, nothing else.
	var fileNames, dirNames []string
	for name, hdr := range entries {
		switch hdr.Typeflag {
		case tar.TypeDir:
			dirNames = append(dirNames, name)
		default:
			fileNames = append(fileNames, name)
		}
	}
	slices.Sort(fileNames)
	slices.Sort(dirNames)
	if !slices.Equal(fileNames, imageFiles) {
		t.Errorf("the image holds the files %q; want only %q", fileNames, imageFiles)
	}
	if !slices.Equal(dirNames, imageDirs) {
		t.Errorf("the image holds the folders %q; want %q", dirNames, imageDirs)
	}
	if hdr := entries["var/lib/connector"]; hdr == nil || hdr.Uid == 0 || strconv.Itoa(hdr.Uid) != strings.Split(cfg.Config.User, ":")[0] {
		t.Errorf("/var/lib/connector does not belong to the image's user %q: %+v", cfg.Config.User, hdr)
	}
	if hdr := entries["tmp"]; hdr == nil || hdr.Mode&0o1777 != 0o1777 {
		t.Errorf("/tmp is not world-writable with the sticky bit: %+v", hdr)
	}

	// The CA bundle holds certificates Go can load.
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(files["etc/ssl/certs/ca-certificates.crt"]) {
		t.Error("/etc/ssl/certs/ca-certificates.crt holds no certificate")
	}

	// The binary is static (no ELF interpreter: it runs FROM scratch) and
	// prints the version make image stamped.
	bin := filepath.Join(dir, "connector")
	if err := os.WriteFile(bin, files["usr/local/bin/connector"], 0o755); err != nil {
		t.Fatal(err)
	}
	if interp := elfInterpreter(t, bin); interp != "" {
		t.Errorf("the image's connector is dynamically linked (interpreter %s); build it with CGO_ENABLED=0", interp)
	}
	out := runOut(t, dir, bin, "version")
	if !strings.HasPrefix(out, "connector "+version+"\n") || !strings.Contains(out, "\ncommit: "+revision+"\n") ||
		strings.Contains(out, "built:  unknown") {
		t.Errorf("the image's connector version printed %q; want version %s, commit %s and a build date", out, version, revision)
	}

	// The configuration: non-root, volumes, default command, labels.
	c := cfg.Config
	uid, _, _ := strings.Cut(c.User, ":")
	if n, err := strconv.Atoi(uid); err != nil || n == 0 {
		t.Errorf("the image's user is %q; want a non-root numeric user", c.User)
	}
	if !slices.Equal(c.Entrypoint, []string{"/usr/local/bin/connector"}) || !slices.Equal(c.Cmd, []string{"serve"}) {
		t.Errorf("entrypoint %q, command %q; want the connector with serve", c.Entrypoint, c.Cmd)
	}
	for _, v := range []string{"/etc/connector", "/var/lib/connector"} {
		if _, ok := c.Volumes[v]; !ok {
			t.Errorf("%s is not a volume: %v", v, c.Volumes)
		}
	}
	if _, ok := c.ExposedPorts["8080/tcp"]; !ok {
		t.Errorf("8080/tcp is not exposed: %v", c.ExposedPorts)
	}
	if !slices.Contains(c.Env, "CONNECTOR_CONFIG=/etc/connector/connector.yaml") {
		t.Errorf("CONNECTOR_CONFIG does not point into the configuration volume: %q", c.Env)
	}
	for key, want := range map[string]string{
		"org.opencontainers.image.source":   "https://github.com/chatsync/sfconnector",
		"org.opencontainers.image.version":  version,
		"org.opencontainers.image.revision": revision,
	} {
		if got := c.Labels[key]; got != want {
			t.Errorf("label %s = %q; want %q", key, got, want)
		}
	}

	runImage(t, ref)
}

// imageTestStamps checks that podman is there and returns the repository's
// root, a version to stamp and the commit make image will stamp.
func imageTestStamps(t *testing.T) (root, version, revision string) {
	t.Helper()
	if _, err := exec.LookPath("podman"); err != nil {
		t.Fatal("podman is not installed: the image can not be built or checked. " +
			"make test installs it (bash .ci/podman.sh, from Debian's packages); run that first")
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	version = fmt.Sprintf("0.0.0-imagetest.%d", time.Now().UnixNano())
	revision = strings.TrimSpace(runOut(t, root, "git", "rev-parse", "HEAD"))
	return root, version, revision
}

// buildImage runs `make TARGET VERSION=version IMAGE=name` and returns the
// reference of the image it built (the stand-in's is name-sfstandin); the
// image is removed when the test ends.
func buildImage(t *testing.T, root, target, name, version string) string {
	t.Helper()
	if target == "image-standin" {
		name += "-sfstandin"
	}
	ref := name + ":" + version
	t.Cleanup(func() {
		if out, err := exec.Command("podman", "rmi", "--force", ref, name+":latest").CombinedOutput(); err != nil {
			t.Logf("remove the test image: %v: %s", err, out)
		}
	})
	mk := exec.Command("make", "-C", root, target, "VERSION="+version, "IMAGE="+strings.TrimSuffix(name, "-sfstandin"))
	mk.Env = cleanEnviron()
	if out, err := mk.CombinedOutput(); err != nil {
		t.Fatalf("make %s: %v\n%s", target, err, tail(out, 4000))
	}
	return ref
}

// saveImage saves the image as a docker-archive in dir and reads it.
func saveImage(t *testing.T, dir, ref string) (imageConfig, map[string]*tar.Header, map[string][]byte) {
	t.Helper()
	archive := filepath.Join(dir, "image.tar")
	runOut(t, dir, "podman", "image", "save", "--format", "docker-archive", "-o", archive, ref)
	return readImageArchive(t, archive)
}

// TestStandinImage builds the stand-in's image for compose.yaml with
// `make image-standin` and checks it holds only the static stand-in, runs
// as non-root, and, where containers can run, serves.
func TestStandinImage(t *testing.T) {
	root, version, revision := imageTestStamps(t)
	ref := buildImage(t, root, "image-standin", "localhost/sfconnector-imagetest", version)
	dir := t.TempDir()
	cfg, entries, files := saveImage(t, dir, ref)
	var names []string
	for name, hdr := range entries {
		if hdr.Typeflag != tar.TypeDir {
			names = append(names, name)
		}
	}
	if !slices.Equal(names, []string{"usr/local/bin/sfstandin"}) {
		t.Errorf("the stand-in's image holds the files %q; want only usr/local/bin/sfstandin", names)
	}
	bin := filepath.Join(dir, "sfstandin")
	if err := os.WriteFile(bin, files["usr/local/bin/sfstandin"], 0o755); err != nil {
		t.Fatal(err)
	}
	if interp := elfInterpreter(t, bin); interp != "" {
		t.Errorf("the image's sfstandin is dynamically linked (interpreter %s)", interp)
	}
	c := cfg.Config
	if uid, _, _ := strings.Cut(c.User, ":"); uid == "" || uid == "0" {
		t.Errorf("the stand-in's image runs as %q; want a non-root user", c.User)
	}
	if !slices.Equal(c.Entrypoint, []string{"/usr/local/bin/sfstandin"}) || !slices.Contains(c.Cmd, "0.0.0.0:8443") {
		t.Errorf("entrypoint %q, command %q; want sfstandin listening on 0.0.0.0:8443", c.Entrypoint, c.Cmd)
	}
	if c.Labels["org.opencontainers.image.version"] != version || c.Labels["org.opencontainers.image.revision"] != revision {
		t.Errorf("labels %v; want version %s, revision %s", c.Labels, version, revision)
	}

	addr := freeAddr(t)
	p := newPodman(t)
	name, ok := p.start("--network", "host", ref, "-listen", addr)
	if !ok {
		return
	}
	p.waitOK(name, "http://"+addr+"/__standin/records/Chat_Message__c")
	p.stopDrained(name)
}

// runImage runs the image with a configuration on the host's network, gets
// /readyz and stops it with SIGTERM.
func runImage(t *testing.T, ref string) {
	sf := newOrg(t, "", nil)
	e := newEnv(t, envOptions{Tenants: []tenantSpec{{ID: "acme", Org: sf, Channels: []channelSpec{{ID: "web", Platform: "webchat"}}}}})
	m := e.configMap()
	m["store"] = map[string]any{"driver": "sqlite", "dsn": "/var/lib/connector/connector.db"}
	cfgDir := t.TempDir()
	b, err := yaml.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	// The container's user reads it: the folder and file are world-readable.
	if err := os.Chmod(cfgDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(cfgDir, "connector.yaml"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	p := newPodman(t)
	name, ok := p.start("--network", "host", "--volume", cfgDir+":/etc/connector:ro", ref)
	if !ok {
		return
	}
	p.waitOK(name, e.base()+"/readyz")
	p.stopDrained(name)
}

// podman runs containers. A machine that can not start them (no usable
// cgroups, as in some sandboxes) is reported in the test's log: the
// image's checks through its saved archive do not need one.
type podman struct {
	t       *testing.T
	runtime []string
}

func newPodman(t *testing.T) *podman {
	p := &podman{t: t}
	if _, err := exec.LookPath("runc"); err == nil {
		// crun, podman's default, can not start containers under a
		// hybrid cgroup hierarchy; runc can.
		p.runtime = []string{"--runtime", "runc"}
	}
	return p
}

func (p *podman) run(args ...string) ([]byte, error) {
	return exec.Command("podman", append(slices.Clone(p.runtime), args...)...).CombinedOutput()
}

// start runs a detached container with args (podman run's options, the
// image and its arguments) and returns its name; false when this machine
// can not run containers.
func (p *podman) start(args ...string) (string, bool) {
	name := fmt.Sprintf("sfconnector-imagetest-%d", time.Now().UnixNano())
	out, err := p.run(append([]string{"run", "--detach", "--name", name}, args...)...)
	if err != nil {
		_, _ = p.run("rm", "--force", name)
		p.t.Logf("this machine can not run containers (%v: %s); the image was checked through its saved archive only", err, bytes.TrimSpace(out))
		return "", false
	}
	p.t.Cleanup(func() { _, _ = p.run("rm", "--force", "--volumes", name) })
	return name, true
}

// waitOK polls url until it answers 200.
func (p *podman) waitOK(name, url string) {
	p.t.Helper()
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(startTimeout)
	for {
		resp, err := client.Get(url)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			logs, _ := p.run("logs", name)
			p.t.Fatalf("the container's %s did not answer 200 within %s (last error: %v); its log:\n%s", url, startTimeout, err, tail(logs, 4000))
		}
		time.Sleep(pollEvery)
	}
}

// stopDrained stops the container with SIGTERM and checks it exited 0.
func (p *podman) stopDrained(name string) {
	p.t.Helper()
	if out, err := p.run("stop", "--time", strconv.Itoa(int(stopTimeout.Seconds())), name); err != nil {
		p.t.Fatalf("podman stop: %v: %s", err, out)
	}
	code, err := p.run("inspect", "--format", "{{.State.ExitCode}}", name)
	if err != nil || strings.TrimSpace(string(code)) != "0" {
		logs, _ := p.run("logs", name)
		p.t.Fatalf("the container exited with %q (%v) after SIGTERM; want 0. Its log:\n%s", code, err, tail(logs, 4000))
	}
	p.t.Logf("the container served and exited 0 on SIGTERM")
}

// readImageArchive reads a docker-archive: the image's configuration, and
// its filesystem, the layers applied in order (entries by path without a
// leading slash, and the content of regular files).
func readImageArchive(t *testing.T, archive string) (imageConfig, map[string]*tar.Header, map[string][]byte) {
	t.Helper()
	members := map[string][]byte{}
	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("read %s: %v", archive, err)
		}
		if hdr.Typeflag == tar.TypeReg {
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatalf("read %s: %s: %v", archive, hdr.Name, err)
			}
			members[path.Clean(hdr.Name)] = b
		}
	}
	var manifest []struct {
		Config string
		Layers []string
	}
	if err := json.Unmarshal(members["manifest.json"], &manifest); err != nil || len(manifest) != 1 {
		t.Fatalf("the archive's manifest.json: %v (%d images)", err, len(manifest))
	}
	var cfg imageConfig
	if err := json.Unmarshal(members[manifest[0].Config], &cfg); err != nil {
		t.Fatalf("the image's configuration %s: %v", manifest[0].Config, err)
	}
	entries := map[string]*tar.Header{}
	files := map[string][]byte{}
	for _, layer := range manifest[0].Layers {
		data, ok := members[path.Clean(layer)]
		if !ok {
			t.Fatalf("layer %s is not in the archive", layer)
		}
		lr := tar.NewReader(bytes.NewReader(data))
		for {
			hdr, err := lr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("read layer %s: %v", layer, err)
			}
			name := strings.TrimPrefix(path.Clean("/"+hdr.Name), "/")
			if strings.HasPrefix(path.Base(name), ".wh.") {
				t.Errorf("layer %s removes %s: a FROM scratch image has nothing to remove", layer, name)
				continue
			}
			entries[name] = hdr
			if hdr.Typeflag == tar.TypeReg {
				b, err := io.ReadAll(lr)
				if err != nil {
					t.Fatalf("read layer %s: %s: %v", layer, name, err)
				}
				files[name] = b
			}
		}
	}
	return cfg, entries, files
}

// elfInterpreter returns the ELF interpreter a binary asks for ("" for a
// static binary).
func elfInterpreter(t *testing.T, bin string) string {
	t.Helper()
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatalf("%s is not an ELF binary: %v", bin, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			b, err := io.ReadAll(p.Open())
			if err != nil {
				t.Fatal(err)
			}
			return string(bytes.TrimRight(b, "\x00"))
		}
	}
	return ""
}

// runOut runs a command in dir and returns its standard output; the test
// fails when it fails.
func runOut(t *testing.T, dir, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, tail(stderr.Bytes(), 4000))
	}
	return string(out)
}

// tail returns the last n bytes of b, for error messages.
func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}
