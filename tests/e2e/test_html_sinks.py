"""No data reaches the page as HTML: a static scan of the PWA's own scripts (no browser).

Text goes into the DOM through text nodes only (pwa/js/ui/dom.js `h`, `textContent`). Flagged,
with file:line:
  * the HTML sinks themselves: innerHTML, outerHTML, insertAdjacentHTML, document.write,
    createContextualFragment, DOMParser, srcdoc;
  * Leaflet calls that render a string as HTML — bindTooltip, bindPopup, setContent,
    setTooltipContent, setPopupContent and a divIcon's `html:` — unless their content is a node
    built right there by h();
  * a string or template literal holding markup (`<` then a tag name).
Nothing is allowed-listed."""
import re
from pathlib import Path

import pytest

PWA = Path(__file__).resolve().parents[2] / "pwa"
SINKS = re.compile(r"\b(innerHTML|outerHTML|insertAdjacentHTML|document\s*\.\s*write(?:ln)?|createContextualFragment|DOMParser|srcdoc)\b")
LEAFLET_CONTENT = re.compile(r"\.(bindTooltip|bindPopup|setContent|setTooltipContent|setPopupContent)\s*\(|\bhtml\s*:")
LITERAL = re.compile(r"'(?:[^'\\\n]|\\.)*'|\"(?:[^\"\\\n]|\\.)*\"|`(?:[^`\\]|\\.)*`")
MARKUP = re.compile(r"<\s*/?\s*[A-Za-z!]")


def scripts() -> list[Path]:
    own = [p for p in (PWA / "js").rglob("*.js")]
    return sorted(own + [PWA / "sw.js", PWA / "push-sw.js"])


def _argument(text: str, start: int) -> str:
    """The expression from `start` to the first `,` or closing bracket at its own depth."""
    depth = 0
    for i in range(start, len(text)):
        ch = text[i]
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            if depth == 0:
                return text[start:i]
            depth -= 1
        elif ch == "," and depth == 0:
            return text[start:i]
    return text[start:]


def findings(text: str, name: str) -> list[str]:
    def line(pos: int) -> int:
        return text.count("\n", 0, pos) + 1

    found = [f"{name}:{line(m.start())}: {m.group(1)}" for m in SINKS.finditer(text)]
    for m in LEAFLET_CONTENT.finditer(text):
        content = _argument(text, m.end()).strip()
        if not content.startswith("h("):
            found.append(f"{name}:{line(m.start())}: {m.group(0).strip()} {content[:60]!r} (not a node from h())")
    for m in LITERAL.finditer(text):
        if MARKUP.search(m.group(0)):
            found.append(f"{name}:{line(m.start())}: markup in a string {m.group(0)[:60]!r}")
    return found


@pytest.mark.no_db
def test_no_html_sinks_in_the_pwa():
    found = []
    for path in scripts():
        found += findings(path.read_text(encoding="utf-8"), str(path.relative_to(PWA.parent)))
    assert not found, "HTML sinks:\n" + "\n".join(found)


@pytest.mark.no_db
def test_the_scan_finds_what_the_board_once_did():
    before = """
      L.circleMarker([c.lat, c.lon], { radius: 3 }).bindTooltip(c.debtor_name).addTo(layers);
      icon: L.divIcon({ className: 'o-pin', html: `<span style="--c:${r.colour}">${i + 1}</span>`, iconSize: [22, 22] }),
      marker.bindPopup(`<b>${name}</b>`);
      tooltip.setContent(label);
      el.innerHTML = name;
      el.insertAdjacentHTML('beforeend', row);
    """
    found = findings(before, "old.js")
    # line 2 tooltip, 3 icon html and its markup, 4 popup and its markup, 5 setContent, 6 and 7 sinks
    assert sorted(int(f.split(":")[1]) for f in found) == [2, 3, 3, 4, 4, 5, 6, 7], found
    after = """
      L.circleMarker(p).bindTooltip(h('span', { text: c.debtor_name })).addTo(layers);
      icon: L.divIcon({ className: 'o-pin', html: h('span', { class: `${s.progress || ''}`, text: String(i + 1) }) }),
    """
    assert findings(after, "new.js") == []
