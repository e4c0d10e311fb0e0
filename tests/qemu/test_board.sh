#!/bin/bash
# QEMU test of one board's firmware image (TCG). The board boots from its disk alone: UEFI
# firmware, GRUB from the EFI system partition, the kernel and initramfs inside a root slot.
# It serves click / open / ACME over the forwarded ports, attaches XDP, and applies a bundle
# (a new domain's cert and key) pushed over the forwarded management port with mutual TLS and
# trusted through the image's root key; then RAUC updates:
# unsigned, foreign-signed, wrong-compatible, downgrade and tampered bundles are refused; a
# power cut (QEMU killed) in the middle of an install leaves the old slot booting; a good
# bundle boots the other slot with that slot's kernel and is marked good (the pushed cert and
# serial survive that reboot); a bundle whose root
# never gets healthy is abandoned by GRUB's boot counting and the previous slot boots again.
# Five boots in all: first boot, after the power cut, the good update, the broken update
# (TRIES boots) and the fallback.
#   tests/qemu/test_board.sh BOARD      (after `make image BOARD=BOARD`)
# Environment: QEMU_TEST_TRIES (boot attempts a slot gets, grubenv MAX_TRIES; default 2),
#              QEMU_TEST_HEALTH_TIMEOUT (seconds the broken slot gets to report healthy before
#              its health check reboots it, default 30; every other boot gets 600, so that a
#              slow machine fails no good boot),
#              QEMU_WATCH_SILENCE (seconds the guest may show no progress before a wait
#              fails, default 90 + the health timeout; see scripts/lib/qemuwatch.py),
#              QEMU_ACCEL (see scripts/lib/qemu-accel.sh), QEMU_SMP (guest CPUs, default 1),
#              QEMU_PORT_REGISTRY (the file of ports taken, shared by tests run side by side;
#              see scripts/lib/ports.sh),
#              ET_SIGNING_KEY / ET_SIGNING_CERT (the signer the image trusts; see images/build.sh),
#              ET_BUNDLE_ROOT_KEY, ET_OPERATOR_CA, ET_OPERATOR_CA_KEY (the private halves of
#              the cert/config bundles' trust the image was built with; default the development
#              ones in build/keys/).
set -u
board=${1:?usage: tests/qemu/test_board.sh BOARD}
src=$(cd "$(dirname "$0")/../.." && pwd)
cd "$src"
. "board/$board/board.conf"
IMG=build/$board/images
W=build/$board/qemu-test
# the host's edgetrackctl mints tokens: make check's build, else the plain one
CTL=${ET_HOST_CTL:-${ET_BUILD:-build}/edgetrackctl}
[ -x "$CTL" ] || { echo "no host edgetrackctl at $CTL (build it first)" >&2; exit 1; }
KEY=${ET_SIGNING_KEY:-build/keys/rauc-dev.key.pem}
CERT=${ET_SIGNING_CERT:-build/keys/rauc-dev.cert.pem}
ROOT_KEY=${ET_BUNDLE_ROOT_KEY:-build/keys/bundle-root.key}
OPCA=${ET_OPERATOR_CA:-build/keys/operator-ca.crt}
OPCA_KEY=${ET_OPERATOR_CA_KEY:-build/keys/operator-ca.key}
DEMO_KEY=6564676574726163682d64656d6f2d6b65792d6e6f742d666f722d70726f6421
HOST=click.demo.edgetrack.test
THUMB=NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs
TRIES=${QEMU_TEST_TRIES:-2}
HEALTH_TIMEOUT=${QEMU_TEST_HEALTH_TIMEOUT:-30}
ENV=/boot/efi/EFI/BOOT/grubenv
bundle=$(ls "$IMG"/edgetrack-"$board"-*.raucb 2>/dev/null | head -n1)
base_version=$(rauc info --keyring "$CERT" --output-format=shell "$bundle" 2>/dev/null |
	sed -n "s/^RAUC_MF_VERSION='\(.*\)'$/\1/p")

pass=0 fail=0
ok() { echo "ok - $board: $*"; pass=$((pass + 1)); }
bad() { echo "not ok - $board: $*"; fail=$((fail + 1)); }
check() { local name=$1; shift; if "$@"; then ok "$name"; else bad "$name"; fi; }
T0=$(date +%s)
say() { echo "# $board: [$(($(date +%s) - T0)) s] $*"; }
finish() { echo "$pass passed, $fail failed"; [ "$fail" -eq 0 ]; exit; }
has() { grep -Eq -- "$2" <<< "$1"; } # TEXT PATTERN: a line of TEXT matches PATTERN
lines() { # TEXT LINE...: every LINE is a whole line of TEXT
	local text=$1 l; shift
	for l; do grep -qxF -- "$l" <<< "$text" || return 1; done
}
elapsed() { printf '%.1f' "$(echo "$(date +%s.%N) - $1" | bc)"; }

rm -rf "$W" && mkdir -p "$W"
cp --sparse=always "$IMG/disk.img" "$W/disk.img"
qpid="" bpid=""
cleanup() {
	[ -n "$bpid" ] && kill "$bpid" 2>/dev/null
	[ -n "$qpid" ] && kill "$qpid" 2>/dev/null
	[ -f "$W/qemu.pid" ] && kill "$(cat "$W/qemu.pid" 2>/dev/null)" 2>/dev/null
	rm -rf "$W/stage" "$W/xfer.img" "$W/disk.img"
}
trap cleanup EXIT
[ -n "$base_version" ] || { bad "the image's bundle $bundle has a version (rauc info with $CERT)"; finish; }

# ------------------------------------------------------------------ bundles
# Built while the guest boots, onto the transfer disk QEMU already has: an ext4 image written
# over a sparse file of a fixed size (the guest reads it only after the build is done).
stage=$W/stage
other_board=qemu_aarch64; [ "$board" = qemu_aarch64 ] && other_board=qemu_x86_64
xfer_mb=$(($(stat -c %s "$IMG/rootfs.squashfs") * 5 / 1048576 + 64))
truncate -s "${xfer_mb}M" "$W/xfer.img"
build_bundles() {
	mkdir -p "$stage/xfer"
	# Test slots are gzip squashfs: quicker to make than a release's xz, and the kernel reads either.
	mksq() { mksquashfs "$1" "$2" -comp gzip -noappend -all-root -quiet -no-progress \
		-action 'uncompressed@name(vmlinuz) || name(initramfs.img)' > /dev/null; }
	FW_SQUASHFS_COMP=gzip images/build.sh "$board" rootfs 9.1.0 "$stage/good.squashfs" > /dev/null
	unsquashfs -q -n -d "$stage/broken-root" "$stage/good.squashfs" > /dev/null
	# Broken release: its edgetrackd config has no listen address, so it never gets healthy.
	echo '{"domains": []}' > "$stage/broken-root/etc/edgetrack/edgetrackd.json"
	sed -i 's/^VERSION=.*/VERSION=9.2.0/' "$stage/broken-root/etc/edgetrack/release"
	mksq "$stage/broken-root" "$stage/broken.squashfs"
	compat=edgetrack-$board
	mk() { # NAME VERSION ROOTFS [COMPATIBLE [KEY CERT]]
		scripts/fw-bundle.sh --compatible "${4:-$compat}" --version "$2" --rootfs "$3" \
			--key "${5:-$KEY}" --cert "${6:-$CERT}" --out "$stage/xfer/$1.raucb"
	}
	mk good 9.1.0 "$stage/good.squashfs"
	mk broken 9.2.0 "$stage/broken.squashfs"
	# RAUC refuses these four before it reads the payload (signature, compatible, then the
	# pre-install handler), so they carry a small stand-in root: quicker to build and hand in.
	mkdir -p "$stage/small/etc" && echo "not a release" > "$stage/small/etc/motd"
	mksq "$stage/small" "$stage/small.squashfs"
	mk wrongcompat 9.3.0 "$stage/small.squashfs" "edgetrack-$other_board"
	mk downgrade 0.1.0 "$stage/small.squashfs"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
		-subj "/CN=not the operator" -keyout "$stage/foreign.key" -out "$stage/foreign.crt" 2> /dev/null
	mk foreignkey 9.3.0 "$stage/small.squashfs" "$compat" "$stage/foreign.key" "$stage/foreign.crt"
	# Tampered payload: bytes flipped in the middle of the root image, signature kept (dm-verity
	# catches it while RAUC copies).
	cp "$stage/xfer/good.raucb" "$stage/xfer/tampered.raucb"
	printf '\x5a\x5a\x5a\x5a' | dd of="$stage/xfer/tampered.raucb" bs=1 \
		seek=$(($(stat -c %s "$stage/good.squashfs") / 2)) conv=notrunc 2> /dev/null
	# Unsigned: a bundle without RAUC's signature, that is its squashfs alone (a bundle ends in
	# its CMS signature and the signature's size, 8 bytes big-endian).
	mk signed 9.3.0 "$stage/small.squashfs"
	f=$stage/xfer/signed.raucb size=$(stat -c %s "$stage/xfer/signed.raucb")
	sig=$(tail -c 8 "$f" | od -An -tu1 | awk '{ for (i = 1; i <= NF; i++) n = n * 256 + $i } END { print n }')
	head -c $((size - 8 - sig)) "$f" > "$stage/xfer/unsigned.raucb" && rm "$f"
	# The transfer disk: an ext4 image of the bundles, /dev/vdb in the guest (no reserved blocks,
	# few inodes).
	echo "bundles: $(du -sm "$stage/xfer" | cut -f1) MB on a transfer disk of $xfer_mb MB"
	mke2fs -F -q -t ext4 -O ^has_journal -m 0 -i 1048576 -d "$stage/xfer" "$W/xfer.img" &&
		rm -rf "$stage"
}
say "building test bundles while the guest boots"
(set -e; build_bundles) > "$W/bundles.log" 2>&1 &
bpid=$!

# The operator's certificates, made before the boot as a CA's would be: the x86_64 guest's
# clock, set from the RTC's whole seconds, runs about 0.3 s behind the host's, so a client
# certificate made on the host the moment before a request would not be valid yet there.
NEW=new.demo.edgetrack.test m=$W/mgmt
mkdir -p "$m"
issue() { # NAME CN [openssl x509 args...]: NAME.key and NAME.crt, signed as the args say
	local name=$1 cn=$2; shift 2
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$cn" \
		-keyout "$m/$name.key" -out "$m/$name.csr" 2> /dev/null &&
		openssl x509 -req -in "$m/$name.csr" -days 2 "$@" -out "$m/$name.crt" 2> /dev/null
}
issue operator qemu-test-operator -CA "$OPCA" -CAkey "$OPCA_KEY" -set_serial "0x$(openssl rand -hex 8)" \
	-extfile <(printf 'extendedKeyUsage=clientAuth\n')
issue "$NEW" "$NEW" -key "$m/$NEW.key" -extfile <(printf 'subjectAltName=DNS:%s\n' "$NEW")

# ------------------------------------------------------------------ boot
# shellcheck source=scripts/lib/ports.sh
. "$(dirname "$0")/../../scripts/lib/ports.sh"
free_port() { pick_port "${QEMU_PORT_REGISTRY:-$W/.ports}"; }
HTTP=$(free_port) HTTPS=$(free_port) MGMT=$(free_port)
G() { tests/qemu/guest.py "$W/shell.sock" --timeout "${GT:-60}" -- "$@"; }
# Every wait on the guest gives up, with the reason and the tails of the console and of
# QEMU's output, as soon as QEMU exits, stops running the guest or the guest goes silent.
# shellcheck source=scripts/lib/qemu-guest.sh
. scripts/lib/qemu-guest.sh
watch() { scripts/lib/qemuwatch.py "$@"; }
alive() { watch check || { bad "the guest stopped making progress before $*"; finish; }; }
export QEMU_WATCH_SILENCE=${QEMU_WATCH_SILENCE:-$((90 + HEALTH_TIMEOUT))}
# One vCPU: make check runs both boards side by side on two cores, and under TCG a guest with
# two vCPUs whose threads compete for one core boots slower than a guest with one.
export QEMU_SMP=${QEMU_SMP:-1}
start() { # the board on its disk, firmware and nothing else (plus the test's devices)
	QEMU_XFER=$W/xfer.img QEMU_HTTP_PORT=$HTTP QEMU_HTTPS_PORT=$HTTPS QEMU_MGMT_PORT=$MGMT \
	QEMU_APPEND="et.debug_shell=1 et.health_timeout=600" qemu_start "$board" "$W/disk.img" "$W"
	qpid=$qemu_pid
}
# What the guest says about its boot: release, slot, kernel command line, grubenv, RAUC.
# (guest.py sends one line: no newlines in these commands)
STATUS="cat /etc/edgetrack/release /run/edgetrack/boot; echo cmdline=\$(cat /proc/cmdline);"
STATUS="$STATUS echo last=\$(cat /data/boot/last 2>/dev/null); grub-editenv $ENV list;"
STATUS="$STATUS rauc status --output-format=shell | grep -E '^RAUC_(SYSTEM_BOOTED_BOOTNAME|SLOT_BOOTNAME|SLOT_BOOT_STATUS)'"
# The health check says on the console each time it has marked the booted slot good.
MARK='edgetrack-health: .*marked good'
seen() { grep -ac "$1" "$W/console.log"; } # PATTERN: how many console lines match
wait_line() { # PATTERN N0 SECONDS WHAT: until more than N0 console lines match PATTERN
	watch wait --timeout "$3" --what "$4" -- \
		bash -c '[ "$(grep -ac "$3" "$1")" -gt "$2" ]' _ "$W/console.log" "$2" "$1"
}
marks() { seen "$MARK"; }
wait_marked() { wait_line "$MARK" "$@"; } # N0 SECONDS WHAT
# The guest read the transfer disk's first blocks when it probed it at boot, before the
# bundles were written: it drops them before it mounts.
XFER="mkdir -p /run/xfer && { grep -q ' /run/xfer ' /proc/mounts || { blockdev --flushbufs /dev/vdb && mount -t ext4 -o ro /dev/vdb /run/xfer; }; }"

t0=$(date +%s.%N)
start
if ! qemu_wait_http "http://127.0.0.1:$HTTP/healthz" 900; then
	bad "boot to healthy from the disk (UEFI firmware, GRUB, slot A)"; finish
fi
boot_host=$(elapsed "$t0")
ok "boot to healthy from the disk (UEFI firmware, GRUB, slot A)"
GT=120 G 'cat /run/edgetrack/healthy' > "$W/healthy" 2>&1
say "boot-to-healthy: $boot_host s from QEMU start (host clock), $(cat "$W/healthy") s after kernel start (guest clock)"

# ------------------------------------------------------------------ HTTP over the forwarded port
alive "the HTTP tests"
U=http://127.0.0.1:$HTTP
dest="https://shop.example.com/sale?utm=qemu"
click=$($CTL token encode --host $HOST --key-id 1 --key $DEMO_KEY --kind click --message 42 --recipient 7 --link 1 --url "$dest")
open=$($CTL token encode --host $HOST --key-id 1 --key $DEMO_KEY --kind open --message 42 --recipient 7)
r=$(curl -s -m 10 -o /dev/null -w '%{http_code} %{redirect_url}' -H "Host: $HOST" "$U/c/$click")
check "click redirects to the signed destination ($r)" [ "$r" = "302 $dest" ]
r=$(curl -s -m 10 -o "$W/pixel" -w '%{http_code} %{content_type}' -H "Host: $HOST" "$U/o/$open")
check "open pixel ($r)" bash -c "[ '$r' = '200 image/gif' ] && head -c 6 '$W/pixel' | grep -q GIF89a"
tok=qemuTestToken_0123456789-abcdefXYZ
r=$(curl -s -m 10 -H "Host: $HOST" "$U/.well-known/acme-challenge/$tok")
check "ACME challenge answer" [ "$r" = "$tok.$THUMB" ]
r=$(curl -s -m 10 -o /dev/null -w '%{http_code}' -H "Host: other.example" "$U/c/$click")
check "unknown host refused ($r)" [ "$r" = 421 ]
r=$(curl -s -m 20 -k -o /dev/null -w '%{http_code}' --resolve "$HOST:$HTTPS:127.0.0.1" "https://$HOST:$HTTPS/o/$open")
check "HTTPS open pixel with the demo cert ($r)" [ "$r" = 200 ]
subj=$(openssl s_client -connect "127.0.0.1:$HTTPS" -servername "$HOST" </dev/null 2>/dev/null | openssl x509 -noout -subject 2>/dev/null)
check "HTTPS serves the demo domain's cert ($subj)" grep -q "$HOST" <<<"$subj"

# ------------------------------------------------------------------ bundle over the management port
# The operator's side: the client cert made above, a signing key certified by the root
# key in a keyring the bundle carries, and from the appliance's console its management cert
# (made at first boot, pinned here) and its bundle recipient (the cert's key is sealed to it).
alive "the management API tests"
tm=$(date +%s.%N)
MURL=https://127.0.0.1:$MGMT
G 'cat /data/edgetrack/mgmt/mgmt.crt' | tr -d '\r' > "$m/appliance.crt"
RCPT=$(G 'edgetrackctl id --data-dir /data/edgetrack' | tr -d '\r' | sed -n 's/^recipient: //p')
$CTL keys gen --unencrypted --pub "$m/op.pub" --sec "$m/op.key" > /dev/null &&
	$CTL keys certify --root-key "$ROOT_KEY" --keyring "$m/keyring" --pub "$m/op.pub" --not-after 1d > /dev/null &&
	$CTL bundle create --serial 1 --signer "$m/op.pub" --scope "${RCPT%%:*}" --recipient "$RCPT" \
		--keyring "$m/keyring" --cert "$NEW=$m/$NEW.crt,$m/$NEW.key" --out "$m/b1.bundle" > /dev/null &&
	$CTL bundle sign --key "$m/op.key" "$m/b1.bundle" > /dev/null
check "bundle for $NEW built for appliance ${RCPT%%:*} and signed" test -s "$m/b1.bundle"
push() { $CTL bundle push --to "$MURL" --cert "$m/operator.crt" --key "$m/operator.key" --ca "$m/appliance.crt" --timeout 120 "$@" 2>> "$m/push.err"; }
api() { curl -s -m 20 --cacert "$m/appliance.crt" --cert "$m/operator.crt" --key "$m/operator.key" "$@"; }
fp() { openssl x509 -noout -fingerprint -sha256 2> /dev/null; }
served_fp() { timeout 20 openssl s_client -connect "127.0.0.1:$HTTPS" -servername "$1" </dev/null 2>/dev/null | fp; }
new_fp=$(fp < "$m/$NEW.crt")
r=$(push "$m/b1.bundle")
check "bundle pushed over the management port is applied ($r)" [ "$r" = "$MURL applied serial=1" ]
[ "$r" = "$MURL applied serial=1" ] ||
	{ tail -n 3 "$m/push.err"; G 'grep -i "bundle\|management\|mgmt" /run/edgetrack/edgetrackd.log | tail -n 8'; } | sed 's/^/#   /'
check "HTTPS serves the pushed cert for $NEW" [ "$(served_fp $NEW)" = "$new_fp" ]
st=$(api "$MURL/v1/status")
check "status shows serial 1 applied" grep -q '"generation":"gen-1","serial":1' <<<"$st"
r=$(push "$m/b1.bundle")
check "a replay of the bundle is refused ($r)" grep -q 'refused.*not above the applied serial 1' <<<"$r"
r=$(curl -s -m 10 -o /dev/null -w '%{http_code}' --cacert "$m/appliance.crt" "$MURL/v1/status")
check "no client certificate: no API ($r)" [ "$r" = 000 ]
r=$(printf 'GET /v1/status HTTP/1.1\r\nHost: x\r\n\r\n' | timeout 20 openssl s_client \
	-connect "127.0.0.1:$MGMT" -CAfile "$m/appliance.crt" -ign_eof 2>&1 | tr -d '\0')
check "a client without a certificate reaches the listener but gets no answer" \
	bash -c 'grep -q CONNECTED <<<"$1" && ! grep -q "HTTP/1.1" <<<"$1"' _ "$r"
say "management API checks: $(elapsed "$tm") s"

# ------------------------------------------------------------------ XDP in the guest
alive "the XDP tests"
G 'grep "xdp" /run/edgetrack/edgetrackd.log | grep -v "^[0-9]*: \|^;" | tail -n 5' > "$W/xdp.log" 2>&1
if grep -q 'xdp_attached iface=eth0 mode=native' "$W/xdp.log"; then
	ok "XDP attached natively on eth0 (virtio-net)"
	G 'edgetrackctl xdp stats' > "$W/xdp1" 2>&1
	for _ in 1 2 3 4 5; do curl -s -m 5 -o /dev/null -H "Host: $HOST" "$U/o/$open"; done
	G 'edgetrackctl xdp stats' > "$W/xdp2" 2>&1
	p1=$(awk '/^total_pass/ {print $2}' "$W/xdp1") p2=$(awk '/^total_pass/ {print $2}' "$W/xdp2")
	check "XDP counters move (total_pass $p1 -> $p2)" [ "${p2:-0}" -gt "${p1:-0}" ]
else
	bad "XDP attached natively on eth0; edgetrackd said:"
	G 'grep -B2 -A3 "BPF program load failed\|xdp_" /run/edgetrack/edgetrackd.log | grep -v "^[0-9]*: (\|^; " | tail -n 12' | sed 's/^/#   /'
fi


# ------------------------------------------------------------------ RAUC: refusals
alive "the update tests"
say "waiting for the test bundles"
wait "$bpid"; rc=$? bpid=""
sed 's/^/#   /' "$W/bundles.log"
[ $rc -eq 0 ] || { bad "test bundles built and written to the transfer disk"; finish; }
say "refusals"
# RAUC's service starts once the boot is healthy; the health check marks the slot good through it.
wait_marked 0 300 "slot A marked good" || bad "the health check marked slot A good"
st=$(G "$STATUS" 2>&1)
check "GRUB booted slot A's own kernel (rauc.slot=A, (hd0,gpt2)/boot/vmlinuz)" \
	has "$st" 'BOOT_IMAGE=\(hd[0-9]+,gpt2\)/boot/vmlinuz .*rauc\.slot=A '
check "RAUC sees slot A booted" lines "$st" "RAUC_SYSTEM_BOOTED_BOOTNAME='A'"
out=$(G "$XFER && ls /run/xfer && grub-editenv $ENV set MAX_TRIES=$TRIES" 2>&1)
check "bundles handed in over the transfer disk" has "$out" unsigned.raucb

install() { # NAME: rauc install of NAME.raucb from the transfer disk; what it said, in $out and the log
	out=$(GT=300 G "rauc install /run/xfer/$1.raucb 2>&1; echo rc=\$?; echo note=\$(cat /data/boot/last 2>/dev/null)" 2>&1)
	grep -Ev '^ *[0-9]+% ' <<< "$out" | sed 's/^/#   /'
}
refused() { install "$1"; has "$out" '^rc=1$' && has "$out" "$2"; } # NAME EXPECTED-PATTERN
installed() { install "$1"; lines "$out" rc=0 && has "$out" "into slot $2"; } # NAME SLOT
check "unsigned bundle refused" refused unsigned 'Signature size is 0|[Ss]ignature'
check "bundle signed by a foreign key refused" refused foreignkey 'signature verification failed'
check "bundle for the other board refused (compatible)" refused wrongcompat "Compatible mismatch.*edgetrack-$other_board"
check "downgrade refused (pre-install handler)" refused downgrade "note=.*older than the running $base_version \\(downgrade\\)"
check "tampered payload refused (dm-verity)" refused tampered 'Input/output error|Failed updating slot'
st=$(G "$STATUS" 2>&1)
check "refusals left GRUB booting slot A (ORDER=A B, A_OK=1, B_OK=0)" lines "$st" 'ORDER=A B' A_OK=1 B_OK=0

# ------------------------------------------------------------------ power cut during an install
# Writes to the system disk are throttled so that the copy into slot B takes a while, and
# QEMU is killed while RAUC copies.
alive "the power cut test"
say "power cut during an install"
watch qmp '{"execute": "block_set_io_throttle", "arguments": {"device": "sys", "bps": 0,
	"bps_rd": 0, "bps_wr": 2097152, "iops": 0, "iops_rd": 0, "iops_wr": 0}}' > /dev/null ||
	bad "QMP throttles the system disk"
G 'rauc install /run/xfer/good.raucb > /run/install.log 2>&1 & echo started' > /dev/null 2>&1
copying="" tw=$(date +%s)
while [ $(($(date +%s) - tw)) -lt 300 ]; do
	log=$(GT=10 G 'cat /run/install.log' 2>/dev/null)
	if has "$log" 'Copying image to rootfs\.1$'; then copying=1; break; fi
	has "$log" 'failed|succeeded' && break
	watch check || break
	sleep 0.5
done
sleep 2
log=$(GT=10 G 'cat /run/install.log' 2>/dev/null)
kill -KILL "$qpid"; wait "$qpid" 2> /dev/null
midway() { [ -n "$copying" ] && ! has "$log" 'Copying image to rootfs.1 done|succeeded|failed'; }
check "QEMU killed while RAUC was copying into slot B" midway
grep -E 'Copying|done\.$' <<< "$log" | tail -n 2 | sed 's/^/#   /'
mv "$W/console.log" "$W/console-1.log"

t0=$(date +%s.%N)
start
if ! qemu_wait_http "http://127.0.0.1:$HTTP/healthz" 900; then
	bad "boot to healthy after the power cut"; finish
fi
ok "boot to healthy after the power cut ($(elapsed "$t0") s)"
wait_marked 0 300 "slot A marked good after the power cut" || bad "the health check marked slot A good after the power cut"
st=$(G "$STATUS" 2>&1)
check "after the power cut: slot A, version $base_version, slot B not bootable" \
	lines "$st" SLOT=A "VERSION=$base_version" B_OK=0

# ------------------------------------------------------------------ RAUC: a good update
alive "the good update"
say "good update"
G "$XFER" > /dev/null 2>&1
check "good bundle installed into slot B" installed good B

# reboot / poweroff a second after the guest's shell answered (a command that takes the guest
# down never answers, and guest.py would wait out its timeout).
down() { G "{ sleep 1; $1; } > /dev/null 2>&1 < /dev/null & echo going down" > /dev/null 2>&1; }

wait_slot() { # N0 SLOT SECONDS: the next boot marked good (after N0 on the console) is of SLOT; its status
	local s
	wait_marked "$1" "$3" "a boot of slot $2 marked good" || return 1
	s=$(G "$STATUS" 2>&1)
	grep -qx "SLOT=$2" <<< "$s" && { echo "$s"; return 0; }
	echo "the boot marked good is not of slot $2:" >&2; sed 's/^/#   /' <<< "$s" >&2
	return 1
}

tu=$(date +%s.%N) n0=$(marks) b0=$(seen 'booting slot B')
down reboot
wait_line 'booting slot B' "$b0" 300 "a boot of slot B" && say "slot B booting after $(elapsed "$tu") s"
if st=$(wait_slot "$n0" B 600); then
	say "update reboot to marked good: $(elapsed "$tu") s"
	grep -E 'VERSION|SLOT|cmdline|_OK|_TRY|ORDER|BOOT_STATUS' <<< "$st" | sed 's/^/#   /'
	check "new version 9.1.0 runs from slot B" lines "$st" VERSION=9.1.0
	check "GRUB loaded the kernel and initramfs from slot B (BOOT_IMAGE=(hd0,gpt3)/boot/vmlinuz, initramfs of 9.1.0)" \
		eval 'has "$st" "BOOT_IMAGE=\(hd[0-9]+,gpt3\)/boot/vmlinuz .*rauc\.slot=B " && lines "$st" INITRAMFS_VERSION=9.1.0'
	check "slot B marked good (B_OK=1, B_TRY=0, ORDER=B A)" lines "$st" B_OK=1 B_TRY=0 'ORDER=B A'
	r=$(curl -s -m 10 -o /dev/null -w '%{http_code}' -H "Host: $HOST" "$U/c/$click")
	check "click still served after the update ($r)" [ "$r" = 302 ]
	check "the pushed cert for $NEW is still served after the reboot" [ "$(served_fp $NEW)" = "$new_fp" ]
	check "serial 1 is still applied after the reboot" grep -q '"generation":"gen-1","serial":1' <<<"$(api "$MURL/v1/status")"
else
	bad "updated slot B did not come up and get marked good"
	tail -n 30 "$W/console.log" | sed 's/^/#   /'
	finish
fi

# ------------------------------------------------------------------ RAUC: a broken update
alive "the broken update"
say "broken update"
# The broken slot gets HEALTH_TIMEOUT seconds per boot (it never gets healthy, however fast).
G "$XFER && grub-editenv $ENV set 'EXTRA_CMDLINE=et.debug_shell=1 et.health_timeout=$HEALTH_TIMEOUT'" > /dev/null 2>&1
check "broken bundle installed into slot A" installed broken A
a0=$(seen 'booting slot A') g0=$(seen 'abandoning it')
tb=$(date +%s.%N) n0=$(marks)
down reboot
wait_line 'booting slot A' "$a0" 300 "a boot of slot A" && say "slot A (9.2.0) booting after $(elapsed "$tb") s"
wait_line 'abandoning it' "$g0" $((300 + TRIES * (HEALTH_TIMEOUT + 120))) "GRUB abandoning slot A" &&
	say "GRUB abandoned slot A after $(elapsed "$tb") s"
# Slot A gets TRIES boots of HEALTH_TIMEOUT each (et-health reboots it), then GRUB gives up.
if st=$(wait_slot "$n0" B $((600 + TRIES * (HEALTH_TIMEOUT + 120)))); then
	say "broken update fell back in $(elapsed "$tb") s"
	grep -E 'VERSION|SLOT|last|_OK|_TRY|ORDER|BOOT_STATUS' <<< "$st" | sed 's/^/#   /'
	check "broken update fell back to slot B, version 9.1.0" lines "$st" VERSION=9.1.0 SLOT=B
	check "fallback recorded (GRUB abandoned slot A: A_OK=0; note says why)" \
		eval 'lines "$st" A_OK=0 && has "$st" "slot A \(version 9.2.0\) never reported healthy; fell back to slot B"'
	n=$(($(seen 'booting slot A') - a0))
	check "broken slot was booted $TRIES times ($n), then abandoned by GRUB" \
		eval '[ "$n" = "$TRIES" ] && grep -aq "slot A did not report healthy in $TRIES boots" "$W/console.log"'
else
	bad "no fallback to slot B after the broken update"
	tail -n 30 "$W/console.log" | sed 's/^/#   /'
fi

sz() { stat -c %s "$1"; }
say "sizes: $BOARD_EFI_IMAGE=$(sz "$IMG/$BOARD_EFI_IMAGE") rootfs.squashfs=$(sz "$IMG/rootfs.squashfs") $(basename "$bundle")=$(sz "$bundle") disk.img=$(sz "$IMG/disk.img") (allocated $(du -k "$IMG/disk.img" | cut -f1) KiB)"
down poweroff
t=$(date +%s)
while kill -0 "$qpid" 2> /dev/null; do
	[ $(($(date +%s) - t)) -lt 60 ] || { say "QEMU still running 60 s after poweroff"; break; }
	sleep 0.2
done
finish
