"""Several hosts on one machine: Linux network namespaces joined by a bridge, as machines on one network.

    with Network(["db", "a", "b"]) as net:
        net.address("a")                     # "10.x.y.2"
        net.run("a", ["ip", "addr"])         # a command on host a
        net.cut("a"); net.mend("a")          # unplug and plug back host a's cable

The bridge lives in a namespace of its own; this process reaches every host through one more port of it
at `net.here` (10.x.y.254), so nothing changes outside the namespaces (no forwarding, no firewall).
Needs root and iproute2.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence


def available() -> str | None:
    """None if namespaces can be made here, else why not."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    if not shutil.which("ip"):
        return "iproute2's ip command is missing"
    probe = f"dp-probe-{os.getpid()}"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if made.returncode:
        return f"cannot make a network namespace: {made.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", probe], check=True)
    return None


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


class Network:
    def __init__(self, hosts: Sequence[str], subnet: str | None = None):
        """`subnet`: the first three numbers of the hosts' addresses; by default one of 10.x.y chosen by
        this process's id, so that two test sessions on one machine do not share the root's route to it."""
        pid = os.getpid()
        subnet = subnet or f"10.{100 + pid % 100}.{pid // 100 % 250}"
        self.hosts = list(hosts)
        self.tag = f"{os.getpid() % 100000}"
        self.switch = f"dp-sw-{self.tag}"
        self.subnet = subnet
        self.here = f"{subnet}.254"
        self._addresses = {host: f"{subnet}.{n}" for n, host in enumerate(self.hosts, start=1)}

    def namespace(self, host: str) -> str:
        return f"dp-{host}-{self.tag}"

    def address(self, host: str) -> str:
        return self._addresses[host]

    def prefix(self, host: str) -> list[str]:
        """What to put before a command to run it on `host`."""
        return ["ip", "netns", "exec", self.namespace(host)]

    def run(self, host: str, command: Sequence[str], **options) -> subprocess.CompletedProcess:
        return subprocess.run([*self.prefix(host), *command], **options)

    def _port(self, host: str) -> str:  # the host's end of its cable, and the switch's end
        return f"h{self.tag}{host[:4]}"

    def __enter__(self) -> Network:
        try:
            _ip("netns", "add", self.switch)
            _ip("-n", self.switch, "link", "add", "br0", "type", "bridge")
            _ip("-n", self.switch, "link", "set", "br0", "up")
            for host in self.hosts:
                namespace, port = self.namespace(host), self._port(host)
                _ip("netns", "add", namespace)
                _ip("link", "add", port, "netns", namespace, "type", "veth", "peer", "name", f"s{port}", "netns", self.switch)
                _ip("-n", self.switch, "link", "set", f"s{port}", "master", "br0", "up")
                _ip("-n", namespace, "addr", "add", f"{self.address(host)}/24", "dev", port)
                _ip("-n", namespace, "link", "set", port, "up")
                _ip("-n", namespace, "link", "set", "lo", "up")
            here = f"d{self.tag}"  # this process's port on the switch
            _ip("link", "add", here, "type", "veth", "peer", "name", f"s{here}", "netns", self.switch)
            _ip("-n", self.switch, "link", "set", f"s{here}", "master", "br0", "up")
            _ip("addr", "add", f"{self.here}/24", "dev", here)
            _ip("link", "set", here, "up")
        except BaseException:
            self.__exit__()
            raise
        return self

    def cut(self, host: str) -> None:
        """Unplug `host` from the network: packets to and from it are lost (nothing is refused)."""
        _ip("-n", self.switch, "link", "set", f"s{self._port(host)}", "down")

    def mend(self, host: str) -> None:
        _ip("-n", self.switch, "link", "set", f"s{self._port(host)}", "up")

    def __exit__(self, *exc) -> None:
        subprocess.run(["ip", "link", "del", f"d{self.tag}"], capture_output=True)
        for host in self.hosts:
            subprocess.run(["ip", "netns", "del", self.namespace(host)], capture_output=True)
        subprocess.run(["ip", "netns", "del", self.switch], capture_output=True)
