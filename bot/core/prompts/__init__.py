"""Prompts for the model, fitted to its context window (pure)."""
