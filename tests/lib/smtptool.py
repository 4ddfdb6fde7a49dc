#!/usr/bin/env python3
"""smtptool.py - one scripted SMTP session for the system tests, through
Python's smtplib, printing each server reply so that a shell test can
assert on it.

    smtptool.py [--host 127.0.0.1] [--port 25] [--source ADDR] STEP...

STEP is one of
    ehlo:NAME           EHLO (prints the reply's first line and, as
                        "ehlo-auth MECHS", the AUTH mechanisms offered)
    helo:NAME           HELO
    plain:USER:PASS     AUTH PLAIN with the initial response
    login:USER:PASS     AUTH LOGIN (user and password on their own lines)
    cram:USER:PASS      AUTH CRAM-MD5 (HMAC-MD5 of the server's challenge)
    mail:ADDR           MAIL FROM:<ADDR> (ADDR may be empty)
    rcpt:ADDR           RCPT TO:<ADDR>
    data:SUBJECT        DATA with a short message (From, To, Subject)
    rset                RSET

Each step prints one line "STEP CODE TEXT" (TEXT: the reply's last line;
for data also the text of the 354 stage when it was refused there). A
connection the server closes ends the session with "closed". Exit 0
unless the connection could not be made at all (exit 2).
"""
import argparse
import base64
import hashlib
import hmac
import smtplib
import sys


def b64(s):
    return base64.b64encode(s.encode() if isinstance(s, str) else s).decode()


def last_line(msg):
    text = msg.decode(errors="replace") if isinstance(msg, bytes) else str(msg)
    return text.splitlines()[-1] if text else ""


def auth(s, how, user, pw):
    """The last reply of an AUTH exchange as (code, text)."""
    if how == "plain":
        return s.docmd("AUTH", "PLAIN " + b64("\0%s\0%s" % (user, pw)))
    if how == "login":
        code, msg = s.docmd("AUTH", "LOGIN")
        if code != 334:
            return code, msg
        code, msg = s.docmd(b64(user))
        if code != 334:
            return code, msg
        return s.docmd(b64(pw))
    code, msg = s.docmd("AUTH", "CRAM-MD5")
    if code != 334:
        return code, msg
    challenge = base64.b64decode(msg)
    digest = hmac.new(pw.encode(), challenge, hashlib.md5).hexdigest()
    return s.docmd(b64("%s %s" % (user, digest)))


def step(s, spec, rcpts):
    verb, _, arg = spec.partition(":")
    if verb == "ehlo":
        code, msg = s.ehlo(arg)
        print("ehlo", code, last_line(msg.splitlines()[0] if msg else b""))
        mechs = s.esmtp_features.get("auth", "")
        print("ehlo-auth", mechs.strip().upper() if mechs else "-")
        return
    if verb == "helo":
        code, msg = s.helo(arg)
    elif verb in ("plain", "login", "cram"):
        user, _, pw = arg.partition(":")
        code, msg = auth(s, verb, user, pw)
    elif verb == "mail":
        code, msg = s.docmd("MAIL FROM:<%s>" % arg)
    elif verb == "rcpt":
        code, msg = s.docmd("RCPT TO:<%s>" % arg)
        if code // 100 == 2:
            rcpts.append(arg)
    elif verb == "data":
        body = "From: tester@example.com\r\nTo: %s\r\nSubject: %s\r\n\r\nhello from smtptool\r\n" % (
            ", ".join(rcpts) or "nobody", arg or "qinstall test")
        code, msg = s.docmd("DATA")
        if code == 354:
            s.send(body.encode() + b".\r\n")
            code, msg = s.getreply()
    elif verb == "rset":
        code, msg = s.docmd("RSET")
    else:
        raise SystemExit("smtptool.py: unknown step %r" % spec)
    print(verb, code, last_line(msg))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=25)
    p.add_argument("--source")
    p.add_argument("--timeout", type=float, default=20)
    p.add_argument("steps", nargs="+")
    a = p.parse_args()
    try:
        s = smtplib.SMTP(a.host, a.port, source_address=(a.source, 0) if a.source else None,
                         timeout=a.timeout)
    except OSError as e:
        print("connect failed", e)
        return 2
    rcpts = []
    try:
        for spec in a.steps:
            step(s, spec, rcpts)
        s.quit()
    except (smtplib.SMTPServerDisconnected, ConnectionError) as e:
        print("closed", e)
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
