"""Tests of `bot.core`: ingest, analysis, grounding, prompts, follow-up computing, regression,
schedule parsing, config. Pure code; files only under tmp_path."""
