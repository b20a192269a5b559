"""zoo.cfg, myid and the JVM command line for one ensemble member."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

# Debian's zookeeper.jar names its dependencies in its manifest's Class-Path;
# slf4j-simple is the SLF4J binding that makes the server log at all (without
# one SLF4J falls back to its no-op logger and the node log stays empty).
DEFAULT_JARS = ("/usr/share/java/zookeeper.jar", "/usr/share/java/slf4j-simple.jar")
MAIN = "org.apache.zookeeper.server.quorum.QuorumPeerMain"
FOUR_LETTER_WORDS = "srvr,mntr,ruok,stat,conf"


def zoo_cfg(data_dir: str, members: Sequence[tuple[int, str]], options: Mapping[str, Any]) -> str:
    o = options
    lines = [
        f"tickTime={o['tick_ms']}",
        f"initLimit={o['init_limit']}",
        f"syncLimit={o['sync_limit']}",
        f"dataDir={data_dir}",
        f"clientPort={o['client_port']}",
        "quorumListenOnAllIPs=true",
        # srvr names the leader (isolate-primary, health); mntr for the report.
        f"4lw.commands.whitelist={FOUR_LETTER_WORDS}",
        "admin.enableServer=false",
        "autopurge.purgeInterval=0",
        f"maxSessionTimeout={max(o['session_timeout_ms'], 20 * o['tick_ms'])}",
        "reconfigEnabled=false",
    ]
    for sid, ip in members:
        lines.append(f"server.{sid}={ip}:{o['peer_port']}:{o['election_port']}")
    return "\n".join(lines) + "\n"


def java_argv(cfg_path: str, log_dir: str, options: Mapping[str, Any]) -> list[str]:
    jars = ":".join(options["classpath"] or DEFAULT_JARS)
    return [options["java"],
            f"-Xmx{options['heap_mb']}m",
            # Two shared cores: a small serial-GC JVM with C1 only starts in seconds.
            "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xshare:auto",
            "-Djava.net.preferIPv4Stack=true",
            f"-Dzookeeper.log.dir={log_dir}",
            "-Dorg.slf4j.simpleLogger.showDateTime=true",
            "-Dorg.slf4j.simpleLogger.dateTimeFormat=yyyy-MM-dd'T'HH:mm:ss.SSSZ",
            "-Dorg.slf4j.simpleLogger.logFile=System.out",
            "-cp", jars, MAIN, cfg_path]
