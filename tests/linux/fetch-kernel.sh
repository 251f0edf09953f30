#!/usr/bin/env bash
# fetch-kernel.sh OUTDIR: put Debian's cloud kernel in OUTDIR as
#   vmlinuz  the bzImage, as shipped (boot protocol 2.x, own decompressor)
#   vmlinux  the ELF kernel unpacked from it (carries the Xen PVH note)
#   System.map  the kernel's symbol map (the vmlinux has no symbols), for
#            the debuggers of a zone booting the bzImage (check-linux.sh)
# Idempotent: does nothing when all three files are already there.  Each
# file is written to a temporary name and renamed, so an interrupted run
# never leaves a half-written kernel behind; System.map is removed first and
# put back last, so the three files are never from different packages.
#
# The package is the one linux-image-cloud-amd64 depends on (a versioned
# linux-image-*-cloud-amd64), fetched with apt-get download; apt-get update
# runs only if that download fails.  Debian builds these kernels with
# CONFIG_KERNEL_LZ4, so the bzImage payload is an LZ4 legacy-format stream:
# we find its magic (02 21 4c 18), let lz4 unpack from there (it stops at
# the end of the frame and complains about the trailing bytes, which we
# ignore) and keep the output only if it is an ELF file.
#
# The package's own /boot/System.map-* is an 83-byte placeholder ("The real
# System.map is in the linux-image-<version>-dbg package"), so the map comes
# from that -dbg package, at the same version (a 280 MB download, 1.7 GB
# unpacked): tar stops after the one member we take, which comes first.  The
# map must put linux_banner where the vmlinux holds "Linux version ".
#
# Needs: apt-get, dpkg-deb, tar, lz4, readelf (binutils), od, grep.
set -euo pipefail

prog=fetch-kernel
die() { echo "$prog: $*" >&2; exit 1; }

[ $# -eq 1 ] || { echo "usage: $0 OUTDIR" >&2; exit 2; }
out=$1
if [ -s "$out/vmlinuz" ] && [ -s "$out/vmlinux" ] && [ -s "$out/System.map" ]; then
	exit 0
fi
for tool in apt-get apt-cache dpkg-deb tar lz4 readelf od; do
	command -v "$tool" >/dev/null || die "$tool not found (install it: make deps)"
done
mkdir -p "$out"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/kz-kernel.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

meta=linux-image-cloud-amd64
pkg=$(apt-cache depends "$meta" 2>/dev/null |
	awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
if [ -z "$pkg" ]; then
	apt-get update -qq >/dev/null 2>&1 || true
	pkg=$(apt-cache depends "$meta" 2>/dev/null |
		awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
fi
[ -n "$pkg" ] || die "cannot tell which kernel package $meta depends on"

# fetch DIR PACKAGE: apt-get download PACKAGE into DIR.
fetch() { mkdir -p "$1" && (cd "$1" && apt-get download -qq "$2" >/dev/null 2>&1); }
if ! fetch "$tmp" "$pkg"; then
	echo "$prog: download of $pkg failed; running apt-get update" >&2
	apt-get update -qq >/dev/null 2>&1 || die "apt-get update failed"
	fetch "$tmp" "$pkg" || die "apt-get download $pkg failed"
fi
deb=$(ls "$tmp"/*.deb 2>/dev/null | head -n1)
[ -n "$deb" ] || die "apt-get download $pkg left no .deb"
dpkg-deb -x "$deb" "$tmp/root" || die "dpkg-deb -x $deb failed"

bz=$(ls "$tmp"/root/boot/vmlinuz-* 2>/dev/null | head -n1)
[ -n "$bz" ] || die "$pkg has no /boot/vmlinuz-*"

# Offsets of the LZ4 legacy magic; try each until one unpacks to an ELF.
elf=$tmp/vmlinux
found=
for off in $(grep -aobUP '\x02\x21\x4c\x18' "$bz" | cut -d: -f1); do
	tail -c "+$((off + 1))" "$bz" | lz4 -dc >"$elf" 2>/dev/null || true
	if [ "$(od -An -N4 -tx1 "$elf" | tr -d ' ')" = 7f454c46 ]; then
		found=$off
		break
	fi
done
[ -n "$found" ] || die "no LZ4 payload holding an ELF kernel in $(basename "$bz")"
notes=$(readelf -n "$elf" 2>/dev/null) || die "readelf -n failed on the vmlinux"
grep -Eq '^ *Xen .*(\(0x00000012\)|PHYS32_ENTRY)' <<<"$notes" ||
	die "unpacked vmlinux has no Xen PVH note (type 0x12)"

# The System.map, from the -dbg package of the same version.  dpkg-deb
# --fsys-tarfile dies of SIGPIPE when tar stops early: only tar's status
# and the map's contents count.
ver=$(dpkg-deb -f "$deb" Version) || die "no Version in $(basename "$deb")"
dbg=$pkg-dbg
fetch "$tmp/dbg" "$dbg=$ver" || die "apt-get download $dbg=$ver failed"
ddeb=$(ls "$tmp"/dbg/*.deb 2>/dev/null | head -n1)
[ -n "$ddeb" ] || die "apt-get download $dbg left no .deb"
map=$tmp/System.map
rc=$(set +o pipefail; dpkg-deb --fsys-tarfile "$ddeb" 2>/dev/null |
	tar -xOf - --wildcards --occurrence=1 './usr/lib/debug/boot/System.map-*' \
		>"$map" 2>/dev/null; echo "${PIPESTATUS[1]}")
[ "$rc" = 0 ] && [ -s "$map" ] || die "$dbg has no /usr/lib/debug/boot/System.map-*"
rm -rf "$tmp/dbg"

# The System.map must describe this vmlinux: the bytes at linux_banner (found
# through the vmlinux's program headers) must be the banner.
banner=$(awk '$3 == "linux_banner" { print $1; exit }' "$map")
[ -n "$banner" ] || die "the System.map of $dbg has no linux_banner"
# (Kernel-map addresses are negative in bash's signed arithmetic, which
# keeps them in order among themselves.)
a=$((16#$banner)) boff=
while read -r type off va _ sz _; do
	[ "$type" = LOAD ] && [ "$((va))" -ne 0 ] || continue
	if [ "$a" -ge "$((va))" ] && [ "$a" -lt "$((va + sz))" ]; then
		boff=$((off + a - va))
		break
	fi
done < <(readelf -lW "$elf" 2>/dev/null)
[ -n "$boff" ] || die "linux_banner (0x$banner) is in no segment of the vmlinux"
[ "$(tail -c "+$((boff + 1))" "$elf" | head -c 14)" = "Linux version " ] ||
	die "the System.map of $dbg does not match the vmlinux (no banner at linux_banner)"

rm -f "$out/System.map"
cp "$bz" "$tmp/vmlinuz"
mv -f "$tmp/vmlinuz" "$out/vmlinuz.tmp.$$" && mv -f "$out/vmlinuz.tmp.$$" "$out/vmlinuz"
mv -f "$elf" "$out/vmlinux.tmp.$$" && mv -f "$out/vmlinux.tmp.$$" "$out/vmlinux"
cp "$map" "$out/System.map.tmp.$$" && mv -f "$out/System.map.tmp.$$" "$out/System.map"
echo "$prog: $pkg -> $out/vmlinuz, $out/vmlinux, $out/System.map (LZ4 payload at offset $found)"
