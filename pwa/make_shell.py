"""The service worker's precache list and version, derived from the shell files themselves.

    .venv/bin/python pwa/make_shell.py          # rewrite the block in pwa/sw.js
    .venv/bin/python pwa/make_shell.py --check  # exit 1 when the block is stale

The app has no build step (Flask serves pwa/ as it is), so the list and the version live in
pwa/sw.js between the `// <shell>` and `// </shell>` lines, written by this script. The version
is a SHA-256 over every shell file's path and bytes, the worker's imported push script and the
Leaflet and qrcode-generator versions package.json pins (pwa/vendor is not committed): any change to the shell
changes sw.js itself, which is what makes browsers install the new worker.
tests/e2e/test_agent_rules.py fails while the block is stale.
"""
import hashlib
import json
import re
import sys
from pathlib import Path

PWA = Path(__file__).resolve().parent
SW = PWA / "sw.js"
BLOCK = re.compile(r"// <shell>.*?// </shell>\n", re.S)

# The office consoles and the debtor's badge page (badge.html, opened on the debtor's own phone)
# are online-only (their catalogues and styles too) and stay out of the precache; the workers'
# own scripts are checked by the browser when it updates the worker.
NOT_SHELL = ("js/office/", "js/i18n/office/", "css/office.css", "js/badge/", "js/i18n/badge/")
WORKER_IMPORTS = ("push-sw.js",)
VENDOR = ("/vendor/leaflet/leaflet.js", "/vendor/leaflet/leaflet.css", "/vendor/qrcode-generator/qrcode.mjs")


def shell_urls() -> list[str]:
    """Every file the worker precaches, as the page requests it."""
    files = [p.relative_to(PWA).as_posix() for p in PWA.rglob("*") if p.is_file()]
    own = sorted(f for f in files if _is_shell(f))
    return ["/"] + [f"/{f}" for f in own if f != "index.html"] + list(VENDOR)


def _is_shell(rel: str) -> bool:
    if rel.startswith(("vendor/", *NOT_SHELL)):
        return False
    if rel in ("index.html", "manifest.webmanifest"):
        return True
    return rel.startswith(("js/", "css/", "icons/")) and rel.endswith((".js", ".json", ".css", ".png"))


def shell_version(urls: list[str]) -> str:
    digest = hashlib.sha256()
    for url in urls:
        if url.startswith("/vendor/"):
            continue
        digest.update(url.encode() + b"\0" + (PWA / ("index.html" if url == "/" else url[1:])).read_bytes() + b"\0")
    for name in WORKER_IMPORTS:
        digest.update(name.encode() + b"\0" + (PWA / name).read_bytes() + b"\0")
    pins = json.loads((PWA.parent / "package.json").read_text(encoding="utf-8"))["dependencies"]
    digest.update(f"leaflet@{pins['leaflet']}".encode())
    digest.update(f"qrcode-generator@{pins['qrcode-generator']}".encode())
    return digest.hexdigest()[:16]


def block() -> str:
    urls = shell_urls()
    lines = "".join(f"  '{url}',\n" for url in urls)
    return ("// <shell> written by pwa/make_shell.py from the shell files' content: do not edit by hand\n"
            f"const SHELL_VERSION = '{shell_version(urls)}';\n"
            f"const SHELL = [\n{lines}];\n"
            "// </shell>\n")


def main(argv: list[str]) -> int:
    text = SW.read_text(encoding="utf-8")
    if not BLOCK.search(text):
        print("pwa/sw.js has no // <shell> … // </shell> block", file=sys.stderr)
        return 2
    fresh = BLOCK.sub(lambda m: block(), text, count=1)
    if "--check" in argv:
        if fresh != text:
            print("pwa/sw.js: the shell block is stale; run .venv/bin/python pwa/make_shell.py", file=sys.stderr)
            return 1
        return 0
    if fresh != text:
        SW.write_text(fresh, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
