"""The parent message at the ack: an analysis shows up in the channel at once, before a worker is free.

`/chimera analyze` (or a mention) is acknowledged as soon as its task is in the database
(`bot.flows.intake`). Right after the ack, off the listener threads, `post_at_ack` posts the
analysis' one parent message — "queued, position 3 in line" when every worker is busy, "starting…"
when one is free — tagged with the task's key, and records it on the task
(`Tasks.set_ack_message`). The task is not claimed while that post is under way (its ``ack_until``,
at most `ACK_POST_WAIT_S`), so the worker that claims it carries on in that message
(`bot.flows.analysis_job`): there is never a second parent.

- The post fails (a Slack error), or cannot even be started (the side pool is full): the wait is
  lifted (`Tasks.clear_ack_wait`) and the worker posts the parent itself, as before.
- The post outlasts the wait, or this replica dies between posting and recording it: the worker
  looks in Slack for the message tagged with the task's key and carries on in it (as a take-over
  does, `bot.flows.tasks.message_of`); a post that loses even that race is deleted once the
  worker's own message is recorded.
- While the task waits, `QueuePositions` keeps its position current: when it changes, at most one
  edit per second per message, until a worker claims it (here: `QueuePositions.adopt`, which waits
  for an edit in flight; on another replica: seen at the next look, within ``poll_s``, and checked
  again right before each edit). Position edits go out in one try with a short timeout
  (`POSITION_EDIT_TIMEOUT_S`), and a worker whose message showed a place in line makes its last edit
  no sooner than `POSITION_EDIT_SETTLE_S` after its claim: an edit that raced the claim never has the
  last word.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from bot.core.records import Task
from bot.errors import ChimeraError, SlackCallFailed
from bot.flows.ports import SlackPoster, Tasks

log = logging.getLogger(__name__)

# A claim waits this long at most for the message being posted at the ack (then looks in Slack).
ACK_POST_WAIT_S = 5.0
# How long a post that lost the race waits for the worker's own message to be recorded.
LOST_RACE_WAIT_S = 10.0
# A position edit is made right after a look found its task still queued, in one try (no retry,
# no waiting out a 429) with this timeout: it lands within about this long of that look, or not.
POSITION_EDIT_TIMEOUT_S = 2.0
# So the worker that claims a task whose message showed a place in line makes its last edit at
# least this long after its claim: a position edit from any replica that raced the claim has
# landed by then, and the worker's text wins (`bot.flows.analysis_job`).
POSITION_EDIT_SETTLE_S = POSITION_EDIT_TIMEOUT_S + 1.0

ParentText = Callable[[int], str]  # the parent's text at a queue position (0: starting)


@dataclass(frozen=True)
class Accepted:
    """A request intake queued: what the ack says, and the parent message to post after it."""

    confirmation: str
    task: Task
    position: int  # 0: a worker is free; n: n-th in line
    lane: tuple[str, ...]  # the kinds that share its workers (its line)
    parent: ParentText


@dataclass
class _Shown:
    """A parent message showing its task's place in line."""

    task_id: int
    channel: str
    ts: str
    position: int
    lane: tuple[str, ...]
    text: ParentText
    edited_at: float
    lock: threading.Lock = field(default_factory=threading.Lock)
    adopted: bool = False


class QueuePositions:
    """Keeps the queue position in the parent messages this replica posted at the ack current.

    One look (`refresh`) reads each line once (`Tasks.line`) and edits the messages whose position
    changed, each at most once per ``interval_s`` (by ``clock``); a message whose task is no
    longer waiting is left to its worker. A thread looks every ``poll_s`` while there is anything
    to look after (started with the first message, stopped by `stop`)."""

    def __init__(self, *, tasks: Tasks, poster: SlackPoster, capacity: Callable[[], int],
                 clock: Callable[[], float] = time.monotonic, interval_s: float = 1.0, poll_s: float = 1.0) -> None:
        self._tasks = tasks
        self._poster = poster
        self._capacity = capacity
        self._clock = clock
        self._interval = interval_s
        self._poll = poll_s
        self._shown: dict[int, _Shown] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def track(self, *, task_id: int, channel: str, ts: str, position: int, lane: Sequence[str],
              text: ParentText, posted_at: float) -> None:
        with self._lock:
            if self._stop.is_set():
                return
            self._shown[task_id] = _Shown(task_id, channel, ts, position, tuple(lane), text, posted_at)
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="chimera-positions", daemon=True)
                self._thread.start()

    def tracking(self) -> list[int]:
        with self._lock:
            return sorted(self._shown)

    def adopt(self, task_id: int) -> None:
        """A worker here claimed the task: stop editing its message (an edit in flight finishes
        first), so nothing overwrites what the worker shows."""
        with self._lock:
            shown = self._shown.pop(task_id, None)
        if shown is not None:
            with shown.lock:
                shown.adopted = True

    def poke(self) -> None:
        """The line may have moved: look now rather than at the next poll."""
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        with self._lock:
            self._shown.clear()

    def refresh(self) -> int:
        """One look at every line with a message here; returns how many messages were edited."""
        with self._lock:
            shown = list(self._shown.values())
        if not shown:
            return 0
        edits = 0
        for lane in sorted({s.lane for s in shown}):
            try:
                queued, running = self._tasks.line(lane)
            except ChimeraError as err:  # the database is away: the positions wait for it
                log.info("could not read the queue: %s", err)
                continue
            rank = {task_id: i + 1 for i, task_id in enumerate(queued)}
            free = max(0, self._capacity() - running)
            for item in (s for s in shown if s.lane == lane):
                if item.task_id not in rank:  # claimed (or gone): its worker shows it from now on
                    with self._lock:
                        self._shown.pop(item.task_id, None)
                    continue
                position = rank[item.task_id] - free
                if position >= 1 and position != item.position and self._edit(item, position):
                    edits += 1
        return edits

    def _edit(self, item: _Shown, position: int) -> bool:
        with item.lock:
            now = self._clock()
            if item.adopted or now - item.edited_at < self._interval:
                return False  # its worker has it, or it was edited less than a second ago: next look
            # Right before the edit: still waiting? (a worker on another replica may have claimed it
            # since the line was read). What races the claim after this is settled by its worker.
            try:
                current = self._tasks.get(item.task_id)
            except ChimeraError as err:
                log.info("could not read task %d: %s", item.task_id, err)
                return False
            if current is None or current.state != "queued":
                with self._lock:
                    self._shown.pop(item.task_id, None)
                return False
            try:
                self._poster.update(channel=item.channel, ts=item.ts, text=item.text(position))
            except SlackCallFailed as err:  # rate limited, slow: skipped, the next look tries again
                log.info("could not update the queue position of task %d: %s", item.task_id, err.code)
                item.edited_at = now
                return False
            item.position, item.edited_at = position, now
            return True

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self._poll)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self.refresh()
            except Exception:  # never let the thread die: the positions only go stale
                log.exception("updating queue positions failed")


def post_at_ack(*, tasks: Tasks, poster: SlackPoster, accepted: Accepted, wake: Callable[[], None],
                positions: QueuePositions | None = None, clock: Callable[[], float] = time.monotonic,
                sleep: Callable[[float], None] = time.sleep) -> str | None:
    """Post the parent of ``accepted`` and record it on its task (run right after the ack);
    returns its ts, or None when the worker posts the parent instead (the post failed, or lost
    the race). Never raises for Slack or the database: the worker falls back to posting itself."""
    task = accepted.task
    channel = str(task.channel or task.payload.get("channel") or "")
    try:
        ts = poster.post(channel=channel, text=accepted.parent(accepted.position), marker=task.key)
    except SlackCallFailed as err:
        log.info("the message for task %d could not be posted at the ack (%s); its worker posts it", task.id,
                 err.code)
        lift_wait(tasks, task.id, wake=wake)
        return None
    posted_at = clock()
    try:
        recorded = tasks.set_ack_message(task.id, ts=ts, queued=accepted.position > 0)
    except ChimeraError as err:  # its worker finds the message in Slack by the task's key
        log.warning("could not record the message of task %d: %s", task.id, err)
        return ts
    wake()
    if recorded:
        if accepted.position > 0 and positions is not None:
            positions.track(task_id=task.id, channel=channel, ts=ts, position=accepted.position, lane=accepted.lane,
                            text=accepted.parent, posted_at=posted_at)
        return ts
    return _lost_race(tasks, poster, task_id=task.id, channel=channel, ts=ts, sleep=sleep)


def lift_wait(tasks: Tasks, task_id: int, *, wake: Callable[[], None]) -> None:
    """No message will be posted at the ack: the task's worker may start, and posts it."""
    try:
        tasks.clear_ack_wait(task_id)
    except ChimeraError as err:  # the wait runs out by itself
        log.warning("could not release task %d for its worker: %s", task_id, err)
    wake()


def _lost_race(tasks: Tasks, poster: SlackPoster, *, task_id: int, channel: str, ts: str,
               sleep: Callable[[float], None]) -> str | None:
    """A worker claimed the task before its message was recorded (the post outlasted the wait).
    It either found this message in Slack (then it records it: keep it) or posts its own (then
    this one goes). Waits for the worker to record which, up to `LOST_RACE_WAIT_S`."""
    waited = 0.0
    while waited < LOST_RACE_WAIT_S:
        try:
            current = tasks.get(task_id)
        except ChimeraError:
            current = None
        if current is not None and current.message_ts is not None:
            if current.message_ts == ts:
                return ts  # adopted
            try:
                poster.delete(channel=channel, ts=ts)
                log.info("deleted the late message of task %d: its worker posted its own", task_id)
            except SlackCallFailed as err:
                log.warning("task %d shows two messages: could not delete the late one (%s)", task_id, err.code)
            return None
        sleep(0.1)
        waited += 0.1
    log.warning("task %d: its worker recorded no message within %.0f s; the one posted at the ack stays", task_id,
                LOST_RACE_WAIT_S)
    return ts
