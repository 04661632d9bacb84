"""The demo company's organisation: departments, teams and a user for every role.

Head office (总部) with Customer Service (客户服务部, teams 热线组 Hotline and 在线组 Online), a sales
centre over East China, South China and International Sales, Marketing (市场部) and Quality
(质量管理部). More agents and sales representatives are added as the number of customers grows, so
nobody owns thousands of customers.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import random
from dataclasses import dataclass, field

from django.contrib.auth.hashers import make_password
from faker import Faker

from loopcrm.accounts import services as account_services
from loopcrm.accounts.models import Department, Role, Team, User
from loopcrm.demo.bulk import Loader

DEFAULT_DEMO_PASSWORD = "loopcrm-demo"  # noqa: S105 — documented; demo users only, never 'admin'
PASSWORD_ENV = "LOOPCRM_DEMO_PASSWORD"  # noqa: S105 — the variable's name, not a password
MARKER_DEPARTMENT = "hq"  # its presence means the demo is loaded

# (code, parent code, name)
DEPARTMENTS: tuple[tuple[str, str, str], ...] = (
    ("hq", "", "总部 Head office"),
    ("cs", "hq", "客户服务部 Customer Service"),
    ("sales", "hq", "销售中心 Sales"),
    ("sales-east", "sales", "华东销售部 East China Sales"),
    ("sales-south", "sales", "华南销售部 South China Sales"),
    ("sales-intl", "sales", "国际销售部 International Sales"),
    ("marketing", "hq", "市场部 Marketing"),
    ("quality", "hq", "质量管理部 Quality"),
)

# (key, department code, name)
TEAMS: tuple[tuple[str, str, str], ...] = (
    ("hotline", "cs", "热线组 Hotline"),
    ("online", "cs", "在线组 Online"),
    ("east", "sales-east", "华东一组 East team"),
    ("south", "sales-south", "华南一组 South team"),
    ("intl", "sales-intl", "International team"),
)

# (username, display name, role, department code, team key or "")
STAFF: tuple[tuple[str, str, str, str, str], ...] = (
    ("itadmin", "周强", Role.ADMINISTRATOR, "hq", ""),
    ("exec", "刘建国", Role.EXECUTIVE, "hq", ""),
    ("manager", "陈静", Role.MANAGER, "cs", ""),
    ("lead", "李娜", Role.TEAM_LEAD, "cs", "hotline"),
    ("agent", "王芳", Role.AGENT, "cs", "hotline"),
    ("zhang.wei", "张伟", Role.AGENT, "cs", "hotline"),
    ("liu.yang", "刘洋", Role.AGENT, "cs", "hotline"),
    ("david.wong", "David Wong", Role.AGENT, "cs", "hotline"),
    ("zhao.min", "赵敏", Role.TEAM_LEAD, "cs", "online"),
    ("sun.li", "孙丽", Role.AGENT, "cs", "online"),
    ("zhou.jie", "周杰", Role.AGENT, "cs", "online"),
    ("amy.chen", "Amy Chen", Role.AGENT, "cs", "online"),
    ("huang.lei", "黄磊", Role.MANAGER, "sales", ""),
    ("wu.gang", "吴刚", Role.TEAM_LEAD, "sales-east", "east"),
    ("sales", "杨洋", Role.SALES, "sales-east", "east"),
    ("xu.ting", "徐婷", Role.SALES, "sales-east", "east"),
    ("zheng.hao", "郑浩", Role.TEAM_LEAD, "sales-south", "south"),
    ("lin.xiao", "林晓", Role.SALES, "sales-south", "south"),
    ("he.min", "何敏", Role.SALES, "sales-south", "south"),
    ("emily.carter", "Emily Carter", Role.TEAM_LEAD, "sales-intl", "intl"),
    ("james.miller", "James Miller", Role.SALES, "sales-intl", "intl"),
    ("marketing", "马丽", Role.MARKETING, "marketing", ""),
    ("tang.yu", "唐宇", Role.MARKETING, "marketing", ""),
    ("quality", "郭涛", Role.QUALITY_MANAGER, "quality", ""),
    ("song.jia", "宋佳", Role.QUALITY_MANAGER, "quality", ""),
)

# The sign-ins printed after a load: one memorable username per role.
SIGN_INS = ("itadmin", "manager", "lead", "agent", "sales", "marketing", "quality", "exec")

# team key -> (role of added staff, customers per person it takes, username stem, most to add)
GROWTH: dict[str, tuple[str, float, str, int]] = {
    "hotline": (Role.AGENT, 600, "hotline", 40),
    "online": (Role.AGENT, 1000, "online", 30),
    "east": (Role.SALES, 950, "east", 60),  # ≈ 42 % of customers
    "south": (Role.SALES, 1050, "south", 60),  # ≈ 38 %
    "intl": (Role.SALES, 1700, "intl", 30),  # ≈ 18 %
}


def demo_password() -> str:
    return os.environ.get(PASSWORD_ENV) or DEFAULT_DEMO_PASSWORD


@dataclass
class Staff:
    """The loaded organisation, as the customer, order and interaction generators need it."""

    departments: dict[str, Department]
    teams: dict[str, Team]
    users: dict[str, User]
    members: dict[str, list[User]] = field(default_factory=dict)  # team key -> members, lead first

    def team(self, key: str) -> list[User]:
        return self.members[key]

    def by_role(self, role: str) -> list[User]:
        return [user for user in self.users.values() if user.role == role]


def staff_rows(*, customers: int, seed: int) -> list[tuple[str, str, str, str, str]]:
    """Everyone the demo creates: the named staff, plus agents and representatives added for the load's size."""
    fake_zh, fake_en = Faker("zh_CN"), Faker("en_US")
    fake_zh.seed_instance(seed * 7919 + 1)
    fake_en.seed_instance(seed * 7919 + 2)
    rows = list(STAFF)
    for key, (role, per_person, stem, most) in GROWTH.items():
        present = sum(1 for row in STAFF if row[4] == key)
        wanted = min(most, math.ceil(customers / per_person))
        department = next(code for team_key, code, _name in TEAMS if team_key == key)
        for number in range(1, max(0, wanted - present) + 1):
            name = f"{fake_en.first_name()} {fake_en.last_name()}" if key == "intl" else fake_zh.name()
            rows.append((f"{stem}{number:02d}", name, role, department, key))
    return rows


def load_organisation(loader: Loader, *, customers: int, seed: int) -> Staff:
    rng = random.Random(f"{seed}/organisation")
    departments: dict[str, Department] = {}
    for code, parent, name in DEPARTMENTS:
        departments[code] = account_services.create_department(name=name, code=code, parent=departments.get(parent))
    # The organisation predates the two years of history the demo shows.
    founded = loader.calendar.at(loader.calendar.today - dt.timedelta(days=2400), 9)
    Department.objects.filter(pk__in=[d.pk for d in departments.values()]).update(created_at=founded,
                                                                                 updated_at=founded)

    rows = staff_rows(customers=customers, seed=seed)
    encoded = make_password(demo_password())  # one hash for all: Argon2 costs ~50 ms each
    users: dict[str, User] = {}
    for username, display_name, role, department, _team in rows:
        english = display_name.isascii()
        joined = loader.calendar.at(loader.calendar.today - dt.timedelta(days=rng.randint(400, 2200)), 9)
        users[username] = User(
            username=username, display_name=display_name, role=role, department=departments[department],
            email=f"{username}@staff.example.com", password=encoded, is_staff=role == Role.ADMINISTRATOR,
            language="en" if english else "zh-hans", date_joined=joined,
            first_name=display_name.split()[0] if english else display_name[1:],
            last_name=display_name.split()[-1] if english else display_name[0],
        )
    loader.insert(list(users.values()))

    teams: dict[str, Team] = {}
    members: dict[str, list[User]] = {}
    links = []
    for key, department, name in TEAMS:
        team_members = [users[row[0]] for row in rows if row[4] == key]
        lead = next(user for user in team_members if user.role == Role.TEAM_LEAD)
        team = Team(name=name, department=departments[department], lead=lead,
                    created_at=loader.calendar.start, updated_at=loader.calendar.start)
        loader.insert([team])
        teams[key] = team
        members[key] = team_members
        links += [Team.members.through(team_id=team.pk, user_id=user.pk) for user in team_members]
    loader.link(Team.members.through, links)
    loader.say(f"Organisation: {len(departments)} departments, {len(teams)} teams, {len(users)} users.")
    return Staff(departments=departments, teams=teams, users=users, members=members)
