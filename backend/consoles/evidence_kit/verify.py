"""Verify a Doorstep evidence pack with Python's standard library and `cryptography` alone.

    python3 verify.py <unzipped pack folder> <the organisation's published public key, PEM>

1. manifest.sig is an Ed25519 signature of manifest.json's exact bytes by that key;
2. every file the manifest lists has the SHA-256 it states (and no file is left out);
3. the case timeline (timeline.json) is an unbroken hash chain.
Exit status 0 when all three hold; otherwise each problem is printed and the status is 1.
"""

import base64
import hashlib
import json
import sys
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.serialization import load_pem_public_key

GENESIS = "0" * 64
SELF = {"manifest.json", "manifest.sig"}


def canonical(value) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def check_signature(root: Path, key_pem: bytes) -> list[str]:
    signature = base64.b64decode((root / "manifest.sig").read_text().strip())
    try:
        load_pem_public_key(key_pem).verify(signature, (root / "manifest.json").read_bytes())
    except InvalidSignature:
        return ["manifest.sig: not a signature of manifest.json by this key"]
    return []


def check_files(root: Path, manifest: dict) -> list[str]:
    problems = []
    listed = set()
    for entry in manifest["files"]:
        listed.add(entry["path"])
        path = root / entry["path"]
        if not path.is_file():
            problems.append(f"{entry['path']}: missing")
        elif hashlib.sha256(path.read_bytes()).hexdigest() != entry["sha256"]:
            problems.append(f"{entry['path']}: SHA-256 differs from the manifest")
    present = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
    problems += [f"{name}: not in the manifest" for name in sorted(present - listed - SELF)]
    return problems


def check_chain(events: list) -> list[str]:
    prev = GENESIS
    for expected_seq, event in enumerate(events, start=1):
        if event["seq"] != expected_seq:
            return [f"timeline seq {event['seq']}: expected {expected_seq}"]
        if event["prev_hash"] != prev:
            return [f"timeline seq {event['seq']}: prev_hash does not match the event before"]
        if event["redacted_at"] is None and hashlib.sha256(canonical(event["data"])).hexdigest() != event["data_sha256"]:
            return [f"timeline seq {event['seq']}: data does not match data_sha256"]
        body = {key: event[key] for key in ("case_id", "seq", "kind", "at", "actor_id", "data_sha256", "prev_hash")}
        if hashlib.sha256(canonical(body)).hexdigest() != event["hash"]:
            return [f"timeline seq {event['seq']}: hash does not match the event"]
        prev = event["hash"]
    return []


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__)
        return 2
    root, key_pem = Path(argv[1]), Path(argv[2]).read_bytes()
    problems = check_signature(root, key_pem)
    manifest = json.loads((root / "manifest.json").read_bytes())
    problems += check_files(root, manifest)
    if (root / "timeline.json").is_file():
        problems += check_chain(json.loads((root / "timeline.json").read_bytes())["events"])
    for problem in problems:
        print("FAIL", problem)
    if not problems:
        print(f"OK: case {manifest['case_id']}, {len(manifest['files'])} files, signature and timeline chain verified")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
