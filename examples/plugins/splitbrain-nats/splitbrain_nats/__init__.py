"""splitbrain-nats: NATS JetStream key-value as a splitbrain target, built only
on splitbrain's public API (``import splitbrain``)."""

from .target import NatsTarget

__all__ = ["NatsTarget"]
