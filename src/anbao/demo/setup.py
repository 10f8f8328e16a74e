"""What ``anbao demo`` does before serving: migrate, admin, demo site, demo data, simulation."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.management import call_command

from anbao.accounts import services as accounts
from anbao.accounts.models import User
from anbao.accounts.roles import Role
from anbao.demo.people import DemoGuard, DemoPerson, generate_guards, generate_people, write_csv

DEMO_USERS = [
    ("clerk", Role.ACCREDITATION_OFFICER),
    ("leader", Role.CHECKPOINT_LEADER),
    ("operator", Role.CHECKPOINT_OPERATOR),
    ("roster", Role.ROSTER_MANAGER),
    ("commander", Role.COMMANDER),
    ("police", Role.POLICE_LIAISON),
    ("planner", Role.PLANNER),
]
DEMO_PEOPLE = 3000
DEMO_GUARDS = 600


@dataclass
class DemoState:
    """What the demo set-up did, for the summary."""

    admin_password: str | None = None
    user_passwords: dict[str, str] = field(default_factory=dict)
    site_loaded: bool = False
    people_file: Path | None = None
    guards_file: Path | None = None
    people: int = 0
    guards: int = 0
    accredited: int = 0
    rostered: int = 0
    seats: int = 0


def migrate() -> None:
    """Bring the database schema up to date."""
    call_command("migrate", interactive=False, verbosity=0)


def ensure_admin(state: DemoState) -> None:
    """Create the admin account on first run, remembering its password for one printing."""
    if User.objects.filter(username="admin").exists():
        return
    password = secrets.token_urlsafe(12)
    accounts.create_user(username="admin", role=Role.ADMIN, password=password, superuser=True)
    state.admin_password = password


def ensure_demo_users(state: DemoState) -> None:
    """Create one user per role (first run only), so that every view can be tried."""
    for username, role in DEMO_USERS:
        if User.objects.filter(username=username).exists():
            continue
        password = secrets.token_urlsafe(9)
        accounts.create_user(username=username, role=role, password=password)
        state.user_passwords[username] = password


def ensure_site(state: DemoState) -> None:
    """Load the bundled Wuzhen site unless an event exists already."""
    from anbao.sites import services as sites
    from anbao.sites.demo import DEMO_SITE_PATH
    from anbao.sites.models import Event

    if Event.objects.exists():
        return
    sites.load_site(DEMO_SITE_PATH)
    state.site_loaded = True


def ensure_demo_data(state: DemoState) -> None:
    """Write the generated people and guards as import files under ANBAO_HOME/demo."""
    folder = Path(settings.ANBAO_HOME) / "demo"
    people, guards = folder / "people.csv", folder / "guards.csv"
    if not people.exists():
        state.people = write_csv(people, generate_people(DEMO_PEOPLE), DemoPerson)
    else:
        state.people = sum(1 for _ in people.open(encoding="utf-8")) - 1
    if not guards.exists():
        state.guards = write_csv(guards, generate_guards(DEMO_GUARDS), DemoGuard)
    else:
        state.guards = sum(1 for _ in guards.open(encoding="utf-8")) - 1
    state.people_file, state.guards_file = people, guards


# Of the demo's delegates, media and staff, this share stays waiting for vetting, so the
# vetting queue has work in it; VIPs need no vetting.
WAITING_EVERY = 12
# Which numbered zones of the Wuzhen site each demo category may enter (VIP and G: all).
DEMO_CATEGORY_ZONES = {
    "D": ["1", "2", "5", "7"],
    "E": ["1", "3", "5"],
    "S": ["1", "2", "3", "5", "6", "7"],
    "C": ["1", "5", "8"],
    "T": ["1", "7", "8"],
}


#: The demo's accreditation office works this long before the first event day, so that keys
#: and credentials are already valid when the simulated morning starts.
PREPARATION_LEAD = timedelta(days=3)


def ensure_accreditations(state: DemoState) -> None:
    """Import, approve and issue the demo people's credentials, days before the event opens."""
    from anbao.core import clock

    previous = clock.install(clock.SimulationClock(start=simulation_start() - PREPARATION_LEAD))
    try:
        _accredit(state)
    finally:
        clock.install(previous)


def _accredit(state: DemoState) -> None:
    from anbao.accreditation import importing_store, issuance, keystore
    from anbao.accreditation import services as office
    from anbao.accreditation.bulk import bulk_advance
    from anbao.accreditation.models import Accreditation, AccreditationStatus
    from anbao.demo.people import photo_zip
    from anbao.sites import services as sites
    from anbao.sites.models import Zone

    event = sites.current_event()
    if event is None or Accreditation.objects.filter(event=event).exists():
        return
    for category in office.ensure_categories(event):
        numbers = DEMO_CATEGORY_ZONES.get(category.code)
        if numbers is not None:
            category.zones.set(Zone.objects.filter(event=event, number__in=numbers))
    keystore.ensure_keys()
    people = list(generate_people(DEMO_PEOPLE))
    if state.people_file is None:
        raise RuntimeError("the demo people file is written first")
    importing_store.commit_import(
        data=state.people_file.read_bytes(),
        filename="people.csv",
        mode="all",
        photos_zip=photo_zip(people),
        event=event,
    )
    rows = list(
        Accreditation.objects.filter(event=event)
        .order_by("pk")
        .values_list("pk", "category__vetting_required")
    )
    # Every twelfth vetted application is still waiting for the police, to fill the queue.
    waiting = {pk for n, (pk, vetting) in enumerate(rows) if vetting and n % WAITING_EVERY == 0}
    to_vet = [pk for pk, vetting in rows if vetting and pk not in waiting]
    bulk_advance(to_vet, to=AccreditationStatus.VETTED, note="demo: police cleared")
    approved = bulk_advance(
        [pk for pk, _v in rows if pk not in waiting], to=AccreditationStatus.APPROVED, note="demo"
    ).done
    state.accredited = len(issuance.issue_credentials(accreditation_ids=approved))


def ensure_workforce(state: DemoState) -> None:
    """Roster the guards for rehearsal and event days, then open the demo incidents (first run)."""
    from anbao.core import clock
    from anbao.sites import services as sites
    from anbao.workforce.simulation import setup_demo

    event = sites.current_event()
    if event is None or state.guards_file is None:
        raise RuntimeError("the demo site and guard file come first")
    previous = clock.install(clock.SimulationClock(start=simulation_start() - PREPARATION_LEAD))
    try:
        result = setup_demo(event, state.guards_file)
    finally:
        clock.install(previous)
    from anbao.incidents.simulation import setup_demo as incidents_demo

    # The demo's incidents open just before the simulated day starts, so that the big screen
    # (which shows what was open at its clock's time) lists them from the first second.
    previous = clock.install(clock.SimulationClock(start=simulation_start() - timedelta(minutes=4)))
    try:
        incidents_demo(event)
    finally:
        clock.install(previous)
    job = result.get("job")
    if job:
        state.rostered = int(job["assigned"])
        state.seats = int(job["seats"])


def simulation_start() -> datetime:
    """Return 06:00 local on the first event day: delegates start arriving then."""
    from anbao.sites import services as sites
    from anbao.sites.models import PhaseKind

    event = sites.current_event()
    if event is None:
        raise RuntimeError("no event loaded")
    phase = event.phases.filter(kind=PhaseKind.EVENT).order_by("start_date").first()
    day = phase.start_date if phase else event.start_date
    return datetime.combine(day, time(6, 0), tzinfo=ZoneInfo(event.time_zone))
