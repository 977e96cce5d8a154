#!/usr/bin/env python3
"""Clients for tests/load/load.sh: load, slow clients, a 1 GiB upload and
malformed requests against `medcrypt serve` on loopback (issue 9).

    python3 attack.py load      PORT PID KEYFILE IMAGE N CONC WARMUP
    python3 attack.py slow      PORT KEYFILE IMAGE N_SLOW TIMEOUT
    python3 attack.py big       PORT PID MAX_UPLOAD
    python3 attack.py malformed PORT PID

Standard library only. Each check prints "ok - ..." or "not ok - ...";
figures are printed as "# figure: ..." lines for docs/SECURITY.md. Only
127.0.0.0/8 is ever contacted; every loop is bounded in count and time.
"""
import http.client
import os
import select
import socket
import sys
import threading
import time

HOST = "127.0.0.1"
PASS = 0
FAIL = 0


def check(cond, desc):
    global PASS, FAIL
    if cond:
        PASS += 1
        print("ok - " + desc, flush=True)
    else:
        FAIL += 1
        print("not ok - " + desc, flush=True)


def figure(text):
    print("# figure: " + text, flush=True)


def rss_kib(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return -1


def multipart(fields, boundary="----medcryptload7MA4YWxkTrZu0gW"):
    """fields: (name, filename or None, bytes) -> (content type, body)."""
    out = []
    for name, filename, data in fields:
        disp = 'form-data; name="%s"' % name
        if filename is not None:
            disp += '; filename="%s"' % filename
        out.append(b"--" + boundary.encode() + b"\r\n")
        out.append(("Content-Disposition: %s\r\n" % disp).encode())
        if filename is not None:
            out.append(b"Content-Type: application/octet-stream\r\n")
        out.append(b"\r\n" + data + b"\r\n")
    out.append(b"--" + boundary.encode() + b"--\r\n")
    return "multipart/form-data; boundary=" + boundary, b"".join(out)


def encrypt_body(keyfile, image):
    with open(keyfile, "rb") as f:
        key = f.read().strip()
    with open(image, "rb") as f:
        img = f.read()
    return multipart([("key", None, key), ("image", os.path.basename(image), img)])


def healthz(port, timeout=10):
    try:
        c = http.client.HTTPConnection(HOST, port, timeout=timeout)
        c.request("GET", "/healthz")
        r = c.getresponse()
        ok = r.status == 200 and r.read().strip() == b"ok"
        c.close()
        return ok
    except (OSError, http.client.HTTPException):
        return False


def raw_exchange(port, data, timeout=10, source=HOST):
    """Sends raw bytes, returns (status or None, bytes sent) after the server
    answers or closes. Sending stops at the first error."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.bind((source, 0))
    s.connect((HOST, port))
    sent = 0
    try:
        for i in range(0, len(data), 65536):
            sent += s.send(data[i:i + 65536])
    except OSError:
        pass
    try:
        s.shutdown(socket.SHUT_WR)
    except OSError:
        pass
    resp = b""
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline and len(resp) < 1 << 20:
            d = s.recv(65536)
            if not d:
                break
            resp += d
            if b"\r\n\r\n" in resp:
                break
    except OSError:
        pass
    s.close()
    status = None
    if resp.startswith(b"HTTP/1."):
        try:
            status = int(resp.split(b" ", 2)[1])
        except (IndexError, ValueError):
            status = None
    return status, sent


# --------------------------------------------------------------------------
# load: N encrypt requests from CONC keep-alive clients; RSS after WARMUP
# requests and at the end.

def cmd_load(port, pid, keyfile, image, n, conc, warmup):
    ctype, body = encrypt_body(keyfile, image)
    headers = {"Content-Type": ctype}
    lock = threading.Lock()
    stats = {"next": 0, "ok": 0, "status": {}, "sockerr": 0, "bad_body": 0,
             "lat": []}

    def worker(limit):
        conn = None
        while True:
            with lock:
                if stats["next"] >= limit:
                    break
                stats["next"] += 1
            t0 = time.monotonic()
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(HOST, port, timeout=60)
                conn.request("POST", "/api/v1/encrypt", body=body, headers=headers)
                r = conn.getresponse()
                data = r.read()
                good = r.status == 200 and data[:8] == b"\x89PNG\r\n\x1a\n"
                with lock:
                    stats["lat"].append(time.monotonic() - t0)
                    if good:
                        stats["ok"] += 1
                    elif r.status == 200:
                        stats["bad_body"] += 1
                    else:
                        stats["status"][r.status] = stats["status"].get(r.status, 0) + 1
                if r.will_close:
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException):
                with lock:
                    stats["sockerr"] += 1
                if conn is not None:
                    conn.close()
                conn = None
        if conn is not None:
            conn.close()

    def run(limit):
        ts = [threading.Thread(target=worker, args=(limit,)) for _ in range(conc)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(timeout=600)

    t0 = time.monotonic()
    run(warmup)
    # The server returns freed buffers to the system once a second
    # (malloc_trim in its tick): read RSS once that has happened, so it
    # shows what the server holds, not the busiest moment's peak.
    time.sleep(1.5)
    rss_warm = rss_kib(pid)
    t1 = time.monotonic()
    run(n)
    elapsed = time.monotonic() - t1 + (t1 - t0 - 1.5)
    time.sleep(1.5)
    rss_end = rss_kib(pid)
    errors = n - stats["ok"]
    lat = sorted(stats["lat"])
    p50 = lat[len(lat) // 2] * 1000 if lat else 0
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000 if lat else 0
    figure("load: %d encrypt requests (%s), %d clients: %d ok, %d non-200 %s, "
           "%d socket errors, %d bad bodies in %.1f s (%.0f req/s; p50 %.0f ms, p99 %.0f ms)"
           % (n, os.path.basename(image), conc, stats["ok"], sum(stats["status"].values()),
              stats["status"], stats["sockerr"], stats["bad_body"], elapsed, n / elapsed,
              p50, p99))
    figure("load: server RSS %d KiB after %d warm-up requests, %d KiB after %d (%+.1f %%)"
           % (rss_warm, warmup, rss_end, n, 100.0 * (rss_end - rss_warm) / max(rss_warm, 1)))
    if os.environ.get("LOAD_ASAN") == "1":
        figure("load: RSS not asserted under a sanitizer (ASan's quarantine holds freed memory)")
    else:
        # A leak grows; returning memory to the system after the warm-up
        # (glibc trims its arenas) is no fault.
        check(rss_warm > 0 and rss_end <= rss_warm + rss_warm // 10,
              "load: server RSS flat after warm-up: no growth over 10 %% (%d -> %d KiB)"
              % (rss_warm, rss_end))
    check(stats["next"] == n and errors == 0,
          "load: %d encrypt requests from %d concurrent clients, 0 errors (%d errors)"
          % (n, conc, errors))
    return rss_warm, rss_end


# --------------------------------------------------------------------------
# slow: N_SLOW connections trickle a request one byte a second from other
# loopback addresses, while a normal client keeps encrypting.

SLOW_SOURCES = ["127.0.0.%d" % i for i in range(2, 12)]  # 10 addresses


def open_slow(port, n):
    socks = []
    refused = 0
    for i in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(True)
        s.settimeout(5)
        try:
            s.bind((SLOW_SOURCES[i % len(SLOW_SOURCES)], 0))
            s.connect((HOST, port))
            s.setblocking(False)
            socks.append(s)
        except OSError:
            refused += 1
            s.close()
    return socks, refused


def alive(s):
    """False once the server has closed the connection."""
    try:
        r, _, _ = select.select([s], [], [], 0)
        if not r:
            return True
        d = s.recv(4096)
        return len(d) > 0 and alive_after_data(d)
    except OSError:
        return False


def alive_after_data(d):
    # A 408 or any answer means the server gave up on the request.
    return not d.startswith(b"HTTP/1.")


def timed_encrypt(port, ctype, body, timeout=30):
    t0 = time.monotonic()
    try:
        c = http.client.HTTPConnection(HOST, port, timeout=timeout)
        c.request("POST", "/api/v1/encrypt", body=body, headers={"Content-Type": ctype})
        r = c.getresponse()
        data = r.read()
        c.close()
        good = r.status == 200 and data[:4] == b"\x89PNG"
    except (OSError, http.client.HTTPException):
        good = False
    return good, time.monotonic() - t0


def cmd_slow(port, keyfile, image, n_slow, timeout):
    ctype, body = encrypt_body(keyfile, image)
    request = (b"POST /api/v1/encrypt HTTP/1.1\r\nHost: 127.0.0.1\r\n"
               b"Content-Type: " + ctype.encode() + b"\r\n"
               b"Content-Length: %d\r\n\r\n" % len(body)) + body

    # Phase 1: trickle one byte a second (faster than --timeout, so the
    # idle timeout alone never fires) from a thread, while this thread keeps
    # encrypting normally. With --max-connections 128, the 72 connections
    # past it wait in the listen backlog until the first ones are cut.
    limit = 2 * timeout + 6
    socks, refused = open_slow(port, n_slow)
    cut_at = {}
    t0 = time.monotonic()

    def trickle():
        pos = [0] * len(socks)
        while time.monotonic() - t0 < limit and len(cut_at) < len(socks):
            for i, s in enumerate(socks):
                if i in cut_at:
                    continue
                if not alive(s):
                    cut_at[i] = time.monotonic() - t0
                    continue
                try:
                    s.send(request[pos[i]:pos[i] + 1])
                    pos[i] += 1
                except OSError:
                    cut_at[i] = time.monotonic() - t0
            time.sleep(1.0)

    th = threading.Thread(target=trickle)
    th.start()
    lat = []
    while th.is_alive() and time.monotonic() - t0 < limit + 5:
        lat.append(timed_encrypt(port, ctype, body))
        time.sleep(0.2)
    th.join(timeout=limit + 5)
    for s in socks:
        s.close()
    served = sum(g for g, _ in lat)
    slowest = max((dt for _, dt in lat), default=-1)
    last = max(cut_at.values(), default=-1)
    figure("slow (trickle): %d connections from %d addresses sending 1 byte/s "
           "(%d refused at connect): %d cut by the server, the last after %.1f s "
           "(--timeout %d); %d/%d normal encrypts served meanwhile, slowest %.2f s"
           % (n_slow, len(SLOW_SOURCES), refused, len(cut_at), last, timeout, served,
              len(lat), slowest))
    check(len(socks) > 0 and len(cut_at) == len(socks) and last <= 2 * timeout + 4,
          "slow: %d connections trickling 1 byte/s are cut (headers due within --timeout %d; "
          "last after %.1f s <= %d s)" % (len(socks), timeout, last, 2 * timeout + 4))
    check(len(lat) > 0 and served == len(lat),
          "slow: every normal encrypt served while %d clients trickle (%d/%d)"
          % (n_slow, served, len(lat)))
    check(0 <= slowest <= timeout + 3,
          "slow: the slowest normal encrypt took %.2f s (<= --timeout + 3 s)" % slowest)

    # Phase 1b: trickle a body (headers complete, then 1 byte/s).
    socks, refused = open_slow(port, 20)
    cut_at = {}
    t0 = time.monotonic()
    hdr_len = request.index(b"\r\n\r\n") + 4
    for s in socks:
        try:
            s.send(request[:hdr_len])
        except OSError:
            pass
    pos = [hdr_len] * len(socks)
    while time.monotonic() - t0 < limit and len(cut_at) < len(socks):
        for i, s in enumerate(socks):
            if i in cut_at:
                continue
            if not alive(s):
                cut_at[i] = time.monotonic() - t0
                continue
            try:
                s.send(request[pos[i]:pos[i] + 1])
                pos[i] += 1
            except OSError:
                cut_at[i] = time.monotonic() - t0
        time.sleep(1.0)
    for s in socks:
        s.close()
    last = max(cut_at.values(), default=-1)
    figure("slow (body): %d connections sending a body at 1 byte/s: %d cut, the last "
           "after %.1f s (bodies must average %d B/s after --timeout %d)"
           % (len(socks), len(cut_at), last, 1024, timeout))
    check(len(socks) > 0 and len(cut_at) == len(socks) and last <= timeout + 4,
          "slow: %d bodies trickling 1 byte/s are cut (last after %.1f s)"
          % (len(socks), last))

    # Phase 2: send part of the request, then go silent: cut by --timeout.
    socks, refused = open_slow(port, n_slow)
    t0 = time.monotonic()
    for s in socks:
        try:
            s.send(request[:40])
        except OSError:
            pass
    lat = []
    closed_at = {}
    deadline = t0 + 2 * timeout + 8
    while time.monotonic() < deadline and len(closed_at) < len(socks):
        for i, s in enumerate(socks):
            if i not in closed_at and not alive(s):
                closed_at[i] = time.monotonic() - t0
        good, dt = timed_encrypt(port, ctype, body)
        lat.append((good, dt))
        time.sleep(0.2)
    for s in socks:
        s.close()
    n_closed = len(closed_at)
    last = max(closed_at.values()) if closed_at else -1
    figure("slow (stalled): %d connections sent 40 bytes and went silent "
           "(%d refused at connect): %d closed by the server, the last after %.1f s "
           "(--timeout %d); %d/%d normal encrypts served meanwhile"
           % (n_slow, refused, n_closed, last, timeout,
              sum(g for g, _ in lat), len(lat)))
    check(len(socks) > 0 and n_closed == len(socks) and last <= 2 * timeout + 4,
          "slow: %d stalled connections closed by --timeout %d (last after %.1f s <= %d s: "
          "128 at once, then the backlog)" % (len(socks), timeout, last, 2 * timeout + 4))
    check(all(g for g, _ in lat) and max(dt for _, dt in lat) < 10.0,
          "slow: normal encrypts served while stalled clients wait out the timeout")
    check(healthz(port), "slow: /healthz answers after the slow clients")


# --------------------------------------------------------------------------
# big: a 1 GiB upload, declared (Content-Length) and streamed (chunked).

GIB = 1 << 30


def stream_big(port, chunked, time_limit=30.0):
    """Streams up to 1 GiB; returns (status or None, bytes sent, closed)."""
    s = socket.create_connection((HOST, port), timeout=10)
    head = (b"POST /api/v1/encrypt HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: multipart/form-data; boundary=XYZ\r\n")
    head += (b"Transfer-Encoding: chunked\r\n\r\n" if chunked
             else b"Content-Length: %d\r\n\r\n" % GIB)
    s.sendall(head)
    part = (b"--XYZ\r\nContent-Disposition: form-data; name=\"image\"; "
            b"filename=\"big.pgm\"\r\n\r\n")
    payload = part + b"\0" * (65536 - len(part))
    if chunked:
        payload = b"%x\r\n" % len(payload) + payload + b"\r\n"
    s.setblocking(False)
    sent = 0
    resp = b""
    closed = False
    t0 = time.monotonic()
    while sent < GIB and time.monotonic() - t0 < time_limit:
        r, w, _ = select.select([s], [s], [], 2)
        if r:
            try:
                d = s.recv(65536)
            except OSError:
                closed = True
                break
            if not d:
                closed = True
                break
            resp += d
            if b"\r\n\r\n" in resp:
                break
        if w:
            try:
                sent += s.send(payload)
            except OSError:
                closed = True
                break
    # After an answer, see whether the server also closes (bounded).
    s.setblocking(True)
    s.settimeout(3)
    try:
        while len(resp) < 1 << 16:
            d = s.recv(65536)
            if not d:
                closed = True
                break
            resp += d
    except OSError:
        pass
    s.close()
    status = None
    if resp.startswith(b"HTTP/1."):
        status = int(resp.split(b" ", 2)[1])
    return status, sent, closed


def cmd_big(port, pid, max_upload):
    rss0 = rss_kib(pid)
    st, sent, closed = stream_big(port, chunked=False)
    figure("big (Content-Length: 1 GiB): status %s after %d body bytes sent, "
           "connection closed: %s" % (st, sent, closed))
    check(st == 413 and sent <= max_upload + (8 << 20),
          "big: a declared 1 GiB upload gets 413 before the body (%d bytes sent)" % sent)
    st, sent, closed = stream_big(port, chunked=True)
    figure("big (chunked, 1 GiB streamed): status %s, cut after %d bytes sent "
           "(--max-upload %d + 1 MiB slack + socket buffers), connection closed: %s"
           % (st, sent, max_upload, closed))
    check((st == 413 or closed) and sent <= max_upload + (16 << 20),
          "big: a chunked 1 GiB upload is cut off after %d bytes (<= --max-upload + 16 MiB)"
          % sent)
    rss1 = rss_kib(pid)
    figure("big: server RSS %d KiB before, %d KiB after the 1 GiB uploads" % (rss0, rss1))
    check(rss1 - rss0 < 2 * max_upload // 1024 + 16384,
          "big: server RSS stays bounded (%d -> %d KiB)" % (rss0, rss1))
    check(healthz(port), "big: /healthz answers after the 1 GiB uploads")


# --------------------------------------------------------------------------
# malformed: each request gets the expected status, then /healthz answers.

def req_bytes(ctype, body, extra=b"", chunked=False, path=b"/api/v1/encrypt"):
    h = b"POST " + path + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
    if ctype is not None:
        h += b"Content-Type: " + ctype + b"\r\n"
    h += extra
    if chunked:
        out = h + b"Transfer-Encoding: chunked\r\n\r\n"
        for i in range(0, len(body), 8192):
            c = body[i:i + 8192]
            out += b"%x\r\n" % len(c) + c + b"\r\n"
        return out + b"0\r\n\r\n"
    return h + b"Content-Length: %d\r\n\r\n" % len(body) + body


def cmd_malformed(port, pid):
    # libmicrohttpd refuses boundaries shorter than 2 characters (415).
    mp = b"multipart/form-data; boundary=BB"
    key = b"--BB\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\nMCK1-X\r\n"
    img = (b"--BB\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.pgm\"\r\n"
           b"\r\nP5 2 2 255\n\0\0\0\0\r\n")
    many = b"".join(b"--BB\r\nContent-Disposition: form-data; name=\"f%d\"\r\n\r\nx\r\n" % i
                    for i in range(5000)) + b"--BB--\r\n"
    huge_part_hdr = (b"--BB\r\nContent-Disposition: form-data; name=\"image\"; filename=\""
                     + b"a" * 200000 + b"\"\r\n\r\nxx\r\n--BB--\r\n")
    cases = [
        # (description, raw request, expected statuses)
        ("multipart with no boundary parameter", req_bytes(b"multipart/form-data", key + img),
         {415}),
        ("multipart with an empty boundary", req_bytes(b"multipart/form-data; boundary=",
                                                       key + img), {400, 415}),
        ("a boundary that never ends (no closing delimiter)", req_bytes(mp, key + img), {400}),
        ("a body that never matches its boundary", req_bytes(mp, b"x" * 100000), {400}),
        ("5000 parts", req_bytes(mp, many), {400}),
        ("5000 parts, chunked", req_bytes(mp, many, chunked=True), {400}),
        ("a 200 KB part header", req_bytes(mp, huge_part_hdr), {400}),
        ("a part with no Content-Disposition", req_bytes(mp, b"--BB\r\nX: y\r\n\r\nz\r\n--BB--\r\n"),
         {400}),
        ("a 200-byte field name", req_bytes(mp, b"--BB\r\nContent-Disposition: form-data; name=\""
                                            + b"n" * 200 + b"\"\r\n\r\nz\r\n--BB--\r\n"), {400}),
        ("Content-Type text/plain", req_bytes(b"text/plain", b"hello"), {415}),
        ("Content-Type application/json", req_bytes(b"application/json", b"{\"key\":1}"), {415}),
        ("no Content-Type", req_bytes(None, b"hello"), {415}),
        ("a 1-character boundary (refused by libmicrohttpd)",
         req_bytes(b"multipart/form-data; boundary=B", b"--B\r\n\r\n--B--\r\n"), {415}),
        # Headers fit in 128 KiB (--connection memory): a 100 KB line is
        # read and the request answered as usual (here: the key is bad).
        ("a 100 KB header line", req_bytes(mp, key + img + b"--BB--\r\n",
                                           extra=b"X-Junk: " + b"j" * 100000 + b"\r\n"),
         {400}),
        ("a 200 KB header line", req_bytes(mp, key + img + b"--BB--\r\n",
                                           extra=b"X-Junk: " + b"j" * 200000 + b"\r\n"),
         {431}),
        ("a 100 KB URL", b"GET /" + b"u" * 100000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", {404}),
        ("a 200 KB URL", b"GET /" + b"u" * 200000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
         {414, 431}),
        ("2000 header lines", req_bytes(mp, key + img + b"--BB--\r\n",
                                        extra=b"".join(b"X-H%d: v\r\n" % i for i in range(2000))),
         {413, 431}),
        ("a negative Content-Length", b"POST /api/v1/encrypt HTTP/1.1\r\nHost: x\r\n"
         b"Content-Type: " + mp + b"\r\nContent-Length: -5\r\n\r\n", {400}),
        ("a Content-Length of 2^70", b"POST /api/v1/encrypt HTTP/1.1\r\nHost: x\r\n"
         b"Content-Type: " + mp + b"\r\nContent-Length: 1180591620717411303424\r\n\r\n",
         {400, 413}),
        ("a bad chunk size", b"POST /api/v1/encrypt HTTP/1.1\r\nHost: x\r\nContent-Type: " + mp
         + b"\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n", {400}),
        ("binary junk instead of a request", bytes(range(256)) * 40 + b"\r\n\r\n", {400, None}),
        ("an HTTP/0.9-style request line", b"GET /healthz\r\n\r\n", {400, None}),
        ("urlencoded with a 100 KB key", req_bytes(b"application/x-www-form-urlencoded",
                                                   b"k" * 100000 + b"=v"), {400}),
    ]
    for desc, data, want in cases:
        try:
            st, _ = raw_exchange(port, data)
        except OSError as e:
            st = "error %s" % e
        health = healthz(port)
        figure("malformed: %s -> %s" % (desc, st if st is not None else "closed"))
        check(st in want and health,
              "malformed: %s -> %s (want %s), then /healthz answers"
              % (desc, st if st is not None else "closed",
                 "/".join("closed" if w is None else str(w) for w in sorted(want, key=str))))
    figure("malformed: server RSS %d KiB after %d cases" % (rss_kib(pid), len(cases)))


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    cmd, a = sys.argv[1], sys.argv[2:]
    if cmd == "load":
        cmd_load(int(a[0]), int(a[1]), a[2], a[3], int(a[4]), int(a[5]), int(a[6]))
    elif cmd == "slow":
        cmd_slow(int(a[0]), a[1], a[2], int(a[3]), int(a[4]))
    elif cmd == "big":
        cmd_big(int(a[0]), int(a[1]), int(a[2]))
    elif cmd == "malformed":
        cmd_malformed(int(a[0]), int(a[1]))
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    print("# result: %d passed, %d failed" % (PASS, FAIL), flush=True)
    sys.exit(1 if FAIL else 0)


if __name__ == "__main__":
    main()
