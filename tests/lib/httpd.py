#!/usr/bin/env python3
"""httpd.py - a loopback HTTP server for the tests that misbehaves on demand.

    httpd.py --root DIR --port-file FILE [--log FILE] [--tls CERT KEY]

Listens on 127.0.0.1 on a free port, which it writes to FILE (and prints);
with --tls, speaks HTTPS with that certificate and key (PEM).
A request for /FILE serves DIR/FILE, honouring "Range: bytes=N-" with 206.
A request for /MODES/FILE, MODES being comma-separated, misbehaves:

  drop=N        close the connection after N bytes of the body
  status=CODE   answer CODE (with a small error body)
  retryafter=S  add "Retry-After: S" to the answer
  times=K       misbehave (drop, status, trickle, norange) only on the
                first K requests for this URL (default 1; 0 = always)
  norange       ignore Range: always 200 and the whole body
  trickle=B     send B bytes every 0.1 s
  wrong         serve the bytes with the first one changed (same size)
  redirect      302 to the same file without the redirect
  tofile        302 to the file's file:// URL (which clients must refuse)

Every request is logged to the log file as one JSON object a line:
{"seq", "path", "range", "status", "start", "sent"}, written when the answer
ends ({"seq", "path", "begin": true} is written when the request arrives):
"seq" numbers the requests in the order they arrived, "sent" counts the body bytes actually written, so that a test can
prove no byte was sent twice.
"""
import argparse
import json
import os
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

COUNTS = {}
SEQ = [0]
LOCK = threading.Lock()
ARGS = None


def log(entry, seq):
    entry["seq"] = seq
    if ARGS.log:
        with LOCK, open(ARGS.log, "a") as f:
            f.write(json.dumps(entry) + "\n")


def parse_modes(text):
    modes = {}
    for item in text.split(","):
        if not item:
            continue
        key, _, val = item.partition("=")
        modes[key] = val
    return modes


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet: the JSON log is what counts
        pass

    def do_HEAD(self):
        self.serve(head=True)

    def do_GET(self):
        self.serve(head=False)

    def answer(self, status, body=b"", headers=(), head=False):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head:
            self.wfile.write(body)
        log({"path": self.path, "range": self.headers.get("Range"), "status": status,
             "start": 0, "sent": 0 if head else len(body)}, self.seq)

    def serve(self, head):
        path = self.path.split("?", 1)[0]
        parts = [p for p in path.split("/") if p]
        if not parts or any(p in (".", "..") for p in parts):
            return self.answer(400, b"bad path\n", head=head)
        modes = parse_modes(parts[0]) if len(parts) > 1 else {}
        name = parts[-1]
        with LOCK:
            COUNTS[self.path] = COUNTS.get(self.path, 0) + 1
            nth = COUNTS[self.path]
            SEQ[0] += 1
            self.seq = SEQ[0]
        log({"begin": True, "path": self.path}, self.seq)
        times = int(modes.get("times", "1"))
        misbehave = times == 0 or nth <= times
        extra = []
        if "retryafter" in modes:
            extra.append(("Retry-After", modes["retryafter"]))
        if "redirect" in modes:
            rest = ",".join(k + ("=" + v if v else "") for k, v in modes.items() if k != "redirect")
            target = "/" + (rest + "/" if rest else "") + name
            return self.answer(302, b"moved\n", [("Location", target)] + extra, head)
        if "tofile" in modes:
            target = "file://" + os.path.join(os.path.abspath(ARGS.root), name)
            return self.answer(302, b"moved\n", [("Location", target)], head)
        if "status" in modes and misbehave:
            code = int(modes["status"])
            return self.answer(code, b"<html>error page, not the file</html>\n", extra, head)
        file = os.path.join(ARGS.root, name)
        try:
            with open(file, "rb") as f:
                data = f.read()
        except OSError:
            return self.answer(404, b"not found\n", head=head)
        if "wrong" in modes and data:
            data = bytes([data[0] ^ 0xFF]) + data[1:]
        start = 0
        rng = self.headers.get("Range")
        status = 200
        if rng and not ("norange" in modes and misbehave):
            if not rng.startswith("bytes=") or not rng[6:].rstrip("-").isdigit() or "," in rng:
                return self.answer(416, b"", [("Content-Range", "bytes */%d" % len(data))], head)
            start = int(rng[6:].split("-")[0])
            if start >= len(data):
                return self.answer(416, b"", [("Content-Range", "bytes */%d" % len(data))], head)
            status = 206
        body = data[start:]
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Accept-Ranges", "bytes")
        if status == 206:
            self.send_header("Content-Range", "bytes %d-%d/%d" % (start, len(data) - 1, len(data)))
        self.end_headers()
        sent = 0
        limit = len(body)
        if "drop" in modes and misbehave:
            limit = min(limit, int(modes["drop"]))
        trickle = int(modes["trickle"]) if "trickle" in modes and misbehave else 0
        try:
            if not head:
                step = trickle or 256 * 1024
                while sent < limit:
                    n = min(step, limit - sent)
                    self.wfile.write(body[sent:sent + n])
                    self.wfile.flush()
                    sent += n
                    if trickle:
                        time.sleep(0.1)
        except (BrokenPipeError, ConnectionResetError):
            pass
        log({"path": self.path, "range": rng, "status": status, "start": start, "sent": sent}, self.seq)
        if sent < len(body) and not head:
            try:
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            self.close_connection = True


def main():
    global ARGS
    p = argparse.ArgumentParser(description="loopback HTTP server that misbehaves on demand")
    p.add_argument("--root", required=True, help="directory of the files served")
    p.add_argument("--port-file", required=True, help="where to write the port")
    p.add_argument("--log", help="JSON-lines request log")
    p.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"), help="serve HTTPS")
    ARGS = p.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    if ARGS.tls:
        import ssl
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(ARGS.tls[0], ARGS.tls[1])
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
    port = server.server_address[1]
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
