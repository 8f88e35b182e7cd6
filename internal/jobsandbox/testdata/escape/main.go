// Command escape tries, inside a job, what a hostile runtime would try, and
// says what happened. Tests build it static (CGO_ENABLED=0) and put it in
// a tiny runtime. Each subcommand prints one line "<name>: ok" or
// "<name>: <error>" and exits 0 when the attempt succeeded, 1 when it
// failed, 2 on bad usage.
//
//	escape chroot FILE    classic chroot escape, then write FILE (a host path)
//	escape write FILE     write FILE
//	escape sysctl NAME    rewrite /proc/sys/NAME with its own value
//	escape mknod PATH     create a character device (1,3: /dev/null) at PATH and open it
//	escape mount DIR      mount a tmpfs on DIR
//	escape userns         unshare a new user namespace
//	escape status         print uid, gid and the security lines of /proc/self/status
//	escape ifaces         print the network interfaces, one per line
//	escape readonly PATH  succeed if the file system holding PATH is mounted read-only
//	escape pause TOKEN    sleep until killed (TOKEN lets a test find the process)
//	escape exit N         exit with status N
package main

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: escape chroot|write|sysctl|mknod|mount|userns|status|ifaces|readonly|pause|exit [ARG]")
		os.Exit(2)
	}
	arg := ""
	if len(os.Args) > 2 {
		arg = os.Args[2]
	}
	var err error
	switch os.Args[1] {
	case "chroot":
		err = chrootEscape(arg)
	case "write":
		err = os.WriteFile(arg, []byte("escaped\n"), 0o644)
	case "sysctl":
		err = rewriteSysctl(arg)
	case "mknod":
		err = mknod(arg)
	case "mount":
		err = syscall.Mount("tmpfs", arg, "tmpfs", 0, "size=1m")
	case "userns":
		err = syscall.Unshare(syscall.CLONE_NEWUSER)
	case "status":
		err = status()
	case "ifaces":
		err = ifaces()
	case "readonly":
		var st syscall.Statfs_t
		if err = syscall.Statfs(arg, &st); err == nil && st.Flags&0x1 == 0 { // ST_RDONLY
			err = fmt.Errorf("%s is writable", arg)
		}
	case "pause":
		fmt.Println("pause: started")
		for {
			time.Sleep(time.Hour)
		}
	case "exit":
		n, _ := strconv.Atoi(arg)
		os.Exit(n)
	default:
		fmt.Fprintf(os.Stderr, "escape: unknown subcommand %q\n", os.Args[1])
		os.Exit(2)
	}
	if err != nil {
		fmt.Printf("%s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
	fmt.Printf("%s: ok\n", os.Args[1])
}

// chrootEscape is the classic escape from a chroot for a process that may
// call chroot(2): chroot into a subdirectory so the current directory is
// outside the new root, climb with "..", and chroot at the real root.
func chrootEscape(file string) error {
	if err := os.MkdirAll("/tmp/escape-sub", 0o755); err != nil {
		return fmt.Errorf("mkdir: %w", err)
	}
	if err := syscall.Chdir("/"); err != nil {
		return err
	}
	if err := syscall.Chroot("/tmp/escape-sub"); err != nil {
		return fmt.Errorf("chroot into a subdirectory: %w", err)
	}
	for i := 0; i < 64; i++ {
		if err := syscall.Chdir(".."); err != nil {
			return fmt.Errorf("chdir ..: %w", err)
		}
	}
	if err := syscall.Chroot("."); err != nil {
		return fmt.Errorf("chroot .: %w", err)
	}
	return os.WriteFile(file, []byte("escaped\n"), 0o644)
}

func rewriteSysctl(name string) error {
	p := "/proc/sys/" + name
	v, err := os.ReadFile(p)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(p, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = f.Write(v)
	return err
}

func mknod(p string) error {
	if err := syscall.Mknod(p, syscall.S_IFCHR|0o666, 1<<8|3); err != nil {
		return err
	}
	f, err := os.OpenFile(p, os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("created, but: %w", err)
	}
	return f.Close()
}

func status() error {
	fmt.Printf("uid=%d gid=%d\n", os.Getuid(), os.Getgid())
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return err
	}
	for _, line := range bytes.Split(b, []byte("\n")) {
		for _, k := range []string{"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs", "Seccomp"} {
			if bytes.HasPrefix(line, []byte(k+":")) {
				fmt.Println(strings.Join(strings.Fields(string(line)), " "))
			}
		}
	}
	return nil
}

func ifaces() error {
	list, err := net.Interfaces()
	if err != nil {
		return err
	}
	for _, i := range list {
		fmt.Println(i.Name)
	}
	return nil
}
