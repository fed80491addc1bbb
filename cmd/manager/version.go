package main

// version and revision identify the build; make build stamps them with
// -ldflags "-X main.version=… -X main.revision=…" (the chart's appVersion and the git
// commit), as does the Dockerfile. A plain go build leaves these defaults.
var (
	version  = "dev"
	revision = "unknown"
)
