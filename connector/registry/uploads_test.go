package registry_test

import (
	"bytes"
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/chatsync/sfconnector/config"
	"github.com/chatsync/sfconnector/connector/platform"
	"github.com/chatsync/sfconnector/connector/platform/webchat"
	"github.com/chatsync/sfconnector/connector/registry"
)

// TestWebChatUploadDirDefaults checks where a web chat channel keeps its
// uploads: next to the SQLite file by default, in upload_dir when set,
// and nowhere on PostgreSQL without upload_dir (uploads are refused).
func TestWebChatUploadDirDefaults(t *testing.T) {
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "data", "connector.db")
	tests := []struct {
		name      string
		store     config.Store
		uploadDir string
		want      string // the file's directory; "" for no uploads
	}{
		{"sqlite default", config.Store{Driver: config.DriverSQLite, DSN: config.NewSecret(dbPath)}, "", dbPath + "-uploads/acme/web"},
		{"sqlite upload_dir", config.Store{Driver: config.DriverSQLite, DSN: config.NewSecret(dbPath)}, filepath.Join(dir, "shared"), filepath.Join(dir, "shared")},
		{"postgres upload_dir", config.Store{Driver: config.DriverPostgres, DSN: config.NewSecret("postgres://x@127.0.0.1/db")}, filepath.Join(dir, "pg"), filepath.Join(dir, "pg")},
		{"postgres without upload_dir", config.Store{Driver: config.DriverPostgres, DSN: config.NewSecret("postgres://x@127.0.0.1/db")}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := &config.Config{Store: tt.store, Tenants: []config.Tenant{{ID: "acme",
				Salesforce: config.Salesforce{OrgID: "00D000000000001", LoginURL: "http://127.0.0.1",
					Auth: config.Auth{Flow: config.FlowClientCredentials, ClientID: "x", ClientSecret: config.NewSecret("y")}},
				Channels: []config.Channel{{ID: "web", Platform: config.PlatformWebChat,
					WebChat: &config.WebChat{Secret: config.NewSecret("s"), UploadDir: tt.uploadDir}}}}}}
			cfg.ApplyDefaults()
			reg, err := registry.Build(cfg, registry.Options{})
			if err != nil {
				t.Fatal(err)
			}
			ch, _ := reg.Channel("acme", "web")
			body := []byte("a visitor's file " + tt.name)
			r := httptest.NewRequest("POST", "/webhooks/acme/web/uploads", bytes.NewReader(body))
			r.Header.Set(webchat.SignatureHeader, webchat.Sign("s", body))
			up, err := ch.Adapter.(platform.Uploader).Upload(r)
			if tt.want == "" {
				if !errors.Is(err, platform.ErrNoUploads) {
					t.Fatalf("Upload = %+v, %v; want ErrNoUploads", up, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Upload: %v", err)
			}
			if _, err := os.Stat(filepath.Join(tt.want, up.SHA256)); err != nil {
				t.Fatalf("the upload is not in %s: %v", tt.want, err)
			}
		})
	}
}
