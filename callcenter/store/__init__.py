"""Storage: the journal, call records, agents; batched idempotent writes with a spool."""

from callcenter.store.agents import AgentRepository
from callcenter.store.calls import CallRepository
from callcenter.store.journal import JournalEntry, JournalRepository
from callcenter.store.writer import StoreWriter

__all__ = [
    "AgentRepository",
    "CallRepository",
    "JournalEntry",
    "JournalRepository",
    "StoreWriter",
]
