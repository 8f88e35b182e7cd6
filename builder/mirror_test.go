package builder

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParseSources(t *testing.T) {
	srcs, err := ReadSources([]string{
		"testdata/apt/missing.list", // skipped
		"testdata/apt/mixed.list",
		"testdata/apt/debian.sources",
		"testdata/apt/disabled.sources",
	})
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		Types, URIs, Suites, Components, Archs []string
		Enabled                                bool
	}
	var got []row
	for _, s := range srcs {
		got = append(got, row{s.Types, s.URIs, s.Suites, s.Components, s.Archs, s.Enabled})
	}
	want := []row{
		{[]string{"deb-src"}, []string{"http://src.example.org/debian"}, []string{"bookworm"}, []string{"main"}, nil, true},
		{[]string{"deb"}, []string{"http://amd64-only.example.org/debian"}, []string{"bookworm"}, []string{"main", "contrib"}, []string{"amd64"}, true},
		{[]string{"deb"}, []string{"http://ports.example.org/debian/"}, []string{"bookworm"}, []string{"main"}, []string{"arm64"}, true},
		{[]string{"deb"}, []string{"http://archive.example.org/ubuntu"}, []string{"jammy"}, []string{"main", "universe"}, nil, true},
		{[]string{"deb"}, []string{"http://deb.debian.org/debian"}, []string{"bookworm", "bookworm-updates"}, []string{"main"}, nil, true},
		{[]string{"deb"}, []string{"http://deb.debian.org/debian-security"}, []string{"bookworm-security"}, []string{"main"}, nil, true},
		{[]string{"deb"}, []string{"http://disabled.example.org/debian"}, []string{"bookworm"}, []string{"main"}, nil, false},
		{[]string{"deb", "deb-src"}, []string{"http://continued.example.org/debian", "http://second.example.org/debian"}, []string{"trixie"}, []string{"main"}, nil, true},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("parsed sources:\n got %+v\nwant %+v", got, want)
	}
}

func TestHostMirror(t *testing.T) {
	all := []string{"testdata/apt/disabled.sources", "testdata/apt/mixed.list", "testdata/apt/debian.sources", "testdata/apt/nodesource.sources"}
	tests := []struct {
		name        string
		files       []string
		suite, arch string
		want        string
		wantErr     string
	}{
		{"host debian.sources", []string{"testdata/apt/debian.sources"}, "bookworm", "amd64", "http://deb.debian.org/debian", ""},
		{"security suite", []string{"testdata/apt/debian.sources"}, "bookworm-security", "arm64", "http://deb.debian.org/debian-security", ""},
		{"disabled skipped, arch filter amd64", all, "bookworm", "amd64", "http://amd64-only.example.org/debian", ""},
		{"arch filter arm64, trailing slash trimmed", all, "bookworm", "arm64", "http://ports.example.org/debian", ""},
		{"deb-src is not a mirror, other arches filtered", []string{"testdata/apt/mixed.list"}, "bookworm", "riscv64", "http://deb.debian.org/debian", ""},
		{"continuation lines", all, "trixie", "amd64", "http://continued.example.org/debian", ""},
		{"ubuntu suite", all, "jammy", "amd64", "http://archive.example.org/ubuntu", ""},
		{"no source for an unknown suite", all, "mysuite", "amd64", "", "set mirror:"},
		{"no files at all", []string{filepath.Join(t.TempDir(), "none.list")}, "mysuite", "amd64", "", "no apt source"},
		{"debian suite on a host without one", []string{"testdata/apt/mixed.list"}, "trixie", "amd64", "http://deb.debian.org/debian", ""},
		{"ubuntu suite on a debian host", []string{"testdata/apt/debian.sources"}, "noble", "amd64", "http://archive.ubuntu.com/ubuntu", ""},
		{"ubuntu ports for arm64", []string{"testdata/apt/debian.sources"}, "noble", "arm64", "http://ports.ubuntu.com/ubuntu-ports", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := HostMirror(tt.files, tt.suite, tt.arch)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("HostMirror = %q, %v; want error containing %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("HostMirror = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}
