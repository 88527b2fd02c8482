"""The Socket.IO gateway, driven by the official python-socketio client
against the real server."""

import time

import pytest
import socketio
import websocket

from conftest import WAIT, raw_socket


def guild(api):
    """owner, admin, member and outsider; a server and its general channel."""
    owner, admin, member, outsider = (api.user(n) for n in ("owner", "admin", "member", "outsider"))
    server_id, channel_id = api.server(owner)
    api.join(server_id, owner, admin, "admin")
    api.join(server_id, owner, member)
    return owner, admin, member, outsider, server_id, channel_id


# ---- handshake -----------------------------------------------------------

def refusal(api, **connect_kwargs):
    """Connects expecting a refusal; returns the connect_error data."""
    client = socketio.Client(reconnection=False)
    errors = []
    client.on("connect_error", lambda data=None: errors.append(data))
    with pytest.raises(socketio.exceptions.ConnectionError):
        client.connect(api.base, wait_timeout=WAIT, **connect_kwargs)
    assert errors, "no connect_error received"
    return errors[-1]


def test_connect_without_credentials_is_refused(api):
    assert refusal(api) == {"message": "unauthorized"}


def test_connect_with_a_bad_token_is_refused(api):
    api.user("alice")
    assert refusal(api, auth={"token": "not-a-token"}) == {"message": "unauthorized"}


def test_logged_out_token_is_refused(api):
    alice = api.user("alice")
    api.ok("POST", "/auth/logout", alice.token)
    assert refusal(api, auth={"token": alice.token}) == {"message": "unauthorized"}


def test_cookie_handshake_from_a_foreign_origin_is_refused(api):
    alice = api.user("alice")
    cookie = {"Cookie": f"guildhall_session={alice.token}"}
    # Over polling: the WebSocket client library sets its own Origin header.
    refused = refusal(api, headers={**cookie, "Origin": "https://evil.example"}, transports=["polling"])
    assert refused == {"message": "unauthorized"}
    # The same cookie from the server's own origin is accepted.
    ok = api.connect(alice, auth=False, headers={**cookie, "Origin": api.base}, transports=["polling"])
    assert ok.wait("ready")["user"]["id"] == alice.id


@pytest.mark.parametrize("transports", [["polling"], ["websocket"], ["polling", "websocket"]])
def test_every_transport_connects_and_chats(api, transports):
    owner, _, member, _, _, channel = guild(api)
    listener = api.connect(member)
    client = api.connect(owner, transports=transports)
    client.wait("ready")
    ack = client.call("chat", {"channel_id": channel, "content": f"via {transports}"})
    assert ack["message"]["content"] == f"via {transports}"
    got = listener.wait("message_create")
    assert got["id"] == ack["message"]["id"]


# ---- ready ---------------------------------------------------------------

def test_ready_has_everything_for_the_first_screen(api):
    owner, _, member, _, server_id, channel = guild(api)
    friend = api.user("friend")
    api.ok("POST", "/friendlists", member.token, {"friend_id": friend.id})
    dm = api.ok("POST", "/channels", member.token, {"recipient_id": owner.id})
    watcher = api.connect(owner)
    client = api.connect(member)
    ready = client.wait("ready")
    assert ready["user"]["id"] == member.id
    assert [s["id"] for s in ready["servers"]] == [server_id]
    channel_ids = {c["id"] for c in ready["channels"]}
    assert channel in channel_ids and dm["id"] in channel_ids
    assert [r["friend_id"] for r in ready["relationships"]] == [friend.id]
    assert {"user_id": owner.id, "status": "online"} in ready["presences"]
    assert watcher.wait("ready")


# ---- chat ----------------------------------------------------------------

def test_chat_acks_the_stored_message_and_echoes_the_nonce(api):
    owner, _, member, _, _, channel = guild(api)
    other = api.connect(member)
    client = api.connect(owner)
    ack = client.call("chat", {"channel_id": channel, "content": "hello", "nonce": "n-1"})
    message = ack["message"]
    assert message["content"] == "hello" and message["nonce"] == "n-1"
    assert message["author_id"] == owner.id
    stored = api.ok("GET", f"/messages/{message['id']}", member.token)
    assert stored["content"] == "hello"
    live = other.wait("message_create")
    assert live["id"] == message["id"] and live["nonce"] == "n-1"


def test_chat_applies_the_rest_rules(api):
    owner, _, member, outsider, _, channel = guild(api)
    client = api.connect(outsider)
    ack = client.call("chat", {"channel_id": channel, "content": "let me in"})
    assert ack["error"]["code"] == "not_found"
    mine = api.connect(member)
    for payload, code in [
        ({"channel_id": channel, "content": ""}, "invalid_field"),
        ({"channel_id": channel, "content": "x" * 4001}, "invalid_field"),
        ({"channel_id": channel}, "invalid_field"),
        ({"channel_id": "abc", "content": "hi"}, "invalid_field"),
        ({"channel_id": channel, "content": 5}, "invalid_field"),
        ("just a string", "invalid_field"),
        ([1, 2, 3], "invalid_field"),
    ]:
        ack = mine.call("chat", payload)
        assert ack["error"]["code"] == code, (payload, ack)
    assert api.ok("GET", f"/messages?channel_id={channel}", owner.token) == []


def test_messages_arrive_in_commit_order_under_a_burst(api):
    owner, _, member, _, _, channel = guild(api)
    listener = api.connect(member)
    sender = api.connect(owner)
    acked = []
    for i in range(60):
        sender.sio.emit("chat", {"channel_id": channel, "content": f"m{i}"},
                        callback=lambda ack: acked.append(ack["message"]["id"]))
    received = [listener.wait("message_create")["id"] for _ in range(60)]
    assert received == sorted(received, key=int), "delivered out of id order"
    deadline = time.time() + WAIT
    while len(acked) < 60 and time.time() < deadline:
        time.sleep(0.05)
    assert sorted(acked, key=int) == received
    history = api.ok("GET", f"/messages?channel_id={channel}&limit=100", owner.token)
    assert [m["id"] for m in reversed(history)] == received


# ---- live events ---------------------------------------------------------

def test_every_change_reaches_members_and_never_outsiders(api):
    owner, admin, member, outsider, server_id, channel = guild(api)
    watcher = api.connect(member)
    spy = api.connect(outsider)
    watcher.wait("ready")
    spy.wait("ready")

    created = api.ok("POST", "/messages", owner.token, {"channel_id": channel, "content": "one"})
    assert watcher.wait("message_create")["id"] == created["id"]
    api.ok("PUT", f"/messages/{created['id']}", owner.token, {"content": "two"})
    assert watcher.wait("message_update")["content"] == "two"
    reaction = api.ok("POST", "/emojis", admin.token, {"message_id": created["id"], "emoji": "👍"})
    assert watcher.wait("reaction_add")["id"] == reaction["id"]
    api.ok("DELETE", f"/emojis/{reaction['id']}", admin.token)
    assert watcher.wait("reaction_remove")["id"] == reaction["id"]
    api.ok("DELETE", f"/messages/{created['id']}", owner.token)
    deleted = watcher.wait("message_delete")
    assert deleted == {"id": created["id"], "channel_id": channel}

    new_channel = api.ok("POST", "/channels", admin.token, {"server_id": server_id, "name": "news"})
    assert watcher.wait("channel_create")["id"] == new_channel["id"]
    api.ok("PUT", f"/channels/{new_channel['id']}", admin.token, {"topic": "today"})
    assert watcher.wait("channel_update")["topic"] == "today"
    api.ok("DELETE", f"/channels/{new_channel['id']}", admin.token)
    assert watcher.wait("channel_delete")["id"] == new_channel["id"]

    api.ok("PUT", f"/servers/{server_id}", admin.token, {"name": "Renamed"})
    assert watcher.wait("server_update")["name"] == "Renamed"
    api.ok("PUT", f"/servers/{server_id}/members/{admin.id}", owner.token, {"role": "member"})
    assert watcher.wait("member_update")["role"] == "member"
    newcomer = api.user("newcomer")
    api.join(server_id, owner, newcomer)
    assert watcher.wait("member_join")["user_id"] == newcomer.id
    api.ok("DELETE", f"/servers/{server_id}/members/{newcomer.id}", owner.token)
    assert watcher.wait("member_leave") == {"server_id": server_id, "user_id": newcomer.id}
    api.ok("PUT", f"/users/{owner.id}", owner.token, {"display_name": "The Owner"})
    update = watcher.wait("user_update")
    assert update["display_name"] == "The Owner" and "email" not in update

    typist = api.connect(admin)
    assert typist.call("typing", {"channel_id": channel}) == {"ok": True}
    assert watcher.wait("typing") == {"channel_id": channel, "user_id": admin.id}

    api.ok("DELETE", f"/servers/{server_id}", owner.token)
    assert watcher.wait("server_delete") == {"id": server_id}

    spy.none("message_create", within=0.5)
    for event in ["message_update", "message_delete", "reaction_add", "reaction_remove",
                  "channel_create", "channel_update", "channel_delete", "server_update",
                  "server_delete", "member_join", "member_update", "member_leave",
                  "typing", "user_update"]:
        assert not [d for e, d in spy.seen if e == event], (event, spy.seen)


def test_relationship_updates_reach_both_users_only(api):
    alice, bob, carol = api.user("alice"), api.user("bob"), api.user("carol")
    a, b, c = api.connect(alice), api.connect(bob), api.connect(carol)
    for client in (a, b, c):
        client.wait("ready")
    request = api.ok("POST", "/friendlists", alice.token, {"friend_id": bob.id})
    assert a.wait("relationship_update")["status"] == "pending"
    assert b.wait("relationship_update")["id"] == request["id"]
    api.ok("PUT", f"/friendlists/{request['id']}", bob.token, {"status": "accepted"})
    assert a.wait("relationship_update")["status"] == "accepted"
    assert b.wait("relationship_update")["status"] == "accepted"
    c.none("relationship_update", within=0.5)


def test_presence_goes_to_contacts(api):
    owner, _, member, outsider, _, _ = guild(api)
    watcher = api.connect(owner)
    spy = api.connect(outsider)
    watcher.wait("ready")
    client = api.connect(member)
    assert watcher.presence_of(member.id) == "online"
    assert client.call("presence", {"status": "dnd"}) == {"ok": True}
    assert watcher.presence_of(member.id) == "dnd"
    assert client.call("presence", {"status": "offline"})["error"]["code"] == "invalid_field"
    client.close()
    assert watcher.presence_of(member.id) == "offline"
    spy.drain(0.3)
    assert not [d for e, d in spy.seen
                if e == "presence_updates" and any(u["user_id"] == member.id for u in d)]


def test_presence_changes_arrive_as_lists_naming_each_user_once(api):
    owner, admin, member, _, _, _ = guild(api)
    watcher = api.connect(owner)
    watcher.wait("ready")
    clients = [api.connect(user) for user in (admin, member)]
    for status in ("idle", "dnd", "online", "dnd"):
        for client in clients:
            assert client.call("presence", {"status": status}) == {"ok": True}
    latest = {}
    deadline = time.time() + WAIT
    while (latest.get(admin.id), latest.get(member.id)) != ("dnd", "dnd"):
        updates = watcher.wait("presence_updates", timeout=max(0.1, deadline - time.time()))
        named = [u["user_id"] for u in updates]
        assert len(named) == len(set(named)), f"a user named twice in one list: {updates}"
        assert all(set(u) == {"user_id", "status"} for u in updates), updates
        latest.update({u["user_id"]: u["status"] for u in updates})


# ---- membership changes take effect live ---------------------------------

def test_joining_and_being_kicked_change_what_a_socket_receives(api):
    owner, _, _, _, server_id, channel = guild(api)
    newcomer = api.user("newcomer")
    client = api.connect(newcomer)
    client.wait("ready")
    api.ok("POST", "/messages", owner.token, {"channel_id": channel, "content": "before"})
    client.none("message_create", within=0.3)

    api.join(server_id, owner, newcomer)
    api.ok("POST", "/messages", owner.token, {"channel_id": channel, "content": "welcome"})
    assert client.wait("message_create")["content"] == "welcome"

    api.ok("DELETE", f"/servers/{server_id}/members/{newcomer.id}", owner.token)
    assert client.wait("member_leave")["user_id"] == newcomer.id
    api.ok("POST", "/messages", owner.token, {"channel_id": channel, "content": "after kick"})
    client.none("message_create", within=0.5)


def test_a_new_dm_is_live_for_both_users(api):
    alice, bob = api.user("alice"), api.user("bob")
    a, b = api.connect(alice), api.connect(bob)
    a.wait("ready")
    b.wait("ready")
    dm = api.ok("POST", "/channels", alice.token, {"recipient_id": bob.id})
    assert b.wait("channel_create")["id"] == dm["id"]
    ack = a.call("chat", {"channel_id": dm["id"], "content": "psst"})
    assert ack["message"]["content"] == "psst"
    assert b.wait("message_create")["content"] == "psst"


# ---- misbehaving clients -------------------------------------------------

def test_malformed_packets_get_errors_and_do_not_hurt_others(api):
    owner, _, member, _, _, channel = guild(api)
    listener = api.connect(member)
    listener.wait("ready")
    ws = raw_socket(api, owner.token)
    for junk in ["42[bad json", "42{}", '42["chat"', "4299999999999999999999[]", "9", "", '42[1,2]', '421["nope",{}]']:
        try:
            ws.send(junk)
        except (BrokenPipeError, ConnectionResetError, websocket.WebSocketConnectionClosedException):
            break  # the server closed this connection over a bad packet: allowed
    ws.close()
    # The server still serves everyone else.
    ack = api.connect(owner).call("chat", {"channel_id": channel, "content": "still up"})
    assert ack["message"]["content"] == "still up"
    assert listener.wait("message_create")["content"] == "still up"


def test_unknown_events_get_an_error_ack(api):
    alice = api.user("alice")
    client = api.connect(alice)
    assert client.call("no_such_event", {})["error"]["code"] == "unknown_event"


def test_a_flood_gets_error_acks_then_a_disconnect(api):
    owner, _, _, _, _, channel = guild(api)
    client = api.connect(owner)
    client.wait("ready")
    codes = []
    for i in range(200):
        if not client.sio.connected:
            break
        try:
            ack = client.call("typing", {"channel_id": channel}, timeout=2)
        except (socketio.exceptions.TimeoutError, socketio.exceptions.BadNamespaceError):
            break
        codes.append(ack.get("error", {}).get("code", "ok"))
    assert "rate_limited" in codes
    assert codes[:100].count("ok") >= 100, "the first events are served"
    deadline = time.time() + WAIT
    while client.sio.connected and time.time() < deadline:
        time.sleep(0.05)
    assert not client.sio.connected, "a flooding socket is disconnected"


def test_a_socket_that_stops_reading_does_not_slow_others(api):
    owner, _, member, _, _, channel = guild(api)
    # A raw client that completes the handshake, then never reads again.
    stalled = raw_socket(api, member.token)
    listener = api.connect(member)
    listener.wait("ready")
    big = "x" * 3900
    started = time.time()
    for i in range(300):
        api.ok("POST", "/messages", owner.token, {"channel_id": channel, "content": f"{i} {big}"})
    for _ in range(300):
        listener.wait("message_create")
    assert time.time() - started < 60
    # It answered no heartbeat, so the server dropped it: reading now
    # yields what was queued, then the end of the connection.
    time.sleep(5)
    stalled.settimeout(10)
    with pytest.raises((websocket.WebSocketConnectionClosedException, ConnectionError)):
        while True:
            if stalled.recv() == "":
                raise websocket.WebSocketConnectionClosedException()
