#!/bin/bash
# System: the tls-smtpauth option end to end. A debootstrap'd chroot
# (tests/lib/chroot.sh) is provisioned with the netqmail profile with
# `--with tls-smtpauth --without smtp-auth` (the 2007 patch, 0011 for
# OpenSSL 3, qregex and validrcptto merged with their glue, 0014), which
# generates control/servercert.pem; a mail-only user is added with
# `qinstall mailuser`. Then qmail-smtpd of the chroot runs on a socketpair
# (as tcpserver would run it, with the run script's arguments) and Python's
# smtplib checks: EHLO offers STARTTLS; starttls() succeeds; the
# certificate the client sees is the provisioned one (the same DER); AUTH
# PLAIN and LOGIN inside TLS succeed for the mail user through
# qinstall-checkpassword and fail for a wrong password; after AUTH a
# foreign recipient is accepted, without it refused; with SUBMISSION set,
# a local recipient is refused until AUTH. Then everything is rolled back.
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/chroot.sh"
. "$top_srcdir/tests/lib/distfiles.sh"

tap_heavy
PY=${PYTHON3:-python3}
distfiles_qmail
distfiles_find netqmail-1.05-tls-smtpauth-20070417.patch qregex-20060423.patch \
	netqmail-1.05-validrcptto.cdb.patch || tap_skip_all "the tls-smtpauth, qregex or validrcptto patch is not in a distfiles folder"
export QINSTALL_CACHE_DIR=$(tap_tmpdir)

C=$(tap_tmpdir)/root
chroot_mail_template "$C"
TAP_TREE_EXCLUDE=var/lib/qinstall
before=$(tap_tree "$C")

# session ENV...: qmail-smtpd of the chroot on a socketpair, its args
# those of the run script; a Python script on stdin drives it (SMTP is
# the class to use, CTX an unverifying TLS context).
session() {
	"$PY" - "$C" "$@" 2>&1
}
SMTPD_PY='
import hashlib, os, smtplib, socket, ssl, subprocess, sys
root = sys.argv[1]
extra = dict(a.split("=", 1) for a in sys.argv[2:])
class SMTP(smtplib.SMTP):
    def _get_socket(self, host, port, timeout):
        a, b = socket.socketpair()
        env = {"PATH": "/usr/bin:/bin", "TCPREMOTEIP": "127.0.0.2", "TCPLOCALIP": "127.0.0.1",
               "TCPLOCALPORT": "25", **extra}
        # as the run script has it: qmaild:nofiles, the setgid
        # checkpassword-smtp --check-only /bin/true
        ids = {l.split(":")[0]: l.split(":")[2] for l in open(root + "/etc/passwd")}
        gids = {l.split(":")[0]: l.split(":")[2] for l in open(root + "/etc/group")}
        subprocess.Popen(["/usr/sbin/chroot", "--userspec=%s:%s" % (ids["qmaild"], gids["nofiles"]), root,
                          "/var/qmail/bin/qmail-smtpd",
                          "/usr/local/libexec/qinstall/checkpassword-smtp", "--check-only", "/bin/true"],
                         stdin=b, stdout=b, env=env)
        b.close()
        return a
CTX = ssl.create_default_context(); CTX.check_hostname = False; CTX.verify_mode = ssl.CERT_NONE
'

case_provision() {
	tap_case "provision netqmail with tls-smtpauth"
	tap_run 0 "provision --with tls-smtpauth --without smtp-auth" "$QINSTALL" --root "$C" --json provision \
		--with tls-smtpauth --without smtp-auth --domain mail.example.org --admin admin \
		--mirror "file://$DISTFILES"
	tap_mode_is "$C/var/qmail/control/servercert.pem" 0640 "servercert.pem is 0640"
	tap_owner_is "$C/var/qmail/control/servercert.pem" \
		"$(chroot "$C" id -u qmaild):$(chroot "$C" getent group qmail | cut -d: -f3)" "and qmaild:qmail's"
	tap_like "$(cat "$C/var/qmail/supervise/qmail-smtpd/run")" "checkpassword-smtp --check-only /bin/true" \
		"the run script gives qmail-smtpd the setgid checkpassword program"
	tap_setup sh -c "printf 'alice-secret\n' | '$QINSTALL' --root '$C' mailuser add alice --owner vmail" || return
}

case_starttls() {
	tap_case "STARTTLS with the provisioned certificate, AUTH inside TLS"
	local want out
	want=$(openssl x509 -in "$C/var/qmail/control/servercert.pem" -outform DER | sha256sum | cut -c1-64)
	out=$(session <<EOF
$SMTPD_PY
s = SMTP("localhost", 25)
code, ehlo = s.ehlo("client.example.org")
print("starttls-offered" if b"STARTTLS" in ehlo else "no-starttls")
print("starttls", s.starttls(context=CTX)[0])
print("cert", hashlib.sha256(s.sock.getpeercert(binary_form=True)).hexdigest())
s.ehlo("client.example.org")
try:
    s.login("alice", "wrong"); print("wrong-accepted")
except smtplib.SMTPAuthenticationError as e:
    print("wrong", e.smtp_code)
s.close()
for mech in ("PLAIN", "LOGIN"):
    s = SMTP("localhost", 25); s.ehlo("c"); s.starttls(context=CTX); s.ehlo("c")
    s.user, s.password = "alice", "alice-secret"
    print("auth", mech, s.auth(mech, getattr(s, "auth_" + mech.lower()))[0])
    s.mail("alice@mail.example.org"); print("relay-after-auth", s.rcpt("bob@foreign.example")[0])
    s.close()
s = SMTP("localhost", 25); s.ehlo("c"); s.mail("x@example.com")
print("relay-without-auth", s.rcpt("bob@foreign.example")[0]); s.close()
EOF
)
	tap_like "$out" "starttls-offered" "EHLO offers STARTTLS"
	tap_like "$out" "starttls 220" "starttls() succeeds"
	tap_like "$out" "cert $want" "the certificate seen is control/servercert.pem's"
	tap_like "$out" "wrong 535" "a wrong password is refused (535)"
	tap_like "$out" "auth PLAIN 235" "AUTH PLAIN inside TLS succeeds"
	tap_like "$out" "auth LOGIN 235" "AUTH LOGIN inside TLS succeeds"
	tap_like "$out" "relay-after-auth 250" "after AUTH a foreign recipient is accepted"
	tap_like "$out" "relay-without-auth 553" "without AUTH it is refused"
}

case_submission() {
	tap_case "SUBMISSION: a local recipient refused until AUTH"
	local out
	out=$(session SUBMISSION=1 <<EOF
$SMTPD_PY
s = SMTP("localhost", 25); s.ehlo("c"); s.mail("x@example.com")
print("local-without-auth", s.rcpt("alice@mail.example.org")[0]); s.close()
s = SMTP("localhost", 25); s.ehlo("c"); s.starttls(context=CTX); s.ehlo("c")
s.login("alice", "alice-secret"); s.mail("alice@mail.example.org")
print("local-after-auth", s.rcpt("alice@mail.example.org")[0]); s.close()
EOF
)
	tap_like "$out" "local-without-auth 530" "RCPT to a local user without AUTH: 530"
	tap_like "$out" "local-after-auth 250" "with AUTH: accepted"
}

case_rollback() {
	tap_case "rollback"
	tap_run 0 "rollback the mail user" "$QINSTALL" --root "$C" rollback
	tap_run 0 "rollback the provision" "$QINSTALL" --root "$C" rollback
	tap_tree_is "$C" "$before" "the chroot is what it was"
}

case_provision
case_starttls
case_submission
case_rollback
tap_done
