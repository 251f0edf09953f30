#!/usr/bin/env bash
# fetch-kernel.sh OUTDIR: put Debian's cloud kernel in OUTDIR as
#   vmlinuz  the bzImage, as shipped (boot protocol 2.x, own decompressor)
#   vmlinux  the ELF kernel unpacked from it (carries the Xen PVH note)
# Idempotent: does nothing when both files are already there.  Each file is
# written to a temporary name and renamed, so an interrupted run never
# leaves a half-written kernel behind.
#
# The package is the one linux-image-cloud-amd64 depends on (a versioned
# linux-image-*-cloud-amd64), fetched with apt-get download; apt-get update
# runs only if that download fails.  Debian builds these kernels with
# CONFIG_KERNEL_LZ4, so the bzImage payload is an LZ4 legacy-format stream:
# we find its magic (02 21 4c 18), let lz4 unpack from there (it stops at
# the end of the frame and complains about the trailing bytes, which we
# ignore) and keep the output only if it is an ELF file.
#
# Needs: apt-get, dpkg-deb, lz4, readelf (binutils), od, grep.
set -euo pipefail

prog=fetch-kernel
die() { echo "$prog: $*" >&2; exit 1; }

[ $# -eq 1 ] || { echo "usage: $0 OUTDIR" >&2; exit 2; }
out=$1
if [ -s "$out/vmlinuz" ] && [ -s "$out/vmlinux" ]; then
	exit 0
fi
for tool in apt-get apt-cache dpkg-deb lz4 readelf od; do
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

fetch() { (cd "$tmp" && apt-get download -qq "$pkg" >/dev/null 2>&1); }
if ! fetch; then
	echo "$prog: download of $pkg failed; running apt-get update" >&2
	apt-get update -qq >/dev/null 2>&1 || die "apt-get update failed"
	fetch || die "apt-get download $pkg failed"
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

cp "$bz" "$tmp/vmlinuz"
mv -f "$tmp/vmlinuz" "$out/vmlinuz.tmp.$$" && mv -f "$out/vmlinuz.tmp.$$" "$out/vmlinuz"
mv -f "$elf" "$out/vmlinux.tmp.$$" && mv -f "$out/vmlinux.tmp.$$" "$out/vmlinux"
echo "$prog: $pkg -> $out/vmlinuz, $out/vmlinux (LZ4 payload at offset $found)"
