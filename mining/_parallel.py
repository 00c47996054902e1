"""How many tasks a session can run at once: the one home of that rule."""

from __future__ import annotations

import os
import re
from typing import Any

__all__ = ["task_slots"]

_LOCAL = re.compile(r"^local\[(\*|\d+)(?:,\s*\d+)?\]$|^local$")
_LOCAL_CLUSTER = re.compile(r"^local-cluster\[(\d+),\s*(\d+),\s*\d+\]$")


def task_slots(spark: Any) -> int:
    """Tasks the session can run at the same time (a barrier stage needs them all free).

    ``local[N]``: N (``local[*]``: the CPUs of this machine, ``local``: 1);
    ``local-cluster[W, C, M]``: W x C / ``spark.task.cpus``; a cluster:
    ``spark.executor.instances x spark.executor.cores / spark.task.cpus`` when they are set,
    else ``spark.default.parallelism``, else 2. Spark waits (by default 40 checks of 15 s) for
    a barrier stage that needs more slots than there are, so callers take ``min`` with this.
    """
    conf = spark.conf
    master = str(conf.get("spark.master", "") or "")
    cpus = int(conf.get("spark.task.cpus", "1") or 1)
    cluster = _LOCAL_CLUSTER.match(master.strip())
    if cluster:
        return max(1, int(cluster.group(1)) * int(cluster.group(2)) // cpus)
    found = _LOCAL.match(master.strip())
    if found:
        count = found.group(1)
        return 1 if count is None else (os.cpu_count() or 1) if count == "*" else int(count)
    instances, cores = conf.get("spark.executor.instances", None), \
        conf.get("spark.executor.cores", None)
    if instances and cores:
        return max(1, int(instances) * int(cores) // cpus)
    return max(1, int(conf.get("spark.default.parallelism", "2") or 2))
