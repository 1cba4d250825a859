"""Answering a question asked in a report thread.

One question -> one message in that thread: a placeholder is posted at once, edited with progress
while the model writes (at most once per ``Services.progress_interval_s``), then replaced by the
answer. The facts given to the model are the run's stored facts plus facts computed for this
question from the run's stored measurements (`bot.core.followup`, ids ``Q1…``). The model cites
facts by id and the values are inserted from the data; every other number it writes is checked
against the facts (`bot.core.grounding`) and marked when it matches none (never in bold).

The thread history the model sees holds the people's earlier questions (quoted, newest kept when
space is short) and the facts computed for them — never the bot's own earlier answers, whose text
was the model's and unverified. The answer passes the follow-up gate (`bot.core.gate.judge_answer`:
grounded numbers, known citations, no loop or repetition, not cut off, within its length) or is not
used; a prompt Ollama cut is not answered from either.

When the model is unavailable (or its answer is not used) the answer is what could be computed
plus one line saying why. Text from people, files and the model is escaped for Slack.

It runs as a task of the durable queue (`bot.flows.tasks`): a replica taking it over edits the
same placeholder; one that cannot redo it says there that the question should be asked again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from bot.core import followup
from bot.core.gate import judge_answer
from bot.core.prompts.answer import (
    ANSWER_TOKENS,
    ANSWER_WORDS,
    HISTORY_MESSAGE_CHARS,
    AnswerPrompt,
    ThreadMessage,
    build_answer_prompt,
)
from bot.core.prompts.budget import truncation
from bot.core.records import Run, Task
from bot.core.text import truncate
from bot.core.types import Fact, facts_from_json
from bot.errors import AnswerDoesNotFit, ChimeraError, LLMCallFailed, SlackCallFailed
from bot.flows.deliver import Delivery, deliver
from bot.flows.ports import SlackPoster
from bot.flows.progress import Throttle
from bot.flows.services import Services
from bot.flows.tasks import Lease, message_of
from bot.render.answer import compose
from bot.render.slack_text import MESSAGE_TEXT_LIMIT, escape_mrkdwn, slack_to_plain

log = logging.getLogger(__name__)

PLACEHOLDER = ":hourglass_flowing_sand: Looking at the stored data for this report…"
RESTARTING = ":hourglass_flowing_sand: I'm restarting; I'll answer this in a moment, here."


EARLIER_QUESTIONS_COMPUTED = 3  # the newest earlier questions whose facts are computed again


def history_from_replies(messages: Sequence[Mapping[str, Any]], *, bot_user_id: str | None,
                         skip_ts: set[str]) -> list[ThreadMessage]:
    """conversations.replies messages (oldest first) -> the people's messages as quoted context.

    Messages of bots (this one included: its answers were the model's text) are left out.
    """
    out: list[ThreadMessage] = []
    for msg in messages:
        if str(msg.get("ts", "")) in skip_ts:
            continue
        if msg.get("bot_id") or msg.get("subtype") == "bot_message" or (
                bot_user_id is not None and msg.get("user") == bot_user_id):
            continue
        text = " ".join(slack_to_plain(str(msg.get("text") or "")).split())
        if text:
            out.append(ThreadMessage("person", truncate(text, HISTORY_MESSAGE_CHARS)))
    return out


def earlier_facts(history: Sequence[ThreadMessage], measurements: Any, *, first_id: int,
                  known: Sequence[Fact]) -> list[Fact]:
    """Facts computed again for the thread's newest earlier questions (ids from ``first_id``), minus
    any ``known`` already states; lower in importance than the question's own."""
    out: list[Fact] = []
    seen = {f.statement for f in known}
    next_id = first_id
    for message in list(history)[-EARLIER_QUESTIONS_COMPUTED:]:
        for fact in followup.compute(message.text, measurements, first_id=next_id).facts:
            if fact.statement in seen:
                continue
            seen.add(fact.statement)
            out.append(replace(fact, id=f"Q{next_id}", importance=fact.importance - 10))
            next_id += 1
    return out


@dataclass
class ThreadAnswer:
    """One answer, delivered as one message in the report thread."""

    services: Services
    poster: SlackPoster
    run: Run | None  # None: the run is gone from the database
    channel: str
    thread_ts: str
    question: str
    question_ts: str
    lease: Lease
    bot_user_id: str | None = None
    answer_ts: str | None = None

    def run_answer(self) -> None:
        """Post the placeholder (or take over the one a stopped replica left) and replace it with
        the answer. Never raises for Slack, Ollama or data problems: each ends up in the message
        or the log."""
        if self.answer_ts is None and self.lease.resumed:  # its predecessor may have posted it unrecorded
            self.answer_ts = message_of(self.lease.task, self.poster, channel=self.channel, thread_ts=self.thread_ts)
            if self.answer_ts is not None:
                self.lease.remember_message(channel=self.channel, ts=self.answer_ts)
        try:
            if self.answer_ts is None:
                if not self.lease.while_working(self._post_placeholder):
                    return
            else:
                self._edit(PLACEHOLDER)
        except SlackCallFailed as err:
            log.warning("could not answer in %s/%s: %s", self.channel, self.thread_ts, err.code)
            return
        try:
            text = self._answer_text()
        except ChimeraError as err:  # e.g. the database is unavailable: its message says so
            log.warning("answering in %s/%s failed: %s", self.channel, self.thread_ts, err)
            text = f":warning: {escape_mrkdwn(str(err))}"
        except Exception:  # a broken answer must still end the placeholder
            log.exception("answering in %s/%s crashed", self.channel, self.thread_ts)
            text = ("Something went wrong while answering (details are in the bot's log). "
                    "Please ask again; if it happens again, tell whoever runs the bot.")
        if self.lease.begin_delivery():
            self._send(text, final=True)
        else:
            log.info("answer in %s/%s handed back or taken over; not delivered here", self.channel, self.thread_ts)

    def _post_placeholder(self) -> None:
        self.answer_ts = self.poster.post(channel=self.channel, text=PLACEHOLDER, thread_ts=self.thread_ts,
                                          marker=self.lease.task.key)
        self.lease.remember_message(channel=self.channel, ts=self.answer_ts)

    def _edit(self, text: str) -> None:
        """A progress edit, while the answer is still worked on here."""
        self.lease.while_working(lambda: self._send(text))

    def _send(self, text: str, *, final: bool = False) -> None:
        assert self.answer_ts is not None

        def not_delivered(err: SlackCallFailed) -> None:
            log.warning("could not %s the answer: %s", "finish" if final else "update", err.code)

        deliver(self.poster, Delivery(channel=self.channel, text=truncate(text, MESSAGE_TEXT_LIMIT),
                                      replace_ts=self.answer_ts), on_message_failure=not_delivered)

    def _answer_text(self) -> str:
        run = self.run
        if run is None or run.status != "done":
            return _no_data(run)
        store = self.services.store
        measurements = store.runs.load_measurements(run.id)
        report_facts = facts_from_json(run.facts)
        computed = followup.compute(self.question, measurements, first_id=1)
        facts = [*computed.facts, *report_facts]
        if computed.query.problems:  # ask back rather than have the model guess
            return compose(narrative=None, facts=facts, computed=computed).text
        chat = self.services.chat
        history = history_from_replies(
            self.poster.thread_messages(channel=self.channel, thread_ts=self.thread_ts),
            bot_user_id=self.bot_user_id, skip_ts={self.question_ts, self.answer_ts or ""})
        earlier = earlier_facts(history, measurements, first_id=len(computed.facts) + 1, known=computed.facts)
        facts = [*computed.facts, *earlier, *report_facts]
        try:
            prompt = build_answer_prompt(slack_to_plain(self.question), facts, history, notes=computed.notes,
                                         num_ctx=chat.num_ctx)
        except AnswerDoesNotFit as err:
            return compose(narrative=None, facts=facts, computed=computed, unavailable_reason=str(err)).text
        return self._model_answer(prompt, facts, computed)

    def _model_answer(self, prompt: AnswerPrompt, facts: list[Fact], computed: followup.Computation) -> str:
        """The model's answer, shown while it streams and checked before it is used; the computed
        part alone (with the reason) when the model fails or its answer is not usable."""
        chat = self.services.chat
        throttle = Throttle(interval_s=self.services.progress_interval_s, clock=self.services.clock)

        citable = set(prompt.fact_ids)
        cited = [f for f in facts if f.id in citable]

        def on_text(partial: str) -> None:
            # The partial answer is grounded like the final one: cited ids become exact values and
            # any other number is marked, so an invented number is never shown unmarked, even briefly.
            if throttle.ready():
                shown = compose(narrative=partial, facts=cited, computed=computed).text
                self._edit(":writing_hand: " + shown)

        try:
            result = chat.chat(prompt.messages, num_predict=ANSWER_TOKENS, purpose="followup", on_text=on_text)
        except LLMCallFailed as err:
            log.info("follow-up answer without the model: %s", err)
            return compose(narrative=None, facts=facts, computed=computed, unavailable_reason=str(err)).text
        if not result.content.strip():
            return compose(narrative=None, facts=facts, computed=computed,
                           unavailable_reason="the model returned an empty answer").text
        cut = truncation(counted=result.metrics.prompt_eval_count, estimated=prompt.baseline_tokens,
                         num_ctx=chat.num_ctx)
        if cut:
            log.warning("follow-up prompt cut by Ollama: %s", cut)
            return compose(narrative=None, facts=facts, computed=computed,
                           unavailable_reason=f"{cut} — raise OLLAMA_NUM_CTX").text
        verdict = judge_answer(result.content, facts=cited, citable=citable,
                               done_reason=result.metrics.done_reason, max_words=ANSWER_WORDS)
        if not verdict.passed:
            log.info("follow-up answer not used: %s", "; ".join(verdict.reasons))
            return compose(narrative=None, facts=facts, computed=computed,
                           unavailable_reason=f"the model's answer was not used: {verdict.rules_broken[0]}").text
        return compose(narrative=result.content, facts=cited, computed=computed).text


def _no_data(run: Run | None) -> str:
    """Why a thread has no data to answer from: no run, one still running, or one that failed."""
    if run is None:
        return "I no longer have the data of this report. Run the analysis again, then ask in its thread."
    if run.status in ("queued", "running"):
        return ("This analysis is still running. Ask again once the summary is posted and "
                "I'll answer from its data.")
    rerun = f"`/chimera analyze {escape_mrkdwn(run.archive)}`"
    if (run.error or "").startswith("interrupted"):
        return (f"This analysis was interrupted ({escape_mrkdwn(run.error or '')}), so there is no data to "
                f"answer from. Run {rerun} again, then ask in the new report's thread.")
    return ("This analysis did not finish, so there is no data to answer from. Run it again "
            f"with {rerun}, then ask in the new report's thread.")


class AnswerTasks:
    """The `bot.flows.tasks.TaskHandler` for thread answers."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self._answers: dict[int, ThreadAnswer] = {}
        self._lock = threading.Lock()

    def run(self, lease: Lease) -> dict[str, Any] | None:
        p = lease.task.payload
        run = self.services.store.runs.get_run(int(p["run_id"]))  # fresh: it may have finished since
        answer = ThreadAnswer(services=self.services, poster=self.services.poster, run=run, channel=str(p["channel"]),
                              thread_ts=str(p["thread_ts"]), question=str(p["question"]),
                              question_ts=str(p["question_ts"]), lease=lease, bot_user_id=p.get("bot_user_id"),
                              answer_ts=lease.task.message_ts)
        with self._lock:
            self._answers[lease.task.id] = answer
        try:
            answer.run_answer()
        finally:
            with self._lock:
                self._answers.pop(lease.task.id, None)
        return {"answer_ts": answer.answer_ts}

    def interrupt(self, lease: Lease) -> None:
        with self._lock:
            answer = self._answers.get(lease.task.id)
        if answer is not None and answer.answer_ts is not None:
            answer._send(RESTARTING)

    def give_up(self, task: Task, reason: str) -> None:
        p = task.payload
        text = (f":warning: I was interrupted before I could answer this ({reason}). "
                "Please ask again.")
        poster = self.services.poster
        placeholder = message_of(task, poster, channel=str(p["channel"]), thread_ts=str(p["thread_ts"]))
        try:
            if placeholder:
                poster.update(channel=str(p["channel"]), ts=placeholder, text=text)
            else:
                poster.post(channel=str(p["channel"]), text=text, thread_ts=str(p["thread_ts"]))
        except SlackCallFailed as err:
            log.warning("could not say the answer in %s was interrupted: %s", p.get("channel"), err.code)
