#!/bin/bash
# checkpassword.sh - benchmark of one POP3 login through qinstall-checkpassword
# on a password file of 10,000 users, against the floor: one yescrypt hash
# of the same password computed alone by a program that does nothing else
# (built here with gcc against libcrypt). Prints the ratio of the medians
# (target <= 1.2, tracker issue 12).
#
#   tests/bench/checkpassword.sh [BUILDDIR]     # default: _build; RUNS=N (default 21)
#
# Not part of `make check`; it never passes or fails on time.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$top/_build}" && pwd)
cp=$build/qinstall-checkpassword
runs=${RUNS:-21}
[ -x "$cp" ] || { echo "bench: no qinstall-checkpassword in $build (build it first)" >&2; exit 2; }
. "$top/tests/bench/byhand.sh"
W=$(mktemp -d /tmp/qinstall-bench.XXXXXX)
trap 'rm -rf "$W"' EXIT

# The floor: crypt_rn of the password against its hash, once.
cat >"$W/floor.c" <<'C'
#include <crypt.h>
#include <stdlib.h>
#include <string.h>
int main(int argc, char **argv)
{
	struct crypt_data *cd = calloc(1, sizeof(*cd));
	char *out = crypt_rn(argv[1], argv[2], cd, sizeof(*cd));
	return out && strcmp(out, argv[2]) == 0 ? 0 : 1;
}
C
gcc -O2 -o "$W/floor" "$W/floor.c" -lcrypt
# A yescrypt hash, made the way qinstall makes them (crypt_gensalt "$y$").
hash=$(python3 -c 'import ctypes,sys
c=ctypes.CDLL("libcrypt.so.1"); c.crypt_gensalt.restype=ctypes.c_char_p; c.crypt.restype=ctypes.c_char_p
s=c.crypt_gensalt(b"$y$", 0, None, 0); print(c.crypt(b"bench-pw", s).decode())')

# 10,000 users (the same hash under other names: the file is what is
# measured, one hash is computed), the one who logs in last.
mkdir -p "$W/etc" "$W/home"
useradd_line() { echo "vmail:x:1001:1001::/home/vmail:/usr/sbin/nologin"; }
{ grep '^root:' /etc/passwd; useradd_line; } >"$W/etc/passwd"
{ grep '^root:' /etc/group; echo "vmail:x:1001:"; } >"$W/etc/group"
printf 'root:*:19000:0:99999:7:::\nvmail:*:19000:0:99999:7:::\n' >"$W/etc/shadow"
chmod 0644 "$W/etc/passwd" "$W/etc/group"; chmod 0600 "$W/etc/shadow"
for i in $(seq 9999); do echo "user$i:$hash:vmail:/home/vmail/user$i"; done >"$W/poppasswd"
echo "target:$hash:vmail:/tmp" >>"$W/poppasswd"
chmod 0600 "$W/poppasswd"
printf 'target\0bench-pw\0\0' >"$W/in"
export QINSTALL_POPPASSWD=$W/poppasswd QINSTALL_CHECKPASSWORD_ETC=$W/etc QINSTALL_CHECKPASSWORD_DELAY_MS=0
"$cp" /bin/true 3<"$W/in" || { echo "bench: the login does not work" >&2; exit 1; }
"$W/floor" bench-pw "$hash" || { echo "bench: the floor does not work" >&2; exit 1; }

login() { "$cp" /bin/true 3<"$W/in"; }
: >"$W/t.login"; : >"$W/t.floor"
for i in $(seq "$runs"); do
	timed "$W/t.login" login
	timed "$W/t.floor" "$W/floor" bench-pw "$hash"
done
login=$(median <"$W/t.login"); floor=$(median <"$W/t.floor")
echo "medians of $runs runs (seconds): login on 10,000 users $login, one yescrypt alone $floor"
echo "login / one hash:       $(ratio "$login" "$floor")   (target <= 1.2)"
