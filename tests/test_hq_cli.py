"""cybertools-tracking hq add-key / list-keys / revoke-key, and pserve's
entry point, run as the user runs them."""

import subprocess
import sys

from hq_processes import HQProcess, addKey, cli
from servers import waitForPort


def test_add_key_prints_the_key_alone_on_the_last_line(tmp_path):
    db = tmp_path / 'hq.fs'
    code, out, err = cli('hq', 'add-key', '--db', db, '--group', 'acme')
    assert code == 0, err
    key = out.strip().splitlines()[-1]
    assert key.startswith('ctu_') and ' ' not in key
    readKey = addKey(db, 'acme', read=True)
    assert readKey.startswith('ctr_')
    code, out, err = cli('hq', 'list-keys', '--db', db)
    assert code == 0, err
    lines = out.strip().splitlines()
    assert len(lines) == 2          # one line per key
    kinds = sorted(line.split()[1:3] for line in lines)
    assert kinds == [['read', 'acme'], ['upload', 'acme']]
    assert all(line.split()[5:] == ['last', 'used', 'never']
               for line in lines)
    assert key not in out and readKey not in out
    assert key.encode() not in db.read_bytes()


def test_revoke_key_by_id(tmp_path):
    db = tmp_path / 'hq.fs'
    addKey(db, 'acme')
    keyId = cli('hq', 'list-keys', '--db', db)[1].split()[0]
    code, out, err = cli('hq', 'revoke-key', '--db', db, keyId)
    assert (code, out.strip()) == (0, f'revoked key {keyId}')
    assert cli('hq', 'list-keys', '--db', db)[1].strip() == ''

    before = sorted(p.name for p in tmp_path.iterdir())
    code, out, err = cli('hq', 'revoke-key', '--db', db, keyId)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert f"no key with id '{keyId}'" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_errors_are_one_line_and_create_nothing(tmp_path):
    missing = tmp_path / 'missing.fs'
    for args in (('hq', 'list-keys', '--db', missing),
                 ('hq', 'revoke-key', '--db', missing, 'abcd'),
                 ('hq', 'add-key', '--db', tmp_path, '--group', 'g'),
                 ('hq', 'add-key', '--db', tmp_path / 'x.fs', '--group',
                  ' ')):
        code, out, err = cli(*args)
        assert code == 2, (args, err)
        assert len(err.strip().splitlines()) == 1 and 'Traceback' not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_serve_refuses_a_bad_port(tmp_path):
    code, out, err = cli('hq', 'serve', '--db', tmp_path / 'hq.fs',
                         '--port', '70000')
    assert code == 2 and '--port' in err


def test_pserve_serves_the_hq_from_an_ini_file(tmp_path):
    db = tmp_path / 'hq.fs'
    readKey = addKey(db, 'acme', read=True)
    hq = HQProcess(db)          # for its free port
    ini = tmp_path / 'hq.ini'
    ini.write_text(f'[app:main]\nuse = egg:cybertools_tracking#hq\n'
                   f'tracking.uri = {db}\n\n'
                   f'[server:main]\nuse = egg:waitress#main\n'
                   f'listen = 127.0.0.1:{hq.port}\n')
    pserve = subprocess.Popen([sys.executable, '-m', 'pyramid.scripts.pserve',
                               str(ini)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)
    try:
        import json
        import urllib.request
        waitForPort(hq.port, pserve, 'pserve')
        request = urllib.request.Request(
            hq.url + '/api/applications',
            headers={'Authorization': f'Bearer {readKey}'})
        with urllib.request.urlopen(request, timeout=30) as reply:
            assert json.load(reply) == {'applications': []}
    finally:
        pserve.terminate()
        pserve.wait(30)
        pserve.stderr.close()
