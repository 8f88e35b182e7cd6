#!/usr/bin/env bash
# Builds the python-3.11-ml runtime for Debian (amd64 or arm64, the first
# argument) inside rtool's build chroot (a Debian bookworm base; arm64 runs
# emulated through qemu-user-static on an amd64 host): installs Debian's
# python3.11 with pip and the scientific stack (NumPy, SciPy, pandas,
# scikit-learn, Matplotlib, seaborn, joblib, Pillow) on OpenBLAS with apt,
# then assembles a self-contained tree /opt/joblet/runtimes/$RUNTIME_NAME/isolated/
# (interpreter, shared libraries and dynamic loader, stdlib, packages, fonts,
# /bin/sh, CA certificates) that runs in an empty job root, plus runtime.yml
# describing its mounts. Before it finishes it checks the tree in a root of
# its own: every ELF file's libraries resolve inside it, and the packages
# import at exactly the versions manifest.yaml pins.
# setup-debian-amd64.sh and setup-debian-arm64.sh call it with their architecture.
set -euo pipefail

DEB_ARCH="${1:?usage: build-debian.sh amd64|arm64}"
RUNTIME_NAME="${RUNTIME_NAME:-python-3.11-ml}"
RUNTIME_VERSION="${RUNTIME_VERSION:?RUNTIME_VERSION must be set (rtool build sets it)}"
export SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-0}"
export DEBIAN_FRONTEND=noninteractive
here="$(cd "$(dirname "$0")" && pwd)"

# Packages whose files (and whose dependencies' files) form the runtime.
# libopenblas0-pthread is the BLAS/LAPACK numpy and scipy load (through
# Debian's alternatives, at a higher priority than the reference libraries),
# as upstream's pip wheels bundle OpenBLAS.
PACKAGES=(python3.11 python3 python3-pip python3-six python3-requests
	python3-numpy python3-scipy python3-pandas python3-sklearn python3-matplotlib
	python3-seaborn python3-joblib python3-pil libopenblas0-pthread dash ca-certificates)
# Packages left out of the runtime together with whatever only they pull in:
# package management; python3-pythran (scipy depends on it, but it is a
# compiler used at build time, pulling in g++, Boost and the Python headers);
# Tk (only matplotlib's TkAgg backend and PIL.ImageTk use it; jobs have no
# display); jQuery (only matplotlib's WebAgg backend serves it); SymPy
# (35 MB; python3-fonttools depends on it, for fontTools.misc.symfont only)
# and unicode-data (37 MB; fontTools depends on it, but reads Python's own
# unicodedata).
SKIP=" debconf dpkg debianutils tar openssl python3-pythran python3-pil.imagetk python3-tk libjs-jquery libjs-jquery-ui python3-sympy unicode-data "
# The Python packages' versions as pinned in manifest.yaml, checked below.
MANIFEST="$here/manifest.yaml"
# The jobs' environment (runtime.yml), also the one the tree is checked in.
# Matplotlib: the Agg backend (no display); a writable configuration and
# font cache directory (the runtime is read-only, /tmp is the job's); and
# the default matplotlibrc, since Debian's matplotlib otherwise reads only
# /etc/matplotlibrc, which the runtime does not carry (and which selects TkAgg).
ENVIRONMENT=(
	PATH=/usr/bin:/bin
	LANG=C.UTF-8
	PYTHONHOME=/usr
	PYTHONDONTWRITEBYTECODE=1
	SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
	MPLBACKEND=Agg
	MPLCONFIGDIR=/tmp/matplotlib
	MATPLOTLIBRC=/usr/share/matplotlib/mpl-data/matplotlibrc
)
# The Debian packages named in runtime.yml with their exact versions.
RUNTIME_PACKAGES=(python3.11 python3-pip python3-numpy python3-scipy python3-pandas
	python3-sklearn python3-matplotlib python3-seaborn python3-joblib python3-pil libopenblas0-pthread)

if [ "$(dpkg --print-architecture)" != "$DEB_ARCH" ]; then
	echo "build-debian.sh ($DEB_ARCH): this chroot is $(dpkg --print-architecture), not $DEB_ARCH" >&2
	exit 1
fi
case "$DEB_ARCH" in
amd64) loader=/lib64/ld-linux-x86-64.so.2 ;;
arm64) loader=/lib/ld-linux-aarch64.so.1 ;;
*)
	echo "build-debian.sh: unsupported architecture $DEB_ARCH" >&2
	exit 1
	;;
esac

step() { echo "==> $* (${SECONDS}s)"; }

step "installing ${PACKAGES[*]}"
# Packages' postinst scripts byte-compile every module with py3compile, which
# takes many minutes under emulation, and the runtime drops the bytecode
# anyway: divert py3compile and py3clean to true while apt runs, then put the
# real ones back.
py_tools=(/usr/bin/py3compile /usr/bin/py3clean)
for tool in "${py_tools[@]}"; do
	dpkg-divert --quiet --local --rename --divert "$tool.rtool-real" --add "$tool"
	ln -sfn /bin/true "$tool"
done
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}" >/dev/null
for tool in "${py_tools[@]}"; do
	rm -f "$tool"
	dpkg-divert --quiet --local --rename --divert "$tool.rtool-real" --remove "$tool"
done

dest="/opt/joblet/runtimes/$RUNTIME_NAME"
iso="$dest/isolated"
rm -rf "$dest"
mkdir -p "$iso"
work="$(mktemp -d)"
check_root=""
cleanup() {
	rm -rf "$work"
	if [ -n "$check_root" ]; then rm -rf "$check_root"; fi
}
trap cleanup EXIT

# The closure: the packages above and, recursively, every installed package
# their Depends and Pre-Depends name (each installed alternative of "a | b",
# each installed provider of a virtual package), not descending into SKIP.
step "resolving the dependency closure"
dpkg-query -W -f='${Package}\t${db:Status-Status}\t${Provides}\t${Pre-Depends}, ${Depends}\n' >"$work/status"
mapfile -t closure < <(python3 - "$work/status" "$SKIP" "${PACKAGES[@]}" <<'PY'
import re
import sys

status, skip, roots = sys.argv[1], set(sys.argv[2].split()), sys.argv[3:]
depends, providers = {}, {}
with open(status) as f:
    for line in f:
        pkg, state, provides, deps = line.rstrip("\n").split("\t")
        if state != "installed":
            continue
        depends[pkg] = deps
        for p in provides.split(","):
            name = p.split("(")[0].strip()
            if name:
                providers.setdefault(name, set()).add(pkg)
missing = [r for r in roots if r not in depends]
if missing:
    sys.exit("closure: not installed: " + " ".join(missing))
seen, todo = set(), list(roots)
while todo:
    pkg = todo.pop()
    if pkg in seen or pkg in skip:
        continue
    seen.add(pkg)
    for group in depends[pkg].split(","):
        for alt in group.split("|"):
            name = re.sub(r"\(.*?\)|\[.*?\]|<.*?>", "", alt).strip().split(":")[0]
            if not name:
                continue
            if name in depends:
                todo.append(name)
            todo.extend(sorted(providers.get(name, ())))
print("\n".join(sorted(seen)))
PY
)
echo "    ${#closure[@]} packages: ${closure[*]}"

# Every file (not directory) of the closure, by its canonical path: bookworm
# is merged-/usr, so /lib/x/y and /usr/lib/x/y are the same file and the
# tree only holds the /usr one (runtime.yml mounts usr/lib at /lib too).
step "copying files"
dpkg -L "${closure[@]}" | sort -u >"$work/all"
while IFS= read -r f; do
	case "$f" in /*/*) ;; *) continue ;; esac # top level: merged-/usr links such as /bin
	if [ -d "$f" ] && [ ! -L "$f" ]; then
		continue
	fi
	if [ -e "$f" ] || [ -L "$f" ]; then
		printf '%s\n' "$f"
	fi
done <"$work/all" >"$work/files"
# Debian alternatives: links such as .../libblas.so.3 -> /etc/alternatives/...
# are made by update-alternatives, so no package lists them; carry each one
# whose final target is a file of the closure (OpenBLAS for BLAS and LAPACK).
find /usr -xdev -type l -lname '/etc/alternatives/*' | LC_ALL=C sort >"$work/alt-links"
while IFS= read -r link; do
	target="$(realpath -e "$link" 2>/dev/null)" || continue
	if grep -qxF "$target" "$work/files"; then
		printf '%s\n' "$link"
		printf '%s\t%s\n' "$link" "$target" >>"$work/alternatives"
	fi
done <"$work/alt-links" >>"$work/files"
sed 's|/[^/]*$||' "$work/files" | sort -u >"$work/dirs"
xargs -d '\n' realpath -e -- <"$work/dirs" >"$work/canon"
paste -d '\t' "$work/dirs" "$work/canon" >"$work/dirmap"
awk -F '\t' 'NR == FNR { canon[$1] = $2; next }
	{ d = $0; sub(/\/[^\/]*$/, "", d); print substr(canon[d], 2) "/" substr($0, length(d) + 2) }' \
	"$work/dirmap" "$work/files" |
	grep -v -E '^(usr/share/(doc|man|info|lintian|locale|bug)/|etc/|var/|usr/sbin/)' |
	LC_ALL=C sort -u >"$work/list"
tar -C / --no-recursion -cf - -T "$work/list" | tar -C "$iso" -xpf -
echo "    $(find "$iso" -type f | wc -l) files"

# /bin/sh for jobs' shell commands.
ln -sfn dash "$iso/usr/bin/sh"

# CA certificates (generated by update-ca-certificates, so not in any
# package's file list); Python's ssl and requests read this bundle.
mkdir -p "$iso/etc/ssl/certs"
cp /etc/ssl/certs/ca-certificates.crt "$iso/etc/ssl/certs/"

# The alternatives links point at the file the alternative selects.
if [ -f "$work/alternatives" ]; then
	while IFS=$'\t' read -r link target; do
		canon="$(realpath -e "${link%/*}")/${link##*/}"
		echo "    alternative ${canon#/} -> $target"
		ln -sfn "$target" "$iso$canon"
	done <"$work/alternatives"
fi

# Absolute symlinks would point outside the runtime once packed; make them
# relative to where they sit, resolving through merged-/usr first, so they
# work both inside the tree and in the job's root.
while IFS= read -r link; do
	target="$(readlink "$link")"
	case "$target" in /*) ;; *) continue ;; esac
	resolved="$(realpath -m "$target")"
	at="/${link#"$iso"/}"
	rel="$(realpath -m --relative-to="${at%/*}" "$resolved")"
	ln -sfn "$rel" "$link"
done < <(find "$iso" -type l)
# Links into what the runtime does not carry (/etc, docs, jQuery) would dangle.
find "$iso" -xtype l -print -delete | LC_ALL=C sort | sed "s|^$iso/|    dropped dangling link |"

# The packages' own test suites (tests/ and test/ packages, pytest's
# conftest.py; about 60 MB) are not something jobs import: drop them, after
# making sure no other module imports one (the sweep below checks again by
# importing every module).
site="$iso/usr/lib/python3/dist-packages"
find "$site" -name '*.py' -not -path '*/test/*' -not -path '*/tests/*' -not -name conftest.py -print0 |
	xargs -0 grep -nE '^[[:space:]]*(from|import)[[:space:]]+([A-Za-z0-9_.]*\.|\.*)tests?([.[:space:]]|$)' >"$work/test-imports" || true
if [ -s "$work/test-imports" ]; then
	echo "build-debian.sh: these modules import a test package, which the runtime drops:" >&2
	sed "s|^$site/|  |" "$work/test-imports" >&2
	exit 1
fi
find "$site" -depth -type d \( -name tests -o -name test \) -exec rm -rf {} +
find "$site" -name conftest.py -delete

# Reproducibility: no bytecode caches (their content can vary between
# runs), no logs. Jobs do not write bytecode (PYTHONDONTWRITEBYTECODE).
find "$iso" -depth -name __pycache__ -type d -exec rm -rf {} +
find "$iso" -name '*.pyc' -delete

# Check the tree as a job sees it: in a root of its own holding only the
# tree (hard links, so nothing is copied) with /bin, /lib and /lib64 where
# runtime.yml mounts them.
step "checking the tree in an empty root"
check_root="$(mktemp -d /opt/rtool-check.XXXXXX)"
cp -al "$iso/usr" "$iso/etc" "$check_root/"
ln -s usr/bin "$check_root/bin"
ln -s usr/lib "$check_root/lib"
if [ -d "$iso/usr/lib64" ]; then
	ln -s usr/lib64 "$check_root/lib64"
fi
mkdir -m 1777 "$check_root/tmp"
chroot="$(command -v chroot)"
in_tree() {
	env -i "${ENVIRONMENT[@]}" "$chroot" "$check_root" "$@"
}

# Every ELF executable and shared object finds its libraries in the tree.
in_tree /usr/bin/python3.11 - >"$work/elf" <<'PY'
import os

for dirpath, dirnames, filenames in os.walk("/usr"):
    dirnames.sort()
    for name in sorted(filenames):
        path = os.path.join(dirpath, name)
        if os.path.islink(path) or not os.path.isfile(path):
            continue
        with open(path, "rb") as f:
            head = f.read(18)
        # ELF executables (2) and shared objects (3), little-endian e_type.
        if head[:4] == b"\x7fELF" and len(head) == 18 and head[16] in (2, 3):
            print(path)
PY
echo "    $(wc -l <"$work/elf") ELF files"
# The loader lists each file's libraries as ldd does (LD_TRACE_LOADED_OBJECTS),
# run by the tree's own sh in batches, one batch per CPU at a time (each
# loader run is a process start, slow under emulation). Some files cannot be
# listed on their own (the loader itself): only missing libraries count.
# shellcheck disable=SC2016 # expanded by the tree's sh
xargs -d '\n' -n 32 -P "$(nproc)" env -i "${ENVIRONMENT[@]}" "$chroot" "$check_root" /usr/bin/sh -c '
	loader="$1"
	shift
	for elf; do
		out="$(LD_TRACE_LOADED_OBJECTS=1 "$loader" "$elf" 2>&1)"
		printf "%s\n" "$out" | while IFS= read -r line; do
			case "$line" in *"not found"* | *"cannot open"*) printf "%s: %s\n" "$elf" "$line" ;; esac
		done
	done' sh "$loader" <"$work/elf" | LC_ALL=C sort >"$work/unresolved"
if [ -s "$work/unresolved" ]; then
	echo "build-debian.sh: libraries missing from the runtime (a package in SKIP is needed, or a dependency is not declared):" >&2
	cat "$work/unresolved" >&2
	exit 1
fi

# The packages import, and their versions are exactly manifest.yaml's pins.
awk '/^packages:/ { p = 1; next } p && /^[^ #]/ { p = 0 } p && /^ *- / { sub(/^ *- */, ""); sub(/#.*/, ""); gsub(/["'"'"' ]/, ""); print }' \
	"$MANIFEST" >"$work/pins"
if [ ! -s "$work/pins" ]; then
	echo "build-debian.sh: $MANIFEST: no name==version entries under packages:" >&2
	exit 1
fi
cp "$work/pins" "$check_root/tmp/pins"
in_tree /usr/bin/python3.11 - /tmp/pins <<'PY'
import importlib.metadata
import platform
import sys

bad = []
with open(sys.argv[1]) as f:
    pins = [line.strip() for line in f if line.strip()]
for pin in pins:
    name, sep, want = pin.partition("==")
    if not sep or not want:
        bad.append("%s: not name==version" % pin)
        continue
    if name == "python":
        have = platform.python_version()
    else:
        try:
            have = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            bad.append("%s: not installed in the runtime" % name)
            continue
    if have != want:
        bad.append("%s: manifest.yaml pins %s but the runtime has %s (update the pin)" % (name, want, have))
    else:
        print("    %s==%s" % (name, have))
if bad:
    sys.exit("build-debian.sh: manifest.yaml packages do not match the runtime:\n  " + "\n  ".join(bad))
import contextlib
import io
import os
import pkgutil
import sysconfig
import warnings
import numpy, scipy, pandas, sklearn, matplotlib, seaborn, joblib, PIL, requests, six
import matplotlib.pyplot as plt

# numpy and scipy load BLAS and LAPACK through the alternatives links.
lib = "/usr/lib/" + sysconfig.get_config_var("MULTIARCH")
for name in ("libblas.so.3", "liblapack.so.3"):
    real = os.path.realpath(os.path.join(lib, name))
    if "/openblas" not in real:
        sys.exit("build-debian.sh: %s/%s is %s, not OpenBLAS's" % (lib, name, real))
numpy.linalg.solve(numpy.eye(3), numpy.ones(3))
fig, ax = plt.subplots()
ax.plot([0, 1], [1, 0])
buf = io.BytesIO()
fig.savefig(buf, format="png")
if not buf.getvalue().startswith(b"\x89PNG"):
    sys.exit("build-debian.sh: matplotlib did not render a PNG")

# Import every module of the packages: failures for want of an optional
# dependency (a GUI toolkit, pytest, ...) are expected; a missing module of
# the runtime itself (a dropped test package) or a missing shared library (a
# skipped dependency) is not.
ours = {"numpy", "scipy", "pandas", "sklearn", "matplotlib", "mpl_toolkits", "seaborn", "joblib", "PIL"}
warnings.simplefilter("ignore")
broken, optional, count = [], {}, 0
def failed(name, e):
    if (isinstance(e, ModuleNotFoundError) and (e.name or "").split(".")[0] in ours) or (
            isinstance(e, ImportError) and ("shared object" in str(e) or "undefined symbol" in str(e))):
        broken.append("%s: %s" % (name, e))
    else:
        optional.setdefault(getattr(e, "name", None) or type(e).__name__, []).append(name)
def onerror(name):
    failed(name, sys.exc_info()[1])
for pkg in sorted(ours):
    top = __import__(pkg)
    for mod in pkgutil.walk_packages(top.__path__, pkg + ".", onerror=onerror):
        if mod.name.endswith(".__main__"):
            continue
        count += 1
        try:
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                __import__(mod.name)
        except Exception as e:
            failed(mod.name, e)
plt.close("all")
print("    imported %d modules; not importable for want of an optional dependency: %s" % (
    count, ", ".join("%s (%d)" % (k, len(v)) for k, v in sorted(optional.items()))))
if broken:
    sys.exit("build-debian.sh: modules of the runtime are missing:\n  " + "\n  ".join(broken))
PY
rm -rf "$check_root"
check_root=""

pkgver() { dpkg-query -W -f='${Version}' "$1"; }
lib64_mount=""
if [ -d "$iso/usr/lib64" ]; then
	lib64_mount="  - source: isolated/usr/lib64
    target: /lib64
    readonly: true"
fi
{
	cat <<YAML
name: $RUNTIME_NAME
version: "$RUNTIME_VERSION"
description: Python 3.11 from Debian bookworm ($DEB_ARCH) with NumPy, SciPy, pandas, scikit-learn, Matplotlib, seaborn, joblib and Pillow on OpenBLAS
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
YAML
	for kv in "${ENVIRONMENT[@]}"; do
		printf '  %s: "%s"\n' "${kv%%=*}" "${kv#*=}"
	done
	cat <<YAML
requirements:
  architectures:
    - $DEB_ARCH
packages:
YAML
	for p in "${RUNTIME_PACKAGES[@]}"; do
		printf '  - "%s==%s"\n' "$p" "$(pkgver "$p")"
	done
} >"$dest/runtime.yml"
sed -i '/^$/d' "$dest/runtime.yml"
step "$dest ready ($(du -sh "$dest" | cut -f1))"
