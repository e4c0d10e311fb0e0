#!/bin/bash
# Bundles against the real minisign tool, both ways: minisign -V accepts what
# `edgetrackctl bundle sign` makes (ED and Ed), the verifier accepts a manifest signed by
# minisign -S (and -S -l), keys made by either tool work in the other, an encrypted minisign
# key opens with its password, and a refused bundle says why.
. "$(dirname "$0")/lib.sh"

command -v minisign >/dev/null || { echo "minisign not installed (scripts/install-deps.sh)"; exit 1; }
cd "$T" || exit 1
ctl() { "$ETCTL" "$@"; }

# Keys: the root and one operator key from minisign -G -W, one operator key from edgetrackctl.
minisign -G -W -p root.pub -s root.key >/dev/null
minisign -G -W -p ms.pub -s ms.key >/dev/null
check "keys gen makes an unencrypted minisign key pair" ctl keys gen --unencrypted --pub op.pub --sec op.key
check "keys gen refuses to overwrite" bash -c "! '$ETCTL' keys gen -W --pub op.pub --sec op.key 2>/dev/null"
check "secret key file is 0600" eq "$(stat -c %a op.key)" 600
check "keyring: certify our operator key with minisign's root key" ctl keys certify --root-key root.key --keyring keyring --pub op.pub --not-after 30d
check "keyring: certify minisign's operator key" ctl keys certify --root-key root.key --keyring keyring --pub ms.pub --not-after 2099-01-01
check "keyring shows both keys" contains "$(ctl keys keyring show --root root.pub keyring)" "serial 2"

# The appliance and a bundle for it.
out=$(ctl id --data-dir data)
ID=$(sed -n 's/^id: //p' <<<"$out")
RCPT=$(sed -n 's/^recipient: //p' <<<"$out")
check "id is 16 hex digits" eq "$(grep -cE '^[0-9a-f]{16}$' <<<"$ID")" 1
check "id is stable" eq "$(ctl id --data-dir data | sed -n 's/^id: //p')" "$ID"
check "identity key is 0600" eq "$(stat -c %a data/identity/x25519.key)" 600
mkdir certs
printf -- '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n' >certs/click.example.com.crt
printf -- '-----BEGIN PRIVATE KEY-----\nMC4C\n-----END PRIVATE KEY-----\n' >certs/click.example.com.key
echo '{"workers": 1}' >config.json
verify() { # bundle [extra verify args]: prints the verifier's answer
	local b=$1; shift
	ctl bundle verify --root root.pub --keyring keyring --identity data/identity "$@" "$b" 2>&1
}
create() { # out signer-pub serial
	ctl bundle create --serial "$3" --signer "$2" --scope "$ID" --recipient "$RCPT" \
		--config config.json --cert-dir certs --remove old.example.com \
		--challenge "abcdefghijklmnopqrstuvwxyz=abcdefghijklmnopqrstuvwxyz.$THUMB" \
		--not-after 1d --out "$1" >/dev/null
}

# 1. edgetrackctl signs, minisign verifies.
check "bundle create" create a.bundle op.pub 1
check "unsigned bundle refused" contains "$(verify a.bundle)" "bundle is not signed"
check "bundle sign (ED)" ctl bundle sign --key op.key a.bundle
check "extract manifest and signature" ctl bundle inspect --manifest-out a.json --signature-out a.json.minisig a.bundle
check "minisign -V accepts the ED signature" minisign -Vm a.json -x a.json.minisig -p op.pub
check "the signature is prehashed" contains "$(sed -n 2p a.json.minisig)" "RU"
check "verifier accepts it" contains "$(verify a.bundle)" "ok: serial 1"
out=$(verify a.bundle)
check "verifier lists the decrypted key" contains "$out" "key       click.example.com"
check "bundle sign --legacy (Ed)" ctl bundle sign --legacy --key op.key a.bundle
ctl bundle inspect --manifest-out a.json --signature-out a.json.minisig a.bundle >/dev/null
check "minisign -V accepts the Ed signature" minisign -Vm a.json -x a.json.minisig -p op.pub
check "verifier accepts Ed" contains "$(verify a.bundle)" "ok: serial 1"
check "minisign -V refuses a changed manifest" bash -c "sed 's/\"serial\": 1/\"serial\": 2/' a.json >a2.json; ! minisign -Vm a2.json -x a.json.minisig -p op.pub >/dev/null 2>&1"

# 2. minisign signs the extracted manifest, edgetrackctl attaches and verifies.
check "bundle create for minisign's key" create b.bundle ms.pub 2
ctl bundle inspect --manifest-out b.json b.bundle >/dev/null
check "minisign -S signs the manifest" bash -c "minisign -S -s ms.key -m b.json </dev/null >/dev/null"
check "attach-signature" ctl bundle attach-signature b.bundle b.json.minisig
check "verifier accepts minisign's ED signature" contains "$(verify b.bundle)" "ok: serial 2"
check "minisign -S -l (Ed)" bash -c "minisign -S -l -s ms.key -m b.json -x b.legacy </dev/null >/dev/null"
check "attach the Ed signature" ctl bundle attach-signature b.bundle b.legacy
check "verifier accepts minisign's Ed signature" contains "$(verify b.bundle)" "ok: serial 2"
check "a signature by another key is not attached" bash -c "! '$ETCTL' bundle attach-signature a.bundle b.json.minisig 2>/dev/null"

# 3. Refusals through the CLI, each with its reason.
check "replayed serial" contains "$(verify b.bundle --applied-serial 2)" "not above the applied serial 2"
check "wrong scope" contains "$(verify b.bundle --appliance-id pop9)" "not to pop9"
check "revoke minisign's key" ctl keys keyring revoke --root-key root.key --keyring keyring ms.pub
check "revoked key refused" contains "$(verify b.bundle)" "is revoked"
cp keyring held
check "keyring install keeps a held keyring that is as new" contains "$(ctl keys keyring install --root root.pub --keyring held keyring)" "kept"
check "keyring signed by an operator key is refused" bash -c "! '$ETCTL' keys keyring install --root op.pub --keyring held keyring 2>/dev/null"
printf 'X' | dd of=a.bundle bs=1 seek=$(($(stat -c %s a.bundle) - 5)) conv=notrunc 2>/dev/null
check "tampered item refused" contains "$(verify a.bundle)" "sha256 mismatch"
head -c 300 b.bundle >c.bundle
check "truncated bundle refused" contains "$(verify c.bundle)" "truncated"

# 4. An encrypted minisign key (scrypt, minisign's own limits) opens with its password.
printf 'pw\npw\n' | minisign -G -p enc.pub -s enc.key >/dev/null 2>&1
ctl keys certify --root-key root.key --keyring keyring --pub enc.pub --not-after 1d >/dev/null
create e.bundle enc.pub 3
check "bundle sign with an encrypted minisign key" env EDGETRACK_KEY_PASSWORD=pw "$ETCTL" bundle sign --key enc.key e.bundle
check "no password, no signature" bash -c "! env -u EDGETRACK_KEY_PASSWORD setsid -w '$ETCTL' bundle sign --key enc.key e.bundle </dev/null 2>/dev/null"
check "verifier accepts it" contains "$(verify e.bundle)" "ok: serial 3"

finish
