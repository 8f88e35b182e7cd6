package consumer

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strings"
	"syscall"

	"github.com/joblet/rtool/schema"
)

// DetectPlatform returns the host platform the way upstream's setup.sh
// decides it: the ID (then ID_LIKE) of /etc/os-release mapped to ubuntu,
// debian, rhel (also centos, rocky, almalinux, fedora) or amzn, and
// `uname -m` mapped to amd64 or arm64.
func DetectPlatform() (string, error) {
	data, err := os.ReadFile("/etc/os-release")
	if err != nil {
		return "", fmt.Errorf("detect platform: %w (pass --platform, for example --platform debian-amd64)", err)
	}
	var u syscall.Utsname
	if err := syscall.Uname(&u); err != nil {
		return "", fmt.Errorf("detect platform: uname: %w", err)
	}
	var b strings.Builder
	for _, c := range u.Machine {
		if c == 0 {
			break
		}
		b.WriteByte(byte(c))
	}
	return PlatformFrom(data, b.String())
}

// PlatformFrom maps the contents of /etc/os-release and a `uname -m`
// machine name to an rtool platform such as debian-amd64.
func PlatformFrom(osRelease []byte, machine string) (string, error) {
	fields := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(osRelease))
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), "=")
		if !ok || strings.HasPrefix(k, "#") {
			continue
		}
		fields[k] = strings.Trim(v, `"'`)
	}
	osName := ""
	candidates := append([]string{fields["ID"]}, strings.Fields(fields["ID_LIKE"])...)
	for _, id := range candidates {
		if osName = mapOSID(strings.ToLower(id)); osName != "" {
			break
		}
	}
	if osName == "" {
		return "", fmt.Errorf("detect platform: /etc/os-release ID %q (ID_LIKE %q) is not ubuntu, debian, rhel, centos, rocky, almalinux, fedora or amzn; pass --platform", fields["ID"], fields["ID_LIKE"])
	}
	var arch string
	switch machine {
	case "x86_64", "amd64":
		arch = "amd64"
	case "aarch64", "arm64", "armv8l":
		arch = "arm64"
	default:
		return "", fmt.Errorf("detect platform: machine %q is neither x86_64 nor aarch64; pass --platform", machine)
	}
	p := osName + "-" + arch
	if _, err := schema.ParsePlatform(p); err != nil {
		return "", err
	}
	return p, nil
}

func mapOSID(id string) string {
	switch id {
	case "ubuntu":
		return "ubuntu"
	case "debian":
		return "debian"
	case "rhel", "centos", "rocky", "almalinux", "fedora":
		return "rhel"
	case "amzn":
		return "amzn"
	}
	return ""
}
