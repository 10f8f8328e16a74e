"""The device broker's files, generated from the device registry."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from anbao.accounts.models import DeviceCredential
from anbao.alarms import mosquitto
from anbao.alarms.payloads import ALLOWED_KINDS
from anbao.core import audit
from anbao.sites.models import Event

INGEST_USER = "anbao-ingest"


@dataclass(frozen=True)
class BrokerFiles:
    """Where the files were written and how many devices they admit."""

    password_file: Path
    acl_file: Path
    config_file: Path
    devices: int
    skipped: list[str]


def write_broker_files(
    *,
    event: Event,
    out_dir: Path,
    port: int,
    ingest_password: str,
    ingest_user: str = INGEST_USER,
) -> BrokerFiles:
    """Write Mosquitto's password file, ACL and config: each device publishes only its topics.

    A device is admitted when it holds a live token (its broker password is that token);
    devices without one are listed as skipped.
    """
    creds = (
        DeviceCredential.objects.filter(device__event=event, revoked_at__isnull=True)
        .exclude(broker_hash="")
        .select_related("device")
        .order_by("device__external_id")
    )
    entries = [(ingest_user, mosquitto.hash_password(ingest_password))]
    acls = []
    skipped = []
    for cred in creds:
        device = cred.device
        if device.kind not in ALLOWED_KINDS:
            skipped.append(device.external_id)
            continue
        entries.append((device.external_id, cred.broker_hash))
        acls.append(
            mosquitto.DeviceAcl(
                username=device.external_id, device_type=device.kind, device_id=device.external_id
            )
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    passwd, acl, conf = out_dir / "passwd", out_dir / "acl", out_dir / "mosquitto.conf"
    passwd.write_text(mosquitto.password_file(entries))
    passwd.chmod(0o600)
    acl.write_text(mosquitto.acl_file(acls, event=event.code, ingest_user=ingest_user))
    (out_dir / "data").mkdir(exist_ok=True)
    conf.write_text(mosquitto.broker_config(port, passwd, acl, out_dir / "data"))
    audit.record(
        "alarms.broker_files_written",
        object_type="event",
        object_id=event.code,
        after={"devices": len(acls), "dir": out_dir.name},
    )
    return BrokerFiles(passwd, acl, conf, len(acls), skipped)
