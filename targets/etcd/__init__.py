"""etcd target (see target.py) and its JSON-gateway clients (client.py)."""

from .target import EtcdTarget

__all__ = ["EtcdTarget"]
