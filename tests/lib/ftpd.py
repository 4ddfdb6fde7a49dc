#!/usr/bin/env python3
"""ftpd.py - a loopback FTP server for the tests that misbehaves on demand.

    ftpd.py --root DIR --port-file FILE [--log FILE]

Listens on 127.0.0.1 on a free port, which it writes to FILE (and prints).
Anonymous and read-only (pyftpdlib); passive data connections only, on
127.0.0.1 too. RETR /FILE serves DIR/FILE, honouring REST. A missing file
is answered with 550. RETR /MODES/FILE, MODES being comma-separated, serves
DIR/FILE but misbehaves (the MODES directory need not exist: CWD into it
works):

  drop=N        close the data connection after N bytes (426 on the
                control connection), as a broken transfer does
  status=CODE   answer RETR with CODE (450, 550, ...) instead of the file
  norest        answer REST with 502 (a server that cannot resume)
  times=K       misbehave (drop, status, norest) only on the first K RETRs
                of this path (default 1; 0 = always)

Every RETR is logged to the log file as one JSON object a line:
{"cmd": "RETR", "seq", "path", "rest", "status", "sent"}, written when the
transfer ends ({"cmd", "seq", "path", "begin": true} is written when the
RETR arrives): "rest" is the offset the client asked to restart at (0
without REST), "sent" the bytes actually written to the data connection,
"status" the final reply (226, 426, 550, ...), so that a test can prove no
byte was sent twice. Every SIZE is logged too: {"cmd": "SIZE", "seq",
"path", "status"} (a client may stop at a SIZE answered 550).
"""
import argparse
import json
import logging
import os
import sys
import warnings

warnings.simplefilter("ignore", DeprecationWarning)  # asyncore/asynchat in pyftpdlib

from pyftpdlib.authorizers import DummyAuthorizer  # noqa: E402
from pyftpdlib.filesystems import AbstractedFS  # noqa: E402
from pyftpdlib.handlers import DTPHandler, FTPHandler  # noqa: E402
from pyftpdlib.servers import FTPServer  # noqa: E402

MODE_KEYS = {"drop", "status", "norest", "times"}
COUNTS = {}
SEQ = [0]
ARGS = None


def log(entry, seq):
    entry["seq"] = seq
    if ARGS.log:
        with open(ARGS.log, "a") as f:
            f.write(json.dumps(entry) + "\n")


def parse_modes(text):
    """The modes of a path component, or None when it is not a modes one."""
    modes = {}
    for item in text.split(","):
        key, _, val = item.partition("=")
        if key not in MODE_KEYS:
            return None
        modes[key] = val
    return modes


class ModesFS(AbstractedFS):
    """The served tree, where a first path component made of modes is
    virtual: /drop=100/FILE is ROOT/FILE. Paths keep the modes component
    (so that the handler sees it); real() drops it before touching disk."""

    def modes_of(self, fspath):
        rel = os.path.relpath(fspath, self.root)
        first = rel.split(os.sep)[0]
        return (parse_modes(first) if rel != "." and first != ".." else None), rel

    def real(self, fspath):
        modes, rel = self.modes_of(fspath)
        if modes is None:
            return fspath
        rest = rel.split(os.sep)[1:]
        return os.path.join(self.root, *rest)

    def chdir(self, path):
        if not os.path.isdir(self.real(path)):
            raise OSError(2, "No such directory")
        self.cwd = self.fs2ftp(path)

    def realpath(self, path):
        return os.path.realpath(self.real(path))

    def open(self, filename, mode):
        return open(self.real(filename), mode)

    def listdir(self, path):
        return os.listdir(self.real(path))

    def isfile(self, path):
        return os.path.isfile(self.real(path))

    def isdir(self, path):
        return os.path.isdir(self.real(path))

    def islink(self, path):
        return os.path.islink(self.real(path))

    def lexists(self, path):
        return os.path.lexists(self.real(path))

    def getsize(self, path):
        return os.path.getsize(self.real(path))

    def getmtime(self, path):
        return os.path.getmtime(self.real(path))

    def stat(self, path):
        return os.stat(self.real(path))

    def lstat(self, path):
        return os.lstat(self.real(path))


class Transfer(DTPHandler):
    """The data connection: counts what it sends, drops when asked to, and
    logs the end of a RETR."""

    def retr(self):
        # Not self.cmd: pyftpdlib sets it only after the first send.
        r = self.cmd_channel.retr
        return r if r and not r.get("logged") else None

    def send(self, data):
        r = self.retr()
        drop = r and r.get("drop")
        if drop is not None:
            data = data[:max(drop - self.tot_bytes_sent, 0)]
        result = DTPHandler.send(self, data)
        if drop is not None and self.tot_bytes_sent >= drop:
            self._resp = ("426 Connection closed; transfer aborted.", logging.info)
            self.close()
        return result

    def close(self):
        r = self.retr() if not self._closed else None
        DTPHandler.close(self)
        if r and not r.get("logged"):
            r["logged"] = True
            status = int(self._resp[0][:3]) if self._resp else 0
            log({"cmd": "RETR", "path": r["path"], "rest": r["rest"], "status": status,
                 "sent": self.tot_bytes_sent}, r["seq"])


class Handler(FTPHandler):
    dtp_handler = Transfer
    abstracted_fs = ModesFS
    use_sendfile = False     # send() must see every byte
    banner = "qinstall test ftpd ready."
    retr = None

    def modes(self, fspath):
        modes, _ = self.fs.modes_of(fspath)
        return modes or {}

    def ftp_REST(self, line):
        modes = self.modes(self.fs.ftp2fs(self.fs.cwd))
        if "norest" in modes and self.misbehave(self.fs.cwd + "#REST", modes):
            self.respond("502 REST not implemented.")
            return
        return FTPHandler.ftp_REST(self, line)

    def misbehave(self, key, modes):
        COUNTS[key] = COUNTS.get(key, 0) + 1
        times = int(modes.get("times") or "1")
        return times == 0 or COUNTS[key] <= times

    def respond(self, resp, *args, **kwargs):
        self.last_reply = int(resp[:3])
        return FTPHandler.respond(self, resp, *args, **kwargs)

    def ftp_SIZE(self, path):
        FTPHandler.ftp_SIZE(self, path)
        SEQ[0] += 1
        log({"cmd": "SIZE", "path": self.fs.fs2ftp(path), "status": self.last_reply}, SEQ[0])

    def ftp_RETR(self, file):
        path = self.fs.fs2ftp(file)
        SEQ[0] += 1
        seq = SEQ[0]
        log({"cmd": "RETR", "begin": True, "path": path}, seq)
        modes = self.modes(file)
        bad = self.misbehave(path, modes)
        rest = self._restart_position
        if "status" in modes and bad:
            self._restart_position = 0
            code = int(modes["status"])
            self.respond("%d Requested action not taken (ftpd.py status=%d)." % (code, code))
            log({"cmd": "RETR", "path": path, "rest": rest, "status": code, "sent": 0}, seq)
            return None
        if not self.fs.isfile(file):
            self._restart_position = 0
            self.respond("550 No such file or directory.")
            log({"cmd": "RETR", "path": path, "rest": rest, "status": 550, "sent": 0}, seq)
            return None
        drop = int(modes["drop"]) if "drop" in modes and bad else None
        self.retr = {"seq": seq, "path": path, "rest": rest, "drop": drop}
        done = FTPHandler.ftp_RETR(self, file)
        if done is None:        # refused before any transfer (REST beyond the end)
            self.retr["logged"] = True
            log({"cmd": "RETR", "path": path, "rest": rest, "status": 554, "sent": 0}, seq)
        return done


def main():
    global ARGS
    p = argparse.ArgumentParser(description="loopback FTP server that misbehaves on demand")
    p.add_argument("--root", required=True, help="directory of the files served")
    p.add_argument("--port-file", required=True, help="where to write the port")
    p.add_argument("--log", help="JSON-lines RETR log")
    ARGS = p.parse_args()
    logging.basicConfig(level=logging.WARNING)
    auth = DummyAuthorizer()
    auth.add_anonymous(os.path.abspath(ARGS.root), perm="elr")
    Handler.authorizer = auth
    server = FTPServer(("127.0.0.1", 0), Handler)
    port = server.address[1]
    tmp = ARGS.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % port)
    os.rename(tmp, ARGS.port_file)
    print(port, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
