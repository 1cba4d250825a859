"""Chimera Insight: LLM benchmark archives -> correct, traceable reports in Slack."""

__version__ = "0.1.0"
