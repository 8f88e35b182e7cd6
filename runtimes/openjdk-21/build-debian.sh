#!/usr/bin/env bash
# Builds the openjdk-21 runtime for Debian (amd64 or arm64, the first argument) inside rtool's build chroot
# (a Debian trixie base, because bookworm has no OpenJDK 21; arm64 runs
# emulated through qemu-user-static on an amd64 host): installs Debian's
# openjdk-21-jdk-headless (the JVM plus javac, jar, jshell and the other
# development tools) at the version manifest.yaml pins, then assembles a
# self-contained tree /opt/joblet/runtimes/$RUNTIME_NAME/isolated/ (the JDK,
# its shared libraries and the dynamic loader, its configuration under
# /etc/java-21-openjdk, /bin/sh, CA certificates and a reproducible Java trust
# store) that runs in an empty job root, plus runtime.yml describing its mounts.
# setup-debian-amd64.sh and setup-debian-arm64.sh call it with their architecture.
set -euo pipefail

DEB_ARCH="${1:?usage: build-debian.sh amd64|arm64}"
RUNTIME_NAME="${RUNTIME_NAME:-openjdk-21}"
RUNTIME_VERSION="${RUNTIME_VERSION:?RUNTIME_VERSION must be set (rtool build sets it)}"
export SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-0}"
export DEBIAN_FRONTEND=noninteractive

# The Debian release this runtime is built from.
SUITE=trixie
# The package whose version manifest.yaml pins (the Debian version trixie
# ships), and the packages whose files (and whose dependencies' files) form
# the runtime.
JDK=openjdk-21-jdk-headless
PACKAGES=("$JDK" dash ca-certificates)
# Dependencies that only matter for package management or for desktops.
SKIP=" debconf dpkg debianutils tar openssl ca-certificates-java util-linux util-linux-extra fonts-dejavu-core fonts-dejavu-mono fontconfig-config libasound2-data "
# The Java trust store's password (Debian's default in /etc/default/cacerts).
STOREPASS=changeit

if [ "$(dpkg --print-architecture)" != "$DEB_ARCH" ]; then
	echo "build-debian.sh ($DEB_ARCH): this chroot is $(dpkg --print-architecture), not $DEB_ARCH" >&2
	exit 1
fi

# shellcheck disable=SC1091
codename="$(. /etc/os-release && echo "${VERSION_CODENAME:-unknown}")"
if [ "$codename" != "$SUITE" ]; then
	echo "build-debian.sh ($DEB_ARCH): this build chroot is Debian '$codename', but $RUNTIME_NAME is built from Debian $SUITE (bookworm has no OpenJDK 21)." >&2
	echo "  fix: give debian-$DEB_ARCH a $SUITE base: in manifest.yaml set 'build: {base: $SUITE}' (a named base of rtool.yaml), or in the --config file set bases.debian-$DEB_ARCH.debootstrap.suite: $SUITE" >&2
	exit 1
fi

# The pinned version from manifest.yaml (beside this script): packages: has
# $JDK==<upstream version> (a packages entry cannot hold Debian's "~") and
# debian_package_version the exact Debian version it must be.
manifest="$(dirname "$0")/manifest.yaml"
upstream_pin="$(sed -n "s/^[[:space:]]*-[[:space:]]*[\"']\{0,1\}$JDK==\([^\"'[:space:]]*\).*/\1/p" "$manifest")"
pin="$(sed -n "s/^debian_package_version:[[:space:]]*[\"']\{0,1\}\([^\"'[:space:]]*\).*/\1/p" "$manifest")"
if [ -z "$upstream_pin" ] || [ "$(printf '%s\n' "$upstream_pin" | wc -l)" -ne 1 ]; then
	echo "build-debian.sh: $manifest: packages must list $JDK==<upstream version> exactly once (found: '${upstream_pin//$'\n'/ }')" >&2
	exit 1
fi
if [ -z "$pin" ] || [ "$(printf '%s\n' "$pin" | wc -l)" -ne 1 ]; then
	echo "build-debian.sh: $manifest: debian_package_version must be set once to the exact Debian version of $JDK (found: '${pin//$'\n'/ }')" >&2
	exit 1
fi
# The Debian version without epoch and revision: [epoch:]upstream[-revision].
pin_upstream="${pin#*:}"
pin_upstream="${pin_upstream%-*}"
if [ "$pin_upstream" != "$upstream_pin" ]; then
	echo "build-debian.sh: $manifest: packages pins $JDK==$upstream_pin but debian_package_version $pin is upstream version $pin_upstream; make them agree" >&2
	exit 1
fi

echo "==> installing ${PACKAGES[*]}"
apt-get update -qq
candidate="$(apt-cache policy "$JDK" | sed -n 's/^ *Candidate: //p')"
if [ "$candidate" != "$pin" ]; then
	echo "build-debian.sh ($DEB_ARCH): manifest.yaml pins $JDK $pin (debian_package_version) but Debian $SUITE ships $JDK ${candidate:-(none)}" >&2
	c_upstream="${candidate#*:}"
	echo "  fix: in $manifest set debian_package_version: $candidate and packages: $JDK==${c_upstream%-*} (and bump version:), or build from a $SUITE mirror that still has $pin" >&2
	apt-cache policy "$JDK" >&2
	exit 1
fi
apt-get install -y -qq --no-install-recommends "$JDK=$pin" "${PACKAGES[@]:1}" >/dev/null
installed="$(dpkg-query -W -f='${Version}' "$JDK")"
if [ "$installed" != "$pin" ]; then
	echo "build-debian.sh ($DEB_ARCH): installed $JDK $installed, not the pinned $pin" >&2
	exit 1
fi
echo "    $JDK $installed (pinned in manifest.yaml)"

dest="/opt/joblet/runtimes/$RUNTIME_NAME"
iso="$dest/isolated"
rm -rf "$dest"
mkdir -p "$iso"

echo "==> resolving the dependency closure"
# Pre-Depends and Depends of the installed packages, followed from PACKAGES;
# a SKIP package is left out together with what only it needs (util-linux
# alone would bring PAM, systemd and SQLite libraries). Of alternatives
# (a | b) the installed ones count; a virtual package counts as its
# installed providers.
mapfile -t closure < <(dpkg-query -W -f='${db:Status-Status}\t${Package}\t${Provides}\t${Pre-Depends}, ${Depends}\n' |
	awk -F '\t' -v roots="${PACKAGES[*]}" -v skip="$SKIP" '
	$1 == "installed" {
		inst[$2] = 1; deps[$2] = $4
		n = split($3, pv, /, */)
		for (i = 1; i <= n; i++) { v = pv[i]; sub(/[ :(].*/, "", v); if (v != "") prov[v] = prov[v] " " $2 }
	}
	END {
		n = split(roots, queue, " ")
		for (h = 1; h <= n; h++) {
			p = queue[h]
			if (p in seen || index(skip, " " p " ")) continue
			seen[p] = 1; print p
			g = split(deps[p], groups, /, */)
			for (i = 1; i <= g; i++) {
				a = split(groups[i], alts, /\|/)
				for (j = 1; j <= a; j++) {
					d = alts[j]; gsub(/^ +| +$/, "", d); sub(/[ :(].*/, "", d)
					if (d == "") continue
					if (d in inst) queue[++n] = d
					else if (d in prov) { m = split(prov[d], pp, " "); for (k = 1; k <= m; k++) queue[++n] = pp[k] }
				}
			}
		}
	}' | LC_ALL=C sort)
echo "    ${#closure[@]} packages: ${closure[*]}"

# Every file (not directory) of the closure, by its canonical path: bookworm
# is merged-/usr, so /lib/x/y and /usr/lib/x/y are the same file and the
# tree only holds the /usr one (runtime.yml mounts usr/lib at /lib too).
echo "==> copying files"
work="$(mktemp -d)"
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
sed 's|/[^/]*$||' "$work/files" | sort -u >"$work/dirs"
xargs -d '\n' realpath -e -- <"$work/dirs" >"$work/canon"
paste -d '\t' "$work/dirs" "$work/canon" >"$work/dirmap"
awk -F '\t' 'NR == FNR { canon[$1] = $2; next }
	{ d = $0; sub(/\/[^\/]*$/, "", d); print substr(canon[d], 2) "/" substr($0, length(d) + 2) }' \
	"$work/dirmap" "$work/files" |
	awk '!/^(usr\/share\/(doc|man|info|lintian|locale|bug)\/|var\/|usr\/sbin\/)/ && (!/^etc\// || /^etc\/java-21-openjdk\//)' |
	LC_ALL=C sort -u >"$work/list"
tar -C / --no-recursion -cf - -T "$work/list" | tar -C "$iso" -xpf -
rm -rf "$work"
echo "    $(find "$iso" -type f | wc -l) files"

# /bin/sh for jobs' shell commands.
ln -sfn dash "$iso/usr/bin/sh"

# CA certificates (generated by update-ca-certificates, so not in any
# package's file list) and the Java trust store ca-certificates-java made.
mkdir -p "$iso/etc/ssl/certs/java"
cp /etc/ssl/certs/ca-certificates.crt "$iso/etc/ssl/certs/"
cp /etc/ssl/certs/java/cacerts "$iso/etc/ssl/certs/java/cacerts"

# The JKS trust store records when each entry was added (now), which would
# make every build differ: set every entry's date to SOURCE_DATE_EPOCH and
# recompute the store's SHA-1 integrity digest (perl-base and sha1sum are in
# every Debian base).
normalize_jks() {
	local store="$1" pass="$2" body digest
	body="$(mktemp)"
	perl -e '
		my ($in, $out, $ms) = @ARGV;
		open(my $fh, "<:raw", $in) or die "$in: $!\n";
		local $/; my $d = <$fh>; close($fh);
		my ($magic, $ver, $n) = unpack("N N N", substr($d, 0, 12));
		die "$in: not a JKS v2 keystore\n" unless $magic == 0xFEEDFEED && $ver == 2;
		my $p = 12;
		my $utf = sub { my $l = unpack("n", substr($d, $p, 2)); $p += 2 + $l; };
		my $cert = sub { $utf->(); my $l = unpack("N", substr($d, $p, 4)); $p += 4 + $l; };
		for (1 .. $n) {
			my $tag = unpack("N", substr($d, $p, 4)); $p += 4;
			$utf->();
			substr($d, $p, 8) = pack("Q>", $ms); $p += 8;
			if ($tag == 2) { $cert->(); }
			elsif ($tag == 1) {
				my $l = unpack("N", substr($d, $p, 4)); $p += 4 + $l;
				my $c = unpack("N", substr($d, $p, 4)); $p += 4;
				$cert->() for 1 .. $c;
			} else { die "$in: unknown JKS entry tag $tag\n"; }
		}
		die "$in: unexpected trailing data\n" unless length($d) == $p + 20;
		open(my $o, ">:raw", $out) or die "$out: $!\n";
		print $o substr($d, 0, $p); close($o);
	' "$store" "$body" "$((SOURCE_DATE_EPOCH * 1000))"
	digest="$({ printf '%s' "$pass" | perl -pe 's/(.)/\0$1/gs'; printf 'Mighty Aphrodite'; cat "$body"; } | sha1sum | cut -d' ' -f1)"
	{ cat "$body"; perl -e 'print pack("H*", $ARGV[0])' "$digest"; } >"$store"
	rm -f "$body"
}
normalize_jks "$iso/etc/ssl/certs/java/cacerts" "$STOREPASS"

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
# Links into what the runtime does not carry (/etc, docs) would dangle.
find "$iso" -xtype l -print -delete | sed 's/^/    dropped dangling link /'
# Directories that held only such links (usr/lib/debug/...) are left empty.
find "$iso" -mindepth 1 -depth -type d -empty -print -delete | sed 's/^/    dropped empty directory /'

java_home="/usr/lib/jvm/java-21-openjdk-$DEB_ARCH"
# java, javac, jar, jshell and the other tools on the default PATH too
# (Debian points /usr/bin/<tool> at them through /etc/alternatives, which the
# runtime does not carry).
for tool in "$iso$java_home"/bin/*; do
	tool="${tool##*/}"
	if [ ! -e "$iso/usr/bin/$tool" ] && [ ! -L "$iso/usr/bin/$tool" ]; then
		ln -s "../lib/jvm/java-21-openjdk-$DEB_ARCH/bin/$tool" "$iso/usr/bin/$tool"
	fi
done

# Quick check that the copied JDK starts and compiles.
"$iso$java_home/bin/java" -version 2>&1 | sed 's/^/    /'
"$iso$java_home/bin/javac" -version 2>&1 | sed 's/^/    /'

lib64_mount=""
if [ -d "$iso/usr/lib64" ]; then
	lib64_mount="  - source: isolated/usr/lib64
    target: /lib64
    readonly: true"
fi
cat >"$dest/runtime.yml" <<YAML
name: $RUNTIME_NAME
version: "$RUNTIME_VERSION"
description: OpenJDK 21 LTS headless JDK (java, javac, jar, jshell) from Debian $SUITE ($DEB_ARCH)
language: java
language_version: "21"
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
  - source: isolated/etc/java-21-openjdk
    target: /etc/java-21-openjdk
    readonly: true
environment:
  JAVA_HOME: "$java_home"
  PATH: "$java_home/bin:/usr/bin:/bin"
  LANG: "C.UTF-8"
requirements:
  architectures:
    - $DEB_ARCH
packages:
  - "$JDK==$installed"
YAML
sed -i '/^$/d' "$dest/runtime.yml"
echo "==> $dest ready ($(du -sh "$dest" | cut -f1))"
