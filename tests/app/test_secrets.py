"""Secrets never leave (issue 12, item 5), and untrusted text loses its bidirectional controls
(item 6).

Attack: ``OLLAMA_HOST=http://user:hunter2@host`` while Ollama is down, so every message about it
quotes the host. Expected: the password appears in no channel summary, report, `/chimera status`
reply, log line or `chimera doctor` output. And a right-to-left override in a model name reaches
neither Slack nor the report.
"""

from __future__ import annotations

import io
import json
import logging
import tarfile
from pathlib import Path

import pytest

from bot.cli import main
from bot.core.redact import redact_secrets
from bot.core.text import strip_bidi
from bot.logs import RedactingFilter, install_redaction
from bot.render.blocks import fallback_text, summary_blocks
from bot.render.slack_text import escape_mrkdwn, escape_plain, split_escaped
from tests.factories import run_result
from tests.slack_support import http_bot, upload_done
from tests.standins.ollama_server import closed_port_url

PASSWORD = "hunter2-s3cret"


def host_with_credentials() -> str:
    return closed_port_url().replace("http://", f"http://ollama-user:{PASSWORD}@")


@pytest.mark.parametrize("text, expected", [
    ("http://user:pw@host:11434/api", "http://***@host:11434/api"),
    ("at https://a:b@c@ollama.local now", "at https://***@ollama.local now"),  # '@' in the password
    ("s3://KEY:SECRET@bucket/prefix", "s3://***@bucket/prefix"),
    ("postgresql://user:s3cret@PW@127.0.0.1:1/db", "postgresql://***@127.0.0.1:1/db"),  # DATABASE_URL, '@' in pw
    ("<http://u:p@h|label>", "<http://***@h|label>"),
    ("token xoxb-1234-5678-abcdefgh here", "token *** here"),
    ("http://host/path@x and bob@example.com", "http://host/path@x and bob@example.com"),
    ("http://***@host", "http://***@host"),  # idempotent
])
def test_redact_secrets(text, expected):
    assert redact_secrets(text) == expected


def test_log_lines_and_tracebacks_are_redacted():
    stream = io.StringIO()
    logger = logging.getLogger("chimera-test-redaction")
    logger.propagate = False
    handler = logging.StreamHandler(stream)
    logger.addHandler(handler)
    install_redaction(logger)
    try:
        logger.warning("calling %s failed", f"http://u:{PASSWORD}@h")
        try:
            raise ConnectionError(f"cannot reach http://u:{PASSWORD}@h/api/tags")
        except ConnectionError:
            logger.exception("boom")
    finally:
        logger.removeHandler(handler)
    out = stream.getvalue()
    assert PASSWORD not in out
    assert "calling http://***@h failed" in out and "cannot reach http://***@h/api/tags" in out
    assert any(isinstance(f, RedactingFilter) for f in handler.filters)


def test_cli_report_json_stderr_and_doctor_never_show_the_password(tmp_path: Path, monkeypatch, capsys):
    monkeypatch.setenv("OLLAMA_HOST", host_with_credentials())
    archive = tmp_path / "a.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        data = b"model,tokens_s,ttft_ms\nm:1b,50,100\nm:1b,52,110\n"
        info = tarfile.TarInfo("r.csv")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    code = main(["analyze", str(archive), "--out", str(tmp_path / "r.md"), "--json", str(tmp_path / "r.json")])
    assert code == 0
    doctor = main(["doctor"])
    captured = capsys.readouterr()
    report = (tmp_path / "r.md").read_text()
    document = (tmp_path / "r.json").read_text()
    assert doctor == 1
    assert "unreachable" in report and "***@127.0.0.1" in report  # the reason is there, redacted
    for text in (report, document, captured.out, captured.err):
        assert PASSWORD not in text and "ollama-user" not in text
    assert "***@127.0.0.1" in captured.out  # doctor names the host, without its credentials


def test_slack_summary_status_and_log_never_show_the_password(standin, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    install_redaction()  # what `chimera serve` does; caplog's handler is on the root logger
    storage = tmp_path / "storage"
    storage.mkdir()
    (storage / "nightly").mkdir()
    (storage / "nightly" / "r.csv").write_text("model,tokens_s,ttft_ms\nm:1b,50,100\nm:1b,52,110\n")
    with http_bot(standin, None, real_health=True, ollama_host=host_with_credentials(),
                  storage_roots=[str(storage)], work_dir=tmp_path / "work") as bot_:
        assert bot_.command("analyze nightly")[0] == 200
        standin.wait_for(upload_done, timeout=60)
        assert bot_.command("status", name="status")[0] == 200
        standin.wait_for(lambda calls: any(c.method == "respond" and "Jobs:" in c.params.get("text", "")
                                           for c in calls))
    said = json.dumps([c.params for c in standin.calls]) + "".join(
        c.body.decode("utf-8", "replace") for c in standin.calls if c.method == "upload")
    assert "Narrative" in said and "***@127.0.0.1" in said  # the summary says why, redacted
    assert PASSWORD not in said and "ollama-user" not in said
    assert PASSWORD not in caplog.text


RLO_MODEL = "gemma\u202eevil\u202c:1b"


def test_bidirectional_controls_never_reach_slack_or_the_report():
    csv = f"model,tokens_s,ttft_ms,error\n{RLO_MODEL},50,100,\n{RLO_MODEL},52,120,\nplain:1b,40,90,\n"
    result = run_result("a\u2066.tar.gz", f"{RLO_MODEL} leads \u200fthe field [F1].", csv=csv)
    headline = result.headline
    assert headline.best_throughput is not None and "\u202e" in headline.best_throughput.model  # the data keeps it
    slack = json.dumps(summary_blocks(archive_name=result.archive_name, headline=headline,
                                      narrative=result.narrative.short_summary, note="", footer="f"),
                       ensure_ascii=False) + fallback_text(archive_name=result.archive_name, headline=headline)
    for text in (slack, result.report_md):
        assert not any(ch in text for ch in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f")
    assert "gemmaevil:1b" in slack and "gemmaevil:1b" in result.report_md


@pytest.mark.parametrize("escape", [escape_mrkdwn, escape_plain, lambda t: "".join(split_escaped(t, 50))])
def test_every_slack_escape_strips_bidi_controls(escape):
    assert escape("a\u202eb\u2067c\u200ed") == "abcd"
    assert strip_bidi("x\u061cy") == "xy"


def test_redaction_and_bidi_stripping_match_the_plain_rules() -> None:
    """`redact_secrets` runs its patterns only where a match can be (lines with "://" and "@", text
    with a token's start) and `strip_bidi` is a pattern: the same text out as the patterns over the
    whole text and a character-by-character removal."""
    import random

    from bot.core import redact

    def plain(text: str) -> str:
        text = redact._URL_CREDENTIALS.sub(lambda m: f"{m.group(1)}{redact.REDACTED}@", text)
        return redact._SLACK_TOKEN.sub(redact.REDACTED, text)

    bidi = {*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F, 0x061C}
    rng = random.Random(12)
    parts = ["http", "S3", "://", "@", "u", ":", "pw", "/", "\n", " ", "\t", "xoxb-", "xoxe.xoxp-", "xapp-", "abcdef",
             "12", "x", "#", "?", "|", "é", "\u202e", "\u2067", "\u061c", "\u200f"]
    for _ in range(20_000):
        text = "".join(rng.choice(parts) for _ in range(rng.randint(0, 14)))
        assert redact_secrets(text) == plain(text)
        assert strip_bidi(text) == "".join(c for c in text if ord(c) not in bidi)
    assert redact_secrets("token xoxb-123456789 at https://u:pw@host") == "token *** at https://***@host"
