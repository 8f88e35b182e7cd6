// Package sandbox runs one process in fresh mount, PID, UTS and IPC
// namespaces, chrooted into a directory that it assembles from an optional
// overlay, bind mounts, /proc and a minimal /dev. The builder runs setup
// scripts with it. It is isolation for trusted scripts, not a security
// boundary: the process is root with every capability in a chroot, which
// it can leave. Jobs (`rtool runtime run`) run in package jobsandbox
// instead, confined by bubblewrap; UserNamespace serves it.
//
// It works by re-executing the current binary: Run starts
// /proc/self/exe with the spec on a pipe, and Main, called first thing in
// main() (and in TestMain of test packages that use Run), recognises the
// child, sets up the mounts inside the new namespace, chroots and runs the
// command as the child of a small init that reaps and forwards signals.
// Every mount lives only in the private mount namespace, so when the
// namespace's last process exits — normally, on error, or killed because
// the context was cancelled — all of them vanish and nothing is left
// mounted on the host. The overlay's lower directory is never written.
//
// It does not decide what to mount: callers validate their sources (the
// consumer resolves runtime.yml sources inside the runtime) and pass host
// paths.
package sandbox
