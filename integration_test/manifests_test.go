package integration_test

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/chatsync/sfconnector/config"
)

// The deployment files, relative to the repository's root.
const (
	containerfilePath = "deploy/image/Containerfile"
	kubernetesDir     = "deploy/kubernetes"
	composePath       = "deploy/compose.yaml"
)

// k8sObject is the part of a Kubernetes object the manifests' test reads.
// yaml.v3 matches lower-cased field names, hence the tags.
type k8sObject struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   struct {
		Name string `yaml:"name"`
	} `yaml:"metadata"`
	Data       map[string]string `yaml:"data"`
	StringData map[string]string `yaml:"stringData"`
	Spec       struct {
		Replicas *int `yaml:"replicas"`
		Strategy struct {
			Type string `yaml:"type"`
		} `yaml:"strategy"`
		// A Deployment's and a PodDisruptionBudget's selector has
		// matchLabels; a Service's is the labels themselves.
		Selector       labelSelector `yaml:"selector"`
		MinAvailable   *int          `yaml:"minAvailable"`
		MaxUnavailable *int          `yaml:"maxUnavailable"`
		Template       struct {
			Metadata struct {
				Labels map[string]string `yaml:"labels"`
			} `yaml:"metadata"`
			Spec podSpec `yaml:"spec"`
		} `yaml:"template"`
		// A Service's.
		Ports []struct {
			Name       string `yaml:"name"`
			Port       int    `yaml:"port"`
			TargetPort string `yaml:"targetPort"`
		} `yaml:"ports"`
	} `yaml:"spec"`
}

// labelSelector is a selector's labels, from matchLabels or from the
// selector itself (a Service's).
type labelSelector map[string]string

func (s *labelSelector) UnmarshalYAML(n *yaml.Node) error {
	var withMatch struct {
		MatchLabels map[string]string `yaml:"matchLabels"`
	}
	if err := n.Decode(&withMatch); err == nil && withMatch.MatchLabels != nil {
		*s = withMatch.MatchLabels
		return nil
	}
	var plain map[string]string
	if err := n.Decode(&plain); err != nil {
		return err
	}
	*s = plain
	return nil
}

type podSpec struct {
	TerminationGracePeriodSeconds *int            `yaml:"terminationGracePeriodSeconds"`
	SecurityContext               securityContext `yaml:"securityContext"`
	InitContainers                []k8sContainer  `yaml:"initContainers"`
	Containers                    []k8sContainer  `yaml:"containers"`
	Volumes                       []k8sVolume     `yaml:"volumes"`
}

type k8sVolume struct {
	Name      string `yaml:"name"`
	ConfigMap *struct {
		Name string `yaml:"name"`
	} `yaml:"configMap"`
	Secret *struct {
		SecretName string `yaml:"secretName"`
	} `yaml:"secret"`
	PersistentVolumeClaim *struct {
		ClaimName string `yaml:"claimName"`
	} `yaml:"persistentVolumeClaim"`
	EmptyDir *struct{} `yaml:"emptyDir"`
}

type volumeMount struct {
	Name      string `yaml:"name"`
	MountPath string `yaml:"mountPath"`
	ReadOnly  bool   `yaml:"readOnly"`
}

type securityContext struct {
	RunAsUser    *int  `yaml:"runAsUser"`
	RunAsGroup   *int  `yaml:"runAsGroup"`
	RunAsNonRoot *bool `yaml:"runAsNonRoot"`
	FSGroup      *int  `yaml:"fsGroup"`
}

type k8sContainer struct {
	Name  string   `yaml:"name"`
	Image string   `yaml:"image"`
	Args  []string `yaml:"args"`
	Env   []struct {
		Name  string `yaml:"name"`
		Value string `yaml:"value"`
	} `yaml:"env"`
	Ports []struct {
		Name          string `yaml:"name"`
		ContainerPort int    `yaml:"containerPort"`
	} `yaml:"ports"`
	StartupProbe   *k8sProbe `yaml:"startupProbe"`
	LivenessProbe  *k8sProbe `yaml:"livenessProbe"`
	ReadinessProbe *k8sProbe `yaml:"readinessProbe"`
	Resources      struct {
		Requests map[string]string `yaml:"requests"`
		Limits   map[string]string `yaml:"limits"`
	} `yaml:"resources"`
	SecurityContext securityContext `yaml:"securityContext"`
	VolumeMounts    []volumeMount   `yaml:"volumeMounts"`
}

type k8sProbe struct {
	HTTPGet *struct {
		Path string `yaml:"path"`
		Port string `yaml:"port"`
	} `yaml:"httpGet"`
}

// imageFacts is what the Containerfile sets that the manifests rely on.
type imageFacts struct {
	UID, GID   int
	ConfigPath string // CONNECTOR_CONFIG
	Volumes    []string
	Entrypoint string
}

// readContainerfile reads the user, the CONNECTOR_CONFIG default, the
// volumes and the entrypoint of the connector's Containerfile.
func readContainerfile(t *testing.T, root string) imageFacts {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, containerfilePath))
	if err != nil {
		t.Fatal(err)
	}
	var f imageFacts
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		instr, rest, _ := strings.Cut(strings.TrimSpace(sc.Text()), " ")
		switch instr {
		case "USER":
			u, g, _ := strings.Cut(rest, ":")
			f.UID, _ = strconv.Atoi(u)
			f.GID, _ = strconv.Atoi(g)
		case "ENV":
			if v, ok := strings.CutPrefix(rest, "CONNECTOR_CONFIG="); ok {
				f.ConfigPath = v
			}
		case "VOLUME":
			if err := json.Unmarshal([]byte(rest), &f.Volumes); err != nil {
				t.Fatalf("%s: VOLUME %s: %v", containerfilePath, rest, err)
			}
		case "ENTRYPOINT":
			var ep []string
			if err := json.Unmarshal([]byte(rest), &ep); err != nil || len(ep) != 1 {
				t.Fatalf("%s: ENTRYPOINT %s: %v", containerfilePath, rest, err)
			}
			f.Entrypoint = ep[0]
		}
	}
	if f.UID == 0 || f.ConfigPath == "" || len(f.Volumes) == 0 || f.Entrypoint == "" {
		t.Fatalf("%s: no non-root USER, CONNECTOR_CONFIG, VOLUME or ENTRYPOINT: %+v", containerfilePath, f)
	}
	return f
}

// readManifests decodes every document of a multi-document YAML file.
func readManifests(t *testing.T, file string) []k8sObject {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var objs []k8sObject
	dec := yaml.NewDecoder(bytes.NewReader(b))
	for {
		var o k8sObject
		err := dec.Decode(&o)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: document %d: %v", file, len(objs)+1, err)
		}
		if o.Kind == "" || o.APIVersion == "" || o.Metadata.Name == "" {
			t.Fatalf("%s: document %d has no kind, apiVersion or name", file, len(objs)+1)
		}
		objs = append(objs, o)
	}
	return objs
}

// TestKubernetesManifests checks every manifest under deploy/kubernetes
// against what the connector really reads: each connector container's
// configuration is the ConfigMap's, loaded and validated by the config
// package with the keys of its Secret (in the folder's files) as the files
// its {file: ...} secrets name; the listen port is the container's port
// and the probes'; the store's file is on a writable volume; the drain
// fits in the grace period; the user is the image's; resources are the
// README's; committed Secrets hold placeholders only.
func TestKubernetesManifests(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	image := readContainerfile(t, root)
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(root, kubernetesDir, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests under %s (%v)", kubernetesDir, err)
	}
	// The files are applied together (a layout's Secret has a file of its
	// own): their objects are looked up by kind and name across them.
	byKind := map[string]map[string]k8sObject{}
	for _, file := range files {
		for _, o := range readManifests(t, file) {
			if byKind[o.Kind] == nil {
				byKind[o.Kind] = map[string]k8sObject{}
			}
			if _, dup := byKind[o.Kind][o.Metadata.Name]; dup {
				t.Errorf("%s: a second %s named %s", filepath.Base(file), o.Kind, o.Metadata.Name)
			}
			byKind[o.Kind][o.Metadata.Name] = o
		}
	}
	deployments := len(byKind["Deployment"])
	for name, d := range byKind["Deployment"] {
		t.Run(name, func(t *testing.T) { checkDeployment(t, d, byKind, image, string(readme)) })
	}
	if deployments < 2 {
		t.Errorf("%d Deployments under %s; want the sidecar's and the replicas'", deployments, kubernetesDir)
	}
	for name, sec := range byKind["Secret"] {
		for k, v := range sec.StringData {
			if !strings.Contains(v, "change-me") {
				t.Errorf("Secret %s: %s is not a change-me placeholder: a real secret must never be committed", name, k)
			}
		}
	}
}

// checkDeployment checks one Deployment and the objects it refers to.
func checkDeployment(t *testing.T, d k8sObject, byKind map[string]map[string]k8sObject, image imageFacts, readme string) {
	pod := d.Spec.Template.Spec
	labels := d.Spec.Template.Metadata.Labels
	if len(d.Spec.Selector) == 0 || !matches(d.Spec.Selector, labels) {
		t.Errorf("Deployment %s: its selector %v does not match its pods' labels %v", d.Metadata.Name, d.Spec.Selector, labels)
	}
	replicas := 1
	if d.Spec.Replicas != nil {
		replicas = *d.Spec.Replicas
	}

	var serving int
	var servePorts map[string]int
	type role struct {
		c     k8sContainer
		serve bool
	}
	var roles []role
	for _, c := range pod.InitContainers {
		roles = append(roles, role{c, false})
	}
	for _, c := range pod.Containers {
		roles = append(roles, role{c, true})
	}
	for _, r := range roles {
		c := r.c
		if !strings.Contains(c.Image, "sfconnector") {
			continue // the CRM's container
		}
		where := fmt.Sprintf("Deployment %s, container %s", d.Metadata.Name, c.Name)
		if len(c.Args) == 0 {
			t.Errorf("%s: no command in args", where)
			continue
		}
		switch {
		case r.serve && c.Args[0] == "serve":
			serving++
		case !r.serve && c.Args[0] == "migrate":
		default:
			t.Errorf("%s: args %q; want serve in a container, migrate in an init container", where, c.Args)
			continue
		}
		cfg := loadContainerConfig(t, where, c, pod, byKind, image)
		if cfg != nil && r.serve {
			servePorts = checkServeContainer(t, where, d, c, cfg, image, readme)
		}
	}
	if serving != 1 {
		t.Errorf("Deployment %s: %d connector containers run serve; want 1", d.Metadata.Name, serving)
	}
	migrates := slices.ContainsFunc(pod.InitContainers, func(c k8sContainer) bool { return len(c.Args) > 0 && c.Args[0] == "migrate" })
	if !migrates && replicas > 1 {
		t.Errorf("Deployment %s: %d replicas and no migrate init container", d.Metadata.Name, replicas)
	}

	// A Service reaches the connector's port; a PodDisruptionBudget keeps
	// some of several replicas.
	var served bool
	for _, s := range byKind["Service"] {
		if !matches(s.Spec.Selector, labels) {
			continue
		}
		for _, p := range s.Spec.Ports {
			if _, ok := servePorts[p.TargetPort]; ok && p.TargetPort == "http" {
				served = true
			}
		}
	}
	if !served {
		t.Errorf("Deployment %s: no Service targets its connector's http port", d.Metadata.Name)
	}
	if replicas > 1 {
		var pdb bool
		for _, b := range byKind["PodDisruptionBudget"] {
			if matches(b.Spec.Selector, labels) {
				pdb = true
				if b.Spec.MinAvailable == nil || *b.Spec.MinAvailable < 1 || *b.Spec.MinAvailable >= replicas {
					t.Errorf("PodDisruptionBudget %s: minAvailable %s; want between 1 and %d", b.Metadata.Name, intOrNone(b.Spec.MinAvailable), replicas-1)
				}
			}
		}
		if !pdb {
			t.Errorf("Deployment %s: %d replicas and no PodDisruptionBudget", d.Metadata.Name, replicas)
		}
	}
}

// checkServeContainer checks the container running connector serve with
// the configuration cfg: ports and probes, the grace period, the store,
// the user and the resources. It returns the container's ports by name.
func checkServeContainer(t *testing.T, where string, d k8sObject, c k8sContainer, cfg *config.Config, image imageFacts, readme string) map[string]int {
	pod := d.Spec.Template.Spec
	replicas := 1
	if d.Spec.Replicas != nil {
		replicas = *d.Spec.Replicas
	}

	// Ports and probes.
	_, port, err := net.SplitHostPort(cfg.Server.Listen)
	if err != nil {
		t.Errorf("%s: server.listen %q: %v", where, cfg.Server.Listen, err)
		return nil
	}
	servePorts := map[string]int{}
	for _, p := range c.Ports {
		servePorts[p.Name] = p.ContainerPort
	}
	if strconv.Itoa(servePorts["http"]) != port {
		t.Errorf("%s: containerPort http = %d; the connector listens on %s", where, servePorts["http"], cfg.Server.Listen)
	}
	for _, p := range []struct {
		name  string
		probe *k8sProbe
		path  string
	}{
		{"startupProbe", c.StartupProbe, "/healthz"},
		{"livenessProbe", c.LivenessProbe, "/healthz"},
		{"readinessProbe", c.ReadinessProbe, "/readyz"},
	} {
		switch {
		case p.probe == nil || p.probe.HTTPGet == nil:
			t.Errorf("%s: no %s with httpGet", where, p.name)
		case p.probe.HTTPGet.Path != p.path:
			t.Errorf("%s: %s gets %s; want %s", where, p.name, p.probe.HTTPGet.Path, p.path)
		case strconv.Itoa(servePorts[p.probe.HTTPGet.Port]) != port && p.probe.HTTPGet.Port != port:
			t.Errorf("%s: %s's port %q is not the listen port %s", where, p.name, p.probe.HTTPGet.Port, port)
		}
	}

	// The drain fits in the grace period.
	grace := 30 // Kubernetes' default
	if pod.TerminationGracePeriodSeconds != nil {
		grace = *pod.TerminationGracePeriodSeconds
	}
	if float64(grace) <= cfg.Server.ShutdownTimeout.Seconds() {
		t.Errorf("%s: terminationGracePeriodSeconds %d is not above server.shutdown_timeout %s", where, grace, cfg.Server.ShutdownTimeout)
	}

	// The store: SQLite on a writable persistent volume, one process;
	// several replicas only on PostgreSQL.
	switch cfg.Store.Driver {
	case "sqlite":
		dsn := cfg.Store.DSN.Value()
		m, vol := mountOf(c, pod, dsn)
		if m == nil || m.ReadOnly || vol == nil || vol.PersistentVolumeClaim == nil {
			t.Errorf("%s: the SQLite file %s is not on a writable persistent volume", where, dsn)
		} else if !slices.Contains(image.Volumes, m.MountPath) {
			t.Errorf("%s: the data volume's mountPath %s is not a VOLUME of the image %v", where, m.MountPath, image.Volumes)
		}
		if replicas != 1 || d.Spec.Strategy.Type != "Recreate" {
			t.Errorf("%s: SQLite is one process: want 1 replica and the Recreate strategy, have %d and %q", where, replicas, d.Spec.Strategy.Type)
		}
	case "postgres":
		if replicas < 2 {
			t.Errorf("%s: a PostgreSQL Deployment with %d replica(s); want several", where, replicas)
		}
	}

	// The image's user, and the README's resources.
	uid, gid := c.SecurityContext.RunAsUser, c.SecurityContext.RunAsGroup
	if uid == nil {
		uid, gid = pod.SecurityContext.RunAsUser, pod.SecurityContext.RunAsGroup
	}
	if uid == nil || *uid != image.UID || gid == nil || *gid != image.GID {
		t.Errorf("%s: runAsUser/runAsGroup are not the image's user %d:%d", where, image.UID, image.GID)
	}
	if fs := pod.SecurityContext.FSGroup; fs == nil || *fs != image.GID {
		t.Errorf("%s: fsGroup is not the image's group %d (volumes and secrets must be readable by it)", where, image.GID)
	}
	res := fmt.Sprintf("requests `cpu: %s` and `memory: %s`, limit `memory: %s`",
		c.Resources.Requests["cpu"], c.Resources.Requests["memory"], c.Resources.Limits["memory"])
	if !strings.Contains(readme, res) {
		t.Errorf("%s: the README does not give its resources, %q", where, res)
	}
	return servePorts
}

// matches reports whether every label of sel is in labels.
func matches(sel, labels map[string]string) bool {
	if len(sel) == 0 {
		return false
	}
	for k, v := range sel {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// mountOf returns the container's mount that holds file, and its volume
// (nil when none does).
func mountOf(c k8sContainer, pod podSpec, file string) (*volumeMount, *k8sVolume) {
	for i := range c.VolumeMounts {
		m := &c.VolumeMounts[i]
		if !strings.HasPrefix(file, strings.TrimSuffix(m.MountPath, "/")+"/") {
			continue
		}
		for j := range pod.Volumes {
			if pod.Volumes[j].Name == m.Name {
				return m, &pod.Volumes[j]
			}
		}
		return m, nil
	}
	return nil, nil
}

// loadContainerConfig finds a connector container's configuration file in
// its ConfigMap, writes the keys of its Secrets into a temporary folder in
// place of their mounts, and loads the configuration with the config
// package (which validates it), with the container's environment. It
// reports what does not match and returns nil when it can not load.
func loadContainerConfig(t *testing.T, where string, c k8sContainer, pod podSpec, byKind map[string]map[string]k8sObject, image imageFacts) *config.Config {
	t.Helper()
	env := map[string]string{}
	for _, e := range c.Env {
		env[e.Name] = e.Value
	}
	cfgPath := image.ConfigPath
	if v, ok := env["CONNECTOR_CONFIG"]; ok {
		cfgPath = v
	}
	if i := slices.Index(c.Args, "-config"); i >= 0 && i+1 < len(c.Args) {
		cfgPath = c.Args[i+1]
	}
	m, vol := mountOf(c, pod, cfgPath)
	if m == nil || vol == nil || vol.ConfigMap == nil || path.Dir(cfgPath) != path.Clean(m.MountPath) {
		t.Errorf("%s: the configuration file %s is not a key of a ConfigMap volume's mount", where, cfgPath)
		return nil
	}
	if !slices.Contains(image.Volumes, m.MountPath) {
		t.Errorf("%s: the configuration's mountPath %s is not a VOLUME of the image %v", where, m.MountPath, image.Volumes)
	}
	cm, ok := byKind["ConfigMap"][vol.ConfigMap.Name]
	if !ok {
		t.Errorf("%s: ConfigMap %s is not in the file", where, vol.ConfigMap.Name)
		return nil
	}
	text, ok := cm.Data[path.Base(cfgPath)]
	if !ok {
		t.Errorf("%s: ConfigMap %s has no key %s", where, cm.Metadata.Name, path.Base(cfgPath))
		return nil
	}

	// The Secrets' mounts, and their keys as files in a temporary folder.
	secretMounts := map[string]map[string]bool{} // mountPath → keys
	replace := map[string]string{}
	for _, sm := range c.VolumeMounts {
		var v *k8sVolume
		for i := range pod.Volumes {
			if pod.Volumes[i].Name == sm.Name {
				v = &pod.Volumes[i]
			}
		}
		if v == nil {
			t.Errorf("%s: volumeMount %s names no volume", where, sm.Name)
			continue
		}
		if v.Secret == nil {
			continue
		}
		sec, ok := byKind["Secret"][v.Secret.SecretName]
		if !ok {
			t.Errorf("%s: Secret %s is not in the file", where, v.Secret.SecretName)
			continue
		}
		dir := t.TempDir()
		keys := map[string]bool{}
		write := func(k string, b []byte) {
			keys[k] = true
			if err := os.WriteFile(filepath.Join(dir, k), b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		for k, v := range sec.StringData {
			write(k, []byte(v))
		}
		for k, v := range sec.Data {
			b, err := base64.StdEncoding.DecodeString(v)
			if err != nil {
				t.Errorf("Secret %s: data.%s is not base64: %v", sec.Metadata.Name, k, err)
			}
			write(k, b)
		}
		mp := strings.TrimSuffix(sm.MountPath, "/")
		secretMounts[mp] = keys
		replace[mp+"/"] = dir + "/"
	}

	files, envs := secretRefs(t, where, text)
	for _, f := range files {
		keys, ok := secretMounts[path.Dir(f)]
		switch {
		case !ok:
			t.Errorf("%s: the secret file %s is not under a Secret's mountPath %v", where, f, keys)
		case !keys[path.Base(f)]:
			t.Errorf("%s: the secret file %s is not a key of its Secret", where, f)
		}
	}
	for _, e := range envs {
		if _, ok := env[e]; !ok {
			t.Errorf("%s: the secret {env: %s} is not in the container's environment", where, e)
		}
	}
	for from, to := range replace {
		text = strings.ReplaceAll(text, from, to)
	}
	return parseConfig(t, where, text, env)
}

// parseConfig loads a configuration with the config package, as the
// connector does, and validates it.
func parseConfig(t *testing.T, where, text string, env map[string]string) *config.Config {
	t.Helper()
	cfg, err := config.Parse([]byte(text), func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err == nil {
		err = cfg.Validate()
	}
	if err != nil {
		t.Errorf("%s: the connector would refuse its configuration: %v", where, err)
		return nil
	}
	return cfg
}

// secretRefs lists the {file: PATH} and {env: NAME} secrets of a
// configuration.
func secretRefs(t *testing.T, where, text string) (files, envs []string) {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(text), &doc); err != nil {
		t.Errorf("%s: the configuration is not YAML: %v", where, err)
		return nil, nil
	}
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if n.Kind == yaml.MappingNode && len(n.Content) == 2 && n.Content[1].Kind == yaml.ScalarNode {
			switch n.Content[0].Value {
			case "file":
				files = append(files, n.Content[1].Value)
			case "env":
				envs = append(envs, n.Content[1].Value)
			}
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(&doc)
	return files, envs
}

// composeFile is the part of compose.yaml the test reads.
type composeFile struct {
	Services map[string]struct {
		Image       string            `yaml:"image"`
		Command     []string          `yaml:"command"`
		NetworkMode string            `yaml:"network_mode"`
		Environment map[string]string `yaml:"environment"`
		Ports       []string          `yaml:"ports"`
		Volumes     []string          `yaml:"volumes"`
		StopGrace   string            `yaml:"stop_grace_period"`
	} `yaml:"services"`
}

// TestComposeFile checks compose.yaml against the configuration it mounts,
// loaded with the config package and the connector service's environment:
// the published port is the listen port, the login URL is the stand-in's
// address and credentials, the store is the postgres service's database,
// and the drain fits in the stop grace period.
func TestComposeFile(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	image := readContainerfile(t, root)
	b, err := os.ReadFile(filepath.Join(root, composePath))
	if err != nil {
		t.Fatal(err)
	}
	var cf composeFile
	if err := yaml.Unmarshal(b, &cf); err != nil {
		t.Fatalf("%s: %v", composePath, err)
	}
	conn, sf, pg := cf.Services["connector"], cf.Services["sfstandin"], cf.Services["postgres"]
	if conn.Image != "localhost/sfconnector:latest" || sf.Image != "localhost/sfconnector-sfstandin:latest" {
		t.Errorf("images %q and %q are not the ones make image and make image-standin build", conn.Image, sf.Image)
	}

	// The configuration file mounted at CONNECTOR_CONFIG.
	cfgPath := conn.Environment["CONNECTOR_CONFIG"]
	if cfgPath == "" {
		cfgPath = image.ConfigPath
	}
	var hostFile string
	for _, v := range conn.Volumes {
		parts := strings.Split(v, ":")
		if len(parts) >= 2 && parts[1] == cfgPath {
			hostFile = filepath.Join(root, filepath.Dir(composePath), parts[0])
		}
	}
	if hostFile == "" {
		t.Fatalf("the connector service mounts nothing at its configuration path %s", cfgPath)
	}
	text, err := os.ReadFile(hostFile)
	if err != nil {
		t.Fatal(err)
	}
	cfg := parseConfig(t, "compose connector", string(text), conn.Environment)
	if cfg == nil {
		return
	}

	// The connector shares the stand-in's network: its port is published
	// there.
	if conn.NetworkMode != "service:sfstandin" {
		t.Fatalf("the connector's network_mode is %q; the configuration's loopback login URL needs service:sfstandin", conn.NetworkMode)
	}
	_, listenPort, err := net.SplitHostPort(cfg.Server.Listen)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(sf.Ports, func(p string) bool { return strings.HasSuffix(p, ":"+listenPort) }) {
		t.Errorf("the sfstandin service does not publish the connector's listen port %s: %q", listenPort, sf.Ports)
	}

	// The stand-in's flags are the tenant's org.
	flagOf := func(name string) string {
		if i := slices.Index(sf.Command, name); i >= 0 && i+1 < len(sf.Command) {
			return sf.Command[i+1]
		}
		return ""
	}
	_, sfPort, _ := net.SplitHostPort(flagOf("-listen"))
	if len(cfg.Tenants) == 0 {
		t.Fatal("no tenant")
	}
	for _, tn := range cfg.Tenants {
		s := tn.Salesforce
		u, err := url.Parse(s.LoginURL)
		if err != nil || u.Port() != sfPort {
			t.Errorf("tenant %s: login_url %s is not the stand-in's port %s", tn.ID, s.LoginURL, sfPort)
		}
		if s.OrgID != flagOf("-org-id") || s.Auth.ClientID != flagOf("-client-id") || s.Auth.ClientSecret.Value() != flagOf("-client-secret") {
			t.Errorf("tenant %s: org id, client id or client secret are not the stand-in's flags %q", tn.ID, sf.Command)
		}
	}

	// The store is the postgres service's database.
	dsn, err := url.Parse(cfg.Store.DSN.Value())
	if err != nil || cfg.Store.Driver != "postgres" {
		t.Fatalf("store: driver %s, dsn: %v", cfg.Store.Driver, err)
	}
	pass, _ := dsn.User.Password()
	if dsn.Hostname() != "postgres" || dsn.User.Username() != pg.Environment["POSTGRES_USER"] ||
		pass != pg.Environment["POSTGRES_PASSWORD"] || strings.TrimPrefix(dsn.Path, "/") != pg.Environment["POSTGRES_DB"] {
		t.Errorf("the store's DSN is not the postgres service's database (host postgres, its user, password and database)")
	}

	// The drain fits in the stop grace period.
	if grace, err := time.ParseDuration(conn.StopGrace); err != nil || grace <= cfg.Server.ShutdownTimeout {
		t.Errorf("stop_grace_period %q is not above server.shutdown_timeout %s", conn.StopGrace, cfg.Server.ShutdownTimeout)
	}
}

// intOrNone prints an optional number.
func intOrNone(p *int) string {
	if p == nil {
		return "none"
	}
	return strconv.Itoa(*p)
}
