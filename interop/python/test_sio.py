"""The PyPI python-socketio 5.x client against the Socket.IO echo server at SIO_URL.

A second, independent client implementation: connect, auth echo, events, acks both ways,
binary round trips and namespaces, over WebSocket only and over long-polling only.
"""

import os
import queue
import uuid

import pytest
import socketio

WAIT_S = 5.0
TRANSPORTS = ["websocket", "polling"]


def _env(name, default=None):
    value = os.environ.get(name, default)
    if not value:
        raise RuntimeError(
            f"environment variable {name} is not set: the base URL of a Socket.IO echo server, "
            "e.g. http://127.0.0.1:3000 (see interop/README.md)"
        )
    return value


SIO_URL = _env("SIO_URL")
SIO_PATH = os.environ.get("SIO_PATH") or "/socket.io/"


class Inbox:
    """Collects the arguments of chosen events into one queue per event name."""

    def __init__(self, client, namespace="/"):
        self.client = client
        self.namespace = namespace
        self.queues = {}

    def watch(self, event):
        q = self.queues.setdefault(event, queue.Queue())

        def handler(*args):
            q.put(args)

        self.client.on(event, handler, namespace=self.namespace)
        return self

    def next(self, event, timeout=WAIT_S):
        try:
            return self.queues[event].get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f'no "{event}" on {self.namespace} within {timeout} s') from None


@pytest.fixture
def make_client():
    """Creates clients (no reconnection) and disconnects them all after the test."""
    clients = []

    def make():
        client = socketio.Client(reconnection=False, request_timeout=WAIT_S)
        clients.append(client)
        return client

    yield make
    for client in clients:
        try:
            client.disconnect()
        except Exception:  # noqa: BLE001 - best-effort cleanup
            pass


def connect(client, transport, **kwargs):
    client.connect(
        SIO_URL,
        socketio_path=SIO_PATH,
        transports=[transport],
        wait_timeout=WAIT_S,
        **kwargs,
    )
    assert client.connected
    assert client.transport() == transport


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_connect_and_auth_echo_empty(make_client, transport):
    client = make_client()
    inbox = Inbox(client).watch("auth")
    connect(client, transport)
    assert inbox.next("auth") == ({},)
    assert client.get_sid() and client.get_sid() != client.eio.sid


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_auth_echo_object(make_client, transport):
    client = make_client()
    inbox = Inbox(client).watch("auth")
    auth = {"token": "py", "nested": {"list": [1, "two", None, True]}}
    connect(client, transport, auth=auth)
    assert inbox.next("auth") == (auth,)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_event_round_trip(make_client, transport):
    client = make_client()
    inbox = Inbox(client).watch("auth").watch("message-back")
    connect(client, transport)
    inbox.next("auth")
    args = ("text ✓", 42, 4.5, {"k": [True, None, "x"]}, ["a", 1])
    client.emit("message", args)
    assert inbox.next("message-back") == args
    client.emit("message", "single")
    assert inbox.next("message-back") == ("single",)
    for i in range(10):
        client.emit("message", (i, f"n{i}"))
    assert [inbox.next("message-back") for _ in range(10)] == [(i, f"n{i}") for i in range(10)]


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_ack_with_call(make_client, transport):
    client = make_client()
    connect(client, transport)
    assert client.call("message-with-ack", "one", timeout=WAIT_S) == "one"
    assert client.call("message-with-ack", ("a", 2, {"b": [3]}), timeout=WAIT_S) == ("a", 2, {"b": [3]})
    with pytest.raises(socketio.exceptions.TimeoutError):
        client.call("no-such-event", "x", timeout=0.5)
    assert client.call("message-with-ack", "still-ok", timeout=WAIT_S) == "still-ok"


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_binary_round_trip(make_client, transport):
    client = make_client()
    inbox = Inbox(client).watch("auth").watch("message-back")
    connect(client, transport)
    inbox.next("auth")
    blob = bytes(range(256)) * 4
    small = b"\x00\x1e\xff"
    client.emit("message", (blob, {"nested": [small, "x"]}, "tail"))
    back = inbox.next("message-back")
    assert back == (blob, {"nested": [small, "x"]}, "tail")
    assert isinstance(back[0], bytes)
    assert client.call("message-with-ack", ({"file": small},), timeout=WAIT_S) == {"file": small}


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_server_initiated_ack(make_client, transport):
    client = make_client()
    inbox = Inbox(client).watch("answer")
    questions = []

    @client.on("question")
    def on_question(q):
        questions.append(q)
        return f"py:{q}"

    connect(client, transport)
    client.emit("ask")
    assert inbox.next("answer") == ("py:q1",)
    assert questions == ["q1"]


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_namespaces_share_one_connection(make_client, transport):
    client = make_client()
    root = Inbox(client, "/").watch("auth").watch("message-back")
    custom = Inbox(client, "/custom").watch("auth").watch("message-back")
    connect(client, transport, namespaces=["/", "/custom"], auth={"who": "py"})
    assert root.next("auth") == ({"who": "py"},)
    assert custom.next("auth") == ({"who": "py"},)
    tag = str(uuid.uuid4())
    client.emit("message", tag, namespace="/custom")
    assert custom.next("message-back") == (tag,)
    assert client.call("message-with-ack", tag, namespace="/", timeout=WAIT_S) == tag
    assert root.queues["message-back"].empty()


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_secure_namespace_refusal_and_success(make_client, transport):
    refused = make_client()
    errors = queue.Queue()
    refused.on("connect_error", lambda *args: errors.put(args), namespace="/secure")
    with pytest.raises(socketio.exceptions.ConnectionError):
        connect(refused, transport, namespaces=["/secure"], auth={"token": "bad"})
    (data,) = errors.get(timeout=WAIT_S)
    assert data == {"message": "not authorized", "data": {"reason": "token"}}

    accepted = make_client()
    inbox = Inbox(accepted, "/secure").watch("auth")
    connect(accepted, transport, namespaces=["/secure"], auth={"token": "good"})
    assert inbox.next("auth") == ({"token": "good"},)
    assert accepted.call("message-with-ack", "in", namespace="/secure", timeout=WAIT_S) == "in"
