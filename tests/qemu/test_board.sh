#!/bin/bash
# QEMU test of one board's firmware image (TCG): boot to healthy, click / open / ACME
# over the forwarded ports, XDP inside the guest, a bundle (a new domain's cert and key)
# pushed over the forwarded management port with mutual TLS and trusted through the image's
# root key, then A/B updates: a good update boots into the other slot and is committed (the
# pushed cert and serial survive that reboot), a broken one falls back, and unsigned,
# tampered, foreign-key, wrong-board and downgrade bundles are refused.
#   tests/qemu/test_board.sh BOARD      (after `make image BOARD=BOARD`)
# Environment: QEMU_TEST_TRIES (boots a broken slot gets, default 2),
#              QEMU_TEST_HEALTH_TIMEOUT (seconds, default 30),
#              QEMU_WATCH_SILENCE (seconds the guest may show no progress before a wait
#              fails, default 60 + the health timeout; see scripts/lib/qemuwatch.py),
#              QEMU_ACCEL (see scripts/lib/qemu-accel.sh),
#              ET_BUNDLE_ROOT_KEY, ET_OPERATOR_CA, ET_OPERATOR_CA_KEY (the private halves of
#              the trust the image was built with; default the development ones in build/keys/).
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
KEY=${ET_SIGNING_KEY:-build/keys/update-signing.pem}
ROOT_KEY=${ET_BUNDLE_ROOT_KEY:-build/keys/bundle-root.key}
OPCA=${ET_OPERATOR_CA:-build/keys/operator-ca.crt}
OPCA_KEY=${ET_OPERATOR_CA_KEY:-build/keys/operator-ca.key}
DEMO_KEY=6564676574726163682d64656d6f2d6b65792d6e6f742d666f722d70726f6421
HOST=click.demo.edgetrack.test
THUMB=NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs
TRIES=${QEMU_TEST_TRIES:-2}
HEALTH_TIMEOUT=${QEMU_TEST_HEALTH_TIMEOUT:-30}
base_version=$(sed -n 's/^version=//p' <(tar -xOf "$IMG"/edgetrack-"$board"-*.bundle manifest))

pass=0 fail=0
ok() { echo "ok - $board: $*"; pass=$((pass + 1)); }
bad() { echo "not ok - $board: $*"; fail=$((fail + 1)); }
check() { local name=$1; shift; if "$@"; then ok "$name"; else bad "$name"; fi; }
say() { echo "# $board: $*"; }
finish() { echo "$pass passed, $fail failed"; [ "$fail" -eq 0 ]; exit; }

rm -rf "$W" && mkdir -p "$W"
cp --sparse=always "$IMG/disk.img" "$W/disk.img"
qpid=""
cleanup() {
	[ -n "$qpid" ] && kill "$qpid" 2>/dev/null
	[ -f "$W/qemu.pid" ] && kill "$(cat "$W/qemu.pid" 2>/dev/null)" 2>/dev/null
	rm -rf "$W/stage"
}
trap cleanup EXIT

# ------------------------------------------------------------------ bundles
say "building test bundles"
stage=$W/stage && mkdir -p "$stage"
images/build.sh "$board" rootfs 9.1.0 "$stage/good.squashfs" > /dev/null
unsquashfs -q -n -d "$stage/broken-root" "$stage/good.squashfs" > /dev/null
# Broken release: its edgetrackd config has no listen address, so it never gets healthy.
echo '{"domains": []}' > "$stage/broken-root/etc/edgetrack/edgetrackd.json"
sed -i 's/^VERSION=.*/VERSION=9.2.0/' "$stage/broken-root/etc/edgetrack/release"
mksquashfs "$stage/broken-root" "$stage/broken.squashfs" -comp xz -noappend -all-root -quiet -no-progress > /dev/null
mk() { scripts/fw-bundle.sh --board "${4:-$board}" --version "$2" --rootfs "$3" --key "${5:-$KEY}" --out "$stage/$1.bundle"; }
mk good 9.1.0 "$stage/good.squashfs"
mk broken 9.2.0 "$stage/broken.squashfs"
other_board=qemu_aarch64; [ "$board" = qemu_aarch64 ] && other_board=qemu_x86_64
mk wrongboard 9.3.0 "$stage/good.squashfs" "$other_board"
mk downgrade 0.1.0 "$stage/good.squashfs"
openssl genpkey -algorithm ed25519 -out "$stage/foreign.pem" 2> /dev/null
mk foreignkey 9.3.0 "$stage/good.squashfs" "$board" "$stage/foreign.pem"
# Tampered rootfs: one byte flipped in the middle of the image, manifest and signature kept.
mkdir -p "$stage/t" && tar -xf "$stage/good.bundle" -C "$stage/t"
sz=$(stat -c %s "$stage/t/rootfs.squashfs")
printf '\x5a' | dd of="$stage/t/rootfs.squashfs" bs=1 seek=$((sz / 2)) conv=notrunc 2> /dev/null
tar -C "$stage/t" -cf "$stage/tampered.bundle" --format=ustar manifest manifest.sig rootfs.squashfs
# Tampered manifest: a higher version written in, signature kept.
mkdir -p "$stage/m" && tar -xf "$stage/good.bundle" -C "$stage/m"
sed -i 's/^version=.*/version=9.9.9/' "$stage/m/manifest"
tar -C "$stage/m" -cf "$stage/tampered-manifest.bundle" --format=ustar manifest manifest.sig rootfs.squashfs
# Unsigned: no signature at all.
tar -C "$stage/m" -cf "$stage/unsigned.bundle" --format=ustar manifest rootfs.squashfs
tar -C "$stage" -cf "$W/xfer.img" --format=ustar good.bundle broken.bundle wrongboard.bundle \
	downgrade.bundle foreignkey.bundle tampered.bundle tampered-manifest.bundle unsigned.bundle
truncate -s %512 "$W/xfer.img"

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
free_port() { pick_port "$W/.ports"; }
HTTP=$(free_port) HTTPS=$(free_port) MGMT=$(free_port)
G() { tests/qemu/guest.py "$W/shell.sock" --timeout "${GT:-60}" -- "$@"; }
# Every wait on the guest gives up, with the reason and the tails of the console and of
# QEMU's output, as soon as QEMU exits, stops running the guest or the guest goes silent.
# shellcheck source=scripts/lib/qemu-guest.sh
. scripts/lib/qemu-guest.sh
watch() { scripts/lib/qemuwatch.py "$@"; }
alive() { watch check || { bad "the guest stopped making progress before $*"; finish; }; }
export QEMU_WATCH_SILENCE=${QEMU_WATCH_SILENCE:-$((60 + HEALTH_TIMEOUT))}

t0=$(date +%s.%N)
QEMU_XFER=$W/xfer.img QEMU_HTTP_PORT=$HTTP QEMU_HTTPS_PORT=$HTTPS QEMU_MGMT_PORT=$MGMT \
QEMU_APPEND="et.health_timeout=$HEALTH_TIMEOUT" qemu_start "$board" "$W/disk.img" "$W"
qpid=$qemu_pid
if ! qemu_wait_http "http://127.0.0.1:$HTTP/healthz" 900; then
	bad "boot to healthy"; finish
fi
t1=$(date +%s.%N)
ok "boot to healthy"
boot_host=$(echo "$t1 - $t0" | bc)
GT=120 G 'cat /run/edgetrack/healthy' > "$W/healthy" 2>&1
say "boot-to-healthy: $(printf '%.1f' "$boot_host") s from QEMU start (host clock), $(cat "$W/healthy") s after kernel start (guest clock)"

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
say "management API checks: $(printf '%.1f' "$(echo "$(date +%s.%N) - $tm" | bc)") s"

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

# ------------------------------------------------------------------ updates
alive "the update tests"
G 'mkdir -p /data/in && blockdev --flushbufs /dev/vdb && tar -xf /dev/vdb -C /data/in && ls /data/in' > "$W/in.txt" 2>&1
check "bundles handed in over the transfer disk" grep -q unsigned.bundle "$W/in.txt"

refused() { # NAME EXPECTED-REASON-PATTERN
	local out
	out=$(G "et-update install /data/in/$1.bundle 2>&1; echo rc=\$?; rm -f /data/in/$1.bundle")
	echo "$out" | sed 's/^/#   /'
	echo "$out" | grep -q 'rc=1' && echo "$out" | grep -q 'refused:' && echo "$out" | grep -Eq "$2"
}
check "unsigned bundle refused" refused unsigned 'not signed'
check "tampered rootfs refused" refused tampered 'digest differs|size differs'
check "tampered manifest refused" refused tampered-manifest 'signature does not verify'
check "foreign-key bundle refused" refused foreignkey 'signature does not verify'
check "wrong-board bundle refused" refused wrongboard "for board '$other_board'"
check "downgrade refused" refused downgrade 'downgrade'
st=$(G 'et-update status')
check "refusals left the boot state alone" bash -c "echo '$st' | grep -q 'active=a trying=none'"

wait_slot() { # SLOT [SECONDS]: wait for a boot of SLOT to be healthy, print its status
	local t0 s
	t0=$(date +%s)
	while [ $(($(date +%s) - t0)) -lt "${2:-600}" ]; do
		sleep 1
		s=$(GT=5 G 'cat /run/edgetrack/healthy >/dev/null && et-update status' 2>/dev/null) &&
			echo "$s" | grep -q "booted_slot=$1 " && { echo "$s"; return 0; }
		watch check --since "$t0" || return 1
	done
	echo "no healthy boot of slot $1 in ${2:-600} s" >&2
	return 1
}

out=$(G "et-update install /data/in/good.bundle --tries $TRIES 2>&1; echo rc=\$?")
echo "$out" | sed 's/^/#   /'
check "good bundle installed into slot b" bash -c "echo '$out' | grep -q 'rc=0' && echo '$out' | grep -q 'into slot b'"
tu=$(date +%s.%N)
G 'reboot' > /dev/null 2>&1
if st=$(wait_slot b); then
	say "update reboot to healthy: $(printf '%.1f' "$(echo "$(date +%s.%N) - $tu" | bc)") s"
	echo "$st" | sed 's/^/#   /'
	check "new version 9.1.0 runs from slot b" bash -c "echo '$st' | grep -q 'version=9.1.0'"
	sleep 1
	st=$(G 'et-update status')
	check "slot b committed after health check" bash -c "echo '$st' | grep -q 'active=b trying=none'"
	r=$(curl -s -m 10 -o /dev/null -w '%{http_code}' -H "Host: $HOST" "$U/c/$click")
	check "click still served after the update ($r)" [ "$r" = 302 ]
	check "the pushed cert for $NEW is still served after the reboot" [ "$(served_fp $NEW)" = "$new_fp" ]
	check "serial 1 is still applied after the reboot" grep -q '"generation":"gen-1","serial":1' <<<"$(api "$MURL/v1/status")"
else
	bad "updated slot b did not come up healthy"
fi

out=$(G "et-update install /data/in/broken.bundle --tries $TRIES 2>&1; echo rc=\$?")
echo "$out" | sed 's/^/#   /'
check "broken bundle installed into slot a" bash -c "echo '$out' | grep -q 'into slot a'"
tb=$(date +%s.%N)
G 'reboot' > /dev/null 2>&1
# The broken slot gets TRIES boots of HEALTH_TIMEOUT each, then the boot stage falls back.
if st=$(wait_slot b 1200); then
	say "broken update fell back in $(printf '%.1f' "$(echo "$(date +%s.%N) - $tb" | bc)") s"
	echo "$st" | sed 's/^/#   /'
	check "broken update fell back to slot b, version 9.1.0" bash -c "echo '$st' | grep -q 'version=9.1.0' && echo '$st' | grep -q 'active=b trying=none'"
	check "fallback reason recorded" bash -c "echo '$st' | grep -q 'never reported healthy; fell back to slot b'"
	n=$(grep -c 'slot a (trying)' "$W/console.log")
	check "broken slot was tried $TRIES times ($n)" [ "$n" = "$TRIES" ]
else
	bad "no fallback to slot b after the broken update"
	tail -n 30 "$W/console.log" | sed 's/^/#   /'
fi

echo "# $board sizes: $(for f in vmlinuz initramfs.img rootfs.squashfs; do printf '%s=%s ' "$f" "$(stat -c %s "$IMG/$f")"; done)disk.img=$(stat -c %s "$IMG/disk.img") (allocated $(du -k "$IMG/disk.img" | cut -f1) KiB)"
G 'poweroff' > /dev/null 2>&1
t=$(date +%s)
while kill -0 "$qpid" 2> /dev/null; do
	[ $(($(date +%s) - t)) -lt 60 ] || { say "QEMU still running 60 s after poweroff"; break; }
	sleep 0.2
done
finish
