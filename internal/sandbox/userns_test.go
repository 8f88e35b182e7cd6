package sandbox

import (
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/joblet/rtool/internal/testenv"
	"golang.org/x/sys/unix"
)

func TestUserNamespace(t *testing.T) {
	testenv.RequireRoot(t)
	ns, err := UserNamespace(
		[]syscall.SysProcIDMap{{ContainerID: 4242, HostID: 4242, Size: 1}},
		[]syscall.SysProcIDMap{{ContainerID: 4343, HostID: 4343, Size: 1}})
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	own, err := os.Open("/proc/self/ns/user")
	if err != nil {
		t.Fatal(err)
	}
	defer own.Close()
	// NS_GET_PARENT: the new namespace is a child of this process's.
	parent, err := unix.IoctlRetInt(int(ns.Fd()), unix.NS_GET_PARENT)
	if err != nil {
		t.Fatalf("NS_GET_PARENT: %v", err)
	}
	defer unix.Close(parent)
	var a, b unix.Stat_t
	if err := unix.Fstat(parent, &a); err != nil {
		t.Fatal(err)
	}
	if err := unix.Fstat(int(own.Fd()), &b); err != nil {
		t.Fatal(err)
	}
	if a.Ino != b.Ino {
		t.Errorf("the new user namespace's parent is %d, not this process's %d", a.Ino, b.Ino)
	}
	if uid, err := unix.IoctlGetUint32(int(ns.Fd()), unix.NS_GET_OWNER_UID); err != nil || uid != 0 {
		t.Errorf("owner uid %d, %v; want 0 (created by root)", uid, err)
	}

	if _, err := UserNamespace(nil, nil); err == nil || !strings.Contains(err.Error(), "at least one uid") {
		t.Errorf("no mappings: %v", err)
	}
}
