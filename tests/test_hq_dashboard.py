"""The HQ's dashboard through WebTest against the real app on a
FileStorage: accounts, sessions and CSRF, the pages and their charts
(values read out of the SVG), filters, aliases and saved plots."""

import re

import pytest
import transaction

from cybertools_tracking.hq import accounts, dashboard, groupdata, model

from hq_fixtures import body, track
from test_report import NASTY_NAME, NASTY_STATE, Charts

DAY1 = 1_764_547_200            # 2025-12-01 00:00 UTC
DAY2 = DAY1 + 86400
DAY3 = DAY2 + 86400


def stat(value, kind='Statistic'):
    return {'type': kind, 'description': 'Clicks', 'data': value}


def state(value):
    return {'type': 'State', 'description': 'Mode', 'data': value}


def write(hqapp, work, *args):
    tm = transaction.TransactionManager()
    conn = hqapp.db.open(transaction_manager=tm)
    try:
        with tm:
            return work(model.hqRoot(conn), *args)
    finally:
        conn.close()


@pytest.fixture
def uploaded(hqapp):
    _, up = hqapp.addKey('acme')
    hqapp.post(body(up, user='ann', version='1.0',
                    data={'clicks': stat(5), 'mode': state('dark'),
                          'time': stat(3725, 'Timer')},
                    tracks={'clicks': [track(1, 2, DAY1), track(2, 5, DAY2)],
                            'mode': [dict(Number=3, Run=1, Time=DAY1,
                                          State='dark')],
                            'time': [track(4, 3725, DAY1)]}))
    hqapp.post(body(up, user='bob', version='2.0',
                    data={'clicks': stat(4), 'mode': state('light')},
                    tracks={'clicks': [track(1, 4, DAY3)],
                            'mode': [dict(Number=2, Run=1, Time=DAY3,
                                          State='light')]}))
    write(hqapp, accounts.addUser, 'acme', 'ann-admin', 'right horse')
    write(hqapp, accounts.addUser, 'other', 'olga', 'battery staple')
    return hqapp


def login(app, user, password, status=303):
    form = app.get('/login').forms[0]
    form['user'] = user
    form['password'] = password
    return form.submit(status=status)


@pytest.fixture
def session(uploaded):
    login(uploaded.app, 'ann-admin', 'right horse')
    return uploaded.app


def charts(response):
    return Charts(response.text).charts


def page(app, status=200, **params):
    return app.get('/application', params=dict(name='MyApp', **params),
                   status=status)


def test_a_visitor_is_sent_to_the_login_form(uploaded):
    reply = uploaded.app.get('/', status=303)
    assert reply.location.endswith('/login?next=%2F')
    form = reply.follow().forms[0]
    assert set(form.fields) >= {'user', 'password', 'csrf_token'}
    uploaded.app.get('/application?name=MyApp', status=303)
    uploaded.app.get('/aliases', status=303)


def test_a_wrong_password_or_user_is_refused(uploaded):
    reply = login(uploaded.app, 'ann-admin', 'wrong horse', status=401)
    assert 'Wrong user name or password' in reply.text
    login(uploaded.app, 'nobody', 'right horse', status=401)
    uploaded.app.get('/', status=303)       # still not logged in


def test_login_lists_the_groups_applications(uploaded):
    reply = login(uploaded.app, 'ann-admin', 'right horse')
    assert reply.location.endswith('/')
    cookie = reply.headers['Set-Cookie']
    assert 'HttpOnly' in cookie and 'SameSite=Lax' in cookie
    assert 'right horse' not in cookie
    index = reply.follow()
    rows = index.html.select('table.applications tbody tr')
    assert [[td.get_text() for td in row.select('td')][:3]
            for row in rows] == [['MyApp', '1.0, 2.0', '2']]
    assert re.match(r'\d{4}-\d\d-\d\d \d\d:\d\d UTC',
                    rows[0].select('td')[3].get_text())
    assert index.click('MyApp').request.path_qs == '/application?name=MyApp'


def test_login_goes_back_where_the_visitor_wanted_only_on_this_site(
        uploaded):
    app = uploaded.app
    form = app.get('/application?name=MyApp').follow().forms[0]
    form['user'], form['password'] = 'ann-admin', 'right horse'
    assert form.submit().location.endswith('/application?name=MyApp')
    app.reset()
    form = app.get('/login', params={'next': '//evil.example/'}).forms[0]
    form['user'], form['password'] = 'ann-admin', 'right horse'
    assert form.submit().location == 'http://localhost/'


def test_the_password_is_kept_as_a_scrypt_hash_only(uploaded):
    stored = uploaded.read(lambda hq: dict(hq['accounts']['ann-admin']))
    assert 'right horse' not in repr(stored)
    assert stored['group'] == 'acme' and len(stored['hash']) == 64
    other = uploaded.read(lambda hq: dict(hq['accounts']['olga']))
    assert other['salt'] != stored['salt']


def test_another_groups_application_is_not_found(uploaded):
    login(uploaded.app, 'olga', 'battery staple')
    index = uploaded.app.get('/')
    assert 'MyApp' not in index.text
    reply = page(uploaded.app, status=404)
    assert 'No such application' in reply.text
    form_ = uploaded.app.get('/').forms[0]      # the logout form's token
    uploaded.app.post('/application/plots', {
        'csrf_token': form_['csrf_token'].value, 'name': 'MyApp',
        'plot': 'mine', 'trackable': 'clicks'}, status=404)
    assert uploaded.read(groupdata.plots, 'acme', 'MyApp') == []


def test_a_form_without_its_csrf_token_is_refused(session, uploaded):
    before = page(session)
    token = before.forms[0]['csrf_token'].value
    session.post('/aliases', {'user': 'ann', 'alias': 'Ann'}, status=400)
    session.post('/aliases', {'user': 'ann', 'alias': 'Ann',
                              'csrf_token': 'forged'}, status=400)
    session.post('/application/plots', {
        'name': 'MyApp', 'plot': 'p', 'trackable': 'clicks'}, status=400)
    session.post('/logout', status=400)
    assert uploaded.read(groupdata.aliases, 'acme') == {}
    assert uploaded.read(groupdata.plots, 'acme', 'MyApp') == []
    session.get('/')                          # still logged in
    session.post('/aliases', {'user': 'ann', 'alias': 'Ann',
                              'csrf_token': token}, status=303)
    assert uploaded.read(groupdata.aliases, 'acme') == {'ann': 'Ann'}
    # A login form posted without its token does not log in either.
    session.reset()
    session.post('/login', {'user': 'ann-admin', 'password': 'right horse'},
                 status=400)
    session.get('/', status=303)


def test_logout_ends_the_session(session):
    session.get('/').forms[0].submit(status=303)
    session.get('/', status=303)


def test_the_application_page_charts_what_was_uploaded(session):
    reply = page(session)
    got = charts(reply)
    assert got['clicks: added across users each day'] == [
        ('2025-12-01', 2), ('2025-12-02', 3), ('2025-12-03', 4)]
    assert got['clicks: top users'] == [('ann', 5), ('bob', 4)]
    assert sum(v for _, v in got['clicks: spread across users']) == 2
    assert got['mode: users per state'] == [('dark', 1), ('light', 1)]
    # Zero segments are not drawn; the day between still has its place.
    assert got['mode: users entering each state per day'] == [
        ('dark', '2025-12-01', 1), ('light', '2025-12-03', 1)]
    assert '2025-12-02' in reply.text
    # Timer values in readable units, exact seconds in data-value.
    assert got['time: top users'] == [('ann', 3725)]
    assert '1 hours 2 minutes' in reply.text
    assert reply.headers['Content-Security-Policy'] == \
        dashboard.CONTENT_SECURITY_POLICY
    assert "form-action 'self'" in reply.headers['Content-Security-Policy']


def test_filters_change_every_chart_and_stay_in_the_url(session):
    form = page(session).forms[1]
    assert form.action == '/application' and form.method.upper() == 'GET'
    form['version'] = '1.0'
    reply = form.submit()
    assert 'version=1.0' in reply.request.url
    got = charts(reply)
    assert got['clicks: top users'] == [('ann', 5)]
    assert got['clicks: added across users each day'] == [
        ('2025-12-01', 2), ('2025-12-02', 3)]
    assert got['mode: users per state'] == [('dark', 1)]
    # The same view from the link alone (a shared URL).
    again = session.get(reply.request.path_qs)
    assert charts(again) == got
    ranged = charts(page(session, **{'from': '2025-12-02',
                                     'to': '2025-12-03'}))
    assert ranged['clicks: added across users each day'] == [
        ('2025-12-02', 3), ('2025-12-03', 4)]
    assert page(session, **{'from': '2025-12-09'}).status_int == 200
    assert 'must be a date' in page(session, to='soon', status=400).text
    assert 'no version' in page(session, version='9.9', status=400).text
    page(session, users='everybody', status=400)


def test_aliases_name_users_and_filter_them(session, uploaded):
    form = session.get('/aliases').forms[1]
    form['user'], form['alias'] = 'bob', 'Bob (test machine)'
    form.submit(status=303)
    listed = session.get('/aliases')
    assert 'Bob (test machine)' in listed.text
    assert charts(page(session))['clicks: top users'] == [
        ('ann', 5), ('Bob (test machine)', 4)]
    aliased = charts(page(session, users='aliased'))
    assert aliased['clicks: top users'] == [('Bob (test machine)', 4)]
    assert aliased['mode: users per state'] == [('light', 1)]
    without = charts(page(session, users='unaliased'))
    assert without['clicks: top users'] == [('ann', 5)]
    assert without['mode: users per state'] == [('dark', 1)]
    # An empty alias removes it.
    form = session.get('/aliases').forms[1]
    form['user'], form['alias'] = 'bob', ''
    form.submit(status=303)
    assert uploaded.read(groupdata.aliases, 'acme') == {}


def test_a_saved_plot_is_kept_for_the_group(session, uploaded):
    form = page(session).forms[2]
    assert form.action == '/application/plots'
    form['plot'] = 'Usage'
    form.get('trackable', index=0).checked = True     # clicks
    form.get('trackable', index=1).checked = True     # time
    assert form.submit(status=303).location.endswith(
        '/application?name=MyApp')
    assert uploaded.read(groupdata.plots, 'acme', 'MyApp') == [
        ('Usage', ['clicks', 'time'])]
    # Anyone of the group sees it, under the filters of the page.
    session.reset()
    write(uploaded, accounts.addUser, 'acme', 'carl', 'pass phrase')
    login(session, 'carl', 'pass phrase')
    assert charts(page(session))['Usage'] == [('clicks', 9), ('time', 3725)]
    assert charts(page(session, version='2.0'))['Usage'] == [
        ('clicks', 4), ('time', 0)]
    delete = [f for f in page(session).forms.values()
              if f.action == '/application/plots/delete'][0]
    delete.submit(status=303)
    assert uploaded.read(groupdata.plots, 'acme', 'MyApp') == []


def test_a_plot_needs_a_name_and_statistics(session):
    form = page(session).forms[2]
    form['plot'] = 'Nothing picked'
    assert 'pick 1 to' in form.submit(status=400).text
    token = form['csrf_token'].value
    reply = session.post('/application/plots', {
        'csrf_token': token, 'name': 'MyApp', 'plot': 'States',
        'trackable': 'mode'}, status=400)
    assert 'is not a statistic' in reply.text


def test_user_data_shows_as_text_everywhere(hqapp):
    _, up = hqapp.addKey('acme')
    hqapp.post(body(up, user=NASTY_STATE, app=NASTY_NAME, version=NASTY_NAME,
                    data={NASTY_NAME: stat(3), 'mode': state(NASTY_STATE)}))
    write(hqapp, accounts.addUser, 'acme', 'ann', 'pw')
    write(hqapp, groupdata.setAlias, 'acme', NASTY_STATE, NASTY_NAME)
    write(hqapp, groupdata.savePlot, 'acme', NASTY_NAME, NASTY_STATE,
          [NASTY_NAME])
    app = hqapp.app
    login(app, 'ann', 'pw')
    pages = [app.get('/'), app.get('/aliases'),
             app.get('/application', params={'name': NASTY_NAME,
                                             'version': NASTY_NAME})]
    for reply in pages:
        parsed = Charts(reply.text)
        assert 'script' not in parsed.tags and 'img' not in parsed.tags
        assert not [a for a in parsed.attributes
                    if a[0].startswith('on')]
        assert NASTY_NAME in ''.join(parsed.texts) \
            or NASTY_STATE in ''.join(parsed.texts)
    got = Charts(pages[2].text).charts
    assert got[f'{NASTY_NAME}: top users'] == [(NASTY_NAME, 3)]
    assert got['mode: users per state'] == [(NASTY_STATE, 1)]
    assert got[NASTY_STATE] == [(NASTY_NAME, 3)]


def test_accounts_refuse_bad_names_and_passwords(hqapp):
    for group, user, password in (('', 'ann', 'pw'), ('acme', ' ann', 'pw'),
                                  ('acme', 'ann', ''),
                                  ('acme', 'ann', 'x' * 2000)):
        with pytest.raises(ValueError):
            write(hqapp, accounts.addUser, group, user, password)
    assert hqapp.read(accounts.listUsers) == []


def test_the_session_secret_is_kept_and_reused(tmp_path):
    from hq_fixtures import HQApp
    first = HQApp(tmp_path / 'hq.fs')
    secret = first.registry.settings['hq.secret']
    first.close()
    second = HQApp(tmp_path / 'hq.fs')
    assert second.registry.settings['hq.secret'] == secret
    assert len(secret) == 64
    second.close()


def test_a_wide_span_of_days_stays_a_few_hundred_columns(hqapp):
    """A client whose clock said 1970 once: the page sums runs of days
    instead of drawing 20,000 of them, and the values still add up."""
    _, up = hqapp.addKey('acme')
    old = DAY1 - 20_000 * 86400
    hqapp.post(body(up, user='ann', data={'clicks': stat(9)},
                    tracks={'clicks': [track(1, 4, old),
                                       track(2, 9, DAY1)]}))
    write(hqapp, accounts.addUser, 'acme', 'ann', 'pw')
    login(hqapp.app, 'ann', 'pw')
    got = charts(page(hqapp.app, **{'from': '0001-01-01',
                                    'to': '9999-12-31'}))
    title = [t for t in got if t.startswith('clicks: added across users')]
    assert title == ['clicks: added across users each 51 days']
    daily = got[title[0]]
    assert len(daily) <= dashboard.MAX_POINTS
    assert sum(v for _, v in daily) == 9
    assert daily[0] == (model.day(old), 4)


def test_a_tampered_or_foreign_session_cookie_is_not_a_login(session,
                                                             tmp_path):
    cookie = session.cookies['hq_session']
    session.set_cookie('hq_session', cookie[:-4] + ('AAAA' if not
                       cookie.endswith('AAAA') else 'BBBB'))
    session.get('/', status=303)
    # A cookie signed with another HQ's secret does not log in here.
    from hq_fixtures import HQApp
    other = HQApp(tmp_path / 'other.fs')
    try:
        write(other, accounts.addUser, 'acme', 'ann-admin', 'right horse')
        login(other.app, 'ann-admin', 'right horse')
        other.app.get('/')
        session.set_cookie('hq_session', other.app.cookies['hq_session'])
        session.get('/', status=303)
    finally:
        other.close()


def test_the_secret_can_come_from_the_settings(tmp_path):
    """Two HQs given one hq.secret accept each other's cookies (their
    databases' own secrets differ)."""
    import webtest
    from cybertools_tracking.hq import makeApp
    from cybertools_tracking.pyramid import closeDatabase
    apps = [makeApp({'tracking.uri': str(tmp_path / f'hq{n}.fs'),
                     'hq.secret': 'from the ini file'}) for n in (1, 2)]
    try:
        clients = [webtest.TestApp(wsgi) for wsgi in apps]
        for wsgi in apps:
            tm = transaction.TransactionManager()
            conn = wsgi.registry.tracking_db.open(transaction_manager=tm)
            with tm:
                accounts.addUser(model.hqRoot(conn), 'acme', 'ann', 'pw')
            conn.close()
        login(clients[0], 'ann', 'pw')
        clients[1].set_cookie('hq_session', clients[0].cookies['hq_session'])
        assert 'Applications of acme' in clients[1].get('/').text
    finally:
        for wsgi in apps:
            closeDatabase(wsgi.registry)


def test_aliases_and_plots_belong_to_one_group(session, uploaded):
    token = session.get('/aliases').forms[1]['csrf_token'].value
    session.post('/aliases', {'user': 'bob', 'alias': 'Bob',
                              'csrf_token': token}, status=303)
    session.reset()
    login(session, 'olga', 'battery staple')
    assert 'Bob' not in session.get('/aliases').text
    # olga's group has no uploads: nothing to name there.
    token = session.get('/aliases').forms[1]['csrf_token'].value
    session.post('/aliases', {'user': 'bob', 'alias': 'Robert',
                              'csrf_token': token}, status=404)
    assert uploaded.read(groupdata.aliases, 'acme') == {'bob': 'Bob'}


def test_a_sequence_is_charted_as_a_number(hqapp):
    _, up = hqapp.addKey('acme')
    for user, done in (('ann', 3), ('bob', 1)):
        hqapp.post(body(up, user=user, data={
            'tutorial': {'type': 'Sequence', 'description': 'steps',
                         'data': done}},
            tracks={'tutorial': [track(1, done, DAY2)]}))
    write(hqapp, accounts.addUser, 'acme', 'ann', 'pw')
    login(hqapp.app, 'ann', 'pw')
    got = charts(page(hqapp.app))
    assert got['tutorial: added across users each day'] == [
        ('2025-12-02', 4)]
    assert got['tutorial: top users'] == [('ann', 3), ('bob', 1)]
    assert sum(v for _, v in got['tutorial: spread across users']) == 2
