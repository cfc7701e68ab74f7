// Package integration_test runs the connector end to end: TestMain builds
// the connector command once, and every test starts it as a separate
// process (connector serve -config FILE) against Salesforce stand-ins that
// run in the test process, talking real HTTP both ways. The tests post
// signed webhooks, kill and restart the process, and read the stand-ins'
// records, the operator API and the connector's SQLite file to check what
// the product contract promises.
package integration_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// connectorBin is the path of the connector binary built by TestMain.
var connectorBin string

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

// runTests builds the connector binary into a temporary folder, runs the
// tests and removes the folder. The binary is built without -race: it is a
// separate process, and the race detector would only slow it down; the test
// process itself runs under -race when asked.
func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "connector-integration-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "integration: create a folder for the binary:", err)
		return 1
	}
	defer os.RemoveAll(dir)

	connectorBin = filepath.Join(dir, "connector")
	build := exec.Command("go", "build", "-o", connectorBin, "github.com/chatsync/sfconnector/cmd/connector")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "integration: build the connector:", err)
		return 1
	}
	return m.Run()
}
