"""Hostile traffic: connections held open, oversized and malformed
packets, a burst of connects. Whatever one client does, the server stays
up, keeps serving a normal client promptly (a login and GET /auth/me, a
socket chat round trip), and lets go of what the hostile client held.
All traffic goes to the test server on 127.0.0.1, bounded in count and
time."""

import json
import os
import socket
import threading
import time

import pytest
import requests
import socketio
import websocket

from conftest import BINARY, PASSWORD, WAIT, raw_socket

# How long a normal client may wait for a login + GET /auth/me, or for a
# socket connect + chat round trip, while the server is under attack.
PROMPT = 5.0
HELD_CONNECTIONS = 200
# The server's header read timeout (src/serve.rs), and the slack we allow
# it before a held connection counts as never released.
HEADER_READ_TIMEOUT = 10.0
RELEASE_SLACK = 10.0
# File descriptors the server may hold above its baseline once hostile
# clients are gone: database pool connections opened on the way.
FD_SLACK = 40
MIB = 1 << 20
BURST = 300


# ---- helpers -----------------------------------------------------------

def member(api, name="normal"):
    """A user with a server, and its general channel."""
    user = api.user(name)
    _, channel = api.server(user)
    return user, channel


def assert_serving(api, user, channel):
    """A normal client is served promptly; returns the chatted message."""
    started = time.monotonic()
    code, login = api.call("POST", "/auth/login", json={"username": user.name, "password": PASSWORD})
    assert code == 200, (code, login)
    code, me = api.call("GET", "/auth/me", login["token"])
    assert code == 200 and me["id"] == user.id, (code, me)
    took = time.monotonic() - started
    assert took < PROMPT, f"login + /auth/me took {took:.1f}s"

    started = time.monotonic()
    client = api.connect(user)
    content = f"still serving {time.monotonic_ns()}"
    ack = client.call("chat", {"channel_id": channel, "content": content}, timeout=PROMPT)
    client.close()
    took = time.monotonic() - started
    assert ack["message"]["content"] == content, ack
    assert took < PROMPT, f"socket connect + chat took {took:.1f}s"
    return ack["message"]


def address(api):
    host, port = api.base.removeprefix("http://").split(":")
    return host, int(port)


def server_pid(api):
    """The pid of the server conftest started for `api`, by its --listen."""
    listen = api.base.removeprefix("http://").encode()
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/cmdline", "rb") as f:
                args = f.read().split(b"\0")
        except OSError:
            continue
        if args[0] == str(BINARY).encode() and listen in args:
            return int(entry.name)
    raise AssertionError(f"no server process listening on {listen}")


def open_fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def assert_fds_released(pid, baseline, within=10.0):
    """The server's open file descriptors come back near `baseline`."""
    deadline = time.monotonic() + within
    while (fds := open_fds(pid)) > baseline + FD_SLACK and time.monotonic() < deadline:
        time.sleep(0.2)
    assert fds <= baseline + FD_SLACK, f"server holds {fds} file descriptors, {baseline} before the attack"


def closed_by_server(ws, within=WAIT):
    """Whether the server closes this raw Engine.IO WebSocket within
    `within` seconds. Heartbeats are answered meanwhile, so that a close
    is the server's answer to what was sent, not a heartbeat timeout."""
    ws.settimeout(0.5)
    deadline = time.monotonic() + within
    try:
        while time.monotonic() < deadline:
            try:
                packet = ws.recv()
            except websocket.WebSocketTimeoutException:
                continue
            if packet == "":  # a close frame
                return True
            if packet == "2":
                ws.send("3")
    except (websocket.WebSocketException, OSError):
        return True
    return False


def send_quietly(send):
    """Sends, tolerating a server that closes the connection mid-send."""
    try:
        send()
    except (websocket.WebSocketException, OSError):
        pass


def polling_url(api, sid=None):
    url = api.base + "/socket.io/?EIO=4&transport=polling"
    return url + f"&sid={sid}" if sid else url


def polling_session(api, token):
    """An Engine.IO long-polling session that has joined the default
    namespace; returns its URL."""
    res = requests.get(polling_url(api), timeout=WAIT)
    assert res.status_code == 200 and res.text.startswith("0"), res.text
    url = polling_url(api, json.loads(res.text[1:])["sid"])
    assert requests.post(url, data="40" + json.dumps({"token": token}), timeout=WAIT).text == "ok"
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        for packet in requests.get(url, timeout=WAIT).text.split("\x1e"):
            if packet == "2":
                requests.post(url, data="3", timeout=WAIT)
            if packet.startswith("40"):
                return url
    raise AssertionError("the polling session never joined the namespace")


class Held:
    """`n` raw TCP connections to the server, held open. Each sends `burst`
    at once, then `drip` one byte a second, and never completes a request.
    Notes which ones the server has closed."""

    def __init__(self, api, n, burst, drip):
        self.socks = [socket.create_connection(address(api), timeout=WAIT) for _ in range(n)]
        for s in self.socks:
            if burst:
                s.sendall(burst)
            s.setblocking(False)
        self.drip = drip
        self.sent = 0
        self.closed = set()
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stop.is_set():
            self.tick()
            self.stop.wait(1.0)

    def tick(self):
        byte = self.drip[self.sent:self.sent + 1]
        self.sent += 1
        for k, s in enumerate(self.socks):
            if k in self.closed:
                continue
            try:
                if byte:
                    s.send(byte)
                while s.recv(4096):  # whatever the server says, then the end
                    pass
                closed = True
            except BlockingIOError:
                closed = False
            except OSError:
                closed = True
            if closed:
                with self.lock:
                    self.closed.add(k)

    def still_open(self):
        with self.lock:
            return len(self.socks) - len(self.closed)

    def wait_released(self, within):
        deadline = time.monotonic() + within
        while self.still_open() and time.monotonic() < deadline:
            time.sleep(0.2)
        return self.still_open() == 0

    def close(self):
        self.stop.set()
        self.thread.join(timeout=5)
        for s in self.socks:
            s.close()


H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
H2_EMPTY_SETTINGS = bytes.fromhex("000000" "04" "00" "00000000")
# HEADERS on stream 1 (":method GET", ":scheme http", ":path /") without
# END_HEADERS: a request head that a CONTINUATION frame should finish.
H2_UNFINISHED_HEADERS = bytes.fromhex("000003" "01" "00" "00000001" "828684")
HELD = {
    # (sent at once, then dripped a byte a second)
    # An HTTP/1.1 request head that never ends.
    "slowloris": (b"", b"GET /auth/me HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 100),
    # Connect, send nothing.
    "half_open": (b"", b""),
    # HTTP/2 (cleartext, prior knowledge): the connection preface, a byte a second.
    "http2_slow_preface": (b"", H2_PREFACE),
    # HTTP/2: preface and SETTINGS, then nothing.
    "http2_silent_after_settings": (H2_PREFACE + H2_EMPTY_SETTINGS, b""),
    # HTTP/2: a request whose header block is never finished.
    "http2_unfinished_headers": (H2_PREFACE + H2_EMPTY_SETTINGS + H2_UNFINISHED_HEADERS, b""),
}


# ---- (a, b) connections held open ---------------------------------------

@pytest.mark.parametrize("kind", HELD)
def test_held_connections_do_not_slow_others(api, kind):
    user, channel = member(api)
    held = Held(api, HELD_CONNECTIONS, *HELD[kind])
    try:
        time.sleep(3)  # every connection accepted and a few bytes in
        assert_serving(api, user, channel)
    finally:
        held.close()


@pytest.mark.parametrize("kind", HELD)
def test_held_connections_are_released(api, kind):
    user, channel = member(api)
    assert_serving(api, user, channel)
    pid = server_pid(api)
    baseline = open_fds(pid)
    held = Held(api, HELD_CONNECTIONS, *HELD[kind])
    try:
        within = HEADER_READ_TIMEOUT + RELEASE_SLACK
        released = held.wait_released(within)
        assert released, f"{held.still_open()} of {HELD_CONNECTIONS} connections still open after {within:.0f}s"
        assert_fds_released(pid, baseline)
        assert_serving(api, user, channel)
    finally:
        held.close()


# ---- (c) oversized packets ------------------------------------------------

def oversized_chat(channel):
    return "42" + json.dumps(["chat", {"channel_id": channel, "content": "x" * MIB}])


def send_fragmented(ws, text, fragment=32 * 1024):
    """One text message in many frames, each under the frame limit."""
    parts = [text[i:i + fragment] for i in range(0, len(text), fragment)]
    for i, part in enumerate(parts):
        opcode = websocket.ABNF.OPCODE_TEXT if i == 0 else websocket.ABNF.OPCODE_CONT
        ws.send_frame(websocket.ABNF.create_frame(part, opcode, fin=int(i == len(parts) - 1)))


@pytest.mark.parametrize("framing", ["one_frame", "fragmented"])
def test_a_1mib_websocket_message_closes_only_that_connection(api, framing):
    user, channel = member(api)
    bystander = api.connect(user)
    bystander.wait("ready")
    ws = raw_socket(api, user.token)
    packet = oversized_chat(channel)
    if framing == "one_frame":
        send_quietly(lambda: ws.send(packet))
    else:
        send_quietly(lambda: send_fragmented(ws, packet))
    assert closed_by_server(ws), "the connection that sent 1 MiB is still open"
    assert api.ok("GET", f"/messages?channel_id={channel}", user.token) == []
    message = assert_serving(api, user, channel)
    assert bystander.wait("message_create")["id"] == message["id"]
    assert bystander.sio.connected


def chunks(text, size=32 * 1024):
    """The body streamed in chunks, with no Content-Length."""
    data = text.encode()
    for i in range(0, len(data), size):
        yield data[i:i + size]


@pytest.mark.parametrize("framing", ["content_length", "chunked"])
def test_a_1mib_polling_body_is_refused_and_ends_that_session(api, framing):
    user, channel = member(api)
    url = polling_session(api, user.token)
    body = oversized_chat(channel)
    try:
        data = body if framing == "content_length" else chunks(body)
        status = requests.post(url, data=data, timeout=10).status_code
    except requests.ConnectionError:
        status = None  # refused by closing the connection
    assert status in (413, None), f"1 MiB polling body answered {status}"
    res = requests.get(url, timeout=WAIT)
    assert res.status_code == 400, f"the session lives on: {res.status_code} {res.text!r}"
    assert api.ok("GET", f"/messages?channel_id={channel}", user.token) == []
    assert_serving(api, user, channel)


# ---- (d) malformed Engine.IO / Socket.IO ---------------------------------

BAD_HANDSHAKES = [
    ("GET", "/socket.io/?EIO=999&transport=polling"),
    ("GET", "/socket.io/?EIO=3&transport=polling"),
    ("GET", "/socket.io/?EIO=abc&transport=polling"),
    ("GET", "/socket.io/?transport=polling"),
    ("GET", "/socket.io/"),
    ("GET", "/socket.io/?EIO=4"),
    ("GET", "/socket.io/?EIO=4&transport=carrier-pigeon"),
    ("GET", "/socket.io/?EIO=4&transport=websocket"),  # no Upgrade headers
    ("GET", "/socket.io/?EIO=4&transport=polling&sid=AAAAAAAAAAAAAAAA"),
    ("GET", "/socket.io/?EIO=4&transport=polling&sid=%00%FF"),
    ("GET", "/socket.io/?EIO=4&transport=polling&sid="),
    ("POST", "/socket.io/?EIO=4&transport=polling"),
    ("POST", "/socket.io/?EIO=4&transport=polling&sid=AAAAAAAAAAAAAAAA"),
    ("PUT", "/socket.io/?EIO=4&transport=polling"),
    ("DELETE", "/socket.io/?EIO=4&transport=polling"),
]


def test_garbage_handshakes_get_400(api):
    user, channel = member(api)
    for method, path in BAD_HANDSHAKES:
        res = requests.request(method, api.base + path, data="40", timeout=WAIT)
        assert 400 <= res.status_code < 500, (method, path, res.status_code, res.text)
    # Requests on a live session that make no sense for it.
    url = polling_session(api, user.token)
    for method in ("PUT", "DELETE", "PATCH"):
        res = requests.request(method, url, data="40", timeout=WAIT)
        assert 400 <= res.status_code < 500, (method, res.status_code, res.text)
    assert_serving(api, user, channel)


def raw_http(api, request):
    """Sends raw bytes as an HTTP request; returns the status code, or None
    if the server closed the connection without an answer."""
    with socket.create_connection(address(api), timeout=WAIT) as s:
        s.sendall(request)
        answer = b""
        try:
            while b"\r\n" not in answer and (chunk := s.recv(4096)):
                answer += chunk
        except ConnectionResetError:
            pass
    return int(answer.split(b" ")[1]) if answer.startswith(b"HTTP/1.1 ") else None


def test_invalid_utf8_in_requests_is_refused(api):
    user, channel = member(api)
    url = polling_session(api, user.token)
    host = api.base.removeprefix("http://").encode()
    for request in [
        b"GET /socket.io/?EIO=4&transport=polling&sid=\xff\xfe HTTP/1.1\r\nHost: " + host + b"\r\n\r\n",
        b"GET /socket.io/?EIO=\xc3\x28&transport=polling HTTP/1.1\r\nHost: " + host + b"\r\n\r\n",
        b"GET /auth/me HTTP/1.1\r\nHost: " + host + b"\r\nAuthorization: Bearer \xff\xfe\xfd\r\n\r\n",
    ]:
        status = raw_http(api, request)
        assert status is None or 400 <= status < 500, (request, status)
    for body, headers in [
        (b"4\xff\xfe\xfd", {}),
        (b"42[\"chat\",{\"content\":\"\xc3\x28\"}]", {}),
        (b"\x00\x01\x02\x03", {"content-type": "application/octet-stream"}),
    ]:
        res = requests.post(url, data=body, headers=headers, timeout=WAIT)
        assert res.status_code in (200, 400), (body, res.status_code, res.text)
    assert_serving(api, user, channel)


BINARY_FRAME = websocket.ABNF.OPCODE_BINARY
TEXT_FRAME = websocket.ABNF.OPCODE_TEXT
# What a raw, signed-in WebSocket sends: (frame opcode, payload) in order.
BAD_PACKETS = {
    "binary_frame": [(BINARY_FRAME, b"\x00\x01\x02\xff")],
    "invalid_utf8_text": [(TEXT_FRAME, b"42[\"chat\",\"\xff\xfe\"]")],
    "invalid_utf8_lone_byte": [(TEXT_FRAME, b"\xc3\x28")],
    "unrequested_attachment": [(TEXT_FRAME, b'451-["chat",{"_placeholder":true,"num":0}]'),
                               (BINARY_FRAME, b"\x00" * 16), (BINARY_FRAME, b"\x00" * 16)],
    "too_many_attachments": [(TEXT_FRAME, b'455-["chat",{"_placeholder":true,"num":0}]')]
    + [(BINARY_FRAME, b"abc")] * 5,
    "oversized_attachment": [(TEXT_FRAME, b'451-["chat",{"_placeholder":true,"num":0}]'),
                             (BINARY_FRAME, b"a" * (100 * 1024))],
    "attachment_never_sent": [(TEXT_FRAME, b'452-["chat",{"_placeholder":true,"num":0}]')],
    "engineio_open_from_client": [(TEXT_FRAME, b"0")],
    "engineio_upgrade_out_of_place": [(TEXT_FRAME, b"5")],
    "engineio_unknown_type": [(TEXT_FRAME, b"9hello")],
    "engineio_empty": [(TEXT_FRAME, b"")],
    "socketio_bad_connect_payloads": [(TEXT_FRAME, p) for p in
                                      (b"40not json", b'40"string"', b"40[1,2]", b'40{"token":5}')],
    "socketio_unknown_namespace": [(TEXT_FRAME, b"40/admin,{}")],
    "socketio_huge_ack_id": [(TEXT_FRAME, b"42" + b"9" * 5000 + b'["chat",{}]')],
    "socketio_deep_nesting": [(TEXT_FRAME, b'42["chat",' + b"[" * 5000 + b"]" * 5000 + b"]")],
}


@pytest.mark.parametrize("kind", BAD_PACKETS)
def test_malformed_packets_affect_only_their_connection(api, kind):
    user, channel = member(api)
    bystander = api.connect(user)
    bystander.wait("ready")
    ws = raw_socket(api, user.token)
    for opcode, payload in BAD_PACKETS[kind]:
        send_quietly(lambda: ws.send_frame(websocket.ABNF.create_frame(payload, opcode)))
    # Closing the offending connection or answering it with an error are
    # both fine; it must not take the server or anyone else with it.
    closed_by_server(ws, within=1.0)
    ws.close()
    message = assert_serving(api, user, channel)
    assert bystander.wait("message_create")["id"] == message["id"]
    assert bystander.sio.connected


@pytest.mark.parametrize("payload", ["5", "6", "42[\"chat\",{}]", "garbage", "40{\"token\":\"x\"}x"])
def test_junk_before_the_namespace_handshake_is_harmless(api, payload):
    user, channel = member(api)
    ws = websocket.create_connection(api.base.replace("http", "ws") + "/socket.io/?EIO=4&transport=websocket",
                                     timeout=WAIT)
    assert ws.recv().startswith("0")
    send_quietly(lambda: ws.send(payload))
    closed_by_server(ws, within=1.0)
    ws.close()
    assert_serving(api, user, channel)


def test_a_websocket_with_an_unknown_or_taken_sid_is_refused(api):
    user, channel = member(api)
    ws_url = api.base.replace("http", "ws") + "/socket.io/?EIO=4&transport=websocket"
    first = websocket.create_connection(ws_url, timeout=WAIT)
    taken = json.loads(first.recv()[1:])["sid"]
    for sid in ["AAAAAAAAAAAAAAAA", "!!", "x" * 4000, taken]:
        try:
            ws = websocket.create_connection(f"{ws_url}&sid={sid}", timeout=WAIT)
        except websocket.WebSocketBadStatusException as refused:
            assert 400 <= refused.status_code < 500, (sid[:20], refused.status_code)
            continue
        assert closed_by_server(ws), f"a WebSocket with sid {sid[:20]!r} stays open"
    # Polling requests on a WebSocket session are refused too.
    for method in ("GET", "POST"):
        res = requests.request(method, polling_url(api, taken), data="40", timeout=WAIT)
        assert res.status_code == 400, (method, res.status_code, res.text)
    # The session that owns the sid is untouched.
    first.send("40" + json.dumps({"token": user.token}))
    first.settimeout(WAIT)
    while (packet := first.recv()) == "2":
        first.send("3")
    assert packet.startswith("40"), packet
    first.close()
    assert_serving(api, user, channel)


# ---- (e) a burst of connects ---------------------------------------------

# 300 python-socketio clients in this one process connect at once; on two
# cores the process cannot answer every client's 2 s heartbeat while it
# opens the others, and the server rightly drops those that miss it.
@pytest.mark.heartbeat_secs(20)
def test_a_burst_of_connects_and_disconnects_leaves_the_server_clean(api):
    owner = api.user("owner")
    server_id, channel = api.server(owner)
    crowd = [api.user(f"crowd{i}") for i in range(3)]
    for user in crowd:
        api.join(server_id, owner, user)
    watcher = api.connect(owner)
    watcher.wait("ready")
    pid = server_pid(api)
    baseline = open_fds(pid)

    clients = [socketio.Client(reconnection=False) for _ in range(BURST)]
    ready = threading.Semaphore(0)
    for client in clients:
        client.on("ready", lambda data=None: ready.release())
    start = threading.Barrier(BURST)
    errors = []

    def connect(i):
        try:
            start.wait(timeout=30)
            clients[i].connect(api.base, auth={"token": crowd[i % len(crowd)].token},
                               transports=["websocket"], wait_timeout=20)
        except Exception as e:
            errors.append(repr(e))

    def disconnect(i):
        try:
            clients[i].disconnect()
        except Exception as e:
            errors.append(repr(e))

    def in_parallel(target):
        threads = [threading.Thread(target=target, args=(i,)) for i in range(BURST)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=40)

    try:
        started = time.monotonic()
        in_parallel(connect)
        assert not errors, f"{len(errors)} connects failed: {errors[:3]}"
        for i in range(BURST):
            assert ready.acquire(timeout=10), f"only {i} of {BURST} sockets got ready"
        took = time.monotonic() - started
        assert took < 30, f"{BURST} connects took {took:.1f}s"
    finally:
        in_parallel(disconnect)
    assert not errors, f"disconnects failed: {errors[:3]}"

    # The server forgot them: presence is offline, descriptors are back.
    gone, deadline = set(), time.monotonic() + 10
    while gone != {user.id for user in crowd}:
        updates = watcher.wait("presence_updates", timeout=max(0.1, deadline - time.monotonic()))
        gone |= {u["user_id"] for u in updates if u["status"] == "offline"}
    assert_fds_released(pid, baseline)
    fresh = api.connect(owner)
    assert not {p["user_id"] for p in fresh.wait("ready")["presences"]} & {u.id for u in crowd}
    assert_serving(api, owner, channel)
