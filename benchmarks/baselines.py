"""The two alternatives a user would pick: a pool of ``ssh host tar cf - ...`` (the floor) and an Ansible playbook.

Both pull the same things fleetaudit's sources declare (``fleetaudit.collect.sources.sources_for``): every
file glob and the logger DB, and every constant command.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Callable, Dict, List, Sequence, Tuple

from benchmarks.measure import Result, Usage, load_avg, run_child, run_pool
from fleetaudit.collect.sources import sources_for
from fleetaudit.model import Host

PLAYBOOK = Path(__file__).with_name("playbook.yml")


def same_sources(host: Host) -> Tuple[List[str], List[str]]:
    """Return (file globs incl. the logger DB, commands) of the host's fleetaudit sources."""
    globs: List[str] = []
    commands: List[str] = []
    for spec in sources_for(host):
        if spec.kind in ("files", "sqlite"):
            globs += list(spec.paths)
        elif spec.kind == "command":
            commands.append(spec.command)
    return globs, commands


def remote_tar_command(globs: Sequence[str], commands: Sequence[str]) -> str:
    """Return the remote shell command: one tar of every file glob, then every command's output."""
    parts = [f"tar cf - --ignore-failed-read {' '.join(globs)} 2>/dev/null"]
    parts += [f"( {c} ) 2>/dev/null" for c in commands]
    return "; ".join(parts) + "; true"


def ssh_argv(host: Host, key: str, known_hosts: str, command: str) -> List[str]:
    """Return the plain OpenSSH command line for one host (host keys verified, batch mode)."""
    return ["ssh", "-F", "/dev/null", "-i", key, "-p", str(host.port), "-o", f"UserKnownHostsFile={known_hosts}",
            "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes",
            "-o", "LogLevel=ERROR", f"{host.user or 'root'}@{host.address}", command]


def _tar_task(host: Host, key: str, known_hosts: str, command: str) -> Callable[[], Tuple[Usage, int]]:
    """Return a task running ``ssh host '<tar...>' | wc -c`` and returning (usage, bytes counted)."""
    def task() -> Tuple[Usage, int]:
        pipeline = " ".join(shlex.quote(a) for a in ssh_argv(host, key, known_hosts, command)) + " | wc -c"
        read, write = os.pipe()
        with os.fdopen(read, "rb") as out:
            usage = run_child(["sh", "-c", pipeline], stdout=write)
            os.close(write)
            counted = out.read().strip()
        return usage, int(counted or 0)
    return task


def tar_floor(hosts: Sequence[Host], key: str, known_hosts: str, jobs: int) -> Result:
    """Run the OpenSSH + tar pool over ``hosts`` and return its row."""
    globs, commands = same_sources(hosts[0])
    command = remote_tar_command(globs, commands)
    load = load_avg()
    wall, results = run_pool(jobs, [_tar_task(h, key, known_hosts, command) for h in hosts])
    failed = sum(1 for usage, n in results if usage.code != 0 or n == 0)
    return Result("a: OpenSSH + tar", len(hosts), wall, sum(u.cpu_s for u, _ in results),
                  max(u.peak_rss_mb for u, _ in results), sum(n for _, n in results),
                  note=f"{failed} host(s) failed" if failed else "",
                  extra={"rss_note": "max over the per-host ssh|wc pipelines", "load_avg_start": load})


def ansible_inventory(hosts: Sequence[Host], key: str, known_hosts: str) -> str:
    """Return an INI inventory for the hosts with the fleet's key and known_hosts (host keys checked)."""
    lines = ["[pis]"] + [f"{h.name} ansible_host={h.address} ansible_port={h.port}" for h in hosts]
    common = f"-F /dev/null -o UserKnownHostsFile={known_hosts} -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes"
    lines += ["", "[pis:vars]", "ansible_user=root", f"ansible_ssh_private_key_file={key}",
              f"ansible_ssh_common_args='{common}'", "ansible_python_interpreter=/usr/bin/python3"]
    return "\n".join(lines) + "\n"


def ansible_env(workdir: Path) -> Dict[str, str]:
    """Return the environment for ansible-playbook: host key checking on, no retry files, short control path."""
    env = dict(os.environ)
    env.update({"ANSIBLE_HOST_KEY_CHECKING": "True", "ANSIBLE_RETRY_FILES_ENABLED": "False",
                "ANSIBLE_NOCOLOR": "1", "ANSIBLE_LOCAL_TEMP": str(workdir / "tmp"),
                "ANSIBLE_SSH_CONTROL_PATH_DIR": f"/tmp/facp{os.getpid()}", "ANSIBLE_DEPRECATION_WARNINGS": "False"})
    return env


def ansible_run(hosts: Sequence[Host], key: str, known_hosts: str, jobs: int, workdir: Path) -> Result:
    """Run the playbook (fetch every file, run every command) over ``hosts`` and return its row."""
    workdir.mkdir(parents=True, exist_ok=True)
    dest = workdir / "fetched"
    for stale in (dest, workdir / "out"):
        shutil.rmtree(stale, ignore_errors=True)
    (workdir / "out").mkdir()
    globs, commands = same_sources(hosts[0])
    (workdir / "inventory.ini").write_text(ansible_inventory(hosts, key, known_hosts), encoding="utf-8")
    (workdir / "vars.json").write_text(json.dumps({"fa_globs": globs, "fa_commands": commands,
                                                   "fa_dest": str(dest), "fa_out": str(workdir / "out")}))
    argv = ["ansible-playbook", "-i", str(workdir / "inventory.ini"), "-f", str(jobs),
            "-e", f"@{workdir / 'vars.json'}", str(PLAYBOOK)]
    load = load_avg()
    with open(workdir / "ansible.log", "wb") as log:
        usage = run_child(argv, stdout=log, stderr=subprocess.STDOUT, env=ansible_env(workdir), cwd=str(workdir))
    shutil.rmtree(f"/tmp/facp{os.getpid()}", ignore_errors=True)
    moved = _tree_bytes(dest) + _tree_bytes(workdir / "out")
    return Result("b: Ansible playbook", len(hosts), usage.wall_s, usage.cpu_s, usage.peak_rss_mb, moved,
                  note="" if usage.code == 0 else f"ansible-playbook exit {usage.code} (see ansible.log)",
                  extra={"bytes_note": "payload: fetched files + command stdout (module transfer not counted)",
                         "load_avg_start": load})


def _tree_bytes(root: Path) -> int:
    """Return the bytes of every regular file under ``root``."""
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file() and not p.is_symlink()) if root.exists() else 0
