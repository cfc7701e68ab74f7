package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/chatsync/sfconnector/salesforce"
)

func TestRunServesAndShutsDown(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-listen", "127.0.0.1:0", "-org-id", "00D000000000009AAA",
			"-client-id", "cid", "-client-secret", "csecret", "-daily-limit", "10"}, pw, io.Discard)
		pw.Close()
	}()

	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("reading the listening line: %v", err)
	}
	base, found := strings.CutPrefix(strings.TrimSpace(line), "sfstandin listening on ")
	if !found || !strings.HasPrefix(base, "http://127.0.0.1:") {
		t.Fatalf("first line = %q", line)
	}
	go io.Copy(io.Discard, pr)

	resp, err := http.PostForm(base+"/services/oauth2/token", url.Values{
		"grant_type": {"client_credentials"}, "client_id": {"cid"}, "client_secret": {"csecret"},
	})
	if err != nil {
		t.Fatal(err)
	}
	var tok map[string]string
	err = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("token: HTTP %d, %v", resp.StatusCode, err)
	}
	if tok["instance_url"] != base || !strings.Contains(tok["id"], "/id/00D000000000009AAA/") {
		t.Errorf("token = %v", tok)
	}

	req, _ := http.NewRequest(http.MethodGet, base+"/services/data/v62.0/limits", nil)
	req.Header.Set("Authorization", "Bearer "+tok["access_token"])
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Sforce-Limit-Info") != "api-usage=1/10" {
		t.Errorf("limits: HTTP %d, %q", resp.StatusCode, resp.Header.Get("Sforce-Limit-Info"))
	}

	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run after shutdown: %v", err)
	}
}

func TestRunRejectsBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-org-id", "nope"},
		{"-daily-limit", "-1"},
		{"-jwt-public-key", "/nonexistent/key.pem"},
		{"extra"},
		{"-metadata", "/nonexistent"},
		{"-query-batch-size", "0"},
	} {
		if err := run(context.Background(), args, io.Discard, io.Discard); err == nil {
			t.Errorf("run(%q) succeeded", args)
		}
	}
}

// TestRunServesTheGivenMetadata runs the stand-in with -metadata on an
// edited copy of the salesforce/ folder: describe follows the copy.
func TestRunServesTheGivenMetadata(t *testing.T) {
	dir := t.TempDir()
	if err := os.CopyFS(dir, salesforce.Files()); err != nil {
		t.Fatal(err)
	}
	pkg := filepath.Join(dir, "force-app", "main", "default")
	if err := os.Remove(filepath.Join(pkg, "objects", "Chat_Conversation__c", "fields", "Blocked__c.field-meta.xml")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-listen", "127.0.0.1:0", "-metadata", pkg}, pw, io.Discard)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	base := strings.TrimPrefix(strings.TrimSpace(line), "sfstandin listening on ")
	go io.Copy(io.Discard, pr)
	resp, err := http.PostForm(base+"/services/oauth2/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {"a"}, "client_secret": {"b"}})
	if err != nil {
		t.Fatal(err)
	}
	var tok map[string]string
	_ = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	req, _ := http.NewRequest(http.MethodGet, base+"/services/data/v62.0/sobjects/Chat_Conversation__c/describe", nil)
	req.Header.Set("Authorization", "Bearer "+tok["access_token"])
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Fields []struct {
			Name string `json:"name"`
		} `json:"fields"`
	}
	err = json.NewDecoder(resp.Body).Decode(&d)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range d.Fields {
		names = append(names, f.Name)
	}
	if slices.Contains(names, "Blocked__c") || !slices.Contains(names, "State__c") {
		t.Errorf("describe lists %v: want State__c without Blocked__c", names)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
