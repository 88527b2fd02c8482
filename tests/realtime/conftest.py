"""Starts the real Guildhall binary on a free loopback port with a fresh
database for each test, and gives tests a REST helper and official
python-socketio clients.

The database follows GUILDHALL_TEST_DB like the Rust suite: `sqlite`
(default, a file in a temporary directory) or `postgres` (a new database
on GUILDHALL_TEST_POSTGRES_URL, dropped afterwards)."""

import contextlib
import json
import os
import queue
import secrets
import socket
import subprocess
import time
from pathlib import Path

import pytest
import requests
import socketio
import websocket

ROOT = Path(__file__).resolve().parents[2]
BINARY = ROOT / "target" / "debug" / "guildhall"
PASSWORD = "correct horse battery"
WAIT = 5.0


@pytest.fixture(scope="session", autouse=True)
def build():
    subprocess.run(["cargo", "build", "--quiet", "--bin", "guildhall"], cwd=ROOT, check=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def psql(admin_url, sql):
    subprocess.run(["psql", admin_url, "-q", "-c", sql], check=True, capture_output=True)


@contextlib.contextmanager
def fresh_database(tmp_path, kind=None):
    """The URL of a new database, of `kind` or as GUILDHALL_TEST_DB says;
    dropped after."""
    kind = kind or os.environ.get("GUILDHALL_TEST_DB", "sqlite")
    admin_url = os.environ.get("GUILDHALL_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test")
    if kind != "postgres":
        yield f"sqlite://{tmp_path / 'guildhall.db'}"
        return
    dbname = "guildhall_py_" + secrets.token_hex(8)
    psql(admin_url, f'CREATE DATABASE "{dbname}"')
    try:
        yield admin_url.rsplit("/", 1)[0] + "/" + dbname
    finally:
        psql(admin_url, f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "heartbeat_secs(n): serve this test with an n-second Engine.IO ping interval and timeout")


@pytest.fixture
def server(tmp_path, request):
    # Heartbeats are 2 s so that dead sockets are reaped quickly in tests;
    # a test whose own client process is too busy to answer them in time
    # (hundreds of clients in one Python process) asks for longer ones.
    marker = request.node.get_closest_marker("heartbeat_secs")
    heartbeat = marker.args[0] if marker else 2
    with fresh_database(tmp_path) as database_url:
        yield from run_server(tmp_path, database_url, heartbeat)


def run_server(tmp_path, database_url, heartbeat=2, extra_args=(), name="server"):
    port = free_port()
    log = tmp_path / f"{name}.log"
    # Limits off and the socket cap raised: bursts share a few accounts.
    # The limits themselves are tested in tests/api (limits.rs, live_sockets.rs).
    env = dict(os.environ, RUST_LOG="guildhall=warn", GUILDHALL_RATE_LIMITS="false",
               GUILDHALL_MAX_SOCKETS_PER_USER="100000",
               GUILDHALL_PING_INTERVAL_SECS=str(heartbeat), GUILDHALL_PING_TIMEOUT_SECS=str(heartbeat))
    proc = subprocess.Popen(
        [str(BINARY), "serve", "--listen", f"127.0.0.1:{port}", "--database-url", database_url,
         *extra_args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(log, "wb"),
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 20
    while True:
        try:
            requests.get(base + "/openapi.json", timeout=1)
            break
        except requests.ConnectionError:
            if time.time() > deadline or proc.poll() is not None:
                raise RuntimeError("server did not start: " + log.read_text())
            time.sleep(0.05)
    yield Api(base)
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


def raw_socket(api, token):
    """A bare Engine.IO WebSocket that has joined the default namespace."""
    ws = websocket.create_connection(api.base.replace("http", "ws") + "/socket.io/?EIO=4&transport=websocket",
                                     timeout=WAIT)
    assert ws.recv().startswith("0")
    ws.send("40" + json.dumps({"token": token}))
    while (packet := ws.recv()) == "2":
        ws.send("3")
    assert packet.startswith("40"), packet
    return ws


class Api:
    """REST calls as a client app makes them."""

    def __init__(self, base):
        self.base = base
        self.clients = []

    def call(self, method, path, token=None, json=None):
        headers = {"authorization": f"Bearer {token}"} if token else {}
        res = requests.request(method, self.base + path, headers=headers, json=json, timeout=10)
        body = res.json() if res.content else None
        return res.status_code, body

    def ok(self, method, path, token=None, json=None, status=(200, 201, 204)):
        code, body = self.call(method, path, token, json)
        assert code in status, f"{method} {path}: {code} {body}"
        return body

    def user(self, name):
        self.ok("POST", "/users", json={"username": name, "password": PASSWORD})
        body = self.ok("POST", "/auth/login", json={"username": name, "password": PASSWORD})
        return User(body["user"]["id"], name, body["token"], body["csrf_token"])

    def server(self, owner, name="Guild"):
        server = self.ok("POST", "/servers", owner.token, {"name": name})
        channels = self.ok("GET", f"/channels?server_id={server['id']}", owner.token)
        return server["id"], channels[0]["id"]

    def join(self, server_id, owner, user, role="member"):
        invite = self.ok("POST", f"/servers/{server_id}/invites", owner.token, {})
        self.ok("POST", f"/invites/{invite['code']}/accept", user.token)
        if role != "member":
            self.ok("PUT", f"/servers/{server_id}/members/{user.id}", owner.token, {"role": role})

    def connect(self, user=None, token=None, transports=None, headers=None, auth=True):
        """An official client connected as `user`; raises on refusal."""
        client = Client()
        auth_data = {"token": token or user.token} if auth else None
        client.sio.connect(
            self.base,
            auth=auth_data,
            headers=headers or {},
            transports=transports or ["polling", "websocket"],
            wait_timeout=WAIT,
        )
        self.clients.append(client)
        return client


class User:
    def __init__(self, id, name, token, csrf):
        self.id, self.name, self.token, self.csrf = id, name, token, csrf


class Client:
    """python-socketio's Client, recording every event it receives."""

    def __init__(self, **engineio_options):
        self.sio = socketio.Client(reconnection=False, **engineio_options)
        self.events = queue.Queue()
        self.seen = []
        self.sio.on("*", lambda event, data=None: self.events.put((event, data)))

    def wait(self, name, timeout=WAIT, where=None):
        """The next `name` event (matching `where`, if given)."""
        deadline = time.time() + timeout
        for i, (event, data) in enumerate(self.seen):
            if event == name and (where is None or where(data)):
                return self.seen.pop(i)[1]
        while True:
            left = deadline - time.time()
            if left <= 0:
                raise AssertionError(f"no {name} within {timeout}s; got {[e for e, _ in self.seen]}")
            try:
                event, data = self.events.get(timeout=left)
            except queue.Empty:
                continue
            if event == name and (where is None or where(data)):
                return data
            self.seen.append((event, data))

    def presence_of(self, user_id, timeout=WAIT):
        """The status `user_id` has in the next `presence_updates` list naming them."""
        updates = self.wait("presence_updates", timeout,
                            where=lambda d: any(u["user_id"] == user_id for u in d))
        return next(u["status"] for u in updates if u["user_id"] == user_id)

    def none(self, name, within=1.0):
        """Asserts that no `name` event arrives within `within` seconds."""
        self.drain(within)
        got = [d for e, d in self.seen if e == name]
        assert not got, f"unexpected {name}: {got}"

    def drain(self, within):
        deadline = time.time() + within
        while (left := deadline - time.time()) > 0:
            try:
                self.seen.append(self.events.get(timeout=left))
            except queue.Empty:
                pass

    def call(self, event, data, timeout=WAIT):
        return self.sio.call(event, data, timeout=timeout)

    def close(self):
        self.sio.disconnect()


@pytest.fixture
def api(server):
    yield server
    for client in server.clients:
        try:
            client.close()
        except Exception:
            pass
