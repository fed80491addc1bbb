package plugin

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// errStop ends a command at Connect, once its flags are known.
var errStop = errors.New("stop at connect")

func TestCommandLine(t *testing.T) {
	cases := []struct {
		reason    string
		args      []string
		wantCode  int
		wantFlags *KubeFlags
		wantOut   string
		wantErr   string
	}{
		{
			reason:   "version prints the stamped build",
			args:     []string{"version"},
			wantOut:  "kubectl-whitehall 1.2.3 (revision abc)\n",
			wantCode: ExitOK,
		},
		{
			reason:    "flags after the Tenant name count, as with kubectl",
			args:      []string{"tree", "tax", "-n", "hmrc", "--context", "prod", "-o", "json"},
			wantFlags: &KubeFlags{Namespace: "hmrc", Context: "prod"},
			wantErr:   "error: stop at connect\n",
			wantCode:  ExitError,
		},
		{
			reason:    "calendar looks at every namespace unless told",
			args:      []string{"calendar", "--days", "30"},
			wantFlags: &KubeFlags{AllNamespaces: true},
			wantErr:   "error: stop at connect\n",
			wantCode:  ExitError,
		},
		{
			reason:   "tree takes one Tenant at most",
			args:     []string{"tree", "a", "b"},
			wantErr:  "error: tree takes at most one Tenant name, got 2 arguments\n",
			wantCode: ExitError,
		},
		{
			reason:   "--days out of bounds is refused before connecting",
			args:     []string{"calendar", "--days=0"},
			wantErr:  "error: --days must be between 1 and 3660\n",
			wantCode: ExitError,
		},
		{
			reason:   "an unknown output format is refused before connecting",
			args:     []string{"tree", "-o", "yaml"},
			wantErr:  "error: unknown output format \"yaml\": use text or json\n",
			wantCode: ExitError,
		},
	}
	for _, tc := range cases {
		t.Run(tc.reason, func(t *testing.T) {
			var out, errOut bytes.Buffer
			var got *KubeFlags
			env := Env{
				Out: &out, Err: &errOut, Build: Build{Version: "1.2.3", Revision: "abc"},
				Now: func() time.Time { return calendarNow },
				Connect: func(k KubeFlags) (Cluster, error) {
					got = &k
					return Cluster{}, errStop
				},
			}
			code := run(context.Background(), env, tc.args)
			if diff := cmp.Diff(tc.wantCode, code); diff != "" {
				t.Errorf("exit code (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantFlags, got); diff != "" {
				t.Errorf("connection flags (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantOut, out.String()); diff != "" {
				t.Errorf("stdout (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantErr, errOut.String()); diff != "" {
				t.Errorf("stderr (-want +got):\n%s", diff)
			}
		})
	}
}
