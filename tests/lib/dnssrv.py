#!/usr/bin/env python3
"""dnssrv.py - a small authoritative DNS server for the system tests, on
UDP and TCP, that answers large replies as a real server must: over UDP a
reply longer than 512 bytes is cut to its header and question with TC
(truncated) set, so the client has to ask again over TCP, where the whole
reply is sent.

    dnssrv.py --listen ADDR [--port 53] --ready FILE [--log FILE]
              [--mx DOMAIN=COUNT@IP]... [--a NAME=IP]...

--mx DOMAIN=COUNT@IP: DOMAIN has COUNT MX records (preferences 10, 20, ...)
named mxN.<a long label>.DOMAIN, each with an A record IP; 16 or more of
them make the reply well over 512 bytes. --a NAME=IP: one A record.
A known name answers the records of the type asked (ANY: all of them),
or none with NOERROR; every other name gets NXDOMAIN, as from a server
authoritative for everything (qmail-remote's CNAME lookup of a recipient's
domain must not fail temporarily). FILE is written once both sockets
listen. Every query is
logged as "udp|tcp NAME TYPE LENGTH[ truncated]".
"""
import argparse
import socket
import socketserver
import struct
import threading

T_A, T_MX, T_ANY = 1, 15, 255
LONG = "a-long-label-to-make-the-reply-longer-than-512-bytes"  # < 64
ARGS = None
RECORDS = {}  # name -> list of (type, rdata bytes)
LOCK = threading.Lock()


def log(line):
    if ARGS.log:
        with LOCK, open(ARGS.log, "a") as f:
            f.write(line + "\n")


def encode_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def add(name, rtype, rdata):
    RECORDS.setdefault(name.lower().rstrip("."), []).append((rtype, rdata))


def setup():
    for spec in ARGS.mx:
        dom, _, rest = spec.partition("=")
        count, _, ip = rest.partition("@")
        for i in range(int(count)):
            host = "mx%d.%s.%s" % (i, LONG, dom)
            add(dom, T_MX, struct.pack(">H", 10 * (i + 1)) + encode_name(host))
            add(host, T_A, socket.inet_aton(ip))
    for spec in ARGS.a:
        name, _, ip = spec.partition("=")
        add(name, T_A, socket.inet_aton(ip))


def parse_question(msg):
    pos, labels = 12, []
    while msg[pos]:
        n = msg[pos]
        labels.append(msg[pos + 1:pos + 1 + n].decode(errors="replace"))
        pos += 1 + n
    qtype, qclass = struct.unpack(">HH", msg[pos + 1:pos + 5])
    return ".".join(labels).lower(), qtype, msg[12:pos + 5]


def answer(msg):
    """The whole reply to query MSG, and the query's name and type."""
    qid, flags = struct.unpack(">HH", msg[:4])
    name, qtype, question = parse_question(msg)
    rd = flags & 0x0100
    if name in RECORDS:
        rcode, rrs = 0, [r for r in RECORDS[name] if qtype in (r[0], T_ANY)]
    else:
        rcode, rrs = 3, []
    head = struct.pack(">HHHHHH", qid, 0x8400 | rd | rcode, 1, len(rrs), 0, 0)
    body = b"".join(encode_name(name) + struct.pack(">HHIH", t, 1, 300, len(d)) + d for t, d in rrs)
    return head + question + body, name, qtype


class Udp(socketserver.BaseRequestHandler):
    def handle(self):
        data, sock = self.request
        reply, name, qtype = answer(data)
        cut = len(reply) > 512
        if cut:
            qend = 12 + len(parse_question(data)[2])
            reply = reply[:2] + struct.pack(">H", struct.unpack(">H", reply[2:4])[0] | 0x0200) + \
                struct.pack(">HHHH", 1, 0, 0, 0) + reply[12:qend]
        log("udp %s %d %d%s" % (name, qtype, len(reply), " truncated" if cut else ""))
        sock.sendto(reply, self.client_address)


class Tcp(socketserver.StreamRequestHandler):
    def handle(self):
        while True:
            head = self.rfile.read(2)
            if len(head) < 2:
                return
            data = self.rfile.read(struct.unpack(">H", head)[0])
            reply, name, qtype = answer(data)
            log("tcp %s %d %d" % (name, qtype, len(reply)))
            self.wfile.write(struct.pack(">H", len(reply)) + reply)
            self.wfile.flush()


class UdpServer(socketserver.ThreadingUDPServer):
    allow_reuse_address = True
    daemon_threads = True


class TcpServer(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


def main():
    global ARGS
    p = argparse.ArgumentParser()
    p.add_argument("--listen", required=True)
    p.add_argument("--port", type=int, default=53)
    p.add_argument("--ready", required=True)
    p.add_argument("--log")
    p.add_argument("--mx", action="append", default=[])
    p.add_argument("--a", action="append", default=[])
    ARGS = p.parse_args()
    setup()
    udp = UdpServer((ARGS.listen, ARGS.port), Udp)
    tcp = TcpServer((ARGS.listen, ARGS.port), Tcp)
    threading.Thread(target=udp.serve_forever, daemon=True).start()
    with open(ARGS.ready, "w") as f:
        f.write("%s %d\n" % (ARGS.listen, ARGS.port))
    tcp.serve_forever()


if __name__ == "__main__":
    main()
