// Command kubectl-whitehall is the whitehall-operator's kubectl plugin: installed on the
// PATH as kubectl-whitehall, kubectl runs it as `kubectl whitehall`. The commands live in
// package plugin, so that tests run them without the binary.
package main

import (
	"context"
	"os"
	"os/signal"

	"github.com/whitehall-cloud/whitehall-operator/cmd/kubectl-whitehall/plugin"
)

// version and revision identify the build; make plugin stamps them with
// -ldflags "-X main.version=… -X main.revision=…", as make build does for the manager.
var (
	version  = "dev"
	revision = "unknown"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := plugin.Main(ctx, plugin.Build{Version: version, Revision: revision}, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
