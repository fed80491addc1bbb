package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
)

// The metrics filter asks the API server who a scraper is and whether it may get /metrics.
// +kubebuilder:rbac:groups=authentication.k8s.io,resources=tokenreviews,verbs=create
// +kubebuilder:rbac:groups=authorization.k8s.io,resources=subjectaccessreviews,verbs=create

// metricsOptions are the flags of the metrics endpoint.
type metricsOptions struct {
	bindAddress string
	secure      bool
	certDir     string
}

func (o *metricsOptions) bindFlags(fs *flag.FlagSet) {
	fs.StringVar(&o.bindAddress, "metrics-bind-address", ":8443", "Address the Prometheus metrics endpoint binds to; 0 disables it.")
	fs.BoolVar(&o.secure, "metrics-secure", true,
		"Serve metrics over HTTPS to clients whose bearer token the API server authenticates and authorizes for GET /metrics; false serves plain HTTP to anyone (local debugging only).")
	fs.StringVar(&o.certDir, "metrics-cert-dir", "",
		"Directory holding tls.crt and tls.key for the metrics endpoint (reloaded when they change); empty uses a self-signed certificate.")
}

// serverOptions returns the metrics server's options, refusing flags that would
// quietly serve something other than what was asked for.
func (o metricsOptions) serverOptions() (metricsserver.Options, error) {
	if !o.secure {
		if o.certDir != "" {
			return metricsserver.Options{}, errors.New("--metrics-cert-dir needs --metrics-secure")
		}
		return metricsserver.Options{BindAddress: o.bindAddress}, nil
	}
	opts := metricsserver.Options{
		BindAddress:    o.bindAddress,
		SecureServing:  true,
		FilterProvider: filters.WithAuthenticationAndAuthorization,
	}
	if o.certDir != "" {
		// controller-runtime falls back to a self-signed certificate when the files are
		// missing; a mounted Secret that lacks them is a mistake to report.
		for _, name := range []string{"tls.crt", "tls.key"} {
			if _, err := os.Stat(filepath.Join(o.certDir, name)); err != nil {
				return metricsserver.Options{}, fmt.Errorf("--metrics-cert-dir: %w", err)
			}
		}
		opts.CertDir = o.certDir
	}
	return opts, nil
}
