#!/bin/bash
# Scenario: qmail-smtpd's STARTTLS certificate as a provision step
# ([mail] tls_cert, the tls-smtpauth option): generated, it is
# control/servercert.pem (key, then a self-signed certificate for the mail
# domain), qmaild:qmail 0640, with control/clientcert.pem linked to it;
# provisioning again keeps it (never generated anew); an administrator's
# servercert.pem is left with a warning; the plan never shows the key;
# from the host's certificate and key files, it is their pair; a key of
# another certificate is an error before anything is written; rollback
# removes it all. [services] smtpd_tls = yes gives qmail-smtpd its AUTH
# arguments in the run script.
#
# The component is a tiny source tree (a Makefile, no compiler), as in
# provision-mailconf.sh.
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/scenario/users-fixture.sh"

command -v make >/dev/null || tap_skip_all "make is needed to build the test component"
command -v openssl >/dev/null || tap_skip_all "the openssl program is needed to read the certificate back"
export QINSTALL_CACHE_DIR=$(tap_tmpdir)

S=$(tap_tmpdir)
mkdir "$S/mini-1.0"
printf 'all: mini\nmini:\n\tprintf "#!/bin/sh\\necho mini\\n" >mini\n\tchmod 755 mini\n' >"$S/mini-1.0/Makefile"
tar -C "$S" -czf "$S/mini-1.0.tar.gz" mini-1.0
# profile TLS_CERT [EXTRA]: the profile at $P
profile() {
	P=$S/tls.profile
	cat >"$P" <<EOF
[mail]
configure = yes
admin = alice
tls_cert = $1
$2

[component mini]
version = 1.0
url = file://$S/mini-1.0.tar.gz
sha256 = $(sha256sum <"$S/mini-1.0.tar.gz" | cut -c1-64)
make = all
program = mini
EOF
}
C=/var/qmail/control

new_root() {
	R=$(tap_tmpdir)
	alice_root "$R"
	tap_setup_qinstall "$R" users || return
}
id_of() { awk -F: -v n="$2" '$1 == n { print $3 }' "$R/etc/$1"; }
provision() { tap_run "$1" "$2" "$QINSTALL" --root "$R" --json provision -p "$P" "${@:3}"; }

case_generated() {
	tap_case "a generated certificate: made once, qmaild:qmail 0640"
	new_root || return
	profile generate
	tap_run 0 "plan" "$QINSTALL" --root "$R" --json plan -p "$P" --domain mail.example.org
	tap_json_has plan.#.path "$C/servercert.pem" "the plan lists servercert.pem"
	tap_unlike "$TAP_STDOUT" "PRIVATE KEY" "and never shows the key"
	provision 0 "provision" --domain mail.example.org
	local f=$R$C/servercert.pem
	tap_mode_is "$f" 0640 "servercert.pem is 0640"
	tap_owner_is "$f" "$(id_of passwd qmaild):$(id_of group qmail)" "and qmaild:qmail's (as the patch's make cert)"
	tap_is "$(readlink "$R$C/clientcert.pem")" servercert.pem "clientcert.pem links to it"
	tap_ok "the key and the certificate belong together" \
		bash -c "[ \"\$(openssl pkey -in '$f' -pubout)\" = \"\$(openssl x509 -in '$f' -pubkey -noout)\" ]"
	tap_like "$(openssl x509 -in "$f" -noout -subject)" "CN ?= ?mail\.example\.org" "its subject is the mail domain"
	tap_like "$(openssl x509 -in "$f" -noout -ext subjectAltName)" "DNS:mail\.example\.org" "and so is its subjectAltName"
	local sum
	sum=$(sha256sum <"$f")
	provision 0 "provision again" --domain mail.example.org
	tap_json_is changed false "changes nothing"
	tap_is "$(sha256sum <"$f")" "$sum" "the certificate is not generated anew"
	tap_run 0 "rollback" "$QINSTALL" --root "$R" rollback
	tap_type_is "$f" none "rollback removes servercert.pem"
	tap_type_is "$R$C/clientcert.pem" none "and clientcert.pem"
}

case_admin_cert() {
	tap_case "an administrator's servercert.pem is left, with a warning"
	new_root || return
	profile generate
	mkdir -p "$R$C"
	printf 'theirs\n' >"$R$C/servercert.pem"
	provision 0 "provision" --domain mail.example.org
	tap_is "$(cat "$R$C/servercert.pem")" theirs "servercert.pem is as the administrator left it"
	tap_like "$TAP_STDERR" "servercert.pem: qinstall did not write it.*only where none is" "the warning says why"
}

case_host_files() {
	tap_case "the host's certificate and key"
	new_root || return
	local H
	H=$(tap_tmpdir)
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 5 -subj /CN=mx.example.net \
		-keyout "$H/key.pem" -out "$H/cert.pem" 2>/dev/null
	profile "$H/cert.pem" "tls_key = $H/key.pem"
	provision 0 "provision" --domain mail.example.org
	tap_is "$(openssl x509 -in "$R$C/servercert.pem" -noout -fingerprint)" \
		"$(openssl x509 -in "$H/cert.pem" -noout -fingerprint)" "servercert.pem holds the host's certificate"
	tap_is "$(openssl pkey -in "$R$C/servercert.pem" -pubout)" "$(openssl pkey -in "$H/key.pem" -pubout)" \
		"and its key"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 5 -subj /CN=other \
		-keyout "$H/other.pem" -out /dev/null 2>/dev/null
	new_root || return
	local before
	before=$(tap_tree "$R")
	profile "$H/cert.pem" "tls_key = $H/other.pem"
	provision 1 "a key of another certificate" --domain mail.example.org
	tap_like "$TAP_STDERR" "other.pem: the private key does not belong to the certificate" "the error names the key"
	tap_tree_is "$R" "$before" "ROOT is untouched"
}

case_run_script() {
	tap_case "[services] smtpd_tls = yes: qmail-smtpd gets its AUTH arguments"
	new_root || return
	# stand-ins for ucspi-tcp's and daemontools' programs: tcprules only
	# has to leave its cdb
	local T
	T=$(tap_tmpdir)
	mkdir "$T/fake-1.0"
	{
		printf 'all:\n\tprintf "#!/bin/sh\\nexit 0\\n" >tcpserver\n'
		printf '\tcp tcpserver softlimit; cp tcpserver multilog; cp tcpserver setuidgid\n'
		printf '\tprintf "#!/bin/sh\\ncat >\\"\\$$2\\" && mv \\"\\$$2\\" \\"\\$$1\\"\\n" >tcprules\n'
		printf '\tchmod 755 tcpserver softlimit multilog setuidgid tcprules\n'
	} >"$T/fake-1.0/Makefile"
	tar -C "$T" -czf "$T/fake-1.0.tar.gz" fake-1.0
	profile generate "
[services]
qmail = yes
send = no
pop3 = no
smtpd_tls = yes

[component fake]
version = 1.0
url = file://$T/fake-1.0.tar.gz
sha256 = $(sha256sum <"$T/fake-1.0.tar.gz" | cut -c1-64)
make = all
program = tcpserver
program = softlimit
program = multilog
program = setuidgid
program = tcprules"
	provision 0 "provision" --domain mail.example.org
	local run=$R/var/qmail/supervise/qmail-smtpd/run
	tap_like "$(cat "$run" 2>&1)" "bin/qmail-smtpd \\\\"$'\n\t'"/usr/local/libexec/qinstall/checkpassword-smtp --check-only /bin/true 2>&1" \
		"the run script passes the checkpassword program and /bin/true"
	tap_like "$(cat "$run" 2>&1)" "# STARTTLS with control/servercert.pem" "and says so"
	sed -i '/^smtpd_tls = yes$/d' "$P"
	provision 0 "provision without smtpd_tls" --domain mail.example.org
	tap_unlike "$(cat "$run" 2>&1)" "checkpassword" "then qmail-smtpd gets no AUTH arguments"
}

case_generated
case_admin_cert
case_host_files
case_run_script
tap_done
