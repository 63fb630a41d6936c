"""The HQ's dashboard: HTML pages of charts for people who log in.

Pages are made here in Python: every piece of data (application and
trackable names, state values, user identifiers, aliases, plot names)
goes through ``escape`` on its way into HTML or an attribute, and charts
are SVG drawn on the server (``cybertools_tracking.charts``), so a page
fetches nothing and runs no script. Every response carries a strict
Content-Security-Policy as a second line of defence.

What a page costs follows what it shows: the read model's per-day
totals and each user's latest value (see ``model``), never the tracks.

Sessions are signed cookies (HttpOnly, SameSite=Lax) whose secret is
kept in the database (made at the first start) unless the setting
``hq.secret`` gives one; ``hq.secure_cookie = true`` adds Secure for an
HQ behind HTTPS. Every form that changes something carries Pyramid's
CSRF token, and its view refuses a POST without it (400).
"""

import datetime
import math
import urllib.parse

from pyramid.csrf import get_csrf_token, new_csrf_token
from pyramid.events import NewResponse
from pyramid.httpexceptions import HTTPSeeOther
from pyramid.response import Response
from pyramid.session import SignedCookieSessionFactory
from pyramid.settings import asbool

from cybertools_tracking.charts.binning import foldSeries, histogram, top
from cybertools_tracking.charts.kinds import (
    PALETTE, BarChart, ColumnChart, LineChart, StackedChart)
from cybertools_tracking.charts.page import PAGE_CSS, htmlPage, table
from cybertools_tracking.charts.svg import escape
from cybertools_tracking.charts.units import formatterFor
from cybertools_tracking.hq import accounts, groupdata, model
from cybertools_tracking.hq.exceptions import NotFound
from cybertools_tracking.hq.validate import isoDay

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
SESSION_TIMEOUT_S = 8 * 3600
# Beyond this many days columns are too thin to read: a line, and states
# summed by week.
COLUMN_DAYS = 62
# A daily line beyond this many days sums runs of days instead.
MAX_POINTS = 400
TOP_USERS = 10
STATES_SHOWN = 20
WHO = {'all': 'all users', 'aliased': 'aliased users only',
       'unaliased': 'users without aliases'}

CSS = PAGE_CSS + """\
header { display: flex; justify-content: space-between;
         align-items: center; gap: 1em; flex-wrap: wrap; }
form.inline { display: inline; }
form.filters, form.plot, form.alias, form.login {
    background: #fff; border: 1px solid #ddd; border-radius: 6px;
    padding: 0.6em 1em; margin: 0.6em 0; }
form.login { max-width: 22em; }
label { margin-right: 1em; }
form.login label { display: block; margin: 0.4em 0; }
input, select, button { font: inherit; }
p.error { color: #a11; font-weight: bold; }
"""


# sessions and who is logged in

def _hq(request):
    return model.hqRoot(request.tracking_connection)


def _account(request):
    """(user, group) of the logged-in person, or None. The account is
    looked up each time: a removed account or a changed group ends the
    session."""
    user = request.session.get('user')
    if not isinstance(user, str):
        return None
    group = accounts.groupOf(_hq(request), user)
    if group is None or group != request.session.get('group'):
        return None
    return user, group


def _localPath(value):
    """value when it is a path on this site, else '/': a login never
    sends anyone elsewhere."""
    if isinstance(value, str) and value.startswith('/') \
            and not value.startswith(('//', '/\\')) \
            and not any(c in value for c in '\r\n\\'):
        return value
    return '/'


def _toLogin(request):
    target = request.path_qs
    return HTTPSeeOther(location='/login?' + urllib.parse.urlencode(
        {'next': target}))


def loggedIn(view):
    def wrapper(request):
        who = _account(request)
        if who is None:
            return _toLogin(request)
        return view(request, *who)
    return wrapper


# page parts

def _page(request, title, body, status=200, who=None):
    top_ = ''
    if who is not None:
        top_ = (f'<header><nav><a href="/">Applications</a>'
                f'<a href="/aliases">Aliases</a></nav>'
                f'<span class="who">{escape(who[0])} '
                f'(group {escape(who[1])}) '
                f'<form class="inline" method="post" action="/logout">'
                f'{_csrf(request)}<button type="submit">Log out</button>'
                f'</form></span></header>')
    return Response(htmlPage(title, top_ + body, css=CSS,
                             csp=CONTENT_SECURITY_POLICY),
                    status=status, charset='utf-8',
                    content_type='text/html')


def _csrf(request):
    return (f'<input type="hidden" name="csrf_token" '
            f'value="{escape(get_csrf_token(request))}">')


def _error(request, status, message, who=None):
    return _page(request, 'Not possible',
                 f'<h1>Not possible</h1><p class="error">'
                 f'{escape(message)}</p><p><a href="/">Back to the '
                 f'applications</a></p>', status=status, who=who)


def _when(seconds):
    if seconds is None:
        return '\u2014'
    return datetime.datetime.fromtimestamp(
        seconds, datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')


def _href(path, **params):
    params = {k: v for k, v in params.items() if v not in (None, '')}
    return path + ('?' + urllib.parse.urlencode(params) if params else '')


# login and logout

def loginView(request):
    hq = _hq(request)
    message = ''
    target = _localPath(request.params.get('next', '/'))
    if request.method == 'POST':
        user = request.POST.get('user', '')
        group = accounts.authenticate(hq, user,
                                      request.POST.get('password', ''))
        if group is not None:
            # A new session: whatever a visitor had before logging in
            # (a planted cookie) does not carry over.
            request.session.invalidate()
            request.session['user'] = user
            request.session['group'] = group
            new_csrf_token(request)
            return HTTPSeeOther(location=target)
        message = '<p class="error">Wrong user name or password.</p>'
    body = (f'<h1>Log in to the HQ</h1>{message}'
            f'<form class="login" method="post" action="/login">'
            f'{_csrf(request)}'
            f'<input type="hidden" name="next" value="{escape(target)}">'
            f'<label>User name <input name="user" autocomplete="username" '
            f'required></label>'
            f'<label>Password <input name="password" type="password" '
            f'autocomplete="current-password" required></label>'
            f'<button type="submit">Log in</button></form>')
    return _page(request, 'Log in', body,
                 status=401 if message else 200)


def logoutView(request):
    request.session.invalidate()
    return HTTPSeeOther(location='/login')


# the applications

@loggedIn
def indexView(request, user, group):
    rows = []
    for app in model.ReadModel(request.tracking_connection,
                               group).applications():
        link = (f'<a href="{escape(_href("/application", name=app["name"]))}"'
                f'>{escape(app["name"])}</a>')
        rows.append(f'<tr><td>{link}</td>'
                    f'<td>{escape(", ".join(app["versions"]))}</td>'
                    f'<td class="number">{app["users"]:,}</td>'
                    f'<td>{escape(_when(app["lastUpload"]))}</td></tr>')
    if rows:
        listing = ('<table class="applications"><thead><tr>'
                   '<th>Application</th><th>Versions</th><th>Users</th>'
                   '<th>Last upload</th></tr></thead><tbody>'
                   + ''.join(rows) + '</tbody></table>')
    else:
        listing = '<p>No uploads for this group yet.</p>'
    return _page(request, 'Applications',
                 f'<h1>Applications of {escape(group)}</h1>{listing}',
                 who=(user, group))


class Filters:
    """What the filters of an application page chose, from the query
    string (so a view can be shared as a link)."""

    def __init__(self, params, versions):
        version = params.get('version') or None
        if version is not None and version not in versions:
            raise ValueError(f'no version {version!r}; the application has '
                             f'{", ".join(versions) or "none"}')
        self.version = version
        self.start = isoDay(params.get('from'), 'from')
        self.end = isoDay(params.get('to'), 'to')
        if self.start and self.end and self.start > self.end:
            raise ValueError(f'from ({self.start}) is after to '
                             f'({self.end})')
        self.who = params.get('users') or 'all'
        if self.who not in WHO:
            raise ValueError(f'users must be one of {", ".join(WHO)}, not '
                             f'{self.who!r}')

    def query(self):
        return {'version': self.version, 'from': self.start,
                'to': self.end,
                'users': None if self.who == 'all' else self.who}

    def keeps(self, aliases):
        if self.who == 'aliased':
            return lambda user: user in aliases
        if self.who == 'unaliased':
            return lambda user: user not in aliases
        return None

    def describe(self):
        parts = [f'version {self.version}' if self.version
                 else 'all versions']
        if self.start or self.end:
            parts.append(f'days {self.start or "first"} to '
                         f'{self.end or "last"}')
        parts.append(WHO[self.who])
        return ', '.join(parts)


def _days(first, last):
    start = datetime.date.fromisoformat(first)
    count = (datetime.date.fromisoformat(last) - start).days + 1
    return [(start + datetime.timedelta(days=i)).isoformat()
            for i in range(count)]


def _span(series):
    """Every day from the series' first to its last (the filters already
    bounded the series; empty days at the edges are not drawn, so a wide
    date range costs nothing)."""
    if not series:
        return []
    return _days(series[0]['day'], series[-1]['day'])


def _grouped(days, series, limit, unit):
    """days and series [(name, values)] summed over runs of consecutive
    days so that at most about limit columns remain (a clock set to 1970
    on one machine must not make a page of 20,000 columns); and what one
    column is ('day', 'week' or 'N days')."""
    if len(days) <= limit:
        return days, series, 'day'
    size = 7 if unit == 'week' and len(days) <= 7 * limit \
        else math.ceil(len(days) / limit)
    starts = range(0, len(days), size)
    return ([days[i] for i in starts],
            [(name, [sum(values[i:i + size]) for i in starts])
             for name, values in series],
            'week' if size == 7 else f'{size} days')


def _finite(value):
    return isinstance(value, (int, float)) and math.isfinite(value)


def numberCharts(data, latest, aliases):
    """The charts of a Statistic, Timer or Sequence: the total added
    across users each day, the spread of the users' values and the top
    users."""
    name, durations = data['name'], data['type'] == 'Timer'
    byDay = {d['day']: d['value'] for d in data['series']
             if _finite(d['value'])}
    days, ((_, totals),), unit = _grouped(
        _span(data['series']),
        [('', [byDay.get(d, 0) for d in _span(data['series'])])],
        MAX_POINTS, 'days')
    daily = list(zip(days, totals))
    kind = ColumnChart if len(daily) <= COLUMN_DAYS else LineChart
    values = [v for v in latest.values() if _finite(v)]
    best, left = top(((aliases.get(user, user), value)
                      for user, value in latest.items() if _finite(value)),
                     TOP_USERS)
    return [
        kind(f'{name}: added across users each {unit}', daily,
             durations=durations),
        # Counts of users; the bins' labels carry the time units.
        ColumnChart(f'{name}: spread across users',
                    histogram(values, bins=10, durations=durations)),
        BarChart(f'{name}: top users', best, durations=durations,
                 note=f'{left:,} more users' if left else ''),
    ]


def stateCharts(data, latest, filtered):
    """The charts of a State: users per state (by each user's latest
    state) and the users entering each state per day (per week beyond
    COLUMN_DAYS days)."""
    name = data['name']
    if filtered:
        counts = {}
        for value in latest.values():
            counts[value] = counts.get(value, 0) + 1
    else:
        counts = data['states']
    ranked = sorted(counts.items(), key=lambda p: (-p[1], p[0]))
    shown, rest = ranked[:STATES_SHOWN], ranked[STATES_SHOWN:]
    days = _span(data['series'])
    byDay = {d['day']: d['value'] for d in data['series']}
    states = list(dict.fromkeys(s for d in data['series'] for s in d['value']))
    series = [(s, [byDay.get(d, {}).get(s, 0) for d in days])
              for s in states]
    days, series, unit = _grouped(days, series, COLUMN_DAYS, 'week')
    folded = foldSeries(series, limit=len(PALETTE))
    return [
        BarChart(f'{name}: users per state', shown,
                 note=f'{len(rest)} more states' if rest else ''),
        StackedChart(f'{name}: users entering each state per {unit}', days,
                     folded, other=len(folded) < len(series)),
    ]


def _filterForm(name, versions, filters):
    options = ['<option value="">all versions</option>'] + [
        f'<option value="{escape(v)}"'
        f'{" selected" if v == filters.version else ""}>{escape(v)}'
        f'</option>' for v in versions]
    who = ''.join(f'<option value="{k}"'
                  f'{" selected" if k == filters.who else ""}>{label}'
                  f'</option>' for k, label in WHO.items())
    return (f'<form class="filters" method="get" action="/application">'
            f'<input type="hidden" name="name" value="{escape(name)}">'
            f'<label>Version <select name="version">{"".join(options)}'
            f'</select></label>'
            f'<label>From <input type="date" name="from" '
            f'value="{escape(filters.start or "")}"></label>'
            f'<label>To <input type="date" name="to" '
            f'value="{escape(filters.end or "")}"></label>'
            f'<label>Users <select name="users">{who}</select></label>'
            f'<button type="submit">Show</button></form>')


def _keepFilters(filters):
    """Hidden fields carrying the page's filters through a POST, so the
    page comes back as it was."""
    return ''.join(f'<input type="hidden" name="{k}" value="{escape(v)}">'
                   for k, v in filters.query().items() if v)


def _back(request, name):
    """The application page with the filters a form carried (only the
    filters' names, onto this site's path)."""
    return _href('/application', name=name, **{
        k: request.POST.get(k) for k in ('version', 'from', 'to', 'users')})


def _plotForm(request, name, numeric, filters):
    if not numeric:
        return ''
    boxes = ''.join(
        f'<label><input type="checkbox" name="trackable" '
        f'value="{escape(t)}"> {escape(t)}</label>' for t in numeric)
    return (f'<form class="plot" method="post" action="/application/plots">'
            f'{_csrf(request)}'
            f'<input type="hidden" name="name" value="{escape(name)}">'
            f'{_keepFilters(filters)}'
            f'<strong>New plot:</strong> {boxes}'
            f'<label>Plot name <input name="plot" required '
            f'maxlength="{groupdata.MAX_TEXT}"></label>'
            f'<button type="submit">Save plot</button></form>')


def _panel(title, charts, extra=''):
    drawn = ''.join(chart.render() for chart in charts)
    return (f'<section class="trackable"><h2>{escape(title)}</h2>{extra}'
            f'<div class="charts">{drawn}</div></section>')


@loggedIn
def applicationView(request, user, group):
    who = (user, group)
    name = request.params.get('name', '')
    hq = _hq(request)
    reader = model.ReadModel(request.tracking_connection, group)
    try:
        trackables = reader.trackables(name)
    except NotFound:
        return _error(request, 404, 'No such application in your group.',
                      who)
    versions = sorted(model.findApplication(hq, group, name)['versions'])
    try:
        filters = Filters(request.params, versions)
    except ValueError as exc:
        return _error(request, 400, str(exc), who)
    aliases = groupdata.aliases(hq, group)
    keeps = filters.keeps(aliases)
    panels, latestOf = [], {}
    for info in trackables:
        data = reader.trackable(name, info['name'], filters.version,
                                filters.start, filters.end)
        latest = data['latest'] if keeps is None else {
            u: v for u, v in data['latest'].items() if keeps(u)}
        latestOf[info['name']] = (data['type'], latest)
        if data['type'] == 'State':
            charts = stateCharts(data, latest, keeps is not None)
            figure = f'{len(latest):,} users'
        else:
            charts = numberCharts(data, latest, aliases)
            total = sum(v for v in latest.values() if _finite(v))
            figure = (f'{len(latest):,} users, total '
                      f'{formatterFor(data["type"])(total)}')
        what = f' \u2014 {data["description"]}' \
            if data['description'] else ''
        panels.append(_panel(
            info['name'], charts,
            f'<p class="what">{escape(data["type"])}{escape(what)}; '
            f'{escape(figure)}</p>'))
    plotPanels = []
    for plotName, chosen in groupdata.plots(hq, group, name):
        bars, kinds = [], set()
        for t in chosen:
            kind, latest = latestOf.get(t, ('Statistic', {}))
            kinds.add(kind)
            bars.append((t, sum(v for v in latest.values()
                                if _finite(v))))
        delete = (f'<form class="inline" method="post" '
                  f'action="/application/plots/delete">{_csrf(request)}'
                  f'<input type="hidden" name="name" value="{escape(name)}">'
                  f'<input type="hidden" name="plot" '
                  f'value="{escape(plotName)}">{_keepFilters(filters)}'
                  f'<button type="submit">Delete plot</button></form>')
        plotPanels.append(_panel(
            f'Plot: {plotName}',
            [BarChart(plotName, bars, durations=kinds == {'Timer'})],
            f'<p class="what">total over the users shown; {delete}</p>'))
    numeric = [t['name'] for t in trackables if t['type'] != 'State']
    link = _href('/application', name=name, **filters.query())
    body = (f'<h1>{escape(name)}</h1>'
            f'<p class="meta">Showing {escape(filters.describe())}. '
            f'<a href="{escape(link)}">Link to this view</a></p>'
            + _filterForm(name, versions, filters)
            + ''.join(plotPanels) + _plotForm(request, name, numeric, filters)
            + ''.join(panels))
    return _page(request, name, body, who=who)


@loggedIn
def savePlotView(request, user, group):
    name = request.POST.get('name', '')
    try:
        groupdata.savePlot(_hq(request), group, name,
                           request.POST.get('plot', ''),
                           request.POST.getall('trackable'))
    except NotFound:
        return _error(request, 404, 'No such application in your group.',
                      (user, group))
    except ValueError as exc:
        return _error(request, 400, str(exc), (user, group))
    return HTTPSeeOther(location=_back(request, name))


@loggedIn
def deletePlotView(request, user, group):
    name = request.POST.get('name', '')
    try:
        groupdata.deletePlot(_hq(request), group, name,
                             request.POST.get('plot', ''))
    except KeyError:
        return _error(request, 404, 'No such plot.', (user, group))
    return HTTPSeeOther(location=_back(request, name))


@loggedIn
def aliasesView(request, user, group):
    who = (user, group)
    hq = _hq(request)
    if request.method == 'POST':
        try:
            groupdata.setAlias(hq, group, request.POST.get('user', ''),
                               request.POST.get('alias', ''))
        except NotFound:
            return _error(request, 404, 'Your group has no data yet.', who)
        except ValueError as exc:
            return _error(request, 400, str(exc), who)
        return HTTPSeeOther(location='/aliases')
    rows = sorted(groupdata.aliases(hq, group).items())
    listing = table(('User identifier', 'Alias'), rows) if rows \
        else '<p>No aliases yet.</p>'
    body = (f'<h1>Aliases of {escape(group)}</h1>'
            f'<p class="meta">A readable name for a user identifier, shown '
            f'in the charts instead of it; an empty alias removes one. The '
            f'filter "aliased users only" or "users without aliases" on an '
            f'application page leaves the others out (your own test '
            f'machines, say).</p>{listing}'
            f'<form class="alias" method="post" action="/aliases">'
            f'{_csrf(request)}'
            f'<label>User identifier <input name="user" required '
            f'maxlength="{groupdata.MAX_TEXT}"></label>'
            f'<label>Alias <input name="alias" '
            f'maxlength="{groupdata.MAX_TEXT}"></label>'
            f'<button type="submit">Save alias</button></form>')
    return _page(request, 'Aliases', body, who=who)


def _headers(event):
    headers = event.response.headers
    headers.setdefault('Content-Security-Policy', CONTENT_SECURITY_POLICY)
    headers.setdefault('X-Content-Type-Options', 'nosniff')
    headers.setdefault('Referrer-Policy', 'no-referrer')
    if event.response.content_type == 'text/html':
        headers.setdefault('Cache-Control', 'no-store')


def includeme(config):
    settings = config.get_settings()
    secret = settings.get('hq.secret')
    if not secret:
        raise ValueError('the dashboard needs hq.secret (makeApp takes it '
                         'from the database)')
    config.set_session_factory(SignedCookieSessionFactory(
        secret, cookie_name='hq_session', httponly=True, samesite='Lax',
        secure=asbool(settings.get('hq.secure_cookie', False)),
        timeout=SESSION_TIMEOUT_S, reissue_time=600))
    config.add_subscriber(_headers, NewResponse)
    for route, path in (('dash_index', '/'), ('dash_login', '/login'),
                        ('dash_logout', '/logout'),
                        ('dash_app', '/application'),
                        ('dash_plot', '/application/plots'),
                        ('dash_plot_delete', '/application/plots/delete'),
                        ('dash_aliases', '/aliases')):
        config.add_route(route, path)
    config.add_view(indexView, route_name='dash_index', request_method='GET')
    config.add_view(loginView, route_name='dash_login',
                    request_method=('GET', 'POST'), require_csrf=True)
    config.add_view(logoutView, route_name='dash_logout',
                    request_method='POST', require_csrf=True)
    config.add_view(applicationView, route_name='dash_app',
                    request_method='GET')
    config.add_view(savePlotView, route_name='dash_plot',
                    request_method='POST', require_csrf=True)
    config.add_view(deletePlotView, route_name='dash_plot_delete',
                    request_method='POST', require_csrf=True)
    config.add_view(aliasesView, route_name='dash_aliases',
                    request_method=('GET', 'POST'), require_csrf=True)
