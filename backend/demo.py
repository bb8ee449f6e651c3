"""The embedded demo: a Shanghai collections team with history and today's routes.

Only for `make run`'s embedded database; every demo password is "demo".
"""

import io
import random
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from .auth.models import User
from .auth.services import create_user
from .cases.models import Account, Address, Case, CaseFlag, Debtor, Note
from .cases.services import append_event
from .common import canonical_json, sha256_hex, to_utc_naive, utcnow
from .extensions import db
from .org.models import Agent, Branch
from .plans.models import Blob, Installment, RepaymentPlan, Signature
from .policy.demo import past_outcome, past_visit
from .policy.rules import sync_findings
from .policy.settings import change_setting, effective_settings
from .sync.models import SyncOp
from .visits.models import Visit

TZ = "Asia/Shanghai"
BRANCHES = [
    ("PD", "浦东分部 Pudong", 31.2215, 121.5440),
    ("XH", "徐汇分部 Xuhui", 31.1885, 121.4365),
    ("BS", "宝山分部 Baoshan", 31.4050, 121.4890),
    # agent1's own patch: one case per playbook strategy, so every strategy shows in the app
    ("SC", "示范组 Showcase", 31.2400, 121.5000),
]
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
    "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国建华志强海燕婷玉兰晨浩宇欣怡子涵梓轩思远佳琪雨桐文博"
ROADS = [
    "长宁",
    "延安",
    "南京",
    "淮海",
    "中山",
    "张杨",
    "浦东",
    "世纪",
    "龙阳",
    "杨高",
    "漕溪",
    "宜山",
    "虹桥",
    "天钥桥",
    "肇嘉浜",
    "共和新",
    "牡丹江",
    "友谊",
    "同济",
    "呼兰",
    "长江",
    "水产",
    "逸仙",
    "殷高",
]
SKILLS = ["dialect", "legal", "senior"]
# approaches an agent takes at the door of a case not at the legal stage, and the two scripts of each
DOOR_STRATEGIES = ["empathy", "firm", "home_visit", "installment_plan", "early_repayment_incentive", "customer_care", "sms_reminder"]
# how often agents reach for each (the plan-offering and empathetic approaches most)
DOOR_WEIGHTS = [24, 14, 12, 20, 12, 8, 10]
HISTORY_VISITS = 420
HISTORY_DAYS = 80  # visits from 8 to 80 days ago: most promises judged, most 30-day windows closed
SCRIPTS_OF = {
    "empathy": ("opening", "listen"),
    "firm": ("consequences", "hold_agreement"),
    "home_visit": ("opening", "understand"),
    "installment_plan": ("offer", "options"),
    "early_repayment_incentive": ("offer", "credit"),
    "customer_care": ("check_in", "referral"),
    "sms_reminder": ("due", "visit"),
}


def database_is_empty() -> bool:
    return db.session.scalar(select(func.count(User.id))) == 0


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def _point(rng: random.Random, lat: float, lon: float, km: float) -> tuple[float, float]:
    return (round(lat + rng.gauss(0, km / 111.0), 6), round(lon + rng.gauss(0, km / 95.0), 6))


def _signature_png(rng: random.Random) -> tuple[bytes, list]:
    """A believable scribble drawn with Pillow, plus its stroke data."""
    from PIL import Image, ImageDraw

    image = Image.new("RGBA", (360, 120), (255, 255, 255, 0))
    draw = ImageDraw.Draw(image)
    strokes = []
    for s in range(rng.randint(2, 3)):
        x, y = 30 + s * 100, 60
        points = []
        for i in range(18):
            x += rng.randint(3, 9)
            y = max(15, min(105, y + rng.randint(-14, 14)))
            points.append([x, y, i * 16])
        strokes.append(points)
        draw.line([(p[0], p[1]) for p in points], fill=(20, 30, 90, 255), width=3, joint="curve")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue(), strokes


def seed_demo(*, seed: int = 7, n_cases: int = 600) -> str:
    rng = random.Random(seed)
    today = datetime.now(ZoneInfo(TZ)).date()
    admin = create_user(username="admin", password="demo", role="admin", display_name="系统管理员 Admin")
    create_user(username="dispatcher", password="demo", role="dispatcher", display_name="调度 Dispatcher")
    owner = create_user(username="owner", password="demo", role="owner", display_name="案件主管 Case owner")
    owner2 = create_user(username="owner2", password="demo", role="owner", display_name="案件主管二 Owner 2")
    branches = []
    for code, name, lat, lon in BRANCHES:
        branch = Branch(code=code, name=name, lat=lat, lon=lon, timezone=TZ, jurisdiction="CN")
        db.session.add(branch)
        branches.append(branch)
    db.session.flush()
    agents = []
    for n in range(1, 21):
        branch = branches[3] if n == 1 else branches[n % 3]
        user = create_user(username=f"agent{n}", password="demo", role="agent", display_name=f"{_name(rng)} (agent{n})")
        start = _point(rng, branch.lat, branch.lon, 1.5)
        agent = Agent(
            user_id=user.id,
            branch_id=branch.id,
            shift_start_s=9 * 3600,
            shift_end_s=18 * 3600,
            daily_cap=12,
            # the showcase agent can take every strategy case (senior, dialect …)
            skills=sorted(SKILLS) if n == 1 else sorted(rng.sample(SKILLS, rng.choice((0, 0, 1, 1, 2)))),
            start_lat=start[0],
            start_lon=start[1],
        )
        db.session.add(agent)
        agents.append(agent)
    db.session.flush()

    cases = []
    flag_choices = ["dispute", "bankruptcy", "deceased", "cease_contact", "vulnerable", "complaint", "asked_not_to_return", "attorney"]
    for i in range(n_cases):
        branch = branches[i % 3]
        dpd = rng.choice([rng.randint(31, 60), rng.randint(61, 120), rng.randint(121, 180), rng.randint(181, 720)])
        balance = Decimal(rng.randrange(3_000, 180_000)).quantize(Decimal("1"))
        overdue = (balance * Decimal(rng.uniform(0.15, 1.0))).quantize(Decimal("0.01"))
        debtor = Debtor(
            name=_name(rng),
            phone=f"1{rng.choice('3578')}{rng.randint(100000000, 999999999)}",
            id_last4=f"{rng.randint(0, 9999):04d}",
        )
        db.session.add(debtor)
        db.session.flush()
        lat, lon = _point(rng, branch.lat, branch.lon, 4.0)
        db.session.add(
            Address(
                debtor_id=debtor.id,
                line=f"{rng.choice(ROADS)}路{rng.randint(1, 2000)}弄{rng.randint(1, 80)}号{rng.randint(101, 2402)}室",
                city="上海",
                postal_code=f"200{rng.randint(0, 999):03d}",
                country="CN",
                lat=lat,
                lon=lon,
                geocode_status="provided",
                timezone=TZ,
            )
        )
        account = Account(
            account_number=f"62{rng.randint(10**13, 10**14 - 1)}",
            card_masked=f"**** **** **** {rng.randint(0, 9999):04d}",
            debtor_id=debtor.id,
            balance=balance,
            overdue_amount=overdue,
            days_past_due=dpd,
        )
        db.session.add(account)
        db.session.flush()
        stage = rng.choices(["field", "phone", "letter", "legal", "closed"], [62, 12, 12, 8, 6])[0]
        case = Case(
            account_id=account.id,
            stage=stage,
            branch_id=branch.id,
            owner_id=rng.choice([owner.id, owner.id, owner2.id]),
            broken_promises=rng.choice([0, 0, 0, 1, 2]),
            created_at=utcnow() - timedelta(days=dpd),
        )
        db.session.add(case)
        db.session.flush()
        append_event(case=case, kind="case.imported", actor_id=admin.id, data={"account_number": account.account_number})
        for step in ("phone", "letter", "field", "legal"):
            if ["phone", "letter", "field", "legal"].index(step) > ["phone", "letter", "field", "legal", "closed"].index(
                stage
            ) or step == "phone":
                continue
            append_event(case=case, kind="case.stage", actor_id=owner.id, data={"to": step, "reason": "earlier stage failed"})
        if rng.random() < 0.10:
            flag = rng.choice(flag_choices)
            db.session.add(
                CaseFlag(
                    case_id=case.id,
                    flag=flag,
                    reason=_flag_reason(flag),
                    set_by_id=owner.id,
                    set_at=utcnow() - timedelta(days=rng.randint(1, 20)),
                )
            )
            append_event(case=case, kind="flag.set", actor_id=owner.id, data={"flag": flag, "reason": _flag_reason(flag)})
        cases.append(case)
    db.session.flush()

    history = _seed_history(rng, cases, agents, owner, today)
    db.session.commit()
    routes = top_up_day(day=today)
    return f"{len(branches)} branches, {len(agents)} agents, {len(cases)} cases, {history}; {routes}"


def _flag_reason(flag: str) -> str:
    return {
        "dispute": "持卡人对账单金额提出异议 Cardholder disputes the statement",
        "bankruptcy": "已进入个人破产程序 Personal insolvency proceedings",
        "deceased": "家属告知持卡人已故 Family reported the cardholder deceased",
        "cease_contact": "书面要求停止联系 Written request to cease contact",
        "vulnerable": "上次上门发现健康问题 Health concern seen on last visit",
        "complaint": "投诉处理中 Complaint open",
        "asked_not_to_return": "上次要求离开 Asked the agent to leave",
        "attorney": "已委托律师 Represented by a lawyer",
    }[flag]


def _seed_history(rng: random.Random, cases, agents, owner, today: date) -> str:
    """Past visits with outcomes, promises and signed plans, some pending approval — and, as in
    any month of field work, a few visits the agent never reached, a few arrivals before the
    legal hours (R1, flagged on the outcome) and a few outcomes the sync refused because no
    disclosure was acknowledged (R6: kept as a rejected op, the visit left undone)."""
    by_branch: dict[int, list[Agent]] = {}
    for agent in agents:
        by_branch.setdefault(agent.branch_id, []).append(agent)
    field = [c for c in cases if c.stage in ("field", "legal", "closed")]
    visited = rng.sample(field, min(len(field), HISTORY_VISITS))
    counts = {"visits": 0, "plans": 0, "pending": 0, "missed": 0, "early": 0, "refused": 0}
    money: list = []  # (case, visit, agent, amount, day) of money taken at the door
    plans: list = []  # (plan, account number, strategy, day) of promises and plans made at the door
    outcomes = [
        "not_home",
        "promise_to_pay",
        "promise_to_pay",
        "plan_agreed",
        "refused",
        "hardship",
        "third_party_only",
        "paid",
        "not_home",
    ]
    for case in visited:
        agent = rng.choice(by_branch[case.branch_id])
        day = today - timedelta(days=rng.randint(8, HISTORY_DAYS))
        fate = rng.random()
        if fate < 0.04:  # never reached: the day ran out
            past_visit(case, agent, day, stay=None)
            counts["missed"] += 1
            continue
        early = fate < 0.07  # at the door before the legal hours began
        visit = past_visit(
            case,
            agent,
            day,
            after=timedelta(minutes=-rng.randint(20, 40) if early else rng.randint(30, 500)),
            stay=timedelta(minutes=rng.randint(10, 35)),
            accuracy_m=rng.randint(5, 40),
            distance_m=rng.randint(3, 60),
        )
        counts["early"] += early
        code = rng.choice(outcomes)
        met = {"not_home": "nobody", "third_party_only": "third_party"}.get(code, "debtor")
        if met == "debtor" and fate > 0.97:
            _refused_without_disclosure(visit, code)
            counts["refused"] += 1
            continue
        data: dict = {}
        plan = None
        strategy = rng.choices(DOOR_STRATEGIES, DOOR_WEIGHTS)[0] if met == "debtor" else None
        if code == "promise_to_pay":
            data = {
                "amount": str((case.account.overdue_amount / 3).quantize(Decimal("0.01"))),
                "due_date": (day + timedelta(days=10)).isoformat(),
            }
            plan = _plan(case, visit, agent, "promise", Decimal(data["amount"]), 0, day, rng, "active")
            data["plan_id"] = plan.id
        elif code == "plan_agreed":
            months = rng.choice([6, 12, 24])
            discount = rng.choice([0, 0, 5, 15, 30])
            status = "pending_approval" if discount > 10 else "active"
            plan = _plan(
                case,
                visit,
                agent,
                "installments" if discount == 0 else "settlement",
                case.account.balance,
                months,
                day,
                rng,
                status,
                discount,
            )
            data = {"plan_id": plan.id}
            counts["pending"] += status == "pending_approval"
        elif code == "paid":
            data = {"amount": str(min(case.account.overdue_amount, Decimal(rng.randrange(300, 5000, 50))).quantize(Decimal("0.01")))}
        if strategy:
            data = {**data, "strategy": strategy, "script": f"{strategy}.{rng.choice(SCRIPTS_OF[strategy])}"}
        past_outcome(visit, code, met, data, disclosed_after=timedelta(minutes=2), reviewed_by_id=owner.id if rng.random() < 0.7 else None)
        if code == "paid":
            money.append((case, visit, agent, Decimal(data["amount"]), day))
        if plan is not None:
            plans.append((plan, case.account.account_number, strategy, day))
            counts["plans"] += 1
            append_event(
                case=case,
                kind="plan.proposed",
                actor_id=agent.user_id,
                data={"plan_id": plan.id, "kind": plan.kind, "terms_hash": plan.terms_hash, "status": plan.status},
            )
        if rng.random() < 0.4:
            note = rng.choice(
                [
                    "客户态度配合，表示月底发工资后还款。Cooperative; will pay after payday.",
                    "邻居称客户白天上班，晚上在家。Neighbour: at work during the day.",
                    "客户失业三个月，家庭困难，建议分期。Unemployed 3 months; suggest installments.",
                    "客户情绪激动，已耐心解释政策。Upset; explained the policy calmly.",
                ]
            )
            db.session.add(Note(case_id=case.id, visit_id=visit.id, author_id=agent.user_id, text=note))
            append_event(case=case, kind="note.added", actor_id=agent.user_id, data={"visit_id": visit.id, "text": note})
        counts["visits"] += 1
    db.session.flush()
    paid = _seed_money(rng, money, plans, owner, today)
    return (
        f"{counts['visits']} past visits, {counts['plans']} plans ({counts['pending']} pending approval), {paid}; "
        f"{counts['missed']} never reached, {counts['early']} arrivals before the hours, "
        f"{counts['refused']} outcomes refused for want of a disclosure"
    )


def _refused_without_disclosure(visit: Visit, code: str) -> None:
    """The debtor met, the outcome sent without the disclosure acknowledged: the sync refused it
    (R6, the rule's own finding) and kept the op for the owner; the visit stays checked in."""
    import uuid

    payload = {"visit_id": visit.id, "code": code, "met": "debtor", "disclosure_at": None}
    findings = sync_findings(case=visit.case, visit=visit, op_type="visit.outcome", device_at=visit.checkout_at, payload=payload)
    first = next(f for f in findings if f.rule == "R6")
    op_id = str(uuid.uuid4())
    result = {
        "id": op_id,
        "status": "rejected",
        "detail": first.message,
        "errors": {"payload.disclosure_at": [first.message]},
        "server": {},
        "code": "no_disclosure",
        "params": {"rule": "R6", "finding": first.code},
    }
    agent_user = visit.agent.user_id if visit.agent else None
    db.session.add(
        SyncOp(
            id=op_id,
            device_id=f"demo-phone-{visit.agent_id}",
            user_id=agent_user,
            type="visit.outcome",
            device_at=visit.checkout_at,
            received_at=visit.checkout_at,
            case_id=visit.case_id,
            visit_id=visit.id,
            status="rejected",
            payload=payload,
            result=result,
        )
    )
    append_event(
        case=visit.case,
        kind="sync.rejected",
        actor_id=agent_user,
        data={
            "op_id": op_id,
            "type": "visit.outcome",
            "reason": first.message,
            "errors": result["errors"],
            "device_id": f"demo-phone-{visit.agent_id}",
        },
    )


def _seed_money(rng: random.Random, money: list, plans: list, owner, today: date) -> str:
    """What the money did after those visits, through the same imports the office uses: receipts
    for money taken at the door, the bank's feed confirming most of them (a few with the wrong
    amount, some not yet), cash banked through the deposits import or still in an agent's hands
    past the custody limit, and payments that keep some promises and plans while others break
    (an empathetic or plan-offering approach keeps a little more often than a firm one)."""
    import uuid

    from .payments.collections import record_collection
    from .payments.services import evaluate_promises, import_deposits, import_payments

    feed = ["reference,account_number,amount,paid_on,channel"]
    deposits = ["reference,receipt_number,amount,deposited_on"]
    held = 0
    for case, visit, agent, amount, day in money:
        method = rng.choices(["cash", "bank_transfer", "card_terminal", "payment_link"], [50, 20, 15, 15])[0]
        reference = f"TX{visit.id:06d}" if method != "cash" else None
        collection = record_collection(
            case=case,
            visit_id=visit.id,
            agent_id=agent.id,
            actor_id=agent.user_id,
            amount=amount,
            currency="CNY",
            method=method,
            reference=reference,
            collected_at=visit.checkout_at,
            op_id=str(uuid.uuid4()),
        )
        account = case.account.account_number
        fate = rng.random()
        if method == "cash":
            if fate < 0.55:  # banked the next day, and the bank's feed shows it under the receipt number
                deposits.append(f"DEP-{visit.id},{collection.receipt_number},{amount},{day + timedelta(days=1)}")
                feed.append(f"{collection.receipt_number},{account},{amount},{day + timedelta(days=1)},cash deposit")
            elif fate < 0.75:  # banked, the bank's feed has not reached it yet
                deposits.append(f"DEP-{visit.id},{collection.receipt_number},{amount},{day + timedelta(days=2)}")
            else:  # still in the agent's hands, past the custody limit
                held += 1
        elif fate < 0.75:
            feed.append(f"{reference},{account},{amount},{day},{method}")
        elif fate < 0.85:  # the bank booked another amount: disputed
            feed.append(f"{reference},{account},{amount - 100 if amount > 100 else amount / 2:.2f},{day},{method}")
    # what works: the odds an installment is paid on time after each approach, wide enough apart
    # that the owners' table tells them apart over a few hundred visits
    kept_odds = {
        "installment_plan": 0.8,
        "early_repayment_incentive": 0.75,
        "empathy": 0.65,
        "customer_care": 0.55,
        "home_visit": 0.45,
        "sms_reminder": 0.4,
        "firm": 0.25,
    }
    for plan, account_number, strategy, day in plans:
        if plan.status != "active":
            continue
        # a debtor who means it pays each due on time; one who does not pays part of a due, or
        # nothing, and stops there (the promise breaks once its grace days are over)
        keeps = rng.random() < kept_odds.get(strategy, 0.5)
        for seq, (due, amount) in enumerate(_dues(plan)):
            if due >= today:
                break
            if keeps:
                paid = amount
            elif rng.random() < 0.3:
                paid = (amount / 2).quantize(Decimal("0.01"))
            else:
                break
            on = min(today - timedelta(days=1), due - timedelta(days=rng.randint(0, 3)))
            feed.append(f"PAY-{plan.id}-{seq},{account_number},{paid},{max(on, day)},bank")
            if not keeps:
                break
    db.session.commit()
    paid = import_payments(raw=("\n".join(feed) + "\n").encode(), actor_id=owner.id, as_of=today) if len(feed) > 1 else {}
    banked = import_deposits(raw=("\n".join(deposits) + "\n").encode(), actor_id=owner.id) if len(deposits) > 1 else {}
    evaluate_promises(as_of=today, actor_id=owner.id)
    return (
        f"{len(money)} receipts ({paid.get('collections', {}).get('reconciled', 0)} confirmed by the bank, "
        f"{banked.get('created', 0)} banked, {held} still held), {paid.get('created', 0)} bank payments"
    )


def _dues(plan: RepaymentPlan) -> list[tuple[date, Decimal]]:
    """The plan's money in order: the down payment on the day it was made, then each installment."""
    dues = [(plan.created_at.date(), Decimal(plan.down_payment))] if plan.down_payment else []
    return dues + [(i.due_date, Decimal(i.amount)) for i in sorted(plan.installments, key=lambda i: i.seq)]


def _plan(case, visit, agent, kind, total, months, day, rng, status, discount=0) -> RepaymentPlan:
    total = Decimal(total).quantize(Decimal("0.01"))
    payable = (total * (100 - Decimal(discount)) / 100).quantize(Decimal("0.01"))
    down = Decimal(0) if kind == "promise" else (payable * Decimal("0.1")).quantize(Decimal("0.01"))
    schedule = []
    if kind == "promise":
        schedule = [{"seq": 1, "due_date": (day + timedelta(days=10)).isoformat(), "amount": str(payable)}]
    else:
        rest = payable - down
        each = (rest / months).quantize(Decimal("0.01"))
        for m in range(months):
            amount = each if m < months - 1 else rest - each * (months - 1)
            schedule.append({"seq": m + 1, "due_date": (day + timedelta(days=30 * (m + 1))).isoformat(), "amount": str(amount)})
    terms = {
        "case_id": case.id,
        "kind": kind,
        "currency": "CNY",
        "total": str(total),
        "discount_pct": str(discount),
        "payable": str(payable),
        "down_payment": str(down),
        "schedule": schedule,
    }
    terms_hash = sha256_hex(canonical_json(terms))
    plan = RepaymentPlan(
        case_id=case.id,
        visit_id=visit.id,
        kind=kind,
        status=status,
        total_amount=payable,
        down_payment=down,
        discount_pct=Decimal(discount),
        term_months=months,
        terms=terms,
        terms_hash=terms_hash,
        policy_version="CN-default-1",
        created_by_id=agent.user_id,
        created_at=visit.checkout_at,
    )
    db.session.add(plan)
    db.session.flush()
    for item in schedule:
        db.session.add(
            Installment(plan_id=plan.id, seq=item["seq"], due_date=date.fromisoformat(item["due_date"]), amount=Decimal(item["amount"]))
        )
    png, strokes = _signature_png(rng)
    digest = sha256_hex(png)
    if db.session.get(Blob, digest) is None:
        db.session.add(Blob(sha256=digest, content_type="image/png", size=len(png), data=png))
    db.session.add(
        Signature(
            case_id=case.id,
            plan_id=plan.id,
            visit_id=visit.id,
            blob_sha256=digest,
            terms_hash=terms_hash,
            strokes=strokes,
            signer_name=case.account.debtor.name,
            signed_at=visit.checkout_at,
        )
    )
    return plan


def top_up_day(*, day: date | None = None) -> str:
    """Give the demo a published day when it has none: the strategy cases for agent1,
    then every branch planned by the real planner and published."""
    from .policy.demo import seed_playbook_demo
    from .routing.services import plan_and_publish_day

    day = day or datetime.now(ZoneInfo(TZ)).date()
    existing = db.session.scalar(select(func.count(Visit.id)).where(Visit.date == day, Visit.status != "cancelled"))
    if existing:
        return f"{existing} visits already on {day.isoformat()}; left as they are"
    playbook = seed_playbook_demo(day=day)
    # planned from the start of the day, so a demo seeded in the evening still has full routes
    start = to_utc_naive(datetime.combine(day, time(0), ZoneInfo(TZ)))
    plans = plan_and_publish_day(day=day, seconds=3, as_of=start)
    published = sum(plan.status == "published" for plan in plans)
    visits = db.session.scalar(select(func.count(Visit.id)).where(Visit.date == day, Visit.status == "published"))
    return f"{playbook}; {published} of {len(plans)} branch plans published, {visits} visits on {day.isoformat()}"


# --- the demo's hours ---------------------------------------------------------------------

ANY_HOUR = {str(weekday): ["00:00", "23:59"] for weekday in range(7)}


def widen_visiting_hours() -> bool:
    """DEMO_ANY_HOUR=1: the demo's jurisdiction visits at any hour, so a demo tried at night in
    Shanghai (or from another timezone) can still check in. Recorded like an admin's policy
    change, with its reason; a production start refuses DEMO_ANY_HOUR (config.production_problems)."""
    if effective_settings("CN")["visiting_hours"] == ANY_HOUR:
        return False
    change_setting(
        jurisdiction="CN",
        key="visiting_hours",
        value=ANY_HOUR,
        reason="DEMO_ANY_HOUR=1: the embedded demo visits at any hour",
        actor_id=None,
    )
    return True


def demo_hours_summary(*, day: date | None = None, now: datetime | None = None) -> str:
    """Which day the demo runs on, in which timezone, and its visiting hours (R1) — said by
    `make run`, since outside those hours every check-in is refused."""
    now = (now or datetime.now(ZoneInfo(TZ))).astimezone(ZoneInfo(TZ))
    day = day or now.date()
    span = effective_settings("CN")["visiting_hours"].get(str(day.weekday()))
    hours = f"{span[0]}–{span[1]}" if span else "none (no visits that day)"
    text = f"demo day {day.isoformat()} in {TZ} (now {now:%H:%M} there); visiting hours {hours}"
    if span is None or (day == now.date() and not span[0] <= now.strftime("%H:%M") < span[1]):
        text += " — check-in is refused outside them (R1); DEMO_ANY_HOUR=1 make run widens them"
    return text
