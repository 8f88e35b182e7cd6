package builder

import (
	"os"
	"path/filepath"
)

// HostCAMount is where the host's CA bundle is bound read-only inside the
// build sandbox, when the host has one; $RTOOL_HOST_CA_FILE (HostCAEnv)
// names it. Setup scripts that fetch over TLS (npm, pip) hand it to their
// tool, so a build works wherever the host's own TLS works, including
// behind a TLS-inspecting proxy whose CA only the host trusts. It lies
// outside /etc/ssl and the install root, so a script that copies the
// chroot's own bundle into a runtime never picks it up.
const HostCAMount = "/run/rtool/host-ca-certificates.crt"

// HostCAEnv is the build environment variable naming HostCAMount.
const HostCAEnv = "RTOOL_HOST_CA_FILE"

// HostCABundles lists where hosts keep their CA bundle, in the order
// hostCABundle tries them (Debian and Ubuntu, Fedora and RHEL, openSUSE,
// Alpine's and RHEL's extracted bundle).
func HostCABundles() []string {
	return []string{
		"/etc/ssl/certs/ca-certificates.crt",
		"/etc/pki/tls/certs/ca-bundle.crt",
		"/etc/ssl/ca-bundle.pem",
		"/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
	}
}

// hostCABundle returns the resolved path of the first candidate that is a
// non-empty regular file (through symlinks), or "" when there is none.
func hostCABundle(candidates []string) string {
	for _, p := range candidates {
		real, err := filepath.EvalSymlinks(p)
		if err != nil {
			continue
		}
		if st, err := os.Stat(real); err == nil && st.Mode().IsRegular() && st.Size() > 0 {
			return real
		}
	}
	return ""
}
