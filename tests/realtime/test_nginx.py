"""Two Guildhall nodes on one PostgreSQL database and one Redis, behind
nginx configured with the example the project ships
(deploy/nginx/guildhall.conf), with official python-socketio clients over
both transports: long-polling (which needs nginx's stickiness) and
WebSocket. Clients come from different loopback addresses so that nginx
sends them to different nodes."""

import contextlib
import os
import re
import secrets
import shutil
import socket
import subprocess
import time

import requests

from conftest import ROOT, WAIT, Api, Client, free_port, fresh_database, run_server

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
EXAMPLE = ROOT / "deploy" / "nginx" / "guildhall.conf"
REDIS_URL = os.environ.get("GUILDHALL_TEST_REDIS_URL", "redis://127.0.0.1:6379/")


class SourceAddress(requests.adapters.HTTPAdapter):
    """Sends from `address`, as a client on another machine would."""

    def __init__(self, address):
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


def session_from(address):
    session = requests.Session()
    session.mount("http://", SourceAddress(address))
    return session


@contextlib.contextmanager
def nginx_in_front_of(tmp_path, nodes):
    """nginx with the shipped example, its node addresses and port
    replaced; yields its base URL."""
    port = free_port()
    site = EXAMPLE.read_text()
    site = site.replace("127.0.0.1:8081", nodes[0]).replace("127.0.0.1:8082", nodes[1])
    site, count = re.subn(r"listen 8080;", f"listen 127.0.0.1:{port};", site)
    assert count == 1, "the example's listen line moved"
    (tmp_path / "guildhall.conf").write_text(site)
    temp = {name: tmp_path / name for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi")}
    for path in temp.values():
        path.mkdir()
    user = "user root;" if os.geteuid() == 0 else ""
    (tmp_path / "nginx.conf").write_text(f"""
{user}
daemon off;
worker_processes 1;
pid {tmp_path}/nginx.pid;
error_log {tmp_path}/nginx-error.log warn;
events {{}}
http {{
    access_log off;
    client_body_temp_path {temp['body']};
    proxy_temp_path {temp['proxy']};
    fastcgi_temp_path {temp['fastcgi']};
    uwsgi_temp_path {temp['uwsgi']};
    scgi_temp_path {temp['scgi']};
    include {tmp_path}/guildhall.conf;
}}
""")
    proc = subprocess.Popen([NGINX, "-c", str(tmp_path / "nginx.conf"), "-p", str(tmp_path)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if time.time() > deadline or proc.poll() is not None:
                raise RuntimeError("nginx did not start: " + proc.stderr.read().decode())
            time.sleep(0.05)
    try:
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def node_of(base, address):
    """The node nginx sends Socket.IO requests from `address` to."""
    res = session_from(address).get(base + "/socket.io/?EIO=4&transport=polling", timeout=WAIT)
    assert res.status_code == 200, res.text
    return res.headers["x-guildhall-upstream"]


def connect(base, user, address, transport):
    """An official client, connected from `address` over `transport` only."""
    options = {"http_session": session_from(address)}
    if transport == "websocket":
        host, port = base.removeprefix("http://").split(":")
        options["websocket_extra_options"] = {
            "socket": socket.create_connection((host, int(port)), timeout=WAIT,
                                               source_address=(address, 0)),
        }
    client = Client(**options)
    client.sio.connect(base, auth={"token": user.token}, transports=[transport], wait_timeout=WAIT)
    return client


def test_two_nodes_behind_nginx_over_both_transports(tmp_path):
    prefix = "guildhall-test-" + secrets.token_hex(8)
    args = ["--redis-url", REDIS_URL, "--redis-prefix", prefix, "--trusted-proxy", "127.0.0.1"]
    # Several nodes need PostgreSQL, whatever the pass.
    with fresh_database(tmp_path, "postgres") as database_url, contextlib.ExitStack() as stack:
        stack.callback(forget_redis_keys, prefix)
        nodes = [stack.enter_context(node(tmp_path, database_url, args, name))
                 for name in ("node-a", "node-b")]
        addresses = [n.base.removeprefix("http://") for n in nodes]
        base = stack.enter_context(nginx_in_front_of(tmp_path, addresses))
        api = Api(base)
        # Client addresses that nginx sends to each node.
        where = {}
        for last in range(1, 60):
            address = f"127.0.0.{last}"
            where.setdefault(node_of(base, address), address)
            if len(where) == 2:
                break
        assert sorted(where) == sorted(addresses), f"nginx used one node only: {where}"
        near_a, near_b = where[addresses[0]], where[addresses[1]]

        owner, member, friend = api.user("owner"), api.user("member"), api.user("friend")
        server_id, channel_id = api.server(owner)
        api.join(server_id, owner, member)
        api.join(server_id, owner, friend)
        polling_on_a = connect(base, member, near_a, "polling")
        websocket_on_b = connect(base, owner, near_b, "websocket")
        polling_on_b = connect(base, friend, near_b, "polling")
        for client in (polling_on_a, websocket_on_b, polling_on_b):
            stack.callback(client.close)
            client.wait("ready")
            assert client.sio.transport() in ("polling", "websocket")
        assert polling_on_a.sio.transport() == "polling"
        assert websocket_on_b.sio.transport() == "websocket"

        # Several events each way: a long-polling session spans many
        # requests, every one of which must reach its node.
        for i in range(5):
            sent = websocket_on_b.call("chat", {"channel_id": channel_id, "content": f"from B {i}"})
            assert "message" in sent, sent
            for client in (polling_on_a, polling_on_b):
                got = client.wait("message_create", where=lambda m, i=i: m["content"] == f"from B {i}")
                assert got["id"] == sent["message"]["id"]
            sent = polling_on_a.call("chat", {"channel_id": channel_id, "content": f"from A {i}"})
            assert "message" in sent, sent
            got = websocket_on_b.wait("message_create", where=lambda m, i=i: m["content"] == f"from A {i}")
            assert got["id"] == sent["message"]["id"]


def forget_redis_keys(prefix):
    """Deletes the keys the nodes left under `prefix`."""
    subprocess.run(["redis-cli", "-u", REDIS_URL, "EVAL",
                    "for _, k in ipairs(redis.call('KEYS', ARGV[1])) do redis.call('DEL', k) end",
                    "0", prefix + ":*"], check=True, capture_output=True)


@contextlib.contextmanager
def node(tmp_path, database_url, args, name):
    """A node, stopped on exit."""
    running = run_server(tmp_path, database_url, extra_args=args, name=name)
    api = next(running)
    try:
        yield api
    finally:
        next(running, None)
