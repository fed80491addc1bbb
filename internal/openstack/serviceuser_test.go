package openstack

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/config/clouds"
)

// testCA returns a self-signed CA certificate, PEM-encoded.
func testCA(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "whitehall test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// clearOSEnv unsets what clouds.Parse would take from the environment over the file.
func clearOSEnv(t *testing.T) {
	for _, v := range []string{"OS_CLOUD", "OS_REGION_NAME", "OS_INTERFACE", "OS_CACERT", "OS_CERT", "OS_KEY", "OS_CLIENT_CONFIG_FILE"} {
		t.Setenv(v, "")
	}
}

func TestApplicationCredentialCloudsYAMLParses(t *testing.T) {
	clearOSEnv(t)
	ca := testCA(t)
	caPath := filepath.Join(t.TempDir(), "cacert")
	if err := os.WriteFile(caPath, ca, 0o600); err != nil {
		t.Fatal(err)
	}
	const id, secret = "ac-1234", `s3cr:et"with'quotes #and: yaml`
	cases := []struct {
		reason       string
		endpoint     Endpoint
		wantEndpoint gophercloud.EndpointOpts
		wantCA       bool
		wantInsecure bool
	}{
		{"a plain public endpoint",
			Endpoint{AuthURL: "https://keystone.example:5000/v3", Region: "RegionOne", Interface: "public"},
			gophercloud.EndpointOpts{Region: "RegionOne", Availability: gophercloud.AvailabilityPublic}, false, false},
		{"no region and no interface: public",
			Endpoint{AuthURL: "https://keystone.example:5000/v3"},
			gophercloud.EndpointOpts{Availability: gophercloud.AvailabilityPublic}, false, false},
		{"the internal interface, with a CA",
			Endpoint{AuthURL: "https://keystone.internal:5000", Region: "London", Interface: "internal", CACert: ca},
			gophercloud.EndpointOpts{Region: "London", Availability: gophercloud.AvailabilityInternal}, true, false},
		{"TLS verification off",
			Endpoint{AuthURL: "https://keystone.example:5000/v3", Interface: "admin", Insecure: true},
			gophercloud.EndpointOpts{Availability: gophercloud.AvailabilityAdmin}, false, true},
	}
	for _, tc := range cases {
		t.Run(tc.reason, func(t *testing.T) {
			out, err := ApplicationCredentialCloudsYAML(tc.endpoint, "hmrc", id, secret, caPath)
			if err != nil {
				t.Fatal(err)
			}
			again, _ := ApplicationCredentialCloudsYAML(tc.endpoint, "hmrc", id, secret, caPath)
			if !bytes.Equal(out, again) {
				t.Error("two renderings differ: the Secret would be rewritten on every reconcile")
			}
			ao, eo, tlsConfig, err := clouds.Parse(clouds.WithCloudsYAML(bytes.NewReader(out)), clouds.WithCloudName("hmrc"))
			if err != nil {
				t.Fatalf("clouds.Parse: %v\n%s", err, out)
			}
			wantAuth := gophercloud.AuthOptions{
				IdentityEndpoint: tc.endpoint.AuthURL, ApplicationCredentialID: id, ApplicationCredentialSecret: secret,
			}
			if diff := cmp.Diff(wantAuth, ao); diff != "" {
				t.Errorf("auth options (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantEndpoint, eo); diff != "" {
				t.Errorf("endpoint options (-want +got):\n%s", diff)
			}
			if got := tlsConfig.RootCAs != nil; got != tc.wantCA {
				t.Errorf("CA pool set: %v, want %v", got, tc.wantCA)
			}
			if tlsConfig.InsecureSkipVerify != tc.wantInsecure {
				t.Errorf("InsecureSkipVerify %v, want %v", tlsConfig.InsecureSkipVerify, tc.wantInsecure)
			}
			for _, want := range []string{"auth_type: v3applicationcredential", "identity_api_version: 3"} {
				if !strings.Contains(string(out), want) {
					t.Errorf("clouds.yaml does not say %q:\n%s", want, out)
				}
			}
			if strings.Contains(string(out), "cacert") != tc.wantCA {
				t.Errorf("cacert named: %v, want %v:\n%s", !tc.wantCA, tc.wantCA, out)
			}
		})
	}
}

func TestApplicationCredentialCloudsYAMLRefusesWhatCannotWork(t *testing.T) {
	const secret = "do-not-print-me"
	good := Endpoint{AuthURL: "https://keystone.example/v3"}
	cases := []struct {
		reason                string
		endpoint              Endpoint
		cloud, id, secret, ca string
	}{
		{"no cloud name", good, "", "ac", secret, ""},
		{"no auth URL", Endpoint{}, "hmrc", "ac", secret, ""},
		{"no credential ID", good, "hmrc", "", secret, ""},
		{"no secret", good, "hmrc", "ac", "", ""},
		{"a CA without a path for it", Endpoint{AuthURL: good.AuthURL, CACert: []byte("pem")}, "hmrc", "ac", secret, ""},
	}
	for _, tc := range cases {
		t.Run(tc.reason, func(t *testing.T) {
			_, err := ApplicationCredentialCloudsYAML(tc.endpoint, tc.cloud, tc.id, tc.secret, tc.ca)
			if err == nil {
				t.Fatal("want an error")
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error %q quotes the secret", err)
			}
		})
	}
}
