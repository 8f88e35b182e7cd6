#!/usr/bin/env bash
# Builds the python-3.11-pytorch runtime for Debian (amd64 or arm64, the first
# argument) inside rtool's build chroot (a Debian bookworm base; arm64 runs
# emulated through qemu-user-static on an amd64 host): installs Debian's
# python3.11, pip, python3-torch (CPU-only PyTorch 1.13.1), python3-numpy and
# OpenBLAS with apt, checks that manifest.yaml's packages: are the versions
# Debian installed, then assembles a self-contained tree
# /opt/joblet/runtimes/$RUNTIME_NAME/isolated/ (interpreter, stdlib, every
# Python package of the dependency closure, the shared libraries their ELF
# files load and the dynamic loader, /bin/sh, CA certificates) that runs in an
# empty job root, plus runtime.yml describing its mounts.
#
# Unlike runtimes/python-3.11, non-Python packages are not copied whole:
# Debian's libtorch links OpenCV, FFmpeg, GDAL and Qt, whose packages pull in
# hundreds of packages (X11, Mesa, data files) no job loads. Python packages
# (python3*, libpython3*) and the few listed in WHOLE are copied whole; of the
# rest only the shared libraries ldd finds for the copied ELF files (and the
# symlinks leading to them, such as the libblas.so.3 / liblapack.so.3
# alternatives) are copied.
# setup-debian-amd64.sh and setup-debian-arm64.sh call it with their architecture.
set -euo pipefail

DEB_ARCH="${1:?usage: build-debian.sh amd64|arm64}"
RUNTIME_NAME="${RUNTIME_NAME:-python-3.11-pytorch}"
RUNTIME_VERSION="${RUNTIME_VERSION:?RUNTIME_VERSION must be set (rtool build sets it)}"
export SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-0}"
export DEBIAN_FRONTEND=noninteractive
here="$(cd "$(dirname "$0")" && pwd)"

# Packages installed; their dependency closure is what the runtime draws from.
# libopenblas0-pthread becomes the libblas.so.3 / liblapack.so.3 alternative
# (otherwise the reference BLAS, many times slower, serves torch and numpy).
PACKAGES=(python3.11 python3 python3-pip python3-torch python3-numpy libopenblas0-pthread dash ca-certificates)
# Non-Python packages copied whole: the C library (loader, gconv modules),
# libtorch, OpenBLAS, the shell and the CA certificates.
WHOLE=" libc6 libtorch1.13 libopenblas0-pthread dash ca-certificates "
# Python packages that only matter for package management.
SKIP=" python3-apt "
# manifest.yaml's packages: name -> the Debian package that ships it. Each
# entry's version must be that package's upstream version (the Debian
# version without epoch and Debian revision).
declare -A DEBIAN_PACKAGE=(
	[python]=python3.11
	[pip]=python3-pip
	[torch]=python3-torch
	[numpy]=python3-numpy
	[openblas]=libopenblas0-pthread
)

if [ "$(dpkg --print-architecture)" != "$DEB_ARCH" ]; then
	echo "build-debian.sh ($DEB_ARCH): this chroot is $(dpkg --print-architecture), not $DEB_ARCH" >&2
	exit 1
fi

echo "==> installing ${PACKAGES[*]}"
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}" >/dev/null

echo "==> checking manifest.yaml packages against what Debian installed"
mismatch=0
while IFS= read -r entry; do
	name="${entry%%==*}"
	want="${entry#*==}"
	deb="${DEBIAN_PACKAGE[$name]:-}"
	if [ -z "$deb" ]; then
		echo "manifest.yaml packages: $entry: build-debian.sh does not know which Debian package ships $name (known: ${!DEBIAN_PACKAGE[*]}); add it to DEBIAN_PACKAGE" >&2
		mismatch=1
		continue
	fi
	full="$(dpkg-query -W -f='${Version}' "$deb")"
	upstream="${full#*:}"
	upstream="${upstream%-*}"
	if [ "$want" != "$upstream" ]; then
		echo "manifest.yaml packages: $entry, but Debian installed $deb $full; write $name==$upstream" >&2
		mismatch=1
	else
		echo "    $entry ($deb $full)"
	fi
done < <(awk '/^packages:/ { on = 1; next } on && /^[^ #-]/ { on = 0 }
	on && /^[ ]*- / { sub(/^[ ]*- */, ""); sub(/[ ]*(#.*)?$/, ""); gsub(/["'"'"']/, ""); print }' "$here/manifest.yaml")
if [ "$mismatch" != 0 ]; then
	exit 1
fi

dest="/opt/joblet/runtimes/$RUNTIME_NAME"
iso="$dest/isolated"
rm -rf "$dest"
mkdir -p "$iso"
work="$(mktemp -d)"

echo "==> resolving the dependency closure"
closure=()
while read -r pkg; do
	closure+=("$pkg")
done < <(apt-cache depends --recurse --installed --no-recommends --no-suggests \
	--no-conflicts --no-breaks --no-replaces --no-enhances "${PACKAGES[@]}" |
	grep -v -e '^ ' -e '^<' | sed 's/:.*//' | sort -u)
# Alternatives (a | b) appear even when not installed: keep installed ones.
mapfile -t closure < <(dpkg-query -W -f='${Package} ${db:Status-Status}\n' "${closure[@]}" 2>/dev/null |
	awk '$2 == "installed" { print $1 }' | sort -u)
whole=()
for pkg in "${closure[@]}"; do
	case "$SKIP" in *" $pkg "*) continue ;; esac
	case "$pkg" in
	python3* | libpython3*) whole+=("$pkg") ;;
	*) case "$WHOLE" in *" $pkg "*) whole+=("$pkg") ;; esac ;;
	esac
done
echo "    ${#closure[@]} packages in the closure; copied whole: ${whole[*]}"

# canonical_list reads absolute paths (files and symlinks, not directories)
# and prints them relative to / by their canonical directory: bookworm is
# merged-/usr, so /lib/x/y and /usr/lib/x/y are the same file and the tree
# only holds the /usr one (runtime.yml mounts usr/lib at /lib too). What jobs
# do not need is left out: docs, configuration, state, admin tools, and
# PyTorch's C++ test programs (torch/bin/*Test, test_*, tutorial_*; torch
# needs its torch_shm_manager beside them) and the test suites of numpy,
# sympy and mpmath (nothing imports them).
canonical_list() {
	local in="$1"
	sed 's|/[^/]*$||' "$in" | sort -u >"$work/dirs"
	xargs -d '\n' realpath -e -- <"$work/dirs" >"$work/canon"
	paste -d '\t' "$work/dirs" "$work/canon" >"$work/dirmap"
	awk -F '\t' 'NR == FNR { canon[$1] = $2; next }
		{ d = $0; sub(/\/[^\/]*$/, "", d); print substr(canon[d], 2) "/" substr($0, length(d) + 2) }' \
		"$work/dirmap" "$in" |
		grep -v -E '^(usr/share/(doc|man|info|lintian|locale|bug)/|etc/|var/|usr/sbin/|usr/lib/python3/dist-packages/torch/bin/([A-Z]|test_|tutorial_)|usr/lib/python3/dist-packages/(numpy|sympy|mpmath)/(.*/)?tests/)' |
		LC_ALL=C sort -u
}

echo "==> copying the packages' files"
dpkg -L "${whole[@]}" | sort -u >"$work/all"
while IFS= read -r f; do
	case "$f" in /*/*) ;; *) continue ;; esac # top level: merged-/usr links such as /bin
	if [ -d "$f" ] && [ ! -L "$f" ]; then
		continue
	fi
	if [ -e "$f" ] || [ -L "$f" ]; then
		printf '%s\n' "$f"
	fi
done <"$work/all" >"$work/files"
canonical_list "$work/files" >"$work/list"
tar -C / --no-recursion -cf - -T "$work/list" | tar -C "$iso" -xpf -
echo "    $(find "$iso" -type f | wc -l) files"

echo "==> copying the shared libraries they load"
# Every ELF file copied so far, by its path outside the tree.
find "$iso" -type f -print0 | LC_ALL=C sort -z |
	xargs -0 python3 -c '
import sys
root = sys.argv[1]
for p in sys.argv[2:]:
    with open(p, "rb") as f:
        if f.read(4) == b"\x7fELF":
            print(p[len(root):])
' "$iso" >"$work/elf"
echo "    $(wc -l <"$work/elf") ELF files"
# ldd lists each file's whole library closure; a library nothing provides
# fails the build rather than a job.
: >"$work/needed"
while IFS= read -r f; do
	if ! out="$(ldd "$f" 2>&1)"; then
		case "$out" in *"not a dynamic executable"*) continue ;; esac
		echo "ldd $f failed: $out" >&2
		exit 1
	fi
	if grep -q 'not found' <<<"$out"; then
		echo "$f needs libraries no installed package provides:" >&2
		grep 'not found' <<<"$out" >&2
		exit 1
	fi
	awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' <<<"$out" >>"$work/needed"
done <"$work/elf"
# Each library with the symlinks leading to it (libfoo.so.1 -> libfoo.so.1.2,
# libblas.so.3 -> /etc/alternatives/... -> openblas-pthread/libblas.so.3).
sort -u "$work/needed" | while IFS= read -r p; do
	while :; do
		printf '%s\n' "$p"
		[ -L "$p" ] || break
		t="$(readlink "$p")"
		case "$t" in /*) p="$t" ;; *) p="${p%/*}/$t" ;; esac
	done
done | sort -u >"$work/chain"
canonical_list "$work/chain" >"$work/libs"
LC_ALL=C comm -13 "$work/list" "$work/libs" >"$work/extra"
tar -C / --no-recursion -cf - -T "$work/extra" | tar -C "$iso" -xpf -
echo "    $(wc -l <"$work/extra") more files and links"
rm -rf "$work"

# /bin/sh for jobs' shell commands.
ln -sfn dash "$iso/usr/bin/sh"

# CA certificates (generated by update-ca-certificates, so not in any
# package's file list); Python's ssl and requests read this bundle.
mkdir -p "$iso/etc/ssl/certs"
cp /etc/ssl/certs/ca-certificates.crt "$iso/etc/ssl/certs/"

# Absolute symlinks would point outside the runtime once packed; make them
# relative to where they sit, resolving through merged-/usr and Debian's
# alternatives (/etc/alternatives) first, so they work both inside the tree
# and in the job's root.
while IFS= read -r link; do
	target="$(readlink "$link")"
	case "$target" in /*) ;; *) continue ;; esac
	resolved="$(realpath -m "$target")"
	at="/${link#"$iso"/}"
	rel="$(realpath -m --relative-to="${at%/*}" "$resolved")"
	ln -sfn "$rel" "$link"
done < <(find "$iso" -type l)
# Links into what the runtime does not carry (/etc, docs, libtorch-test's
# libcaffe2_* test libraries) would dangle.
find "$iso" -xtype l -print -delete | LC_ALL=C sort | sed 's/^/    dropped dangling link /'

# Reproducibility: no bytecode caches (their content can vary between
# runs), no logs. Jobs do not write bytecode (PYTHONDONTWRITEBYTECODE).
find "$iso" -depth -name __pycache__ -type d -exec rm -rf {} +
find "$iso" -name '*.pyc' -delete

# Quick check that the copied interpreter, torch and numpy import (with the
# chroot's libraries; rtool test runs them in an empty root).
PYTHONHOME="$iso/usr" PYTHONDONTWRITEBYTECODE=1 "$iso/usr/bin/python3.11" -c '
import sys, numpy, torch
print("    python", sys.version.split()[0], "numpy", numpy.__version__, "torch", torch.__version__)'

version_of() { dpkg-query -W -f='${Version}' "$1"; }
lib64_mount=""
if [ -d "$iso/usr/lib64" ]; then
	lib64_mount="  - source: isolated/usr/lib64
    target: /lib64
    readonly: true"
fi
cat >"$dest/runtime.yml" <<YAML
name: $RUNTIME_NAME
version: "$RUNTIME_VERSION"
description: CPU-only PyTorch 1.13.1 and numpy on Python 3.11 from Debian bookworm ($DEB_ARCH)
language: python
language_version: "3.11"
mounts:
  - source: isolated/usr/bin
    target: /usr/bin
    readonly: true
  - source: isolated/usr/bin
    target: /bin
    readonly: true
  - source: isolated/usr/lib
    target: /usr/lib
    readonly: true
  - source: isolated/usr/lib
    target: /lib
    readonly: true
$lib64_mount
  - source: isolated/usr/share
    target: /usr/share
    readonly: true
  - source: isolated/etc/ssl
    target: /etc/ssl
    readonly: true
environment:
  PATH: "/usr/bin:/bin"
  LANG: "C.UTF-8"
  PYTHONHOME: "/usr"
  PYTHONDONTWRITEBYTECODE: "1"
  SSL_CERT_FILE: "/etc/ssl/certs/ca-certificates.crt"
requirements:
  architectures:
    - $DEB_ARCH
packages:
  - "python3.11==$(version_of python3.11)"
  - "python3-pip==$(version_of python3-pip)"
  - "python3-torch==$(version_of python3-torch)"
  - "python3-numpy==$(version_of python3-numpy)"
  - "libopenblas0-pthread==$(version_of libopenblas0-pthread)"
YAML
sed -i '/^$/d' "$dest/runtime.yml"
echo "==> $dest ready ($(du -sh "$dest" | cut -f1))"
