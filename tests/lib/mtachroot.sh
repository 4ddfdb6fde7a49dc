# mtachroot.sh - a Debian chroot running another MTA, with mail in its
# queue, for the tests of `qinstall migrate` (after tap.sh, chroot.sh and
# netns.sh).
#
#   mta_chroot DIR MTA     # MTA: postfix, exim4 (exim4-daemon-light) or
#                          # sendmail. DIR gets the cached minbase chroot
#                          # (chroot_template) with the MTA and bsd-mailx
#                          # from apt, configured for mail.example.org
#                          # (/etc/mailname; Postfix "Internet Site" with
#                          # myhostname mail.example.org and the relay host
#                          # [192.0.2.1]:25; Exim "internet" with that
#                          # primary host name; sendmail as Debian makes it),
#                          # the mail tests' users admin (1000) and vmail
#                          # (1001), and a resolver at 192.0.2.1, which
#                          # nothing answers inside the test's namespace.
#                          # postfix's .deb stays in /var/cache/apt/archives;
#                          # exim4's and sendmail's are removed (so that
#                          # migrate must rebuild theirs).
#   mta_queue DIR MTA N [short]
#                          # in a private network namespace (netns.sh) the
#                          # MTA is started, N messages are submitted with
#                          # the chroot's /usr/sbin/sendmail (-i -f SENDER
#                          # RCPT...; one null sender, 1-3 recipients at
#                          # domains nothing can reach, bodies with a line
#                          # over 998 bytes, or with short: of 900, which
#                          # SMTP carries as it is, a line of one '.', 8-bit
#                          # bytes), and, once each is deferred, the MTA and
#                          # the namespace are stopped. Returns 1 (after a
#                          # diagnostic) when they were not all deferred in
#                          # 120 s.
#   mta_queue_ref DIR MTA  # one line per queued message, sorted:
#                          # SENDER<TAB>RCPT,RCPT (sorted)<TAB>SHA256 of the
#                          # body (what follows the first empty line), read
#                          # with the MTA's own tools in the chroot (postcat
#                          # -q; exim -bp and -Mvb) or, for sendmail, from
#                          # its qf and df files. The null sender is "<>".
#   qmail_queue_ref DIR    # the same lines from DIR/var/qmail/queue: the
#                          # undelivered recipients of local/ and remote/
#                          # (or todo/ with intd/ for what qmail-send has not
#                          # processed yet), the body after the first empty
#                          # line of mess/ (the first line of which is the
#                          # Received line qmail-queue adds).
#   mta_package MTA        # the package that provides mail-transport-agent
#   mta_config DIR MTA     # what the MTA says its configuration is
#                          # (postconf -n; exim -bP of its main options and
#                          # Debian's update-exim4.conf.conf; the hashes of
#                          # sendmail's .mc files and of its .cf files but
#                          # for the build stamp that each regeneration of
#                          # them by its postinst changes)
MTA_DOMAIN=mail.example.org
MTA_HOP=192.0.2.1	# TEST-NET-1: no route to it in the namespace
MTA_FAR_DOMAINS="example.net example.com far.example nowhere.test"	# the recipients'

mta_package() {
	case $1 in
	postfix) echo postfix ;;
	exim4) echo exim4-daemon-light ;;
	sendmail) echo sendmail-bin ;;
	*) return 1 ;;
	esac
}

# _mta_base DIR: what every MTA's chroot gets before its package installs:
# the host name, the mail name, the resolver nothing answers.
_mta_base() {
	echo mail >"$1/etc/hostname"
	echo "$MTA_DOMAIN" >"$1/etc/mailname"
	printf '127.0.0.1\tlocalhost\n127.0.1.1\t%s mail\n' "$MTA_DOMAIN" >"$1/etc/hosts"
}
_mta_resolver() { rm -f "$1/etc/resolv.conf"; echo "nameserver $MTA_HOP" >"$1/etc/resolv.conf"; }

# The --prepare functions of chroot_template: DIR before|after.
_mta_prep_postfix() {
	case $2 in
	before)
		_mta_base "$1"
		printf '%s\n' "postfix postfix/main_mailer_type select Internet Site" \
			"postfix postfix/mailname string mail.example.org" \
			"postfix postfix/destinations string mail.example.org, localhost" |
			chroot "$1" debconf-set-selections ;;
	after)
		chroot_offline "$1" postconf -e myhostname=mail.example.org "relayhost=[192.0.2.1]:25" &&
			_mta_resolver "$1" ;;
	esac
}
_mta_prep_exim4() {
	case $2 in
	before)
		_mta_base "$1"
		printf '%s\n' "exim4-config exim4/dc_eximconfig_configtype select internet site; mail is sent and received directly using SMTP" \
			"exim4-config exim4/mailname string mail.example.org" \
			"exim4-config exim4/dc_other_hostnames string mail.example.org" \
			"exim4-config exim4/dc_local_interfaces string 127.0.0.1" \
			"exim4-config exim4/use_split_config boolean false" |
			chroot "$1" debconf-set-selections ;;
	after)
		echo "MAIN_HARDCODE_PRIMARY_HOSTNAME = mail.example.org" >"$1/etc/exim4/exim4.conf.localmacros" &&
			chroot_offline "$1" update-exim4.conf && _mta_resolver "$1" ;;
	esac
}
# sendmail's submission program (the MSP) looks each recipient's domain
# up before it hands the message on, and keeps it in its own queue when
# the resolver does not answer: the recipients' domains are in /etc/hosts
# (at the unreachable address), the MX lookup of the MTA is what fails.
_mta_prep_sendmail() {
	case $2 in
	before) _mta_base "$1" ;;
	after)
		# one a line: each its own canonical name (the MSP rewrites
		# an address to the first name of its line)
		printf "$MTA_HOP\t%s\n" $MTA_FAR_DOMAINS sub.example.net example.org >>"$1/etc/hosts"
		_mta_resolver "$1" ;;
	esac
}

mta_chroot() {
	local dir=$1 mta=$2 pkg
	case $mta in
	postfix) pkg=postfix ;;
	exim4) pkg=exim4-daemon-light ;;
	sendmail) pkg=sendmail ;;
	*) tap_skip_all "mta_chroot: no MTA called $mta" ;;
	esac
	chroot_template --prepare "_mta_prep_$mta" "$dir" "$pkg" bsd-mailx
	chroot "$dir" useradd -m -u 1000 -s /bin/sh admin
	chroot "$dir" useradd -m -u 1001 -s /usr/sbin/nologin vmail
	if [ "$mta" = postfix ]; then
		find "$dir/var/cache/apt/archives" -maxdepth 1 -name '*.deb' ! -name 'postfix_*.deb' -delete
	else
		find "$dir/var/cache/apt/archives" -maxdepth 1 -name '*.deb' -delete
	fi
}

# _mta_in DIR CMD...: CMD in the chroot, inside the namespace, named mail.
_mta_in() {
	local dir=$1
	shift
	in_ns unshare -u sh -c 'hostname mail && exec chroot "$@"' sh "$dir" "$@"
}

# _mta_messages WORKDIR N [short]: N message files WORKDIR/I.msg, each with
# its envelope in WORKDIR/I.env (the sender, then each recipient, a line
# each; an empty first line is the null sender).
_mta_messages() {
	MTA_FAR_DOMAINS=$MTA_FAR_DOMAINS "${PYTHON3:-python3}" - "$1" "$2" "${3:-long}" <<'PY'
import os, random, sys
d, n = sys.argv[1], int(sys.argv[2])
longest = 900 if sys.argv[3] == "short" else 1500
rnd = random.Random(14)
words = "queue carry qmail postfix exim sendmail deferred envelope body header relay hop".split()
senders = ["alice@mail.example.org", "bob@example.com", "", "carol.x@sub.example.net",
           "dave+tag@example.org", "root@mail.example.org"]
domains = os.environ["MTA_FAR_DOMAINS"].split()
for i in range(1, n + 1):
    sender = senders[(i - 1) % len(senders)]
    rcpts = sorted({"u%d.%d@%s" % (i, k, rnd.choice(domains)) for k in range(rnd.randint(1, 3))})
    text = lambda k: " ".join(rnd.choice(words) for _ in range(k))
    body = [text(rnd.randint(3, 12)).encode() for _ in range(rnd.randint(2, 8))]
    body.insert(rnd.randint(0, len(body)), ("x%d " % i).encode() + text(300).encode()[:longest])
    body.insert(rnd.randint(0, len(body)), b".")
    body.insert(rnd.randint(0, len(body)), b"8bit: caf\xc3\xa9 \xe9t\xe9 \xff\xfe end")
    body.append(b"..leading dots")
    head = [b"From: <%s>" % (sender or "mailer-daemon@mail.example.org").encode(),
            b"To: " + ", ".join(rcpts).encode(), b"Subject: queued %d" % i,
            b"Message-ID: <q%d.migrate@mail.example.org>" % i, b"MIME-Version: 1.0",
            b"Content-Type: text/plain; charset=utf-8", b"Content-Transfer-Encoding: 8bit"]
    with open(os.path.join(d, "%d.msg" % i), "wb") as f:
        f.write(b"\n".join(head) + b"\n\n" + b"\n".join(body) + b"\n")
    with open(os.path.join(d, "%d.env" % i), "w") as f:
        f.write("\n".join([sender] + rcpts) + "\n")
PY
}

# _mta_running [NAME]: a process (NAME) other than zombies runs in the
# namespace, besides its pid 1.
_mta_running() {
	pgrep --ns "$NS" --nslist pid -r D,R,S,T ${1:+-x "$1"} | grep -vqx "$NS"
}

# _mta_deferred DIR MTA N: true when the MTA's queue holds N messages, each
# tried once and deferred, and nothing waits to be submitted.
_mta_deferred() {
	local dir=$1 mta=$2 n=$3
	case $mta in
	postfix)
		[ "$(_mta_in "$dir" postqueue -j 2>/dev/null | grep -c '"queue_name": *"deferred"')" = "$n" ] &&
			[ -z "$(find "$dir/var/spool/postfix/maildrop" "$dir/var/spool/postfix/incoming" \
				"$dir/var/spool/postfix/active" -type f 2>/dev/null)" ] ;;
	exim4)
		# every message's log says it was deferred, and no delivery
		# process is left (but zombies: the namespace's pid 1 reaps none)
		[ "$(grep -l ' defer ' "$dir"/var/spool/exim4/msglog/* 2>/dev/null | wc -l)" = "$n" ] &&
			[ "$(find "$dir/var/spool/exim4/input" -name '*-H' | wc -l)" = "$n" ] &&
			! _mta_running exim4 ;;
	sendmail)
		# qf files of the MTA's queue with a try count (N line) of 1 or more;
		# the submission queue (clientmqueue) empty
		[ "$(grep -l '^N[1-9]' "$dir"/var/spool/mqueue/qf* 2>/dev/null | wc -l)" = "$n" ] &&
			[ -z "$(find "$dir/var/spool/mqueue-client" -name 'qf*' 2>/dev/null)" ] ;;
	esac
}

mta_queue() {
	local dir=$1 mta=$2 n=$3 w i sender rcpts
	w=$(tap_tmpdir)
	_mta_messages "$w" "$n" "${4:-long}" || return 1
	netns_start || { tap_diag "mta_queue: no private network namespace"; return 1; }
	case $mta in
	postfix) _mta_in "$dir" postfix start >"$w/start.log" 2>&1 ;;
	exim4) : ;;	# no daemon: each submission is tried at once
	sendmail)
		mkdir -p "$dir/run/sendmail/mta" "$dir/run/sendmail/msp"
		chroot "$dir" chown smmta:smmsp /run/sendmail/mta 2>/dev/null
		chroot "$dir" chown smmsp:smmsp /run/sendmail/msp 2>/dev/null
		_mta_in "$dir" /usr/sbin/sendmail-mta -bd -q1h -L sm-mta </dev/null >"$w/start.log" 2>&1
		wait_port 25 ;;
	esac || { tap_diag "mta_queue: $mta does not start" "$(tail -5 "$w/start.log")"; netns_stop; return 1; }
	for i in $(seq "$n"); do
		sender=$(head -1 "$w/$i.env")
		mapfile -t rcpts < <(tail -n +2 "$w/$i.env")
		_mta_in "$dir" /usr/sbin/sendmail -i -f "${sender:-<>}" "${rcpts[@]}" <"$w/$i.msg" >>"$w/submit.log" 2>&1 ||
			{ tap_diag "mta_queue: $mta's sendmail refused message $i" "$(tail -5 "$w/submit.log")"; break; }
	done
	local ok=1
	for i in $(seq 600); do
		_mta_deferred "$dir" "$mta" "$n" && { ok=0; break; }
		sleep 0.2
	done
	[ "$ok" = 0 ] || tap_diag "mta_queue: the $n messages are not all deferred in $mta's queue after 120 s" \
		"$(mta_queue_ref "$dir" "$mta" 2>&1 | wc -l) queued"
	case $mta in
	postfix) _mta_in "$dir" postfix stop >/dev/null 2>&1 ;;
	sendmail) kill "$(head -1 "$dir/run/sendmail/mta/sendmail.pid" 2>/dev/null)" 2>/dev/null ;;
	esac
	for i in $(seq 50); do
		_mta_running || break
		sleep 0.2
	done
	netns_stop
	# What the run left that a stopped MTA does not have.
	rm -rf "$dir/run/sendmail"
	return "$ok"
}

# _mta_line SENDER RCPTS(comma list) < MESSAGE-OR-BODY: one reference line;
# with --message the body is what follows the first empty line.
_mta_line() {
	"${PYTHON3:-python3}" -c '
import hashlib, sys
sender, rcpts, whole = sys.argv[1], sys.argv[2], sys.argv[3] == "message"
data = sys.stdin.buffer.read()
if whole:
    i = data.find(b"\n\n")
    data = data[i + 2:] if i >= 0 else b""
print("%s\t%s\t%s" % (sender or "<>", ",".join(sorted(r for r in rcpts.split(",") if r)),
                      hashlib.sha256(data).hexdigest()))' "$@"
}

mta_queue_ref() {
	local dir=$1 mta=$2
	case $mta in
	postfix) _mta_ref_postfix "$dir" ;;
	exim4) _mta_ref_exim "$dir" ;;
	sendmail) _mta_ref_sendmail "$dir" ;;
	esac | LC_ALL=C sort
}

# Postfix: every queue file's id (maildrop/ too: what its sendmail
# queued while Postfix did not run), then postcat -q ID: its envelope (-e:
# sender, recipients; a recipient already done is gone or marked by a
# "done" record: postcat prints only what is still to do as "recipient")
# and its content (-hb: the header, an empty line, the body).
_mta_ref_postfix() {
	local dir=$1 id sender rcpts
	for id in $(find "$dir"/var/spool/postfix/{maildrop,incoming,active,deferred,hold} -type f -printf '%f\n' 2>/dev/null); do
		sender=$(chroot "$dir" postcat -e -q "$id" | sed -n 's/^sender: //p' | head -1)
		rcpts=$(chroot "$dir" postcat -e -q "$id" | sed -n 's/^recipient: //p' | paste -sd,)
		chroot "$dir" postcat -hb -q "$id" | _mta_line "$sender" "$rcpts" message
	done
}

# Exim: exim -bp (the sender in <>, then each recipient, "D " before one
# that was delivered), the body with exim -Mvb (the -D file after its id).
_mta_ref_exim() {
	local dir=$1
	chroot "$dir" exim4 -bp | "${PYTHON3:-python3}" -c '
import re, sys
msg = None
for line in sys.stdin:
    m = re.match(r"^\s*\S+\s+\S+\s+(\S+-\S+-\S+) <(.*)>( \*\*\* frozen \*\*\*)?\s*$", line)
    if m:
        if msg: print(msg[0] + "\t" + (msg[1] or "<>") + "\t" + ",".join(msg[2]))
        msg = [m.group(1), m.group(2), []]
    elif line.strip() and msg and not line.strip().startswith("D "):
        msg[2].append(line.strip())
if msg: print(msg[0] + "\t" + (msg[1] or "<>") + "\t" + ",".join(msg[2]))' |
	while IFS=$'\t' read -r id sender rcpts; do
		chroot "$dir" exim4 -Mvb "$id" | tail -n +2 | _mta_line "$sender" "$rcpts" body
	done
}

# sendmail: each qf file (S<sender>, R<flags>:<recipient> for each one not
# yet delivered), the body its df file.
_mta_ref_sendmail() {
	local dir=$1 qf sender rcpts
	for qf in "$dir"/var/spool/mqueue/qf*; do
		[ -f "$qf" ] || continue
		sender=$(sed -n 's/^S<\{0,1\}\([^>]*\)>\{0,1\}$/\1/p' "$qf" | head -1)
		rcpts=$(sed -n 's/^R[A-Z]*:<\{0,1\}\([^>]*\)>\{0,1\}$/\1/p' "$qf" | paste -sd,)
		_mta_line "$sender" "$rcpts" body <"${qf%/*}/df${qf##*/qf}"
	done
}

qmail_queue_ref() {
	"${PYTHON3:-python3}" - "$1/var/qmail/queue" <<'PY' | LC_ALL=C sort
import hashlib, os, sys
q = sys.argv[1]
if not os.path.isdir(os.path.join(q, "mess")):
    sys.exit("qmail_queue_ref: no qmail queue in %s" % q)
def split(dirname, name):
    for sub in os.listdir(os.path.join(q, dirname)):
        p = os.path.join(q, dirname, sub, name)
        if os.path.exists(p):
            return p
    return None
def fields(path):
    with open(path, "rb") as f:
        return [x.decode("latin-1") for x in f.read().split(b"\0") if x]
for sub in os.listdir(os.path.join(q, "mess")):
    for name in os.listdir(os.path.join(q, "mess", sub)):
        todo = os.path.join(q, "todo", name)
        intd = os.path.join(q, "intd", name)
        if os.path.exists(todo) or not split("info", name):
            env = fields(intd) if os.path.exists(intd) else []
            sender = next((x[1:] for x in env if x[0] == "F"), "")
            rcpts = [x[1:] for x in env if x[0] == "T"]
        else:
            sender = fields(split("info", name))[0][1:]
            rcpts = []
            for kind in ("local", "remote"):
                p = split(kind, name)
                if p:
                    rcpts += [x[1:] for x in fields(p) if x[0] == "T"]
        with open(os.path.join(q, "mess", sub, name), "rb") as f:
            data = f.read()
        i = data.find(b"\n\n")
        body = data[i + 2:] if i >= 0 else b""
        print("%s\t%s\t%s" % (sender or "<>", ",".join(sorted(rcpts)), hashlib.sha256(body).hexdigest()))
PY
}

# mta_config DIR MTA: the configuration as the MTA itself reads it.
mta_config() {
	local dir=$1
	case $2 in
	postfix) chroot "$dir" postconf -n ;;
	exim4) chroot "$dir" exim4 -bP primary_hostname qualify_domain local_interfaces \
		daemon_smtp_ports message_size_limit 2>&1; grep -v '^#' "$dir/etc/exim4/update-exim4.conf.conf" ;;
	sendmail)	# the .cf files but for their "##### built by ... on DATE" lines
		(cd "$dir/etc/mail" && sha256sum sendmail.mc submit.mc &&
			for f in sendmail.cf submit.cf; do grep -v '^#####' "$f" | sha256sum | sed "s|-\$|$f|"; done) ;;
	esac
}
