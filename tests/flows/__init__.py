"""Tests of `bot.flows`: narrate, digests, thread answers, the job pool and its pacing helpers,
with adapters or stand-ins behind the ports."""
