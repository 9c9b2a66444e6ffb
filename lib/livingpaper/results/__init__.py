"""The book's analyses, run once per build into ``results.json``, and read back."""
