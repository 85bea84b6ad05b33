"""The node-worker pipe: message framing and the few conventions both sides follow.

Each message is a pickled ``(request_id, payload)`` pair, framed as ``multiprocessing``'s
``Connection`` frames it (a 4-byte big-endian length, then the pickle):

- node -> worker: ``(request_id > 0, command)``; ``STOP`` asks the worker to close its
  recordings and end;
- worker -> node: ``(request_id, reply)`` for each command, in completion order;
  ``(EVENT_ID, event)`` for an unsolicited ``MediaEvent`` (DTMF, playback, capture); and
  ``(FINAL_ID, Done())`` as its last message, once its recordings are closed.

This module is shared by both ends of the pipe (``pool.py`` in the node, ``process.py`` in
the worker) and by nothing else; it knows no command.
"""

from __future__ import annotations

import asyncio
import multiprocessing.connection
import os
import pickle
import struct
import time
from collections.abc import Callable
from typing import Any

#: Request id of unsolicited events from a worker, and of the node's ``STOP``.
EVENT_ID = 0
#: Request id of a worker's last message, sent after it closed its recordings.
FINAL_ID = -1
#: The node's message that ends a worker.
STOP: tuple[int, None] = (EVENT_ID, None)

_LENGTH = struct.Struct("!i")  # Connection's frame header


class MessageChannel:
    """Pickled messages over one end of the node-worker socket pair, without ever blocking
    either event loop.

    ``Connection.send``/``recv`` write and read a length header and a pickle with plain
    system calls. The loop's reader watch makes the descriptor non-blocking (libuv does), and
    then a full pipe raises EAGAIN half-way through a message: under load a reply was lost and
    its caller waited forever. Made blocking instead, node and worker can each wait to write
    to the other while neither reads: a deadlock. So both sides buffer: writes go out as far
    as the pipe takes them and the rest when it is writable again; reads collect bytes until
    a whole message is there. The framing is ``Connection``'s (a 4-byte big-endian length).
    """

    def __init__(
        self,
        connection: multiprocessing.connection.Connection,
        on_message: Callable[[Any], None],
        on_closed: Callable[[], None],
    ) -> None:
        self.connection = connection  # keeps the descriptor open
        self._fd = connection.fileno()
        self._on_message = on_message
        self._on_closed = on_closed
        self._loop = asyncio.get_running_loop()
        self._in = bytearray()
        self._out = bytearray()
        self._writing = False
        self.closed = False
        os.set_blocking(self._fd, False)
        self._loop.add_reader(self._fd, self._readable)

    def send(self, message: object) -> None:
        if self.closed:
            raise OSError("the other side is gone")
        data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        self._out += _LENGTH.pack(len(data)) + data
        self._write()

    def _write(self) -> None:
        try:
            sent = os.write(self._fd, self._out) if self._out else 0
        except BlockingIOError:
            sent = 0
        except OSError:
            self._close()
            return
        del self._out[:sent]
        if self._out and not self._writing:
            self._loop.add_writer(self._fd, self._write)
            self._writing = True
        elif not self._out and self._writing:
            self._loop.remove_writer(self._fd)
            self._writing = False

    def _readable(self) -> None:
        try:
            chunk = os.read(self._fd, 1 << 18)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        if not chunk:
            self._close()
            return
        self._in += chunk
        while len(self._in) >= _LENGTH.size:
            (size,) = _LENGTH.unpack_from(self._in)
            if len(self._in) < _LENGTH.size + size:
                break
            message = pickle.loads(self._in[_LENGTH.size : _LENGTH.size + size])
            del self._in[: _LENGTH.size + size]
            self._on_message(message)

    def flush_blocking(self, timeout: float = 5.0) -> None:
        """Push out what is buffered before the process ends (shutdown only)."""
        deadline = time.monotonic() + timeout
        while self._out and not self.closed and time.monotonic() < deadline:
            self._write()
            if self._out:
                time.sleep(0.01)

    def _close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self._loop.remove_reader(self._fd)
        if self._writing:
            self._loop.remove_writer(self._fd)
        self._on_closed()

    def close(self) -> None:
        self._close()
        self.connection.close()
