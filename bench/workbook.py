"""An organisation's migration workbook at any size, generated deterministically.

The rows use the plan's own columns and the same vocabulary as the shipped example
(sources/sim/data/workbook.csv): teams and services, tiers 0–3, owners, pipeline sizes,
critical dependencies, scanners, average build minutes, shadow pass %, blocking issues,
and the cutover wave. The same size and seed always give the same bytes.
"""

from __future__ import annotations

import csv
import io
import random
from pathlib import Path

from maestro_control_room.cutover.waves import WORKBOOK_COLUMNS

TEAMS = (
    "payments", "identity", "checkout", "search", "catalog", "notifications", "mobile",
    "web", "data", "ml", "platform", "growth", "support", "logistics", "billing", "infra",
)  # fmt: skip
SERVICES = (
    "api", "gateway", "worker", "indexer", "sync", "scheduler", "ledger", "relay", "ui",
    "pipeline", "loader", "scoring", "resizer", "exporter", "cache", "auth",
)  # fmt: skip
OWNERS = (
    "a.rivera", "n.ivanova", "e.silva", "k.tanaka", "p.kowalski", "d.murphy", "t.nguyen",
    "l.novak", "r.haddad", "s.patel", "m.okafor", "j.chen",
)  # fmt: skip
DEPS = (
    "ghcr.io", "vault://prod;ghcr.io", "ghcr.io;s3://artifacts", "maven.internal;ghcr.io",
    "npm.internal;ghcr.io", "pypi.internal", "vault://staging",
)  # fmt: skip
SCANNERS = ("SAST", "SCA", "SAST+DAST", "SAST+SCA", "SAST+DAST+SCA")
#: Mostly none, as in the example: one repository in five has a blocking issue.
BLOCKERS = (
    "flaky test pack", "secrets in env vars", "artifact TTL policy", "docker-in-docker",
    "legacy plugin: junit-merge", "GPU runner quota", "self-hosted macOS runner",
)  # fmt: skip
#: Tiers by share: few tier-0 services, many tier-3 libraries and tools.
TIER_WEIGHTS = (0.1, 0.2, 0.3, 0.4)


def generate_workbook(repos: int, waves: int, seed: int = 1) -> str:
    """The workbook CSV of `repos` repositories across `waves` waves."""
    if repos < waves or waves < 1:
        raise ValueError(f"need at least one repository per wave ({repos} repos, {waves} waves)")
    rng = random.Random(seed)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(WORKBOOK_COLUMNS)
    for index in range(repos):
        team = TEAMS[index % len(TEAMS)]
        service = SERVICES[(index // len(TEAMS)) % len(SERVICES)]
        # Every wave gets its share, in order: wave 1 the first repos, and so on.
        wave = 1 + index * waves // repos
        tier = rng.choices(range(4), TIER_WEIGHTS)[0]
        blocking = rng.choice(BLOCKERS) if rng.random() < 0.2 else "none"
        writer.writerow(
            (
                f"{team}/{service}-{index:05d}",
                tier,
                rng.choice(OWNERS),
                f"{rng.randint(3, 24)} jobs",
                rng.choice(DEPS),
                rng.choice(SCANNERS),
                f"{rng.uniform(3.0, 15.0):.1f}",
                f"{rng.randint(93, 100)}%",
                blocking,
                f"Wave-{wave}",
            )
        )
    return out.getvalue()


def write_workbook(path: Path, repos: int, waves: int, seed: int = 1) -> Path:
    path.write_text(generate_workbook(repos, waves, seed), encoding="utf-8")
    return path


if __name__ == "__main__":
    import sys

    sys.stdout.write(generate_workbook(int(sys.argv[1]), int(sys.argv[2])))
