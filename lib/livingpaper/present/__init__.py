"""Presentation: typed results in, MyST Markdown and figures out. Nothing here computes a
statistic or filters patients."""
