#!/usr/bin/env python3
"""mailsrv.py - a loopback SMTP and POP3 server for the smoke test's tests,
answering as qmail-smtpd and qmail-popup/qmail-pop3d would.

    mailsrv.py --maildir DIR --port-file FILE [--domain D]... [--relay ADDR]...
               [--open-relay] [--no-deliver] [--pop3-user NAME --pop3-pass PW]
               [--listen ADDR] [--smtp-port N] [--defer-domain D]...

Listens on 127.0.0.1, SMTP and POP3 on free ports, written to FILE as
"SMTP POP3". SMTP: 220 greeting; RCPT to a domain not among --domain gets
553 "sorry, that domain isn't in my list of allowed rcpthosts" unless the
client's source address is a --relay one (RELAYCLIENT) or --open-relay;
DATA writes the message to DIR/new/UNIQUE (not with --no-deliver). Every
command is logged to FILE.log, and each delivered recipient to FILE.env as
"SENDER<TAB>RECIPIENT<TAB>SHA256 of the body" (what follows the first empty
line; "<>" for the null sender). --listen and --smtp-port: where SMTP
listens (127.0.0.1 and a free port by default); RCPT to a --defer-domain
gets 451 (the client must try again later). POP3: USER/PASS for the one
user, LIST of DIR/new and DIR/cur.
"""
import hashlib
import argparse
import os
import socketserver
import threading
import time

ARGS = None
LOCK = threading.Lock()


def log(line):
    with LOCK, open(ARGS.port_file + ".log", "a") as f:
        f.write(line + "\n")


class Smtp(socketserver.StreamRequestHandler):
    def say(self, text):
        self.wfile.write(text.encode() + b"\r\n")
        self.wfile.flush()

    def handle(self):
        peer = self.client_address[0]
        relay = ARGS.open_relay or peer in ARGS.relay
        self.say("220 %s ESMTP" % ARGS.domain[0])
        mail, rcpts = None, []
        while True:
            line = self.rfile.readline()
            if not line:
                return
            cmd = line.decode(errors="replace").rstrip("\r\n")
            log("smtp %s %s" % (peer, cmd))
            verb = cmd.split(" ", 1)[0].split(":", 1)[0].upper()
            if verb in ("EHLO", "HELO"):
                self.say("250-%s\r\n250 8BITMIME" % ARGS.domain[0] if verb == "EHLO" else "250 " + ARGS.domain[0])
            elif verb == "MAIL":
                mail, rcpts = cmd, []
                self.say("250 ok")
            elif verb == "RCPT":
                if mail is None:
                    self.say("503 MAIL first (#5.5.1)")
                    continue
                addr = cmd.split(":", 1)[1].strip().strip("<>")
                dom = addr.rsplit("@", 1)[-1].lower()
                if dom in ARGS.defer_domain:
                    self.say("451 try again later (#4.3.0)")
                elif not relay and dom not in ARGS.domain:
                    self.say("553 sorry, that domain isn't in my list of allowed rcpthosts (#5.7.1)")
                else:
                    rcpts.append(addr)
                    self.say("250 ok")
            elif verb == "DATA":
                if not rcpts:
                    self.say("503 RCPT first (#5.5.1)")
                    continue
                self.say("354 go ahead")
                self.data(mail, rcpts)
                mail, rcpts = None, []
            elif verb == "RSET":
                mail, rcpts = None, []
                self.say("250 flushed")
            elif verb == "QUIT":
                self.say("221 %s" % ARGS.domain[0])
                return
            else:
                self.say("502 unimplemented (#5.5.1)")

    def data(self, mail, rcpts):
        body = []
        while True:
            line = self.rfile.readline()
            if not line:
                log("smtp data cut short")
                return
            if line in (b".\r\n", b".\n"):
                break
            body.append(line[1:] if line.startswith(b"..") else line)
        text = b"".join(body).replace(b"\r\n", b"\n")
        if not ARGS.no_deliver:
            name = "%d.%d.%d.mailsrv" % (time.time(), os.getpid(), threading.get_ident())
            tmp = os.path.join(ARGS.maildir, "tmp", name)
            with open(tmp, "wb") as f:
                f.write(text)
            os.rename(tmp, os.path.join(ARGS.maildir, "new", name))
        i = text.find(b"\n\n")
        digest = hashlib.sha256(text[i + 2:] if i >= 0 else b"").hexdigest()
        sender = mail.split(":", 1)[1].strip().split(" ")[0].strip("<>") or "<>"
        with LOCK, open(ARGS.port_file + ".env", "a") as f:
            for r in rcpts:
                f.write("%s\t%s\t%s\n" % (sender, r, digest))
        log("smtp queued")
        self.say("250 ok 1 qp 1")


class Pop3(socketserver.StreamRequestHandler):
    def say(self, text):
        self.wfile.write(text.encode() + b"\r\n")
        self.wfile.flush()

    def handle(self):
        self.say("+OK <%d.%d@%s>" % (os.getpid(), time.time(), ARGS.domain[0]))
        user, authed = None, False
        while True:
            line = self.rfile.readline()
            if not line:
                return
            cmd = line.decode(errors="replace").rstrip("\r\n")
            verb, _, arg = cmd.partition(" ")
            verb = verb.upper()
            log("pop3 %s" % (verb if verb == "PASS" else cmd))
            if verb == "USER":
                user = arg
                self.say("+OK ")
            elif verb == "PASS" and user is not None:
                authed = user == ARGS.pop3_user and arg == ARGS.pop3_pass
                self.say("+OK " if authed else "-ERR authorization failed")
                if not authed:
                    return
            elif verb == "LIST" and authed:
                files = []
                for sub in ("new", "cur"):
                    d = os.path.join(ARGS.maildir, sub)
                    files += [os.path.join(d, n) for n in sorted(os.listdir(d))]
                self.say("+OK ")
                for i, path in enumerate(files, 1):
                    self.say("%d %d" % (i, os.path.getsize(path)))
                self.say(".")
            elif verb == "QUIT":
                self.say("+OK ")
                return
            else:
                self.say("-ERR authorization first" if not authed else "-ERR unimplemented")


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    global ARGS
    p = argparse.ArgumentParser()
    p.add_argument("--maildir", required=True)
    p.add_argument("--port-file", required=True)
    p.add_argument("--domain", action="append", default=[])
    p.add_argument("--relay", action="append", default=[])
    p.add_argument("--open-relay", action="store_true")
    p.add_argument("--no-deliver", action="store_true")
    p.add_argument("--pop3-user", default="admin")
    p.add_argument("--pop3-pass", default="secret")
    p.add_argument("--listen", default="127.0.0.1")
    p.add_argument("--smtp-port", type=int, default=0)
    p.add_argument("--defer-domain", action="append", default=[])
    ARGS = p.parse_args()
    ARGS.domain = [d.lower() for d in ARGS.domain] or ["example.org"]
    for sub in ("tmp", "new", "cur"):
        os.makedirs(os.path.join(ARGS.maildir, sub), exist_ok=True)
    ARGS.defer_domain = [d.lower() for d in ARGS.defer_domain]
    smtp = Server((ARGS.listen, ARGS.smtp_port), Smtp)
    pop3 = Server((ARGS.listen, 0), Pop3)
    threading.Thread(target=pop3.serve_forever, daemon=True).start()
    with open(ARGS.port_file + ".tmp", "w") as f:
        f.write("%d %d\n" % (smtp.server_address[1], pop3.server_address[1]))
    os.rename(ARGS.port_file + ".tmp", ARGS.port_file)
    smtp.serve_forever()


if __name__ == "__main__":
    main()
