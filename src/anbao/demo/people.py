"""Generated demo people and staff: plausible, deterministic, and never real persons.

Names are drawn at random from common surname and given-name characters; ID numbers carry a
valid GB 11643-1999 check digit but a serial range (9xx) that marks them as test data.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Iterator
from dataclasses import asdict, dataclass, fields
from datetime import date, timedelta
from pathlib import Path

SURNAMES = [
    ("王", "Wang"),
    ("李", "Li"),
    ("张", "Zhang"),
    ("刘", "Liu"),
    ("陈", "Chen"),
    ("杨", "Yang"),
    ("黄", "Huang"),
    ("赵", "Zhao"),
    ("吴", "Wu"),
    ("周", "Zhou"),
    ("徐", "Xu"),
    ("孙", "Sun"),
    ("马", "Ma"),
    ("朱", "Zhu"),
    ("胡", "Hu"),
    ("郭", "Guo"),
    ("何", "He"),
    ("林", "Lin"),
    ("高", "Gao"),
    ("罗", "Luo"),
    ("郑", "Zheng"),
    ("梁", "Liang"),
    ("沈", "Shen"),
    ("钱", "Qian"),
]
GIVEN = [
    ("伟", "Wei"),
    ("芳", "Fang"),
    ("娜", "Na"),
    ("敏", "Min"),
    ("静", "Jing"),
    ("丽", "Li"),
    ("强", "Qiang"),
    ("磊", "Lei"),
    ("洋", "Yang"),
    ("艳", "Yan"),
    ("勇", "Yong"),
    ("军", "Jun"),
    ("杰", "Jie"),
    ("娟", "Juan"),
    ("涛", "Tao"),
    ("明", "Ming"),
    ("超", "Chao"),
    ("秀", "Xiu"),
    ("霞", "Xia"),
    ("平", "Ping"),
    ("刚", "Gang"),
    ("桂", "Gui"),
    ("浩", "Hao"),
    ("宇", "Yu"),
    ("晨", "Chen"),
    ("欣", "Xin"),
    ("嘉", "Jia"),
    ("怡", "Yi"),
    ("博", "Bo"),
    ("文", "Wen"),
]
# Districts: Tongxiang (Wuzhen), Hangzhou Xihu, Beijing Chaoyang, Shanghai Xuhui, Shenzhen Nanshan.
REGIONS = ["330483", "330106", "110105", "310104", "440305", "320106", "510107"]
FOREIGN = [
    ("GBR", "Smith", "Oliver"),
    ("USA", "Johnson", "Emma"),
    ("DEU", "Müller", "Lukas"),
    ("FRA", "Martin", "Chloé"),
    ("RUS", "Ivanov", "Dmitry"),
    ("BRA", "Silva", "Ana"),
    ("KEN", "Otieno", "Achieng"),
    ("IND", "Sharma", "Priya"),
    ("SGP", "Tan", "Wei Ling"),
]
CATEGORIES = [("D", 0.55), ("E", 0.15), ("S", 0.12), ("C", 0.08), ("T", 0.06), ("VIP", 0.04)]
ORGANISATIONS = {
    "D": ["Delegation of Zhejiang Digital Economy", "Global Internet Forum", "Asia Cloud Alliance"],
    "E": ["Xinhua News Agency", "Zhejiang Daily", "Tech Review International"],
    "S": ["Conference Secretariat", "Venue Operations"],
    "C": ["Wuzhen Catering Services", "Stage & AV Contractors"],
    "T": ["Conference Motor Pool"],
    "VIP": ["Protocol Office"],
}
#: Guard profiles for the demo roll: share, skills. Every guard also holds the licence.
GUARD_PROFILES = [
    (0.28, ("xray", "handheld")),
    (0.31, ("handheld",)),
    (0.17, ("vehicle", "driver")),
    (0.13, ("team_leader", "handheld")),
    (0.04, ("canine",)),
    (0.07, ("first_aid", "handheld")),
]
#: Home bases around Wuzhen: name, lon, lat.
GUARD_BASES = [
    ("Tongxiang barracks", 120.5650, 30.6300),
    ("Wuzhen hotel block B", 120.4870, 30.7440),
    ("Jiaxing depot", 120.7550, 30.7460),
]
EMPLOYERS = ["anbao Security Services", "Tongxiang Baoan Co.", "Jiaxing Guard Services"]

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"


def gb11643_check_digit(first17: str) -> str:
    """Return the GB 11643-1999 check character for the first 17 digits of an ID number."""
    if len(first17) != 17 or not first17.isdigit():
        raise ValueError("need exactly 17 digits")
    return CHECK_CHARS[sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True)) % 11]


def resident_id(region: str, born: date, serial: int, female: bool) -> str:
    """Return an 18-character resident ID with a valid check digit (serial 900-998: test range)."""
    seq = 900 + (serial % 50) * 2 + (0 if female else 1)
    first17 = f"{region}{born:%Y%m%d}{seq:03d}"
    return first17 + gb11643_check_digit(first17)


@dataclass(frozen=True)
class DemoPerson:
    """One generated person to accredit."""

    ref: str
    name_zh: str
    family_name: str
    given_name: str
    gender: str
    birth_date: str
    nationality: str
    id_type: str
    id_number: str
    phone: str
    organisation: str
    category: str


@dataclass(frozen=True)
class DemoGuard:
    """One generated guard for rostering."""

    employee_no: str
    name_zh: str
    name_latin: str
    gender: str
    employer: str
    skills: str
    english_level: str
    home_base: str
    base_lon: str
    base_lat: str


def _unique_id(used: set[str], region: str, born: date, serial: int, female: bool) -> str:
    # Two people born the same day in one district would otherwise collide now and then.
    for step in range(50):
        number = resident_id(region, born, serial + step, female)
        if number not in used:
            used.add(number)
            return number
    raise RuntimeError("no free demo ID number for that day and district")


def _free_day(seen: set[tuple[str, str, date]], family: str, given: str, born: date) -> date:
    while (family, given, born) in seen:
        born += timedelta(days=1)
    seen.add((family, given, born))
    return born


def _birth(rng: random.Random, min_age: int, max_age: int) -> date:
    start = date(2026, 1, 1) - timedelta(days=365 * max_age)
    return start + timedelta(days=rng.randrange(365 * (max_age - min_age)))


def _chinese_name(rng: random.Random) -> tuple[str, str, str]:
    sur_zh, sur_en = rng.choice(SURNAMES)
    parts = rng.sample(GIVEN, rng.choice((1, 2)))
    return sur_zh + "".join(p[0] for p in parts), sur_en, "".join(p[1] for p in parts).capitalize()


def generate_people(count: int = 3000, seed: int = 2026) -> Iterator[DemoPerson]:
    """Yield ``count`` generated people, the same ones for the same seed."""
    rng = random.Random(seed)  # noqa: S311  (demo data, not security)
    cats, weights = zip(*CATEGORIES, strict=True)
    used: set[str] = set()
    # The import treats one name with one birth date as the same person: keep them apart.
    seen: set[tuple[str, str, date]] = set()
    for i in range(count):
        category = rng.choices(cats, weights)[0]
        female = rng.random() < 0.45
        born = _birth(rng, 21, 65)
        if category in {"D", "E"} and rng.random() < 0.2:
            nat, family, given = rng.choice(FOREIGN)
            born = _free_day(seen, family, given, born)
            passport = f"X{rng.randrange(10**7, 10**8)}"
            while passport in used:
                passport = f"X{rng.randrange(10**7, 10**8)}"
            used.add(passport)
            yield DemoPerson(
                ref=f"P{i + 1:05d}",
                name_zh="",
                family_name=family,
                given_name=given,
                gender="F" if female else "M",
                birth_date=born.isoformat(),
                nationality=nat,
                id_type="passport",
                id_number=passport,
                phone=f"+44 7{rng.randrange(10**8, 10**9)}",
                organisation=rng.choice(ORGANISATIONS[category]),
                category=category,
            )
            continue
        name_zh, family, given = _chinese_name(rng)
        born = _free_day(seen, family, given, born)
        yield DemoPerson(
            ref=f"P{i + 1:05d}",
            name_zh=name_zh,
            family_name=family,
            given_name=given,
            gender="F" if female else "M",
            birth_date=born.isoformat(),
            nationality="CHN",
            id_type="resident_id",
            id_number=_unique_id(used, rng.choice(REGIONS), born, i, female),
            phone=f"1{rng.choice('3589')}{rng.randrange(10**8, 10**9)}",
            organisation=rng.choice(ORGANISATIONS[category]),
            category=category,
        )


def generate_guards(count: int = 600, seed: int = 7) -> Iterator[DemoGuard]:
    """Yield ``count`` generated guards: a realistic mix of screeners, searchers and leaders.

    About a third are women (pat-down posts). X-ray and canine certificates carry an expiry
    date; one in forty X-ray certificates runs out during the event, as happens.
    """
    rng = random.Random(seed)  # noqa: S311  (demo data, not security)
    shares = [p[0] for p in GUARD_PROFILES]
    for i in range(count):
        name_zh, family, given = _chinese_name(rng)
        female = rng.random() < 0.33
        (_share, profile) = rng.choices(GUARD_PROFILES, weights=shares)[0]
        skills = ["licence:2028-12-31"]
        for skill in profile:
            if skill == "xray":
                skills.append("xray:2026-11-09" if rng.random() < 0.025 else "xray:2027-09-30")
            elif skill == "canine":
                skills.append("canine:2027-03-31")
            else:
                skills.append(skill)
        base, lon, lat = rng.choice(GUARD_BASES)
        yield DemoGuard(
            employee_no=f"G{i + 1:04d}",
            name_zh=name_zh,
            name_latin=f"{given} {family}",
            gender="F" if female else "M",
            employer=rng.choice(EMPLOYERS),
            skills=";".join(skills),
            english_level=rng.choices(["none", "basic", "working"], weights=[5, 3, 2])[0],
            home_base=base,
            base_lon=f"{lon + rng.uniform(-0.004, 0.004):.5f}",
            base_lat=f"{lat + rng.uniform(-0.004, 0.004):.5f}",
        )


def write_csv(path: Path, rows: Iterator[DemoPerson] | Iterator[DemoGuard], kind: type) -> int:
    """Write generated rows as UTF-8 CSV with a header; return the row count."""
    path.parent.mkdir(parents=True, exist_ok=True)
    names = [f.name for f in fields(kind)]
    n = 0
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=names)
        writer.writeheader()
        for row in rows:
            writer.writerow(asdict(row))
            n += 1
    return n


def demo_photo(person: DemoPerson, size: tuple[int, int] = (180, 240)) -> bytes:
    """Return a generated portrait placeholder (silhouette and initials) as JPEG bytes."""
    import io

    from PIL import Image, ImageDraw

    seed = sum(ord(c) for c in person.ref)
    background = (90 + seed % 120, 110 + (seed * 7) % 100, 140 + (seed * 13) % 90)
    img = Image.new("RGB", size, background)
    draw = ImageDraw.Draw(img)
    w, h = size
    draw.ellipse((w * 0.3, h * 0.18, w * 0.7, h * 0.52), fill=(235, 222, 205))
    draw.rounded_rectangle(
        (w * 0.12, h * 0.56, w * 0.88, h * 1.1), radius=int(w * 0.2), fill=(40, 52, 70)
    )
    initials = (person.given_name[:1] + person.family_name[:1]).upper()
    draw.text((8, 8), initials, fill=(255, 255, 255))
    out = io.BytesIO()
    img.save(out, format="JPEG", quality=80)
    return out.getvalue()


def photo_zip(people: list[DemoPerson]) -> bytes:
    """Return a zip of generated photos named by ID number, as the import expects."""
    import io
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as archive:
        for person in people:
            archive.writestr(f"{person.id_number}.jpg", demo_photo(person))
    return out.getvalue()
