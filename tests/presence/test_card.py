"""The leave-behind card (R14): neutral wording, the organisation, the complaint phone and a
check link that answers for a month; the same card on the phone (day packet) and on paper (PDF)."""
import io

from pypdf import PdfReader

# what must never be on a card a third party may read
REVEALING = ("欠", "逾期", "催收", "债", "还款", "debt", "overdue", "collect", "arrears", "owe", "payment", "5000", "4242")


def _pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_the_packet_carries_a_neutral_card_with_its_check_link(packet_visit, owned_visit, app, field_agent):
    card = packet_visit["card"]
    assert card["link"].startswith(f"{app.config['PUBLIC_BASE_URL']}/badge.html#c.{owned_visit.id}.")
    text = " ".join([card["title"], *card["lines"]])
    assert app.config["ORG_NAME"] in text and app.config["ORG_COMPLAINT_PHONE"] in text
    assert field_agent.user.display_name in text and "SH-0042" in text
    assert owned_visit.case.debtor.name not in text
    assert not [w for w in REVEALING if w.lower() in text.lower()]


def test_the_card_in_english_is_neutral_too(client, agent_headers, owned_visit, day, db):
    owned_visit.case.debtor.language = "en"
    db.session.commit()
    brief = next(v for v in client.get(f"/api/sync/packet?date={day.isoformat()}", headers=agent_headers).get_json()["visits"]
                 if v["id"] == owned_visit.id)
    text = " ".join([brief["card"]["title"], *brief["card"]["lines"]])
    assert text.startswith("Sorry we missed you") and not [w for w in REVEALING if w.lower() in text.lower()]


def test_the_card_link_checks_the_agent_but_cannot_confirm_the_visit(client, packet_visit, app):
    token = packet_visit["card"]["link"].split("#", 1)[1]
    response = client.post("/api/badge/check", json={"token": token})
    assert response.status_code == 200
    assert response.get_json()["kind"] == "card" and response.get_json()["status"] == "valid"
    assert client.post("/api/badge/check", json={"token": token[:-1] + ("A" if token[-1] != "A" else "B")}).status_code == 404
    response = client.post("/api/badge/confirm", json={"token": token, "id_last4": "1234"})
    assert response.status_code == 409 and response.get_json()["code"] == "badge_card"
    response = client.post("/api/badge/request", json={"token": token, "id_last4": "1234", "kind": "complaint"})
    assert response.status_code == 200  # a complaint from the card is welcome
    app.config["BADGE_CARD_DAYS"] = -10
    try:
        assert client.post("/api/badge/check", json={"token": token}).get_json()["status"] == "expired"
    finally:
        app.config["BADGE_CARD_DAYS"] = 30


def test_the_card_as_a_pdf_for_the_agent_and_the_office(client, agent_headers, auth, owner, owned_visit, packet_visit, make_agent, app):
    response = client.get(f"/api/visits/{owned_visit.id}/card.pdf", headers=agent_headers)
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF")
    text = _pdf_text(response.data)
    assert "SH-0042" in text and app.config["ORG_COMPLAINT_PHONE"] in text and f"V{owned_visit.id}" in text
    assert owned_visit.case.debtor.name not in text
    assert client.get(f"/api/visits/{owned_visit.id}/card.pdf", headers=auth(owner)).status_code == 200
    stranger = make_agent()
    assert client.get(f"/api/visits/{owned_visit.id}/card.pdf", headers=auth(stranger.user)).status_code == 404
