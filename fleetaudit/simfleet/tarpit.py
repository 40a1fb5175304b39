"""A host that accepts TCP connections and never sends a byte (an SSH client waits for the banner forever)."""

from __future__ import annotations

import select
import socket
import threading
from typing import List, Optional


class Tarpit:
    """A listening socket served by one daemon thread; ``stop()`` closes it and every accepted connection."""

    def __init__(self, address: str, port: int) -> None:
        self.address = address
        self.port = port
        self._sock: Optional[socket.socket] = None
        self._conns: List[socket.socket] = []
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None

    def start(self) -> None:
        """Bind, listen and start accepting."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.address, self.port))
        sock.listen(64)
        self._sock = sock
        self._thread = threading.Thread(target=self._serve, name=f"tarpit-{self.address}", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        """Accept connections until stopped; hold them open and silent."""
        while not self._stop.is_set() and self._sock is not None:
            try:
                ready, _, _ = select.select([self._sock], [], [], 0.1)
                if ready:
                    conn, _ = self._sock.accept()
                    self._conns.append(conn)
            except (OSError, ValueError):
                return

    @property
    def running(self) -> bool:
        """Return True while the tarpit accepts connections."""
        return self._thread is not None and self._thread.is_alive()

    def stop(self) -> None:
        """Stop accepting, close the listener and every held connection (idempotent)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        for conn in self._conns + ([self._sock] if self._sock else []):
            conn.close()
        self._conns, self._sock = [], None
