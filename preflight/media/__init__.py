"""Measuring: turn a file into facts. Nothing here knows a threshold."""
