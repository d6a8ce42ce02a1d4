"""The live wallboard state: a daemon consumer folding facts into per-queue/agent figures."""

from callcenter.live.consumer import LiveConsumer, Subscriber
from callcenter.live.state import LiveState

__all__ = ["LiveConsumer", "LiveState", "Subscriber"]
