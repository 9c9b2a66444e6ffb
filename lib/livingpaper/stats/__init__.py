"""Statistics: DataFrames in, frozen result dataclasses out (one module per family of
tests). Nothing here writes prose beyond a short ``reason``."""
