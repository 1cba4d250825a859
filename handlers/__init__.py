"""Slack listeners. `register(app, services)` in handlers.registry wires every one of them."""
