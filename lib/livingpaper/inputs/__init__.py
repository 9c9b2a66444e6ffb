"""Inputs: files in, validated objects out. Nothing here knows any statistics."""
