package frame

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestBoundedMessage(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
	}{
		{"short", "flavor m1.huge is not allowed"},
		{"exactly the bound", strings.Repeat("a", maxConditionMessage)},
		{"one byte over", strings.Repeat("a", maxConditionMessage+1)},
		{"multi-byte runes across the cut", strings.Repeat("é", maxConditionMessage)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := BoundedMessage(tc.in)
			if len(got) > maxConditionMessage || !utf8.ValidString(got) {
				t.Fatalf("len %d, valid UTF-8 %v", len(got), utf8.ValidString(got))
			}
			if fits := len(tc.in) <= maxConditionMessage; fits != (got == tc.in) {
				t.Fatalf("a message of %d bytes came out as %d bytes", len(tc.in), len(got))
			}
		})
	}
}
