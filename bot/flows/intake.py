"""Intake: turning a Slack request into durable work, before Slack gets its acknowledgement.

A request is accepted only once it is in the database (`bot.flows.ports.Tasks`): an analysis, a
comparison or a thread answer becomes a task any replica can run, and a reply (help, status, usage) claims its
event. Each is keyed by the Slack message it answers, so a retried or duplicated delivery, on this
replica or another, is queued or answered once.

The database may be briefly unreachable (a restart, a failover). `bot.flows.retry.with_retries` retries within a
budget that keeps the acknowledgement inside Slack's 3 seconds; when the budget runs out the
caller lets Slack deliver the request again later (events) or tells the user (slash commands,
which Slack never redelivers). Nothing is acknowledged and then dropped.

An analysis shows up in the channel at once: right after the ack, `announce` posts its parent
message ("queued, position 3 in line" / "starting…") off the listener threads
(`bot.flows.announce`); the worker that claims it carries on in that message.
"""

from __future__ import annotations

import logging

from bot.core.records import Run, Task
from bot.errors import ChimeraError, DatabaseBusy, QueueFull, StoreError
from bot.flows.analysis_job import parent_text
from bot.flows.announce import ACK_POST_WAIT_S, Accepted, lift_wait, post_at_ack
from bot.flows.compare import Comparison
from bot.flows.services import ANSWER_MAX_QUEUE, Services
from bot.render.slack_text import escape_mrkdwn

log = logging.getLogger(__name__)

DATABASE_DOWN = (":warning: I can't reach my database right now, so I couldn't take that request. "
                 "Please try again in a minute.")
DATABASE_BUSY = (":hourglass_flowing_sand: My database is busy right now (another process is writing to it), "
                 "so I couldn't take that request. Please try again in a moment.")


def database_trouble(err: StoreError) -> str:
    """What to tell a requester whose request the database could not take: busy (a writer held
    its lock too long: try again in a moment) or unreachable."""
    return DATABASE_BUSY if isinstance(err, DatabaseBusy) else DATABASE_DOWN


def queue_analysis(services: Services, *, target: str, use_llm: bool, channel: str, user: str, trigger: str,
                   key: str, response_url: str | None = None) -> Accepted | None:
    """Queue an analysis (durably, one transaction); returns the confirmation for the requester
    and the parent message to post right after the ack (`announce`), or None when this request
    was queued before (a redelivery). Raises `QueueFull`, or `StoreError` when the database is
    unreachable. The task is not claimed until its parent is posted (or `ACK_POST_WAIT_S`).

    The line is the fleet's: ``capacity`` is every live replica's workers; a request is refused
    when more are waiting than free workers plus ``MAX_QUEUE``. Comparisons wait in the same line."""
    payload = {"target": target, "use_llm": use_llm, "channel": channel, "user": user, "trigger": trigger,
               "response_url": response_url}
    queued = _queue_on_analysis_workers(services, kind="analysis", key=key, payload=payload, channel=channel,
                                        what="analyses", announce_s=ACK_POST_WAIT_S)
    if queued is None:
        return None
    task, position = queued
    label = f"`{escape_mrkdwn(target)}`"
    mode = " (data only, no LLM)" if not use_llm else ""
    if position == 0:
        confirmation = f":hourglass_flowing_sand: Analyzing {label}{mode} — I'll post the summary in this channel."
    else:
        confirmation = (f":inbox_tray: Queued {label}{mode}: position {position} in line. "
                        "Its message in this channel shows when it starts.")
    return Accepted(confirmation=confirmation, task=task, position=position,
                    lane=services.runner.kinds_of(services.runner.lane("analysis")),
                    parent=lambda at: parent_text(target, user=user, position=at))


def announce(services: Services, accepted: Accepted) -> None:
    """After the ack: post the parent of ``accepted`` in `Services.side` (off the listener
    threads; inline without one). A full pool leaves the post to the worker."""
    def post() -> None:
        post_at_ack(tasks=services.store.tasks, poster=services.poster, accepted=accepted,
                    wake=services.runner.wake, positions=services.positions, clock=services.clock)

    if services.side is None:
        post()
        return
    try:
        services.side.submit("parent", post,
                             on_cancel=lambda _message: lift_wait(services.store.tasks, accepted.task.id,
                                                                  wake=services.runner.wake))
    except ChimeraError as err:  # QueueFull / PoolClosed
        log.info("the parent of task %d is left to its worker: %s", accepted.task.id, err)
        lift_wait(services.store.tasks, accepted.task.id, wake=services.runner.wake)


def queue_compare(services: Services, *, comparison: Comparison, channel: str, user: str, key: str,
                  response_url: str | None = None) -> str | None:
    """Queue a comparison (`bot.flows.compare`) in the analyses' line; returns the confirmation,
    or None when it was queued before. Raises `QueueFull`, or `StoreError`."""
    payload = {**comparison.to_payload(), "channel": channel, "user": user, "response_url": response_url}
    queued = _queue_on_analysis_workers(services, kind="compare", key=key, payload=payload, channel=channel,
                                        what="analyses and comparisons")
    if queued is None:
        return None
    position = queued[1]
    base, cur = comparison.labels
    what = f"`{escape_mrkdwn(cur)}` with `{escape_mrkdwn(base)}`"
    if position == 0:
        return f":hourglass_flowing_sand: Comparing {what} — I'll post the result in this channel."
    return f":inbox_tray: Queued the comparison of {what}: position {position} in line."


def _queue_on_analysis_workers(services: Services, *, kind: str, key: str, payload: dict[str, object],
                               channel: str, what: str, announce_s: float | None = None) -> tuple[Task, int] | None:
    """Queue ``kind`` on the analysis workers' line (one short transaction); the task and its
    position (0 = starting now), or None when ``key`` was queued before."""
    runner = services.runner
    capacity = runner.fleet_workers()
    max_queue = services.settings.max_queue
    lane = runner.lane(kind)

    def admit(queued: int, running: int) -> bool:
        return queued < max(0, capacity - running) + max_queue

    # One short transaction: the run is recorded by the worker that starts it (the ack stays cheap).
    queued = services.store.tasks.queue(kind=kind, key=key, payload=dict(payload), channel=channel, admit=admit,
                                        lane=runner.kinds_of(lane), announce_s=announce_s)
    if queued.refused:
        runner.note_queued(lane, queued.ahead)
        raise QueueFull(f"{queued.ahead + queued.running} {what} are already waiting or running. "
                        "Please try again in a few minutes.")
    if queued.task is None:
        return None
    runner.note_queued(lane, queued.ahead + 1)
    runner.wake()
    free = max(0, capacity - queued.running)
    return queued.task, (0 if queued.ahead < free else queued.ahead - free + 1)


def queue_answer(services: Services, *, run: Run, channel: str, thread_ts: str, question: str, question_ts: str,
                 bot_user_id: str | None, key: str) -> bool:
    """Queue the answer to a thread question; False when it was queued before. Raises `QueueFull`
    when too many answers are waiting, `StoreError` when the database is unreachable."""
    payload = {"run_id": run.id, "channel": channel, "thread_ts": thread_ts, "question": question,
               "question_ts": question_ts, "bot_user_id": bot_user_id}
    queued = services.store.tasks.queue(kind="answer", key=key, payload=payload, channel=channel,
                                        admit=lambda waiting, _running: waiting < ANSWER_MAX_QUEUE)
    if queued.refused:
        services.runner.note_queued("answer", queued.ahead)
        raise QueueFull("I'm answering a lot of questions right now. Please ask again in a minute.")
    if queued.task is None:
        return False
    services.runner.note_queued("answer", queued.ahead + 1)
    services.runner.wake()
    return True


def claim_reply(services: Services, key: str) -> bool:
    """Claim the right to answer ``key`` (a Slack message): True for exactly one caller across
    replicas and restarts. Raises `StoreError` when the database is unreachable."""
    return services.store.events.mark_event_seen(key)
