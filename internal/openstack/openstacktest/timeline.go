package openstacktest

import (
	"slices"
	"time"
)

// Calls counts how often; a herd is about when. Once RecordCalls is asked, every call
// the fake serves is also kept with its time, so a test can see how a restart's calls
// fall over the resync period (test/envtest/restart_herd_test.go).

// Call is one call the fake served: its method, the projects it named, and when.
type Call struct {
	Method   string
	Projects []string
	At       time.Time
}

// timeline holds the calls kept since RecordCalls; guarded by state.mu.
type timeline struct {
	on    bool
	calls []Call
}

// add keeps a call when recording. Callers hold state.mu.
func (t *timeline) add(method string, projects []string) {
	if t.on {
		t.calls = append(t.calls, Call{Method: method, Projects: slices.Clone(projects), At: time.Now()})
	}
}

// RecordCalls keeps every call from now on with its time, forgetting those kept before.
func (c *Cloud) RecordCalls() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.timeline = timeline{on: true}
}

// Recorded returns the calls kept since RecordCalls, oldest first.
func (c *Cloud) Recorded() []Call {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.timeline.calls)
}
