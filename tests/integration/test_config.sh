#!/bin/bash
# Config refusal at start (file, line, reason), SIGHUP reload of a good and a bad config,
# and the embedded defaults.
. "$(dirname "$0")/lib.sh"

# syntax error: file:line:column
printf '{\n  "listen": ["127.0.0.1:1"],\n  "keys": [}\n' >"$T/syntax.json"
out=$("$ETD" --config "$T/syntax.json" 2>&1); rc=$?
check "syntax error refused" test "$rc" -ne 0
check "syntax error names file and line" contains "$out" "$T/syntax.json:3:"

# meaning errors name the JSON path
PORT=$(free_port)
write_config "$T/good.json" "$PORT"
bad() { # description sed-expression expected-text
	sed "$2" "$T/good.json" >"$T/bad.json"
	local out; out=$("$ETD" --check-config "$T/bad.json" 2>&1)
	check "$1" contains "$out" "$3"
}
bad "bad domain name" 's/"click.example.com"/"click..example.com"/' 'domains[0].name: "click..example.com" is not a valid DNS name'
bad "short key" "s/\"$KEY1\"/\"abcd\"/" 'keys[0]: "secret" must be 64 to 128 hex digits'
bad "bad listen address" "s/127.0.0.1:$PORT/localhost/" 'listen[0]: expected "ADDRESS:PORT"'
bad "unknown setting" 's/"workers": 2/"workerz": 2/' '(top level): unknown setting "workerz"'
bad "bad thumbprint" "s/$THUMB/nope/" 'acme.thumbprints[0]: must be an RFC 7638 JWK thumbprint'
bad "duplicate domain" 's/"\*.track.example.net"/"click.example.com"/' 'domains[1]: duplicate'
bad "HSTS preload without includeSubDomains" 's/"include_subdomains": true/"include_subdomains": false, "preload": true/' 'domains[2].hsts: preload needs include_subdomains'
bad "bad limit" 's/"workers": 2/"workers": 2, "limits": {"header_timeout_ms": 1}/' 'limits.header_timeout_ms: must be between'
bad "metrics listener on a public address" 's/"workers": 2/"workers": 2, "metrics": {"listen": "192.0.2.1:9100"}/' 'metrics.listen: 192.0.2.1:9100: a loopback address or the management listener'"'"'s address'
bad "metrics listener on a tracking address" "s/\"workers\": 2/\"workers\": 2, \"metrics\": {\"listen\": \"127.0.0.1:$PORT\"}/" 'metrics.listen: 127.0.0.1:'"$PORT"' is a tracking listener too'
bad "unknown metrics setting" 's/"workers": 2/"workers": 2, "metrics": {"listen": "[::1]:9100", "tls": true}/' 'metrics: unknown setting "tls"'
check "good config accepted" contains "$("$ETD" --check-config "$T/good.json" 2>&1)" "ok (3 domains, 1 keys, 1 listeners)"
check "missing file refused" contains "$("$ETD" --config "$T/none.json" 2>&1)" "$T/none.json"

# SIGHUP: a bad new config is refused and the old one keeps serving
start_etd "$T/good.json" "$PORT" || exit 1
OPEN=$(mint open click.example.com)
check "serving" eq "$(status_of -H 'Host: click.example.com' "http://127.0.0.1:$PORT/o/$OPEN")" 200
cp "$T/good.json" "$T/orig.json"
printf '{ broken' >"$T/good.json"
kill -HUP "$ET_PID"; sleep 0.3
check "bad reload logged with the reason" contains "$(cat "$T/etd.log")" "msg=reload_refused reason=\"$T/good.json:1:"
check "old config keeps serving after a bad reload" eq "$(status_of -H 'Host: click.example.com' "http://127.0.0.1:$PORT/o/$OPEN")" 200
check "still alive" kill -0 "$ET_PID"

# a second edgetrackd on the same address is refused instead of sharing the port
sed "s|$T/data|$T/data2|g" "$T/orig.json" >"$T/twin.json"
out=$(timeout 10 "$ETD" --config "$T/twin.json" 2>&1); rc=$?
check "second instance on the same port refused" test "$rc" -ne 0 -a "$rc" -ne 124
check "and says the address is in use" contains "$out" "listen 127.0.0.1:$PORT: address already in use by another process"
check "first instance still serving" eq "$(status_of -H 'Host: click.example.com' "http://127.0.0.1:$PORT/o/$OPEN")" 200

# a good reload adds a domain and rotates keys: old tokens still verify, new key signs
NEWOPEN=$("$ETCTL" token encode --host new.example.com --key-id 2 --key "$KEY2" --kind open --message 1 --recipient 1)
sed -e 's/{"name": "click.example.com"}/{"name": "click.example.com"}, {"name": "new.example.com"}/' \
    -e "s/\"keys\": \[{\"id\": 1, \"secret\": \"$KEY1\", \"current\": true}\]/\"keys\": [{\"id\": 1, \"secret\": \"$KEY1\"}, {\"id\": 2, \"secret\": \"$KEY2\", \"current\": true}]/" \
    "$T/orig.json" >"$T/good.json"
check "new domain unknown before reload" eq "$(status_of -H 'Host: new.example.com' "http://127.0.0.1:$PORT/o/$NEWOPEN")" 421
check "reload through the control socket" "$ETCTL" --socket "$T/data/control.sock" reload
check "new domain served after reload" eq "$(status_of -H 'Host: new.example.com' "http://127.0.0.1:$PORT/o/$NEWOPEN")" 200
check "old key still verifies after rotation" eq "$(status_of -H 'Host: click.example.com' "http://127.0.0.1:$PORT/o/$OPEN")" 200
printf '{ broken' >"$T/good.json"
check "control reload of a bad config fails" bash -c "! '$ETCTL' --socket '$T/data/control.sock' reload 2>/dev/null"
check "and keeps serving" eq "$(status_of -H 'Host: new.example.com' "http://127.0.0.1:$PORT/o/$NEWOPEN")" 200
stop_etd "$ET_PID"
check "no sanitizer output" bash -c "! grep -E 'ERROR: |runtime error' '$T/etd.log'"

# embedded defaults: no config at all, prints working example URLs. They are fixed to
# 127.0.0.1:8080; when something else has that port here, the demo runs in a network
# namespace of its own (with its own loopback).
mkdir -p "$T/demo" && cd "$T/demo" || exit 1
IN=()
if ss -ltnH 'sport = :8080' | grep -q .; then
	NS=etdemo$$
	if ip netns add "$NS" 2>/dev/null; then
		ET_NETNS+=("$NS")
		ip netns exec "$NS" ip link set lo up
		IN=(ip netns exec "$NS")
		echo "# port 8080 busy here: the demo runs in network namespace $NS"
	else
		echo "# port 8080 busy and no network namespace: embedded-defaults check skipped"
		finish
	fi
fi
"${IN[@]}" "$ETD" >"$T/demo.out" 2>"$T/demo.log" &
ET_PIDS+=($!); DEMO=$!
for _ in $(seq 100); do grep -q '^  acme' "$T/demo.out" 2>/dev/null && break; sleep 0.05; done
for route in click open unsubscribe acme; do
	cmd=$(awk -v r="$route" '$1 == r { $1 = ""; print }' "$T/demo.out")
	code=$(eval "${IN[*]} ${cmd/curl -si/curl -s -o /dev/null -w %\{http_code\}}")
	case $route in click) want=302 ;; *) want=200 ;; esac
	check "demo $route URL works ($code)" eq "$code" "$want"
done
stop_etd "$DEMO"
finish
