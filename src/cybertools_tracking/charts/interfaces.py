"""The contract of a chart: what it shows and the SVG that shows it."""

from zope.interface import Attribute, Interface


class IChart(Interface):
    """A chart drawn on the server as SVG, with nothing fetched to show it.

    Every value it draws is an element of class ``value`` carrying
    ``data-label`` (the category or day, as given), ``data-value`` (the
    number, which reads back exactly) and, in a chart of several series,
    ``data-series``; each has a ``<title>`` child with the label and the
    formatted value. All text from the data is escaped for text and
    attribute contexts.
    """

    kind = Attribute(
        "str: 'column', 'line', 'bar' or 'stacked', also written as the "
        "root element's data-kind.")
    title = Attribute("str: the heading drawn above the chart.")
    durations = Attribute(
        "bool: values are seconds, shown in time units ('2 hours 5 "
        "minutes') on the axis and in the titles.")

    def values():
        """Return what the chart draws: a list of (label, value) pairs,
        or for a chart of several series (series, label, value) triples,
        in drawing order (zeros included)."""

    def render():
        """Return the chart as one <svg> element (a str) with the SVG
        namespace declared, so it is both valid inline in HTML and a
        standalone SVG document. A chart with no values draws its title
        and the words 'no data'."""
