"""Writing SVG text: user data escaped for text and attribute contexts.

Every string that reaches a chart (a trackable's name, a state value, a
user's alias, a title) goes through ``escape``: ``& < > " '`` become
character references, so the same text is safe between tags and inside a
quoted attribute, whether the SVG is inlined into an HTML page (parsed by
the HTML parser) or served on its own (parsed as XML). Characters XML
does not allow (most C0 controls, lone surrogates, U+FFFE/U+FFFF) become
U+FFFD, so a stray byte in a name cannot make a standalone SVG unreadable.
"""

import html
import math
import re

_NOT_XML = re.compile('[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]')
_WHITESPACE = {ord('\t'): '&#9;', ord('\n'): '&#10;', ord('\r'): '&#13;'}
# Anything escape changes; most labels have none of it.
_SPECIAL = re.compile('[&<>"\'\x00-\x1f\ud800-\udfff\ufffe\uffff]')


def escape(value):
    """value (any object, shown as str) as text safe in SVG/HTML text and
    in a double- or single-quoted attribute value."""
    text = str(value)
    if _SPECIAL.search(text) is None:
        return text
    text = html.escape(_NOT_XML.sub('\ufffd', text), quote=True)
    # An XML parser turns a literal tab or newline in an attribute into a
    # space; as references they read back as themselves.
    return text.translate(_WHITESPACE)


def number(value):
    """A coordinate or size as short text (at most two decimals)."""
    text = f'{value:.2f}'.rstrip('0').rstrip('.')
    return '0' if text == '-0' else text


def dataNumber(value):
    """A value as written into ``data-value``: it reads back as the same
    number (ints as ints, floats in their shortest exact form)."""
    if isinstance(value, bool):
        value = int(value)
    if isinstance(value, int):
        return str(value)
    value = float(value)
    if math.isnan(value) or math.isinf(value):
        raise ValueError(f'a chart value must be a finite number, not '
                         f'{value!r}')
    return repr(value)


def attributes(attrs):
    """' name="value" ...' for a dict; None values are left out, names
    are written as given (they come from this package, never from data),
    trailing underscores dropped (``class_``) and other underscores
    written as dashes (``data_value`` -> ``data-value``)."""
    parts = []
    for name, value in attrs.items():
        if value is None:
            continue
        name = name.rstrip('_').replace('_', '-')
        if value.__class__ is float:
            value = number(value)
        elif value.__class__ is not int:
            value = escape(value)
        parts.append(f' {name}="{value}"')
    return ''.join(parts)


def valueShape(tag, geometry, label, value, title, series=None):
    """The element drawing one value: tag ('rect', 'circle') at geometry
    (a dict of coordinates), with class 'value', data-label, data-value
    (``dataNumber``), data-series when given and a <title>. label,
    title and series are escaped here; the hot path of a big chart."""
    coords = ''.join(f' {name}="{number(v)}"' for name, v in
                     geometry.items())
    extra = '' if series is None else f' data-series="{escape(series)}"'
    return (f'<{tag} class="value"{coords}{extra} '
            f'data-label="{escape(label)}" data-value="{dataNumber(value)}">'
            f'<title>{escape(title)}</title></{tag}>')


def element(tag, content='', **attrs):
    """One element; content is markup already made by these functions
    (never raw data: pass data through ``escape`` or ``text``)."""
    if content:
        return f'<{tag}{attributes(attrs)}>{content}</{tag}>'
    return f'<{tag}{attributes(attrs)}/>'


def text(x, y, value, **attrs):
    """A <text> element showing value (escaped) at x, y."""
    return element('text', escape(value), x=float(x), y=float(y), **attrs)


def tooltip(value):
    """A <title> child: the text a browser shows on hover and screen
    readers read."""
    return f'<title>{escape(value)}</title>'


def shorten(label, limit):
    """label cut to limit characters with an ellipsis (before escaping,
    so a character reference is never cut in half)."""
    label = str(label)
    return label if len(label) <= limit else label[:limit - 1] + '\u2026'
