"""Crash consistency: every message the server acknowledged (a 201 over
REST, a `{"message": ...}` ack over Socket.IO) survives a SIGKILL of the
server in the middle of a write load, on the database GUILDHALL_TEST_DB
names, and the restarted server serves it and lists it."""

import os
import signal
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
import socketio

from conftest import BINARY, WAIT, Api, free_port, fresh_database

LOAD_SECONDS = 2.0
REST_THREADS = 6
# Each socket stays under the gateway's 120 events a minute, so that no ack
# is a `rate_limited` refusal and the flood guard never disconnects it.
SOCKET_TRANSPORTS = [["websocket"], ["polling"], ["polling", "websocket"]]
CHATS_PER_SOCKET = 100
CHATS_IN_FLIGHT = 8
CRASHES = 2


class Node:
    """The server binary on one database; it can be SIGKILLed and started
    again on the same database."""

    def __init__(self, database_url, log_dir):
        self.database_url = database_url
        self.log_dir = log_dir
        self.proc = None
        self.starts = 0

    def start(self):
        self.starts += 1
        self.log = self.log_dir / f"server-{self.starts}.log"
        port = free_port()
        env = dict(os.environ, RUST_LOG="guildhall=warn", GUILDHALL_RATE_LIMITS="false")
        self.proc = subprocess.Popen(
            [str(BINARY), "serve", "--listen", f"127.0.0.1:{port}", "--database-url", self.database_url],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=open(self.log, "wb"),
        )
        base = f"http://127.0.0.1:{port}"
        deadline = time.time() + 20
        while True:
            try:
                requests.get(base + "/openapi.json", timeout=1)
                return Api(base)
            except requests.ConnectionError:
                if time.time() > deadline or self.proc.poll() is not None:
                    raise RuntimeError("server did not start: " + self.log.read_text())
                time.sleep(0.05)

    def kill(self):
        """kill -9: no graceful shutdown, no closing of the database."""
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
        assert self.proc.returncode == -signal.SIGKILL

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture
def node(tmp_path):
    """A server on a fresh database (as conftest's `server`), restartable."""
    with fresh_database(tmp_path) as database_url:
        node = Node(database_url, tmp_path)
        yield node
        node.stop()


class Load:
    """Writers posting into one channel until told to stop; records every
    acknowledged message as id -> content, and every refusal."""

    def __init__(self, api, token, channel, round_no):
        self.api, self.token, self.channel, self.round = api, token, channel, round_no
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.acked = {}
        self.refused = []
        self.sockets = []
        self.threads = []

    def record(self, message_id, sent, got):
        with self.lock:
            if got == sent:
                self.acked[message_id] = sent
            else:
                self.refused.append(("content changed", message_id, sent, got))

    def refuse(self, *what):
        with self.lock:
            self.refused.append(what)

    def rest_writer(self, n):
        session = requests.Session()
        session.headers["authorization"] = f"Bearer {self.token}"
        i = 0
        while not self.stop.is_set():
            content = f"r{self.round} rest {n}-{i}"
            i += 1
            try:
                res = session.post(self.api.base + "/messages", timeout=10,
                                   json={"channel_id": self.channel, "content": content})
            except requests.RequestException:
                return  # the server is gone: this one was never acknowledged
            if res.status_code == 201:
                self.record(res.json()["id"], content, res.json()["content"])
            else:
                self.refuse("rest", res.status_code, res.text)

    def socket_writer(self, n, client):
        in_flight = threading.Semaphore(CHATS_IN_FLIGHT)
        pause = LOAD_SECONDS / CHATS_PER_SOCKET
        for i in range(CHATS_PER_SOCKET):
            if self.stop.is_set() or not client.connected:
                return
            content = f"r{self.round} socket {n}-{i}"

            def on_ack(ack=None, content=content):
                in_flight.release()
                if isinstance(ack, dict) and "message" in ack:
                    self.record(ack["message"]["id"], content, ack["message"]["content"])
                else:
                    self.refuse("socket", ack)

            if not in_flight.acquire(timeout=WAIT):
                return
            try:
                client.emit("chat", {"channel_id": self.channel, "content": content, "nonce": f"{n}-{i}"},
                            callback=on_ack)
            except socketio.exceptions.SocketIOError:
                return
            time.sleep(pause)

    def start(self):
        for n, transports in enumerate(SOCKET_TRANSPORTS):
            client = socketio.Client(reconnection=False)
            client.connect(self.api.base, auth={"token": self.token}, transports=transports,
                           wait_timeout=WAIT)
            self.sockets.append(client)
            self.threads.append(threading.Thread(target=self.socket_writer, args=(n, client)))
        for n in range(REST_THREADS):
            self.threads.append(threading.Thread(target=self.rest_writer, args=(n,)))
        for thread in self.threads:
            thread.start()

    def finish(self):
        """After the kill: stops the writers; what is acked by now is final."""
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=15)
            assert not thread.is_alive(), "a writer hung after the server died"
        for client in self.sockets:
            try:
                client.disconnect()
            except Exception:
                pass
        with self.lock:
            return dict(self.acked), list(self.refused)


def history(api, token, channel):
    """Every message of the channel, newest first, page by page."""
    messages, before = [], None
    while True:
        cursor = f"&before={before}" if before else ""
        page = api.ok("GET", f"/messages?channel_id={channel}&limit=100{cursor}", token)
        messages += page
        if len(page) < 100:
            return messages
        before = page[-1]["id"]


def assert_all_there(api, token, channel, acked):
    def fetch(item):
        message_id, content = item
        code, body = api.call("GET", f"/messages/{message_id}", token)
        return message_id, content, code, body

    with ThreadPoolExecutor(8) as pool:
        for message_id, content, code, body in pool.map(fetch, acked.items()):
            assert code == 200, f"acknowledged message {message_id} ({content!r}) is gone: {code} {body}"
            assert body["content"] == content and body["channel_id"] == channel, body
    listed = history(api, token, channel)
    ids = [m["id"] for m in listed]
    assert len(ids) == len(set(ids)), "a message is listed twice"
    assert ids == sorted(ids, key=int, reverse=True), "the history is not newest first"
    missing = set(acked) - set(ids)
    assert not missing, f"{len(missing)} acknowledged messages are missing from the history"
    by_id = {m["id"]: m["content"] for m in listed}
    assert all(by_id[i] == c for i, c in acked.items())
    return ids


def test_acknowledged_messages_survive_a_sigkill_under_write_load(node):
    api = node.start()
    owner = api.user("owner")
    _, channel = api.server(owner)
    all_acked = {}
    for round_no in range(CRASHES):
        load = Load(api, owner.token, channel, round_no)
        load.start()
        time.sleep(LOAD_SECONDS)
        node.kill()
        acked, refused = load.finish()
        assert not refused, f"writes refused before the crash: {refused[:5]}"
        rest = [i for i, c in acked.items() if " rest " in c]
        chats = [i for i, c in acked.items() if " socket " in c]
        assert len(rest) >= 20 and len(chats) >= 20, f"too little load: {len(rest)} REST, {len(chats)} socket"
        all_acked.update(acked)

        api = node.start()
        ids = assert_all_there(api, owner.token, channel, all_acked)

        # The restarted server keeps minting ids above everything stored.
        after = api.ok("POST", "/messages", owner.token, {"channel_id": channel, "content": "after restart"})
        assert int(after["id"]) > int(ids[0])
        all_acked[after["id"]] = "after restart"
        chat = api.connect(owner).call("chat", {"channel_id": channel, "content": "live again"})
        assert chat["message"]["content"] == "live again"
        all_acked[chat["message"]["id"]] = "live again"
        for client in api.clients:
            client.close()
