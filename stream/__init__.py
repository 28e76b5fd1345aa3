"""stream: raw web pages in, one canonical article per story out."""

__version__ = "0.1.0"
