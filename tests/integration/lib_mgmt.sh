# Shared by the management API tests, sourced after lib.sh and ../tls/lib.sh, in $T: the
# operators' CA and certificates, and minisign keys with a keyring of the operator's key.

lacks() { ! contains "$1" "$2" 2>/dev/null; }

# issue CA NAME EXTENSIONS: NAME.crt/.key issued by CA (the management listener's own
# certificate for 127.0.0.1, operators' client certificates)
issue() {
	openssl ecparam -name prime256v1 -genkey -noout -out "$2.key" 2>/dev/null &&
		openssl req -new -key "$2.key" -subj "/CN=$2" -out "$2.csr" 2>/dev/null &&
		printf '%b' "$3" >"$2.ext" &&
		openssl x509 -req -in "$2.csr" -CA "$1/ca.crt" -CAkey "$1/ca.key" -days 30 \
			-set_serial "0x$(openssl rand -hex 8)" -extfile "$2.ext" -out "$2.crt" 2>/dev/null
}

# mgmt_operator_certs: CA opca, the listener's mgmt.crt and the operator's operator.crt
mgmt_operator_certs() {
	tls_ca opca &&
		issue opca mgmt 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' &&
		issue opca operator 'extendedKeyUsage=clientAuth\n'
}

# mgmt_operator_keys: root.pub/.key, op.pub/.key and keyring (op.pub certified by root for a
# day), the keyring copied to data/keyring
mgmt_operator_keys() {
	"$ETCTL" keys gen --unencrypted --pub root.pub --sec root.key >/dev/null &&
		"$ETCTL" keys gen --unencrypted --pub op.pub --sec op.key >/dev/null &&
		"$ETCTL" keys certify --root-key root.key --keyring keyring --pub op.pub \
			--not-after 1d >/dev/null &&
		mkdir -p data && cp keyring data/keyring
}
