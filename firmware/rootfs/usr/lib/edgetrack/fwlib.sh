# Shared by the health check and RAUC's handlers (POSIX sh, busybox applets).
#   /data/boot/probation   SLOT=A|B, VERSION=v: a freshly installed slot not yet healthy
#   /data/boot/last        what happened last (install, commit, fallback, refusal)
PROBATION=/data/boot/probation
LAST=/data/boot/last

kv() { # FILE KEY: KEY's value in a file of KEY=VALUE lines
	[ -r "$1" ] && sed -n "s/^$2=//p" "$1" | head -n1
}

release_value() { kv /etc/edgetrack/release "$1"; }

# The version of the bundle RAUC is installing, in its handlers: RAUC's environment, else the
# bundle's manifest.
bundle_version() {
	[ -n "${RAUC_MF_VERSION:-}" ] && { echo "$RAUC_MF_VERSION"; return; }
	kv "${RAUC_BUNDLE_MOUNT_POINT:-/nonexistent}/manifest.raucm" version
}

# The slot GRUB booted (rauc.slot= on the kernel command line).
booted_slot() { sed -n 's/.*rauc\.slot=\([A-Za-z0-9]*\).*/\1/p' /proc/cmdline; }

# Dotted numeric versions; prints -1, 0 or 1.
vercmp() {
	awk -v a="$1" -v b="$2" 'BEGIN {
		na = split(a, x, "."); nb = split(b, y, ".");
		n = na > nb ? na : nb;
		for (i = 1; i <= n; i++) {
			if (x[i] + 0 < y[i] + 0) { print -1; exit }
			if (x[i] + 0 > y[i] + 0) { print 1; exit }
		}
		print 0 }'
}

# Written to a temporary file, synced, then renamed: a power cut leaves old or new.
write_file() { # FILE CONTENT
	mkdir -p "${1%/*}" || return 1
	printf '%s\n' "$2" > "$1.tmp" && sync "$1.tmp" 2>/dev/null && mv "$1.tmp" "$1" && sync
}

fw_note() { write_file "$LAST" "$*"; }
