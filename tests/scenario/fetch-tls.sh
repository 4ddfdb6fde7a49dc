#!/bin/bash
# Scenario: TLS verification is always on. An HTTPS server on loopback with
# a self-signed certificate (made here with openssl) is refused before any
# request is sent, and nothing is kept.
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/httpd.sh"

command -v openssl >/dev/null || tap_skip_all "openssl(1) is not installed"
T=$(tap_tmpdir)
mkdir -p "$T/srv"
export QINSTALL_CACHE_DIR=$T/cache QINSTALL_FETCH_RETRY_DELAY=0.05
head -c 10000 /dev/urandom >"$T/srv/a.tar.gz"
SHA=$(sha256sum <"$T/srv/a.tar.gz" | cut -d' ' -f1)
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 \
	-addext subjectAltName=IP:127.0.0.1 -keyout "$T/key.pem" -out "$T/cert.pem" >/dev/null 2>&1 ||
	tap_skip_all "openssl cannot make a certificate here"
httpd_start "$T/srv" --tls "$T/cert.pem" "$T/key.pem" || tap_skip_all "cannot start tests/lib/httpd.py with TLS"

# The server works: the certificate's own fingerprint shows it speaks TLS.
tap_like "$(openssl s_client -connect "${HTTPD_URL#https://}" </dev/null 2>/dev/null | openssl x509 -noout -subject 2>/dev/null)" \
	"CN *= *127.0.0.1" "the test server answers TLS with its self-signed certificate"
tap_run 1 "a self-signed certificate is refused" "$QINSTALL" fetch --distdir "$T/d" "$HTTPD_URL/a.tar.gz#sha256=$SHA"
tap_like "$TAP_STDERR" "$HTTPD_URL/a.tar.gz: .*certificate" "the error names the URL and the certificate problem"
tap_is "$(grep -c '"begin"' "$HTTPD_LOG")" 0 "no HTTP request was sent over the unverified connection"
tap_is "$(find "$T/d" -type f 2>/dev/null | wc -l)" 0 "nothing is kept"
tap_done
