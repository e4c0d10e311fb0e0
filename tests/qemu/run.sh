#!/bin/bash
# make qemu-test: every board's QEMU test, one after the other (TCG uses both cores).
#   tests/qemu/run.sh qemu_x86_64 qemu_aarch64
set -u
cd "$(dirname "$0")/../.."
pass=0 fail=0 rc=0
for b in "$@"; do
	start=$(date +%s)
	tests/qemu/test_board.sh "$b" 2>&1 | tee "build/$b/qemu-test.log"
	[ "${PIPESTATUS[0]}" -eq 0 ] || rc=1
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "build/$b/qemu-test.log" | tail -n1)
	[ -n "$line" ] || line="0 passed, 1 failed" # it stopped before its count
	pass=$((pass + ${line%% passed*}))
	f=${line#*passed, }; fail=$((fail + ${f%% failed}))
	echo "# $b: $(($(date +%s) - start)) s"
done
echo "qemu: $pass passed, $fail failed"
exit $rc
