"""Who this bot process is, as the other replicas see it, and whether another one is gone.

A replica's id is ``<host>:<pid>:<process token>:<n>``. The token is drawn once per OS process (and
again after a fork), so a restarted container whose bot is PID 1 again is still told apart from its
previous, dead incarnation; ``n`` tells apart several bots in one process (tests do that).

`owner_is_gone` answers only what this machine can know for sure: an owner on *this host* whose
process no longer exists (or is a zombie), or an earlier incarnation of this very PID. Owners on
other hosts are judged by their leases alone. Replicas must therefore have distinct host names
(Docker and Kubernetes give every container its own); ``REPLICA_HOST`` overrides the name.
"""

from __future__ import annotations

import itertools
import os
import socket
import threading
import uuid
from dataclasses import dataclass

_lock = threading.Lock()
_process: dict[str, object] = {"pid": None, "token": ""}
_counter = itertools.count(1)


def process_token() -> str:
    """A random token for this OS process (drawn again in a forked child)."""
    with _lock:
        if _process["pid"] != os.getpid():
            _process["pid"], _process["token"] = os.getpid(), uuid.uuid4().hex[:10]
        return str(_process["token"])


@dataclass(frozen=True)
class ReplicaIdentity:
    host: str
    pid: int
    token: str
    n: int

    @classmethod
    def for_this_process(cls, host: str | None = None) -> ReplicaIdentity:
        name = (host or socket.gethostname() or "localhost").replace(":", "_")
        return cls(host=name, pid=os.getpid(), token=process_token(), n=next(_counter))

    @property
    def id(self) -> str:
        return f"{self.host}:{self.pid}:{self.token}:{self.n}"

    def owner_is_gone(self, owner: str) -> bool:
        """True when ``owner`` is certainly dead: same host and its process is gone, or it is an
        earlier incarnation of a PID this host reuses now. False when unsure (other hosts)."""
        parts = owner.rsplit(":", 3)
        if len(parts) != 4 or not parts[1].isdigit():
            return False
        host, pid, token = parts[0], int(parts[1]), parts[2]
        if host != self.host:
            return False
        if pid == self.pid:
            return token != self.token  # this PID, another process: our predecessor
        return not process_exists(pid)


def process_exists(pid: int) -> bool:
    """Does process ``pid`` exist on this machine (and is it not a zombie)?"""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: it exists
        return True
    try:  # a killed child nobody has reaped yet is a zombie: gone for our purposes
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            return f.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except (OSError, IndexError):
        return True
