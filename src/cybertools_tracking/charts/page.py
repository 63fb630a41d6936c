"""One self-contained HTML page: inline CSS, inline SVG, no script.

The page declares a Content-Security-Policy that allows nothing but its
own inline styles: no script runs and no request leaves it, even if a
future change let markup through unescaped. That is a second line; the
first is that every piece of data is escaped (``svg.escape``).
"""

from cybertools_tracking.charts.svg import escape

CONTENT_SECURITY_POLICY = ("default-src 'none'; style-src 'unsafe-inline'; "
                           "img-src data:; base-uri 'none'; "
                           "form-action 'none'")

PAGE_CSS = """\
body { font: 14px/1.45 sans-serif; color: #222; margin: 0 auto;
       max-width: 1340px; padding: 1em 1.5em 3em; background: #fafafa; }
h1 { font-size: 1.5em; margin: 0.2em 0; }
h2 { font-size: 1.2em; margin: 0 0 0.1em; word-break: break-word; }
p.meta, p.what { color: #555; margin: 0.2em 0 0.8em; }
nav a { margin-right: 1em; word-break: break-word; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; background: #fff; }
th, td { text-align: left; padding: 0.25em 0.8em;
         border-bottom: 1px solid #e3e3e3; word-break: break-word; }
td.number { text-align: right; }
section.trackable { background: #fff; border: 1px solid #ddd;
                    border-radius: 6px; padding: 0.8em 1em;
                    margin: 1em 0; }
div.charts { display: flex; flex-wrap: wrap; gap: 1em; }
svg.chart { max-width: 100%; height: auto; }
"""


def htmlPage(title, body, css=PAGE_CSS, csp=CONTENT_SECURITY_POLICY):
    """A whole HTML document: title (text, escaped) and body (markup
    made by the caller with every piece of data escaped); csp: the
    Content-Security-Policy it declares (a page with forms needs
    ``form-action 'self'``)."""
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" '
        f'content="{escape(csp)}">\n'
        '<meta name="viewport" content="width=device-width, '
        'initial-scale=1">\n'
        f'<title>{escape(title)}</title>\n<style>\n{css}</style>\n</head>\n'
        f'<body>\n{body}\n</body>\n</html>\n')


def table(headers, rows, numeric=()):
    """An HTML table of rows (sequences of values shown as text, all
    escaped); columns whose index is in numeric align right."""
    head = ''.join(f'<th>{escape(h)}</th>' for h in headers)
    lines = []
    for row in rows:
        cells = ''.join(
            f'<td class="number">{escape(v)}</td>' if i in numeric
            else f'<td>{escape(v)}</td>' for i, v in enumerate(row))
        lines.append(f'<tr>{cells}</tr>')
    return (f'<table><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(lines)}</tbody></table>')
