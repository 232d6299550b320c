"""fakedns.py: a small DNS server on 127.0.0.1 for the pooler's integration tests (dns.c): a test points
the pooler's resolver at it with dns_resolv_conf ("nameserver 127.0.0.1:PORT") and decides what each name
answers, how late, and counts the queries."""
import socket
import struct
import threading


class FakeDNS:
    """A UDP DNS server answering A queries from self.records (name -> [IPv4]); AAAA and other types get
    an empty answer, unknown names NXDOMAIN. A name in self.hold waits for its Event before the reply."""

    def __init__(self, hold_limit=30.0):
        self.hold_limit = hold_limit        # seconds a held answer waits at most
        self.records = {}
        self.hold = {}
        self.queries = {}
        self.lock = threading.Lock()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.stopped = False
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def count(self, name):
        with self.lock:
            return self.queries.get(name, 0)

    def serve(self):
        while not self.stopped:
            try:
                data, peer = self.sock.recvfrom(2048)
            except OSError:
                return
            threading.Thread(target=self.answer, args=(data, peer), daemon=True).start()

    def answer(self, data, peer):
        if len(data) < 12:
            return
        qid, _flags, qd = struct.unpack("!HHH", data[:6])
        pos, labels = 12, []
        while pos < len(data) and data[pos] != 0:
            n = data[pos]
            labels.append(data[pos + 1:pos + 1 + n].decode("ascii", "replace"))
            pos += 1 + n
        qtype, _qclass = struct.unpack("!HH", data[pos + 1:pos + 5])
        question = data[12:pos + 5]
        name = ".".join(labels).lower()
        addrs = None
        with self.lock:
            if qtype == 1:
                self.queries[name] = self.queries.get(name, 0) + 1
            addrs = list(self.records[name]) if name in self.records else None
            hold = self.hold.get(name)
        if hold is not None:
            hold.wait(self.hold_limit)
        rcode = 3 if addrs is None else 0
        answers = b""
        n_answers = 0
        if qtype == 1 and addrs:
            for a in addrs:
                answers += struct.pack("!HHHIH", 0xC00C, 1, 1, 1, 4) + socket.inet_aton(a)
                n_answers += 1
        reply = struct.pack("!HHHHHH", qid, 0x8180 | rcode, qd, n_answers, 0, 0) + question + answers
        try:
            self.sock.sendto(reply, peer)
        except OSError:
            pass

    def stop(self):
        self.stopped = True
        for ev in self.hold.values():
            ev.set()
        self.sock.close()


def resolv_conf(path, dns):
    """Writes a resolv.conf at PATH that points at DNS (a FakeDNS); returns PATH."""
    with open(path, "w") as f:
        f.write("nameserver 127.0.0.1:%d\noptions timeout:20 attempts:1 ndots:1\n" % dns.port)
    return path
