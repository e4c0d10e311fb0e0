#!/bin/bash
# Disk full under the event journal: the journal lives on a 1 MiB tmpfs the test mounts and
# fills. Tracking routes answer 503 with Retry-After while /healthz stays 200, a log line and
# the events_failed counter say why, and serving resumes by itself once space returns, with
# no partial record left behind. Then with "on_full": "redirect-unrecorded": clicks still
# redirect and are counted as clicks_unrecorded, opens get 503. Last, without preallocation,
# concurrent clients fill the disk: exactly the events they got a 302/200 for are recorded.
# Last, with "sync": "none", the events answered before the disk refused them are counted
# as lost and the following answers are 503 until space returns.
# The mount goes away however the test ends.
. "$(dirname "$0")/lib.sh"

skip() { echo "SKIP: $*"; exit 0; }
[ "$(id -u)" -eq 0 ] || skip "needs root (mounts a tmpfs)"

MNT=$T/small
JDIR=$MNT/journal
SOCK=$T/data/control.sock
FILLER=$MNT/filler
H=click.example.com
PORT=$(free_port)
R=(--resolve "$H:$PORT:127.0.0.1")
B=http://$H:$PORT

full_cleanup() {
	for p in "${ET_PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
	wait 2>/dev/null
	mountpoint -q "$MNT" && umount "$MNT"
	cleanup
}
trap full_cleanup EXIT
trap 'exit 130' INT TERM HUP

mkdir -p "$MNT"
mount -t tmpfs -o size=1m,mode=0700 tmpfs "$MNT" || { echo "FAIL - mount tmpfs on $MNT"; exit 1; }

NEXT_ID=100
# Helpers set globals instead of printing, so the id counter lives in this shell.
new_token() { # KIND: TOK = a token with a fresh message id (NEXT_ID)
	NEXT_ID=$((NEXT_ID + 1))
	local url=()
	[ "$1" = click ] && url=(--url "https://shop.example.com/full?m=$NEXT_ID")
	TOK=$("$ETCTL" token encode --host $H --key-id 1 --key "$KEY1" --kind "$1" \
		--message "$NEXT_ID" --recipient 5 --link 1 "${url[@]}")
}
path_of() { case $1 in click) echo c ;; open) echo o ;; *) echo u ;; esac; }
hit() { # KIND [curl args]: one tracking request with a fresh token; STATUS = its status
	local kind=$1; shift
	new_token "$kind"
	STATUS=$(status_of "${R[@]}" "$@" "$B/$(path_of "$kind")/$TOK")
}
jevents() { "$ETCTL" events tail -n 1000000 --dir "$JDIR" 2>/dev/null; }
jcount() { jevents | wc -l; }
counter() { # NAME: a counter of `edgetrackctl status`
	"$ETCTL" --socket "$SOCK" status | sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p"
}
fill() { dd if=/dev/zero of="$FILLER" bs=4k 2>/dev/null; sync; }
# Sends requests of KIND until one answers 503 (the events that still fit use up the
# journal's last free page); ANSWERED = how many succeeded before, or "never". One token
# for all of them: each request is still an event of its own.
until_503() {
	ANSWERED=0
	new_token "$1"
	for _ in $(seq 400); do
		STATUS=$(status_of "${R[@]}" "$B/$(path_of "$1")/$TOK")
		[ "$STATUS" = 503 ] && return 0
		ANSWERED=$((ANSWERED + 1))
	done
	ANSWERED=never
}
verify_clean() {
	local out rc
	out=$("$ETCTL" events verify --dir "$JDIR" 2>&1); rc=$?
	echo "    verify: $out" | head -5
	[ "$rc" -eq 0 ] && contains "$out" "problems=0" && ! grep -q '^incomplete' <<<"$out"
}

# ---------------------------------------------------------------- part 1: reject (default)
write_config "$T/et.json" "$PORT" ", \"journal\": {\"dir\": \"$JDIR\"}"
start_etd "$T/et.json" "$PORT" || exit 1
hit click
check "click recorded while there is space" eq "$STATUS" 302
check "journal holds it" eq "$(jcount)" 1

fill
check "filler used up the tmpfs" eq "$(df --output=avail "$MNT" | tail -1 | tr -d ' ')" 0
until_503 click
echo "    clicks recorded in the last free page before the first 503: $ANSWERED"
check "clicks answer 503 once the disk is full" test "$ANSWERED" != never
recorded=$((1 + ANSWERED))
check "every 302 before the first 503 was recorded" eq "$(jcount)" "$recorded"

new_token click
out=$(curl -si "${R[@]}" "$B/c/$TOK")
check "503 while full" contains "$out" "HTTP/1.1 503"
check "503 says Retry-After" contains "$out" "Retry-After: 5"
check "503 is not cached" contains "$out" "Cache-Control: no-store"
hit open
check "opens answer 503" eq "$STATUS" 503
hit unsubscribe -d List-Unsubscribe=One-Click
check "one-click unsubscribe answers 503" eq "$STATUS" 503
check "/healthz still 200" eq "$(status_of "http://127.0.0.1:$PORT/healthz")" 200
check "ACME challenges still served" eq "$(status_of "${R[@]}" "$B/.well-known/acme-challenge/evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA")" 200
check "nothing recorded while full" eq "$(jcount)" "$recorded"
failed=$(counter events_failed)
check "events_failed counts the 4 rejected events" eq "$failed" 4
check "log says the journal is full" contains "$(cat "$T/etd.log")" "msg=journal_full dir=$JDIR"
check "log says tracking answers 503" contains "$(cat "$T/etd.log")" "msg=journal_unavailable"
grep -E 'journal_full|journal_unavailable' "$T/etd.log" | head -2 | sed 's/^/    log: /'
check "no partial record while full" verify_clean

rm -f "$FILLER"
hit click
check "serving resumes by itself once space returns" eq "$STATUS" 302
check "the resumed click is recorded" contains "$(jevents | tail -1)" "\"message_id\":$NEXT_ID,"
hit open
check "open resumes too" eq "$STATUS" 200
check "log says space is back" contains "$(cat "$T/etd.log")" "msg=journal_space_ok"
recorded=$((recorded + 2))
check "journal holds exactly the answered events" eq "$(jcount)" "$recorded"
check "sequence numbers are 1..N" eq "$(jevents | python3 -c 'import json,sys; s=[json.loads(l)["seq"] for l in sys.stdin]; print(s == list(range(1, len(s) + 1)))')" True
check "no partial record after recovery" verify_clean
check "edgetrackd stops cleanly" stop_etd "$ET_PID"

# ---------------------------------------------------------------- part 2: redirect-unrecorded
write_config "$T/et2.json" "$PORT" ", \"journal\": {\"dir\": \"$JDIR\", \"on_full\": \"redirect-unrecorded\"}"
start_etd "$T/et2.json" "$PORT" || exit 1
fill
until_503 open
check "opens answer 503 when the disk fills again" test "$ANSWERED" != never
recorded=$((recorded + ANSWERED))
unrec0=$(counter clicks_unrecorded)
clicks_ok=0
for _ in $(seq 10); do
	new_token click
	out=$(curl -si "${R[@]}" "$B/c/$TOK")
	case $out in *"HTTP/1.1 302"*"Location: https://shop.example.com/full?m=$NEXT_ID"*) clicks_ok=$((clicks_ok + 1)) ;; esac
done
check "clicks still redirect to their destination while full" eq "$clicks_ok" 10
check "clicks_unrecorded counts them" eq "$(($(counter clicks_unrecorded) - unrec0))" 10
hit open
check "opens still answer 503" eq "$STATUS" 503
check "/healthz still 200" eq "$(status_of "http://127.0.0.1:$PORT/healthz")" 200
check "unrecorded clicks are not in the journal" eq "$(jcount)" "$recorded"
check "log names the redirect action" contains "$(cat "$T/etd.log")" "action=redirect_unrecorded_clicks"
check "no partial record while full" verify_clean

rm -f "$FILLER"
unrec1=$(counter clicks_unrecorded)
hit click
check "clicks recorded again once space returns" eq "$STATUS" 302
check "the resumed click is recorded" contains "$(jevents | tail -1)" "\"message_id\":$NEXT_ID,"
check "and not counted as unrecorded" eq "$(counter clicks_unrecorded)" "$unrec1"
check "no partial record" verify_clean
check "edgetrackd stops cleanly" stop_etd "$ET_PID"

# ---------------------------------------------------------------- part 3: filling under load
# Without preallocation a batch can hit the end of the disk halfway through a write; the
# journal must cut it back. Concurrent clients run while the last 64 KiB fill up: exactly
# the events they got a 302/200 for are in the journal, the rest got 503.
write_config "$T/et3.json" "$PORT" ", \"journal\": {\"dir\": \"$JDIR\", \"preallocate\": false}"
start_etd "$T/et3.json" "$PORT" || exit 1
fill
truncate -s -64K "$FILLER"
"$ET_BUILD/tests/journal/loadgen" -p "$PORT" -H $H -k "$KEY1" -c 16 -t 2 -m 5000 >"$T/load.out" 2>"$T/load.err"
cat "$T/load.err"
jevents | python3 -c 'import json,sys; [print("A %d %d" % (e["message_id"], e["recipient_id"])) for e in map(json.loads, sys.stdin) if e["message_id"] >= 5000]' | sort >"$T/journal.ids"
grep '^A ' "$T/load.out" | cut -d' ' -f1-3 | sort >"$T/acked.ids"
acked=$(wc -l <"$T/acked.ids")
echo "    answered 302/200: $acked, answered 503: $(grep -c '^R .* 503$' "$T/load.out")"
check "the load filled the disk (some answers were 503)" grep -q '^R .* 503$' "$T/load.out"
check "some events fit before it was full" test "$acked" -gt 0
check "every other answer was a 503" bash -c "! grep '^R ' '$T/load.out' | grep -qv ' 503\$'"
check "journal holds exactly the events answered with 302/200" cmp -s "$T/journal.ids" "$T/acked.ids"
check "no partial record after writes cut short" verify_clean
rm -f "$FILLER"
hit click
check "serving resumes once space returns" eq "$STATUS" 302
check "its event follows without a gap" eq "$(jevents | tail -1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["seq"])')" "$(jcount)"
check "no partial record at the end" verify_clean
check "edgetrackd stops cleanly" stop_etd "$ET_PID"
# ---------------------------------------------------------------- part 4: sync=none
# Answers go out before their event is written. When the disk fills, the events answered in
# that window are counted as lost (never silently), and from then on answers wait for their
# event again: 503 while full, the normal answer once space is back. (Without preallocation,
# so the disk refuses the first write after it fills.)
write_config "$T/et4.json" "$PORT" ", \"journal\": {\"dir\": \"$JDIR\", \"sync\": \"none\", \"preallocate\": false}"
start_etd "$T/et4.json" "$PORT" || exit 1
recorded=$(jcount)
hit click
check "sync=none: click answered" eq "$STATUS" 302
sleep 0.2
check "sync=none: and written within the batch window" eq "$(jcount)" $((recorded + 1))
recorded=$((recorded + 1))
fill
until_503 click
# The worker counts an answered event the disk refused when the failed batch's completion
# reaches it, which can be just after the first 503 went out: wait (2 s at most) until every
# answered event is either in the journal or counted as lost.
settled() { [ "$(($(jcount) + $(counter events_lost)))" -ge $((recorded + ANSWERED)) ]; }
[ "$ANSWERED" = never ] || for _ in $(seq 100); do settled && break; sleep 0.02; done
lost=$(counter events_lost)
echo "    sync=none: answered before the first 503: $ANSWERED, lost: $lost"
check "sync=none: clicks answer 503 once the disk is full" test "$ANSWERED" != never
check "sync=none: events answered but refused by the disk are counted as lost" test "$lost" -ge 1
check "sync=none: the journal holds every other answered event" eq "$(jcount)" $((recorded + ANSWERED - lost))
recorded=$((recorded + ANSWERED - lost))
hit open
check "sync=none: opens answer 503 while full" eq "$STATUS" 503
check "sync=none: no partial record while full" verify_clean
rm -f "$FILLER"
hit click
check "sync=none: serving resumes once space returns" eq "$STATUS" 302
check "sync=none: the resumed click is recorded" contains "$(jevents | tail -1)" "\"message_id\":$NEXT_ID,"
hit open
sleep 0.2
check "sync=none: later events are recorded again" eq "$(jcount)" $((recorded + 2))
check "sync=none: nothing more lost" eq "$(counter events_lost)" "$lost"
check "sync=none: no partial record at the end" verify_clean
check "edgetrackd stops cleanly" stop_etd "$ET_PID"
check "no sanitizer output" bash -c "! grep -E 'ERROR: |runtime error' '$T/etd.log'"
finish
