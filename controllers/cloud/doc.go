// Package cloud reconciles Clouds: whether the operator can log in with a Cloud's admin
// credentials, where the cloud is and whether its TLS is verified; a Cloud being
// deleted is kept while Tenants name it, since their cleanup needs its credentials.
package cloud
