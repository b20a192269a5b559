"""ZooKeeper ensemble (Debian's zookeeperd), kazoo client."""
