"""The regions VeriML serves and the versioned policy of each.

Pure data, without Django, so that the Celery app and ``scripts/run_local.py`` can name the
regional queues from it. A policy change is a new ``version``: every decision records the
version it was taken under, so a regulator can tell which rules applied at the time.

Transfers listed here are those VeriML itself relies on (adequacy decisions and their national
equivalents); an organisation adds its own (standard contractual clauses, binding corporate
rules) as a :class:`~compliance.policy.models.TransferBasis`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

PUBLIC = "public"
PRIVATE = "private"
DAY = 1
YEAR = 365 * DAY

# Kinds of work whose Celery queue follows the organisation's region.
REGIONAL_KINDS = ("compile", "prove")


@dataclass(frozen=True)
class RegionPolicy:
    region: str
    version: str
    name: str
    # Residency: where the region's data may be stored and where it may be processed.
    storage_regions: frozenset[str]
    processing_regions: frozenset[str]
    # How long uploaded data (models, inputs, test sets) is kept once unused.
    retention_days: int
    # Privacy an organisation of the region starts with, per part (weights, input, output).
    privacy_defaults: Mapping[str, str]
    # Target region -> legal basis of transfers allowed to every organisation of the region.
    transfers: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    def as_dict(self) -> dict[str, object]:
        return {
            "region": self.region,
            "version": self.version,
            "name": self.name,
            "storage_regions": sorted(self.storage_regions),
            "processing_regions": sorted(self.processing_regions),
            "retention_days": self.retention_days,
            "privacy_defaults": dict(self.privacy_defaults),
            "transfers": [
                {"target_region": target, "legal_basis": basis}
                for target, basis in sorted(self.transfers.items())
            ],
        }


def _privacy(weights: str, input_: str, output: str) -> Mapping[str, str]:
    return MappingProxyType({"weights": weights, "input": input_, "output": output})


POLICIES: Mapping[str, RegionPolicy] = MappingProxyType(
    {
        "us": RegionPolicy(
            region="us",
            version="us-2026.1",
            name="United States",
            storage_regions=frozenset({"us"}),
            processing_regions=frozenset({"us"}),
            # HIPAA keeps required documentation six years (45 CFR 164.316(b)(2)(i)).
            retention_days=6 * YEAR,
            privacy_defaults=_privacy(PUBLIC, PUBLIC, PUBLIC),
        ),
        "eu": RegionPolicy(
            region="eu",
            version="eu-2026.1",
            name="European Union",
            storage_regions=frozenset({"eu"}),
            processing_regions=frozenset({"eu"}),
            # GDPR Art. 5(1)(e), storage limitation: no longer than the purpose needs.
            retention_days=1 * YEAR,
            # GDPR Art. 25(2), data protection by default: inputs start private.
            privacy_defaults=_privacy(PUBLIC, PRIVATE, PUBLIC),
            transfers=MappingProxyType(
                {
                    "uk": "GDPR Art. 45 adequacy decision for the United Kingdom "
                    "(Commission Implementing Decision (EU) 2021/1772)",
                    "ca": "GDPR Art. 45 adequacy decision for Canada, commercial organisations "
                    "under PIPEDA (Commission Decision 2002/2/EC)",
                }
            ),
        ),
        "uk": RegionPolicy(
            region="uk",
            version="uk-2026.1",
            name="United Kingdom",
            storage_regions=frozenset({"uk"}),
            processing_regions=frozenset({"uk"}),
            retention_days=1 * YEAR,
            privacy_defaults=_privacy(PUBLIC, PRIVATE, PUBLIC),
            transfers=MappingProxyType(
                {
                    "eu": "UK GDPR Art. 45 adequacy regulations for the EEA "
                    "(Data Protection Act 2018, Sch. 21 para. 5)",
                    "ca": "UK GDPR Art. 45 adequacy regulations for Canada, commercial "
                    "organisations under PIPEDA (Data Protection Act 2018, Sch. 21 para. 5)",
                }
            ),
        ),
        "ca": RegionPolicy(
            region="ca",
            version="ca-2026.1",
            name="Canada",
            storage_regions=frozenset({"ca"}),
            processing_regions=frozenset({"ca"}),
            retention_days=2 * YEAR,
            privacy_defaults=_privacy(PUBLIC, PUBLIC, PUBLIC),
        ),
    }
)

REGIONS: tuple[str, ...] = tuple(POLICIES)
REGIONAL_QUEUES: tuple[str, ...] = tuple(
    f"{kind}.{region}" for kind in REGIONAL_KINDS for region in REGIONS
)


def queue_for(kind: str, region: str) -> str:
    """The queue of ``kind`` work for an organisation of ``region``; the shared queue of the
    kind for a region without a policy (the policy engine refuses its work anyway)."""
    return f"{kind}.{region}" if region in POLICIES and kind in REGIONAL_KINDS else kind
