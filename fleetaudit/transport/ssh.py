"""SSH transport through Fabric's Connection (paramiko underneath), with verified host keys.

One connection per host; a watchdog closes it at the host's deadline so a host that accepts TCP and then never
answers costs at most that deadline. Every failure becomes a ``TransportError(status, reason)``.
"""

from __future__ import annotations

import logging
import math
import shlex
import socket
import threading
import time
from typing import Any, Callable, Dict, Optional, Tuple

import paramiko
from fabric import Config, Connection

from fleetaudit.model import Host
from fleetaudit.transport.base import ByteStream, CommandResult, ConnectOptions, TransportError, read_all
from fleetaudit.transport.hostkeys import UnknownHostKey, VerifyingPolicy, changed_reason, load_known_hosts

# paramiko logs a traceback for every failed handshake; the failure is reported as a host status instead.
logging.getLogger("paramiko").addHandler(logging.NullHandler())


_CLOSE_ERRORS = (EOFError, OSError, paramiko.SSHException)


class ChannelStream:
    """The stdout of one remote command on a paramiko channel."""

    def __init__(self, channel: paramiko.Channel) -> None:
        self.channel = channel

    def read(self, size: int, timeout: float) -> bytes:
        """Return up to ``size`` bytes; raise TimeoutError when nothing arrives within ``timeout`` s."""
        self.channel.settimeout(max(timeout, 0.01))
        try:
            return bytes(self.channel.recv(size))
        except socket.timeout as exc:
            raise TimeoutError(f"no data within {timeout:.0f} s") from exc

    def finish(self, timeout: float) -> Tuple[Optional[int], bytes]:
        """Wait for the exit status and return it with up to 64 KiB of stderr."""
        if not self.channel.status_event.wait(max(timeout, 0.01)):
            return None, self._stderr()
        return self.channel.recv_exit_status(), self._stderr()

    def _stderr(self) -> bytes:
        """Return what stderr is buffered (capped)."""
        out = b""
        while self.channel.recv_stderr_ready() and len(out) < 65536:
            out += self.channel.recv_stderr(65536)
        return out[:65536]

    def abort(self) -> None:
        """Close the channel; a connection that is already dead (reset, closed at the deadline) is fine."""
        try:
            self.channel.close()
        except _CLOSE_ERRORS as exc:
            logging.getLogger(__name__).debug("closing a dead channel: %s", exc)


class SSHTransport:
    """An open SSH connection to one host; reused for every source of that host."""

    kind = "ssh"

    def __init__(self, conn: Connection, label: str, deadline: Optional[float]) -> None:
        self.conn = conn
        self.label = label
        self.deadline = deadline
        self.expired = False
        self._timer: Optional[threading.Timer] = None
        if deadline is not None:
            self._timer = threading.Timer(max(deadline - time.monotonic(), 0.0), self._expire)
            self._timer.daemon = True
            self._timer.start()

    def _expire(self) -> None:
        """Close the connection when the host's deadline passes (unblocks any read)."""
        self.expired = True
        self._close_conn()

    def open(self) -> None:
        """Open the connection, turning every failure into a TransportError."""
        try:
            self.conn.open()
        except Exception as exc:  # per-connection boundary: every failure becomes a status
            cause = self._root_cause(exc)
            self.close()
            if self.expired:
                raise TransportError("timeout", "no SSH session before the host deadline") from exc
            raise classify(cause, self.label) from exc

    def _root_cause(self, exc: BaseException) -> BaseException:
        """Return the transport thread's own error when paramiko reports only its aftermath."""
        transport = self.conn.client.get_transport()
        saved = getattr(transport, "saved_exception", None) if transport is not None else None
        if isinstance(saved, BaseException) and "No existing session" in str(exc):
            return saved
        if transport is not None and not getattr(transport, "remote_version", "") and \
                isinstance(exc, paramiko.SSHException) and "No existing session" in str(exc):
            return paramiko.SSHException("Error reading SSH protocol banner")
        return exc

    def open_stream(self, script: str) -> ByteStream:
        """Start ``script`` under ``sh -c`` and return its stdout stream."""
        transport = self.conn.client.get_transport()
        if transport is None or not transport.is_active():
            raise TransportError("error", "the SSH connection is closed")
        channel = transport.open_session(timeout=30.0)
        channel.exec_command("sh -c " + shlex.quote(script))
        return ChannelStream(channel)

    def run(self, command: str, timeout: float, max_bytes: int) -> CommandResult:
        """Run one command; return capped stdout, stderr and the exit code."""
        stream = self.open_stream(command)
        try:
            out, truncated = read_all(stream, timeout, max_bytes)
        except TimeoutError:
            stream.abort()
            return CommandResult(b"", b"", None, timed_out=True)
        code, err = stream.finish(timeout)
        return CommandResult(out, err, code, truncated=truncated, timed_out=code is None)

    def _close_conn(self) -> None:
        """Close the client (also mid-handshake, which Fabric's close() skips) and its gateway, if any."""
        try:
            self.conn.client.close()
            self.conn.close()
            gateway = self.conn.gateway
            if isinstance(gateway, Connection):
                gateway.close()
        except _CLOSE_ERRORS as exc:   # closing a connection that already died
            logging.getLogger(__name__).debug("closing a dead connection: %s", exc)

    def close(self) -> None:
        """Stop the watchdog and close the connection; safe to call twice."""
        if self._timer is not None:
            self._timer.cancel()
        self._close_conn()


def classify(exc: BaseException, label: str) -> TransportError:
    """Map a connect-time exception to a transport status with a one-line reason."""
    if isinstance(exc, TransportError):
        return exc
    if isinstance(exc, UnknownHostKey):
        return TransportError("hostkey_unknown", exc.reason)
    if isinstance(exc, paramiko.BadHostKeyException):
        return TransportError("hostkey_changed", changed_reason(exc))
    if isinstance(exc, paramiko.AuthenticationException):
        return TransportError("auth_failed", f"{label}: authentication refused ({_text(exc)})")
    if isinstance(exc, paramiko.SSHException) and "No authentication methods available" in _text(exc):
        return TransportError("auth_failed", f"{label}: no key to offer (set identity_file, or load the key into "
                                             "ssh-agent)")
    if isinstance(exc, paramiko.ssh_exception.NoValidConnectionsError):
        return TransportError("unreachable", f"{label}: connection refused")
    return _classify_os(exc, label)


def _classify_os(exc: BaseException, label: str) -> TransportError:
    """Map socket-level and remaining SSH errors to a status."""
    if isinstance(exc, socket.gaierror):
        return TransportError("unreachable", f"{label}: cannot resolve the address ({_text(exc)})")
    if isinstance(exc, socket.timeout):
        return TransportError("unreachable", f"{label}: no answer to the TCP connection (timed out)")
    if isinstance(exc, ConnectionRefusedError):
        return TransportError("unreachable", f"{label}: connection refused")
    if isinstance(exc, OSError):
        return TransportError("unreachable", f"{label}: {_text(exc)}")
    text = _text(exc)
    if isinstance(exc, paramiko.SSHException) and "banner" in text.lower():
        return TransportError("timeout", f"{label}: accepted TCP but sent no SSH banner in time ({text})")
    if isinstance(exc, EOFError):
        return TransportError("error", f"{label}: the server closed the connection during the handshake")
    return TransportError("error", f"{label}: {type(exc).__name__}: {text}")


def _text(exc: BaseException) -> str:
    """Return an exception's message on one line."""
    text = str(exc).strip() or type(exc).__name__
    return " ".join(text.split())


def _connect_kwargs(host: Host, options: ConnectOptions) -> Dict[str, Any]:
    """Return the paramiko connect() arguments for a host."""
    kwargs: Dict[str, Any] = {
        "allow_agent": options.allow_agent,
        "look_for_keys": options.look_for_keys,
        "banner_timeout": options.banner_timeout,
        "auth_timeout": options.auth_timeout,
    }
    if host.identity_file:
        kwargs["key_filename"] = [host.identity_file]
    return kwargs


def _connection(target: str, user: Optional[str], port: Optional[int], host: Host, options: ConnectOptions,
                gateway: Optional[Connection]) -> Connection:
    """Build one Fabric Connection with verified host keys (its ssh config already applied by us)."""
    conn = Connection(target, user=user, port=port, config=Config(ssh_config=paramiko.SSHConfig()),
                      gateway=gateway, connect_timeout=max(1, math.ceil(options.connect_timeout)),
                      connect_kwargs=_connect_kwargs(host, options))
    conn.client.set_missing_host_key_policy(VerifyingPolicy(options.trust_new_hosts, options.trust_file))
    load_known_hosts(conn.client, options.known_hosts_files(host.known_hosts))
    return conn


def _resolved(host: Host, options: ConnectOptions) -> Host:
    """Apply ~/.ssh/config to the host when asked to."""
    if not options.use_ssh_config:
        return host
    from fleetaudit.sshconfig import resolve_ssh_config  # noqa: PLC0415 - optional sibling module

    return resolve_ssh_config(host, options.ssh_config_path)


def _gateway(jump: Optional[str], host: Host, options: ConnectOptions) -> Optional[Connection]:
    """Return a gateway Connection for a ProxyJump spec (``user@host:port`` or an ssh-config alias)."""
    if not jump:
        return None
    hop = _resolved(Host(name=jump, address=jump), options) if options.use_ssh_config else Host(name=jump)
    target = hop.address or jump
    port = hop.port if hop.port != 22 else None
    return _connection(target, hop.user, port, host, options, None)


def connect(host: Host, options: ConnectOptions, deadline: Optional[float] = None,
            register: Optional[Callable[[SSHTransport], None]] = None) -> SSHTransport:
    """Open a verified SSH connection to ``host``; raise TransportError(status, reason) on failure.

    ``deadline`` is a ``time.monotonic()`` instant after which the connection is closed, whatever it is doing.
    ``register`` is called with the transport before it connects (so that Ctrl-C can close it mid-handshake).
    """
    resolved = _resolved(host, options)
    target = resolved.address or resolved.name
    try:
        gateway = _gateway(resolved.jump, resolved, options)
        conn = _connection(target, resolved.user, resolved.port, resolved, options, gateway)
    except (ValueError, OSError, paramiko.SSHException) as exc:
        raise TransportError("error", f"{host.name}: bad connection settings ({_text(exc)})") from exc
    transport = SSHTransport(conn, f"{target}:{resolved.port}", deadline)
    if register is not None:
        register(transport)
    transport.open()
    return transport
