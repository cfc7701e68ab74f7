package registry_test

import (
	"os"
	"strings"
	"testing"

	"github.com/chatsync/sfconnector/config"
	"github.com/chatsync/sfconnector/connector/platform"
)

// TestReadmeMediaTableMatchesTheAdapters checks the README's table of
// media from each platform against the adapters the registry builds: a
// row names every platform, and says "yes" exactly where the adapter
// downloads media (platform.MediaFetcher).
func TestReadmeMediaTableMatchesTheAdapters(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(b), "\n### Media from each platform\n")
	if !ok {
		t.Fatal("README has no ### Media from each platform section")
	}
	names := map[string]string{
		"WhatsApp": config.PlatformWhatsApp, "Messenger": config.PlatformMessenger, "Instagram": config.PlatformInstagram,
		"Telegram": config.PlatformTelegram, "LINE": config.PlatformLINE, "Twilio": config.PlatformTwilio,
		"Viber": config.PlatformViber, "web chat": config.PlatformWebChat,
	}
	rows := map[string]string{}
	for _, line := range strings.Split(after, "\n") {
		if strings.HasPrefix(line, "#") {
			break
		}
		if !strings.HasPrefix(line, "|") || strings.HasPrefix(line, "|---") || strings.HasPrefix(line, "| platform") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		if len(cells) != 5 {
			t.Fatalf("media table row has %d cells, want 5: %s", len(cells), line)
		}
		for _, name := range strings.Split(cells[0], ",") {
			p, ok := names[strings.TrimSpace(name)]
			if !ok {
				t.Fatalf("media table names an unknown platform %q", name)
			}
			rows[p] = strings.TrimSpace(cells[1])
		}
	}
	for name, p := range names {
		media, ok := rows[p]
		if !ok {
			t.Errorf("%s: no row in the README's media table", name)
			continue
		}
		if got := platform.CapabilitiesOf(adapterFor(t, p, nil)).Media; got != (media == "yes") {
			t.Errorf("%s: README media %q, the adapter downloads media: %v", name, media, got)
		}
	}
}
