"""Thin HTTP routes: parse, call the core, serialise. No business logic lives here."""
