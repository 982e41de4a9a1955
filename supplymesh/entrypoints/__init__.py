"""Entrypoints: the CLI and the servers. They parse, call into the layers below, and render."""
