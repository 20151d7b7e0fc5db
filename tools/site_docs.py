"""The course's Markdown pages in the site: the teachers' page, the instructor
notes, the cheat sheet (with a print stylesheet: two A4 pages) and the glossary.

Why here and not in nbconvert: these are plain Markdown files beside the
notebooks (``docs/*.md``, ``docs/teaching/*.md``, ``notebooks/GLOSSARY.md``),
so a teacher can read them on GitHub too; the site renders them with mistune
(which nbconvert already depends on), turns their links to notebooks and to
each other into links to the site's pages, and embeds their images, so the
pages work offline from a folder.
"""

from __future__ import annotations

import base64
import html
import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


@dataclass(frozen=True)
class DocPage:
    """A Markdown file and where its page goes in the site."""

    source: Path
    target: str  # relative to the site's root, e.g. "teaching/03_build_a_runner.html"
    title: str
    printable: bool = False


def doc_pages() -> list[DocPage]:
    """Every Markdown page the site has, those that exist."""
    pages = [DocPage(DOCS / "TEACHERS.md", "teachers.html", "For teachers"),
             DocPage(DOCS / "SETUP.md", "setup.html", "Setting up the course")]
    for note in sorted((DOCS / "teaching").glob("[0-9][0-9]_*.md")):
        pages.append(DocPage(note, f"teaching/{note.stem}.html", _title_of(note)))
    pages.append(DocPage(DOCS / "CHEATSHEET.md", "cheatsheet.html", "Cheat sheet", printable=True))
    pages.append(DocPage(ROOT / "notebooks" / "GLOSSARY.md", "glossary.html", "Glossary"))
    return [p for p in pages if p.source.exists()]


def _title_of(path: Path) -> str:
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("# "):
            return line[2:].strip()
    return path.stem


def slug(text: str) -> str:
    """The id of a heading, as GitHub makes it: lower case, spaces to dashes."""
    text = re.sub(r"<[^>]+>", "", html.unescape(text)).strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def render(text: str) -> str:
    import mistune

    markdown = mistune.create_markdown(escape=False, plugins=["table", "strikethrough"])
    body = markdown(text)
    return re.sub(r"<h([1-4])>(.*?)</h\1>",
                  lambda m: f'<h{m.group(1)} id="{slug(m.group(2))}">{m.group(2)}</h{m.group(1)}>',
                  body)


LINK = re.compile(r'(href|src)="([^"#?:]+)([#?][^"]*)?"')


def fix_links(body: str, page: DocPage, targets: dict[Path, str], notebooks: set[str],
              warnings: list[str]) -> str:
    """Links to notebooks and to other Markdown pages become links to their
    pages (relative to this page); images are embedded as data URIs."""
    depth = page.target.count("/")
    up = "../" * depth

    def replace(match: re.Match) -> str:
        attr, target, rest = match.group(1), match.group(2), match.group(3) or ""
        source = (page.source.parent / target).resolve()
        if attr == "src" and source.is_file() and source.suffix in (".png", ".jpg", ".svg"):
            kind = "svg+xml" if source.suffix == ".svg" else source.suffix[1:].replace("jpg", "jpeg")
            data = base64.b64encode(source.read_bytes()).decode()
            return f'{attr}="data:image/{kind};base64,{data}"'
        if source.suffix == ".ipynb":
            if source.stem in notebooks:
                return f'{attr}="{up}{source.stem}.html{rest}"'
        elif source in targets:
            return f'{attr}="{up}{targets[source]}{rest}"'
        warnings.append(f"{page.source.name}: link to {target}, which the site does not have")
        return match.group(0)

    return LINK.sub(replace, body)


PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8" />
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>{title} · teachtasks course</title>
<style type="text/css">
body {{ font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1f2328;
  max-width: 60em; margin: 0 auto; padding: 0 1em 2em; line-height: 1.5; }}
nav.course-bar {{ display: flex; gap: 1.5em; flex-wrap: wrap; font-size: 14px; padding: 10px 0;
  border-bottom: 1px solid #d0d7de; margin-bottom: 1em; }}
nav.course-bar .course {{ font-weight: 600; }}
a {{ color: #0550ae; text-decoration: none; }}
a:hover {{ text-decoration: underline; }}
table {{ border-collapse: collapse; margin: 1em 0; }}
th, td {{ text-align: left; padding: 5px 8px; border-bottom: 1px solid #d0d7de; vertical-align: top; }}
th {{ background: #f3f6fa; }}
code {{ background: #f3f6fa; padding: 1px 4px; border-radius: 4px; font-size: 0.92em; }}
pre {{ background: #f6f8fa; padding: 10px 12px; border-radius: 6px; overflow-x: auto; }}
pre code {{ background: none; padding: 0; }}
img {{ max-width: 100%; }}
{extra_css}
</style>
</head>
<body>
<nav class="course-bar"><span class="course"><a href="{up}index.html">teachtasks course</a></span>
{links}</nav>
<main class="doc{main_class}">
{body}
</main>
</body>
</html>
"""

#: Two A4 pages: small type, the nav bar hidden, a page break where the sheet says.
PRINT_CSS = """
@page { size: A4; margin: 12mm; }
@media print {
  body { max-width: none; padding: 0; font-size: 9pt; line-height: 1.3; }
  nav.course-bar { display: none; }
  h1 { font-size: 15pt; margin: 0 0 4pt; } h2 { font-size: 11.5pt; margin: 8pt 0 3pt; }
  p { margin: 3pt 0; }
  table { margin: 3pt 0; } th, td { padding: 1.5pt 4pt; }
  pre { padding: 4pt 6pt; font-size: 8pt; margin: 3pt 0; white-space: pre-wrap; }
  img { max-height: 78mm; display: block; margin: 0 auto; }
  .page-break { break-after: page; page-break-after: always; }
  a { color: inherit; }
}
.print-hint { color: #57606a; font-size: 0.9em; }
@media print { .print-hint { display: none; } }
"""


def write_docs(out: Path, notebooks: set[str], warnings: list[str]) -> list[str]:
    """Write every Markdown page into ``out``; the pages written (site paths)."""
    pages = doc_pages()
    targets = {p.source.resolve(): p.target for p in pages}
    written = []
    for page in pages:
        up = "../" * page.target.count("/")
        body = fix_links(render(page.source.read_text(encoding="utf-8")), page, targets,
                         notebooks, warnings)
        links = [f'<a href="{up}setup.html">Setting up</a>',
                 f'<a href="{up}teachers.html">For teachers</a>',
                 f'<a href="{up}cheatsheet.html">Cheat sheet</a>']
        if (out / "glossary.html").exists() or any(p.target == "glossary.html" for p in pages):
            links.append(f'<a href="{up}glossary.html">Glossary</a>')
        if page.target.startswith("teaching/"):
            stem = Path(page.target).stem
            links += [f'<a href="{up}{stem}.html">the notebook</a>',
                      f'<a href="{up}slides/{stem}.html">its slides</a>']
        if page.printable:
            body = ('<p class="print-hint">Print this page (Ctrl+P / Cmd+P): it is laid out for '
                    "two A4 pages.</p>\n" + body)
        path = out / page.target
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(PAGE.format(title=html.escape(page.title), up=up, links="\n".join(links),
                                    body=body, extra_css=PRINT_CSS if page.printable else "",
                                    main_class=" printable" if page.printable else ""),
                        encoding="utf-8")
        written.append(page.target)
    return written
