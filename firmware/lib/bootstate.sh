# Boot state shared by the boot stage (initramfs) and the update agent / health check
# (root filesystem). Sourced by POSIX sh scripts; busybox applets only.
#
# The state lives on the data partition, /data/boot/state, as KEY=value lines:
#   ACTIVE=a|b     the committed slot: booted when nothing is being tried
#   TRYING=a|b|    a freshly installed slot on probation, empty when none
#   TRIES=N        boots left for TRYING to report healthy before falling back
#   LAST=text      what happened last (install, commit, fallback), for operators
# Written to a temporary file, synced, then renamed, so a power cut leaves either the
# old state or the new one.

BS_FILE=${BS_FILE:-/data/boot/state}

# Slot letter -> partition. Layout fixed by images/genimage.cfg: 1 = root A,
# 2 = root B, 3 = data on the board's system disk.
bs_slot_dev() {
	case "$1" in
	a) echo "${ET_DISK:-/dev/vda}1" ;;
	b) echo "${ET_DISK:-/dev/vda}2" ;;
	*) return 1 ;;
	esac
}

bs_other() {
	case "$1" in a) echo b ;; *) echo a ;; esac
}

# Reads the state into BS_ACTIVE, BS_TRYING, BS_TRIES, BS_LAST. Unknown keys and
# malformed values are ignored (the file is parsed, never sourced).
bs_read() {
	BS_ACTIVE=a BS_TRYING="" BS_TRIES=0 BS_LAST=""
	[ -r "$BS_FILE" ] || return 0
	while IFS='=' read -r k v; do
		case "$k" in
		ACTIVE) case "$v" in a|b) BS_ACTIVE=$v ;; esac ;;
		TRYING) case "$v" in a|b) BS_TRYING=$v ;; esac ;;
		TRIES) case "$v" in ''|*[!0-9]*) ;; *) BS_TRIES=$v ;; esac ;;
		LAST) BS_LAST=$v ;;
		esac
	done < "$BS_FILE"
	[ "$BS_TRYING" = "$BS_ACTIVE" ] && BS_TRYING=""
	return 0
}

bs_write() {
	mkdir -p "${BS_FILE%/*}" || return 1
	printf 'ACTIVE=%s\nTRYING=%s\nTRIES=%s\nLAST=%s\n' \
		"$BS_ACTIVE" "$BS_TRYING" "$BS_TRIES" "$BS_LAST" > "$BS_FILE.tmp" || return 1
	sync "$BS_FILE.tmp" 2>/dev/null || sync
	mv "$BS_FILE.tmp" "$BS_FILE" || return 1
	sync
}
