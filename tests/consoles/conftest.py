"""Consoles fixtures: an owner's world with history (visits, outcomes, a signed plan pending
approval, a kept promise, a payment, a sync conflict, an escalation, a flagged note), and the
browser from tests/e2e/conftest.py for the office views at 1440 px."""
import io
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
PASSWORD = "office-pass-1"
DESKTOP = {"width": 1440, "height": 900}


def signature_png() -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("RGBA", (300, 100), (255, 255, 255, 0))
    draw = ImageDraw.Draw(image)
    draw.line([(20, 70), (60, 30), (90, 75), (130, 25), (170, 72), (220, 40), (270, 60)], fill=(20, 30, 90, 255), width=4)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


@dataclass
class World:
    owner: object
    dispatcher: object
    agent: object
    agent_user: object
    branch: object
    cases: list = field(default_factory=list)
    visits: list = field(default_factory=list)
    outcomes: list = field(default_factory=list)
    plan: object = None
    kept_plan: object = None
    sync_op: object = None
    ticket: object = None
    day: date = None
    password: str = PASSWORD


def _terms(case_id: int, total: str, discount: str, schedule: list[tuple[str, str]], down: str) -> dict:
    payable = str((Decimal(total) * (100 - Decimal(discount)) / 100).quantize(Decimal("0.01")))
    return {
        "case_id": case_id, "kind": "settlement" if Decimal(discount) else "installments", "currency": "CNY",
        "total": total, "discount_pct": discount, "payable": payable, "down_payment": down,
        "schedule": [{"seq": n, "due_date": d, "amount": a} for n, (d, a) in enumerate(schedule, start=1)],
    }


@pytest.fixture
def world(db, make_user, make_branch, make_agent, make_case):
    """Three past visits of one agent 10 days ago, each with an outcome, and the records around them."""
    from backend.cases.models import Note
    from backend.cases.services import append_event
    from backend.common import canonical_json, sha256_hex, utcnow
    from backend.escalations.models import EscalationTicket
    from backend.payments.models import Payment, PaymentAllocation, PromiseTrack
    from backend.plans.models import Blob, Installment, RepaymentPlan, Signature
    from backend.sync.models import SyncOp
    from backend.visits.models import Outcome, Visit
    from backend.visits.services import create_visit

    owner = make_user(role="owner", password=PASSWORD, display_name="案件主管 Owner")
    dispatcher = make_user(role="dispatcher", password=PASSWORD, display_name="调度 Dispatcher")
    branch = make_branch(code="PDX", name="浦东分部 Pudong")
    agent_user = make_user(role="agent", password=PASSWORD, display_name="陈外访")
    agent = make_agent(branch=branch, user=agent_user, start_lat=31.2300, start_lon=121.4700)
    day = date.today() - timedelta(days=10)
    w = World(owner=owner, dispatcher=dispatcher, agent=agent, agent_user=agent_user, branch=branch, day=day)
    people = [("王秀英", 31.2400, 121.4700), ("李建国", 31.2500, 121.4700), ("张海燕", 31.2600, 121.4700)]
    for name, lat, lon in people:
        case = make_case(branch=branch, debtor_name=name, lat=lat, lon=lon, owner_id=owner.id)
        visit = create_visit(case_id=case.id, date=day, actor_id=dispatcher.id, agent_id=agent.id, publish=True)
        w.cases.append(case)
        w.visits.append(visit)
    codes = [("plan_agreed", "debtor", True), ("not_home", "nobody", False), ("promise_to_pay", "debtor", False)]
    for n, (visit, (code, met, disclosed)) in enumerate(zip(w.visits, codes)):
        arrival = visit.window_start + timedelta(hours=1 + n)
        visit.status = "completed" if met == "debtor" else "failed"
        visit.planned_arrival = arrival
        visit.checkin_at = arrival + timedelta(minutes=5)
        visit.checkin_lat, visit.checkin_lon = visit.address.lat, visit.address.lon
        visit.checkout_at = visit.checkin_at + timedelta(minutes=20)
        outcome = Outcome(
            visit_id=visit.id, case_id=visit.case_id, agent_id=agent.id, code=code, met=met,
            disclosure_at=visit.checkin_at + timedelta(minutes=1) if disclosed else None,
            data={"amount": "1000.00", "due_date": (day + timedelta(days=5)).isoformat()} if code == "promise_to_pay" else {},
            recorded_at=visit.checkout_at, received_at=visit.checkout_at,
            compliance_flags=[] if disclosed or met != "debtor" else [{"rule": "R6", "code": "no_disclosure", "params": {}, "message": "No disclosure was acknowledged before the outcome."}],
        )
        db.session.add(outcome)
        w.outcomes.append(outcome)
    db.session.flush()

    # the signed settlement, pending the owner's approval (discount beyond the agent's authority)
    case = w.cases[0]
    terms = _terms(case.id, "20000.00", "20", [((day + timedelta(days=30)).isoformat(), "7300.00"), ((day + timedelta(days=60)).isoformat(), "7300.00")], "1400.00")
    w.plan = RepaymentPlan(
        case_id=case.id, visit_id=w.visits[0].id, kind=terms["kind"], status="pending_approval", total_amount=Decimal(terms["payable"]),
        down_payment=Decimal("1400.00"), discount_pct=Decimal("20"), term_months=2, terms=terms,
        terms_hash=sha256_hex(canonical_json(terms)), policy_version="default-1",
        policy_findings=[{"rule": "discount_authority", "field": "discount_pct", "code": "plan_discount_authority",
                          "params": {"role": "agent", "pct": "10", "approver": "owner"},
                          "message": "discount above the agent's authority of 10% needs approval by owner"}],
        created_by_id=agent_user.id, created_at=w.visits[0].checkout_at,
    )
    db.session.add(w.plan)
    db.session.flush()
    for item in terms["schedule"]:
        db.session.add(Installment(plan_id=w.plan.id, seq=item["seq"], due_date=date.fromisoformat(item["due_date"]), amount=Decimal(item["amount"])))
    png = signature_png()
    digest = sha256_hex(png)
    db.session.add(Blob(sha256=digest, content_type="image/png", size=len(png), data=png))
    db.session.add(Signature(case_id=case.id, plan_id=w.plan.id, visit_id=w.visits[0].id, blob_sha256=digest, terms_hash=w.plan.terms_hash,
                             signer_name="王秀英", signed_at=w.visits[0].checkout_at))
    append_event(case=case, kind="plan.signed", actor_id=agent_user.id, data={"plan_id": w.plan.id, "terms_hash": w.plan.terms_hash})

    # the promise to pay at the third visit, kept: the payment feed paid it in full
    promise_case = w.cases[2]
    promise_terms = {"case_id": promise_case.id, "kind": "promise", "currency": "CNY", "total": "1000.00", "discount_pct": "0",
                     "payable": "1000.00", "down_payment": "0", "schedule": [{"seq": 1, "due_date": (day + timedelta(days=5)).isoformat(), "amount": "1000.00"}]}
    w.kept_plan = RepaymentPlan(
        case_id=promise_case.id, visit_id=w.visits[2].id, kind="promise", status="kept", total_amount=Decimal("1000.00"),
        terms=promise_terms, terms_hash=sha256_hex(canonical_json(promise_terms)), created_by_id=agent_user.id, created_at=w.visits[2].checkout_at,
    )
    db.session.add(w.kept_plan)
    db.session.flush()
    installment = Installment(plan_id=w.kept_plan.id, seq=1, due_date=day + timedelta(days=5), amount=Decimal("1000.00"), paid_amount=Decimal("1000.00"), status="paid")
    db.session.add(installment)
    payment = Payment(reference="BANK-1", account_id=promise_case.account_id, case_id=promise_case.id, amount=Decimal("1000.00"), paid_on=day + timedelta(days=3))
    db.session.add(payment)
    db.session.flush()
    db.session.add(PaymentAllocation(payment_id=payment.id, plan_id=w.kept_plan.id, installment_id=installment.id, amount=Decimal("1000.00")))
    db.session.add(PromiseTrack(plan_id=w.kept_plan.id, case_id=promise_case.id, state="kept", promised_amount=Decimal("1000.00"),
                                paid_amount=Decimal("1000.00"), decided_at=datetime.combine(day + timedelta(days=3), datetime.min.time())))

    # a device record kept as a conflict, an open complaint ticket, a note flagged for wording
    w.sync_op = SyncOp(id="6f1c2d3e-0000-4000-8000-000000000001", device_id="phone-1", user_id=agent_user.id, type="visit.outcome",
                       device_at=w.visits[1].checkout_at, received_at=utcnow() - timedelta(days=9), case_id=w.cases[1].id, status="conflict",
                       payload={"visit_id": w.visits[1].id, "code": "refused"},
                       result={"status": "conflict", "detail": "The visit was cancelled by the dispatcher before this outcome arrived."})
    db.session.add(w.sync_op)
    w.ticket = EscalationTicket(case_id=w.cases[1].id, queue="supervisor", kind="complaint", reason="投诉外访员态度 Complaint about the agent's manner",
                                sla_due_at=utcnow() + timedelta(hours=20), raised_by_id=agent_user.id, raised_at=utcnow() - timedelta(days=9))
    db.session.add(w.ticket)
    db.session.add(Note(case_id=w.cases[1].id, visit_id=w.visits[1].id, author_id=agent_user.id, text="客户说要报警 said he would call the police",
                        review_flag="prohibited phrase: police", created_at=utcnow() - timedelta(days=9)))
    db.session.commit()
    return w


@pytest.fixture
def dispatch_day(db, world, make_agent, make_case, make_user, make_visit, auth):
    """World's branch with two agents, a day in progress today (one stop late, one checked in),
    and ten field cases for tomorrow's plan around People's Square."""
    from backend.common import utcnow

    tz = "Asia/Shanghai"
    today = datetime.now(ZoneInfo(tz)).date()
    # a one-stop cap: moving a second stop onto this agent must show a violation in place
    second = make_agent(branch=world.branch, user=make_user(role="agent", display_name="林外访"), start_lat=31.2200, start_lon=121.4800, daily_cap=1)
    late = make_visit(case=make_case(branch=world.branch, debtor_name="赵迟到", lat=31.235, lon=121.48), agent=world.agent, day=today)
    late.planned_arrival, late.route_position = utcnow() - timedelta(hours=1), 1
    busy = make_visit(case=make_case(branch=world.branch, debtor_name="钱在访", lat=31.236, lon=121.46), agent=second, day=today)
    busy.status, busy.checkin_at, busy.route_position = "checked_in", utcnow() - timedelta(minutes=20), 1
    busy.planned_arrival = utcnow() - timedelta(minutes=30)
    spots = [(31.2304 + 0.004 * (i % 4), 121.4737 + 0.005 * (i // 4)) for i in range(10)]
    cases = [make_case(branch=world.branch, debtor_name=f"案{i}号", lat=lat, lon=lon, days_past_due=60 + 10 * i) for i, (lat, lon) in enumerate(spots)]
    db.session.commit()
    auth(world.agent_user, password=world.password)  # the agent's phone holds a session to revoke
    return {"today": today, "tomorrow": today + timedelta(days=1), "second": second, "cases": cases}


# --- the office in a desktop browser ------------------------------------------------------


@dataclass
class Desk:
    page: object
    errors: list

    def shot(self, name: str, full: bool = False) -> None:
        ARTIFACTS.mkdir(exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"consoles-{name}.png"), full_page=full)

    def login(self, username: str) -> None:
        page = self.page
        page.goto("/")
        page.locator("input[autocomplete=username]").fill(username)
        page.locator("input[autocomplete=current-password]").fill(PASSWORD)
        page.locator("form.login button[type=submit]").click()
        page.locator(".o-top").wait_for()


@pytest.fixture
def desk(browser, live_server):
    context = browser.new_context(viewport=DESKTOP, base_url=live_server, locale="zh-CN", timezone_id="Asia/Shanghai")
    context.set_default_timeout(20000)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
    page.on("console", lambda msg: errors.append(f"console {msg.type}: {msg.text}")
            if msg.type == "error" or "missing office message" in msg.text else None)
    yield Desk(page=page, errors=errors)
    context.close()
    assert not errors, errors
