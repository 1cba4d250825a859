"""Tests of `bot.adapters`: archive extraction, storage roots, the database store, the Ollama
client, the doctor, cron triggers and the digest scheduler, against real files, SQLite and stand-ins."""
