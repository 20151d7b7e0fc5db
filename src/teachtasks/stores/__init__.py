"""Stores: where runs, their lifecycle log and their logs live (see ``base``)."""

from .base import DefinitionRecord, RunFilter, Store
from .memory import MemoryStore
from .sqlite import SQLiteStore

__all__ = ["DefinitionRecord", "MemoryStore", "RunFilter", "SQLiteStore", "Store"]
