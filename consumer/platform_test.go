package consumer

import "testing"

func TestPlatformFrom(t *testing.T) {
	tests := []struct {
		osRelease, machine, want string
		wantErr                  bool
	}{
		{"ID=debian\nVERSION_ID=\"12\"\n", "x86_64", "debian-amd64", false},
		{"NAME=\"Ubuntu\"\nID=ubuntu\nID_LIKE=debian\n", "aarch64", "ubuntu-arm64", false},
		{"ID=\"rocky\"\nID_LIKE=\"rhel centos fedora\"\n", "x86_64", "rhel-amd64", false},
		{"ID=almalinux\n", "x86_64", "rhel-amd64", false},
		{"ID=centos\n", "aarch64", "rhel-arm64", false},
		{"ID=fedora\n", "x86_64", "rhel-amd64", false},
		{"ID=\"amzn\"\nVERSION_ID=\"2023\"\n", "aarch64", "amzn-arm64", false},
		{"ID=linuxmint\nID_LIKE=\"ubuntu debian\"\n", "x86_64", "ubuntu-amd64", false},
		{"ID=arch\n", "x86_64", "", true},
		{"ID=debian\n", "riscv64", "", true},
		{"", "x86_64", "", true},
	}
	for _, tt := range tests {
		got, err := PlatformFrom([]byte(tt.osRelease), tt.machine)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("PlatformFrom(%q, %q) = %q, %v; want %q (error %v)", tt.osRelease, tt.machine, got, err, tt.want, tt.wantErr)
		}
	}
}
