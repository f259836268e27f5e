"""Textual screens that render the engine's events; they import events, never engine internals."""
