"""Campus: offline-first management for multi-campus training institutions."""

__version__ = "0.1.0"
