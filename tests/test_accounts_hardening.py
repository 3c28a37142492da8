"""Issue 24 (hardening), items 3, 4, 9, 11, 13 and 14: revocable sessions, login throttling
without lock-outs, messages that never come from the URL, a password policy and a last-admin
guard, an access log with refusals and real statuses, owner-only data homes, and read-only
data homes. The web app runs through Flask's test client over a new (empty) data home; the
command line runs as a subprocess (as `auditarchive` is run), or through click's CliRunner."""
from __future__ import annotations

import errno
import io
import os
import re
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

EXE = Path(sys.executable).parent / "auditarchive"
PASSWORDS = {"admin": "admin-password-1", "auditor": "auditor-password-1", "viewer": "viewer-password-1"}


@pytest.fixture(autouse=True)
def _keep_umask():
    """A command run in this process sets the umask of its data home: give the next test back its own."""
    mask = os.umask(0o022)
    os.umask(mask)
    yield
    os.umask(mask)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    from archive.accounts import Accounts

    root = tmp_path / "home"
    accounts = Accounts(root / "auth.db")
    for role, password in PASSWORDS.items():
        accounts.add_user(role, role, password)
    accounts.close()
    return root


@pytest.fixture
def app(home: Path):
    from webui.app import create_app

    return create_app(home, {"START_UPLOAD_QUEUE": False, "RECONCILE_SECONDS": 0})


def accounts_of(app):
    return app.extensions["auditarchive"].accounts()


def text(response) -> str:
    return response.get_data(as_text=True)


def csrf(client, path: str = "/login") -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', text(client.get(path))).group(1)


def login(client, name: str, password: str | None = None, expect: int = 302):
    response = client.post("/login", data={"name": name, "password": password or PASSWORDS[name],
                                           "csrf_token": csrf(client)})
    assert response.status_code == expect, text(response)[:500]
    return response


def client_at(app, address: str):
    c = app.test_client()
    c.environ_base["REMOTE_ADDR"] = address
    return c


def logged_in(app, name: str, address: str = "127.0.0.1"):
    c = client_at(app, address)
    login(c, name)
    return c


def admin_post(admin, **form):
    return admin.post("/admin/users", data={**form, "csrf_token": csrf(admin, "/")})


def run_cli(home: Path, *args: str, stdin: str | None = None, prefix: list[str] | None = None):
    return subprocess.run([*(prefix or []), str(EXE), "--home", str(home), *args], input=stdin,
                          capture_output=True, text=True, timeout=120)


# -- item 3: sessions can be ended -----------------------------------------------------------------

def test_logging_out_ends_a_copy_of_the_session_cookie(app):
    first = logged_in(app, "auditor")
    other_browser = logged_in(app, "auditor", "10.0.0.9")
    copy = app.test_client()
    copy.set_cookie("auditarchive_session", first.get_cookie("auditarchive_session").value)
    assert copy.get("/stats").status_code == 200
    first.post("/logout", data={"csrf_token": csrf(first, "/")})
    response = copy.get("/stats")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert other_browser.get("/stats").status_code == 200        # a session of its own: goes on


@pytest.mark.parametrize("action", ["password", "role", "disable"])
def test_a_new_password_role_or_disabling_ends_the_users_sessions(app, action):
    user = logged_in(app, "auditor")
    assert user.get("/upload").status_code == 200
    admin = logged_in(app, "admin", "10.0.0.2")
    form = {"password": {"password": "another-password-2"}, "role": {"role": "viewer"}, "disable": {}}[action]
    assert admin_post(admin, action=action, name="auditor", **form).status_code == 303
    response = user.get("/upload")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert admin.get("/admin/users").status_code == 200          # the admin's own session goes on


def test_an_admin_changing_their_own_password_stays_logged_in_here_only(app):
    here = logged_in(app, "admin")
    elsewhere = logged_in(app, "admin", "10.0.0.3")
    assert admin_post(here, action="password", name="admin", password="a-new-admin-password").status_code == 303
    assert here.get("/admin/users").status_code == 200
    assert elsewhere.get("/admin/users").status_code == 302


def test_api_tokens_act_with_the_current_role_and_state(app):
    acc = accounts_of(app)
    token = acc.create_token("auditor")
    headers = {"Authorization": f"Bearer {token}"}
    client = app.test_client()
    assert client.get("/api/v1/uploads/" + "0" * 64, headers=headers).status_code == 404     # may look
    acc.set_role("auditor", "viewer")
    assert client.get("/api/v1/uploads/" + "0" * 64, headers=headers).status_code == 403     # at once
    acc.set_role("auditor", "auditor")
    acc.set_disabled("auditor", True)
    assert client.get("/api/v1/uploads/" + "0" * 64, headers=headers).status_code == 401
    acc.set_disabled("auditor", False)
    assert client.get("/api/v1/uploads/" + "0" * 64, headers=headers).status_code == 401     # revoked


# -- item 4: throttling, not locking ---------------------------------------------------------------

def test_strangers_cannot_lock_anyone_out(app):
    from contextlib import suppress

    from archive.accounts import AccountError

    acc = accounts_of(app)
    for n in range(31):                    # a name guessed at from one address, many names from another
        with suppress(AccountError):
            acc.authenticate("admin", f"guess-{n}", "10.6.6.6")
        with suppress(AccountError):
            acc.authenticate(f"someone-{n}", "guess", "10.7.7.7")
    login(client_at(app, "10.0.0.1"), "admin")              # the admin, from elsewhere: at once
    login(client_at(app, "10.7.7.7"), "viewer")             # someone sharing the sprayer's address too


def test_failed_logins_slow_down_by_doubling_delays_never_a_lock(home, monkeypatch):
    import archive.accounts as accounts_module
    from archive.accounts import Accounts, LoginThrottled

    now = [1_000_000.0]
    monkeypatch.setattr(accounts_module, "_epoch", lambda: now[0])
    acc = Accounts(home / "auth.db")
    for _ in range(5):
        assert acc.authenticate("viewer", "wrong", "10.1.1.1") is None        # five are free
    with pytest.raises(LoginThrottled) as caught:
        acc.authenticate("viewer", PASSWORDS["viewer"], "10.1.1.1")           # then a wait, even when right
    assert caught.value.seconds == 5 and "5 秒后再试" in str(caught.value)
    assert acc.authenticate("viewer", PASSWORDS["viewer"], "10.2.2.2") is not None     # not elsewhere
    now[0] += 5
    assert acc.authenticate("viewer", "wrong", "10.1.1.1") is None
    assert acc.login_delay("viewer", "10.1.1.1") == 10                        # doubled
    now[0] += 10
    assert acc.authenticate("viewer", PASSWORDS["viewer"], "10.1.1.1") is not None    # a delay, not a lock
    assert acc.login_delay("viewer", "10.1.1.1") == 0                          # and forgotten after
    for _ in range(30):
        acc.authenticate("viewer", "wrong", "10.1.1.1")
        now[0] += acc.login_delay("viewer", "10.1.1.1")
    acc.authenticate("viewer", "wrong", "10.1.1.1")
    assert acc.login_delay("viewer", "10.1.1.1") == 15 * 60                   # at most 15 minutes
    acc.close()


def test_a_throttled_login_says_how_long_and_an_admin_can_lift_it(app, home):
    c = client_at(app, "10.3.3.3")
    for _ in range(5):
        login(c, "auditor", "wrong-password", expect=401)
    response = login(c, "auditor", expect=429)
    assert "秒后再试" in text(response) and int(response.headers["Retry-After"]) >= 1
    admin = logged_in(app, "admin", "10.0.0.4")
    page = text(admin.get("/admin/users"))
    assert "登录受限" in page and "解除登录限制" in page
    assert admin_post(admin, action="unlock", name="auditor").status_code == 303
    assert "已解除 auditor 的登录限制" in text(admin.get("/admin/users"))
    login(c, "auditor")
    for _ in range(6):
        login(c, "viewer", "wrong-password", expect=401 if _ < 5 else 429)
    result = run_cli(home, "users", "unlock", "viewer")
    assert result.returncode == 0 and "已解除 viewer 的登录限制" in result.stdout, result.stderr
    login(c, "viewer")


# -- item 9: messages come from the server, not the URL ----------------------------------------------

def test_pages_do_not_show_messages_from_the_url(app):
    admin = logged_in(app, "admin")
    planted = "账号异常请立即联系客服"
    page = text(admin.get("/admin/users", query_string={"message": planted, "error": planted}))
    assert planted not in page
    page = text(admin.get("/upload", query_string={"refused": planted, "why": planted}))
    assert planted not in page


def test_admin_actions_report_through_the_session(app):
    admin = logged_in(app, "admin")
    response = admin_post(admin, action="add", name="新查阅者", role="viewer", password="a-long-password")
    assert response.status_code == 303 and response.headers["Location"] == "/admin/users"
    page = text(admin.get("/admin/users"))
    assert "已添加用户 新查阅者" in page
    assert "已添加用户" not in text(admin.get("/admin/users"))      # shown once
    response = admin_post(admin, action="add", name="x", role="viewer", password="short")
    assert response.headers["Location"] == "/admin/users"
    assert "密码至少需要 10 个字符" in text(admin.get("/admin/users"))


def test_upload_refusals_come_back_through_the_session(app):
    auditor = logged_in(app, "auditor")
    token = csrf(auditor, "/upload")
    files = [(io.BytesIO(b"hello"), f"{'很长的中文文件名' * 20}{n}.pdf") for n in range(12)]
    response = auditor.post("/upload", data={"files": files, "csrf_token": token}, content_type="multipart/form-data")
    assert response.status_code == 303 and "refused" not in response.headers["Location"]
    assert "why" not in response.headers["Location"]
    assert len(auditor.get_cookie("auditarchive_session").value) < 4000        # a cookie a browser keeps
    page = text(auditor.get(response.headers["Location"]))
    assert page.count("未接收") == 6 and "另外 7 个文件" in page and "不是 PDF" in page
    assert "未接收" not in text(auditor.get("/upload"))


# -- item 11: password policy, last admin ------------------------------------------------------------

@pytest.mark.parametrize("name, password, why", [
    ("zhangsan", "1234567890", "全是数字"), ("zhangsan", "short", "至少需要 10 个字符"),
    ("zhangsan12", "ZhangSan12", "与用户名相同"), ("zhangsan", "aaaaaaaaaaaa", "同一个字符")])
def test_weak_passwords_are_refused(home, name, password, why):
    from archive.accounts import AccountError, Accounts

    acc = Accounts(home / "auth.db")
    acc.add_user(name, "viewer", "a-good-password-9")
    with pytest.raises(AccountError, match=why):
        acc.add_user(name + "x" if name != "zhangsan12" else name.upper(), "viewer", password)
    with pytest.raises(AccountError, match=why):
        acc.set_password(name, password)
    acc.close()
    result = run_cli(home, "users", "add", name, "--role", "viewer", "--password-stdin", stdin=password + "\n")
    assert result.returncode == 1 and why in result.stderr and "Traceback" not in result.stderr


def test_weak_passwords_are_refused_by_the_page(app):
    admin = logged_in(app, "admin")
    admin_post(admin, action="password", name="viewer", password="1234567890")
    assert "密码不能全是数字" in text(admin.get("/admin/users"))
    login(app.test_client(), "viewer")                        # the old password still works


def test_the_last_admin_keeps_the_role_and_stays_enabled(app, home):
    from archive.accounts import AccountError

    acc = accounts_of(app)
    with pytest.raises(AccountError, match="最后一个管理员"):
        acc.set_role("admin", "viewer")
    with pytest.raises(AccountError, match="最后一个可用的管理员"):
        acc.set_disabled("admin", True)
    admin = logged_in(app, "admin")
    admin_post(admin, action="role", name="admin", role="auditor")
    assert "最后一个管理员" in text(admin.get("/admin/users"))
    assert admin.get("/admin/users").status_code == 200              # still an admin
    for args, why in ((["role", "admin", "viewer"], "最后一个管理员"), (["disable", "admin"], "最后一个可用的管理员")):
        result = run_cli(home, "users", *args)
        assert result.returncode == 1 and why in result.stderr and "Traceback" not in result.stderr
    assert acc.user("admin").role == "admin"
    acc.set_role("auditor", "admin")                                 # with a second admin, either may go
    acc.set_role("admin", "viewer")
    with pytest.raises(AccountError, match="最后一个"):
        acc.set_disabled("auditor", True)
    acc.set_disabled("viewer", True)                                 # a disabled admin does not count…
    acc.set_role("viewer", "admin")
    with pytest.raises(AccountError, match="最后一个管理员"):
        acc.set_role("auditor", "viewer")                            # … so auditor stays the last one


# -- item 13: the access log, file modes ---------------------------------------------------------------

def log_rows(app, **filters):
    return accounts_of(app).access_log(**filters)


def test_refusals_are_logged_with_their_status(app):
    viewer = logged_in(app, "viewer")
    assert viewer.get("/upload").status_code == 403
    assert viewer.get("/admin/users").status_code == 403
    refused = log_rows(app, action="refused")
    assert {(r["user"], r["target"], r["status"]) for r in refused} >= {("viewer", "/upload", 403),
                                                                       ("viewer", "/admin/users", 403)}
    client = app.test_client()
    assert client.get("/api/v1/stats", headers={"Authorization": "Bearer aa_not-a-token"}).status_code == 401
    assert client.get("/api/v1/stats").status_code == 401
    api = [r for r in log_rows(app, action="refused") if r["target"] == "/api/v1/stats"]
    assert len(api) == 2 and all(r["status"] == 401 and r["user"] is None for r in api)
    token = accounts_of(app).create_token("viewer")
    assert client.post("/api/v1/documents", headers={"Authorization": f"Bearer {token}"}).status_code == 403
    assert any(r["target"] == "/api/v1/documents" and r["status"] == 403 and r["user"] == "viewer"
               for r in log_rows(app, action="refused"))
    login(app.test_client(), "viewer", "wrong-password", expect=401)
    failed = log_rows(app, action="login_failed")
    assert failed[0]["status"] == 401 and not any(r["target"] == "/login" for r in log_rows(app, action="refused"))


def test_searches_are_logged_once_with_the_real_status(app):
    auditor = logged_in(app, "auditor")
    assert auditor.get("/", query_string={"q": '"unclosed'}).status_code == 400
    assert auditor.get("/", query_string={"q": "管理评审"}).status_code == 200
    rows = log_rows(app, action="search", user="auditor")
    assert [(r["target"], r["status"]) for r in rows] == [("管理评审", 200), ('"unclosed', 400)]
    token = accounts_of(app).create_token("auditor")
    client = app.test_client()
    assert client.get("/api/v1/search", query_string={"q": '"unclosed'},
                      headers={"Authorization": f"Bearer {token}"}).status_code == 400
    assert log_rows(app, action="search", user="auditor")[0]["status"] == 400


def test_a_request_that_searches_several_times_logs_one_row(app):
    from flask import Response, g

    from webui.auth import audit, write_access_log

    with app.test_request_context("/?q=审核"):
        g.user = accounts_of(app).user("auditor")
        for _ in range(3):
            audit("search", "审核", "")
        audit("view", "abc")
        write_access_log(Response("ok"))
    assert len(log_rows(app, action="search", user="auditor")) == 1
    assert len(log_rows(app, action="view", user="auditor")) == 1


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_data_home_is_private_to_its_owner(tmp_path):
    from pdfmaker import make_pdf

    home = tmp_path / "fresh"
    folder = tmp_path / "pdfs"
    folder.mkdir()
    make_pdf(folder / "审核报告.pdf", ["管理体系审核报告", "受审核方：杭州恒远机械有限公司"])
    old = os.umask(0o022)          # a usual umask: what the commands must not rely on
    try:
        assert run_cli(home, "users", "bootstrap").returncode == 0
        result = run_cli(home, "ingest", str(folder), "--workers", "0")
        assert result.returncode == 0, result.stderr
    finally:
        os.umask(old)
    made = [home, *home.rglob("*")]
    assert {p.name for p in made} >= {"catalog.db", "auth.db", "index"}
    for path in made:
        assert mode(path) & 0o077 == 0, f"{path} is {oct(mode(path))}"
    (home / "catalog.db").chmod(0o644)
    (home / "auth.db").chmod(0o640)
    home.chmod(0o755)
    result = run_cli(home, "users", "list")
    assert result.returncode == 0 and "已改为仅所有者可访问" in result.stderr
    assert mode(home / "catalog.db") == 0o600 and mode(home / "auth.db") == 0o600 and mode(home) == 0o700
    assert "已改为" not in run_cli(home, "users", "list").stderr            # said once


# -- item 14: a read-only data home -----------------------------------------------------------------------

def read_only_prefix(home: Path) -> list[str]:
    """A command line prefix that runs a command with `home` read-only: a read-only bind mount in
    a mount namespace of its own when root (root ignores file modes), else the modes."""
    if os.geteuid() != 0:
        for path in [home, *home.rglob("*")]:
            path.chmod(mode(path) & ~0o222)
        return []
    probe = tempfile.mkdtemp()
    try:
        ok = subprocess.run(["unshare", "-m", "sh", "-c", f'mount --bind -o ro "{probe}" "{probe}"'],
                            capture_output=True).returncode == 0 if shutil.which("unshare") else False
    finally:
        os.rmdir(probe)
    if not ok:
        pytest.skip("cannot make a read-only data home here (root without mount namespaces)")
    return ["unshare", "-m", "sh", "-c", 'mount --bind -o ro "$0" "$0" && exec "$@"', str(home)]


def test_commands_on_a_read_only_home_say_so_and_exit_1(home, tmp_path):
    from pdfmaker import make_pdf

    make_pdf(tmp_path / "报告.pdf", ["管理体系审核报告"])
    assert run_cli(home, "users", "list").returncode == 0        # the databases exist, owner-only
    prefix = read_only_prefix(home)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    try:
        for args in (["users", "add", "bob", "--role", "viewer", "--generate"], ["tokens", "create", "admin"],
                     ["ingest", str(tmp_path / "报告.pdf"), "--workers", "0"], ["serve", "--port", str(port)]):
            result = run_cli(home, *args, prefix=prefix)
            assert result.returncode == 1, (args, result.stdout, result.stderr)
            assert "不可写" in result.stderr and "Traceback" not in result.stderr, (args, result.stderr)
    finally:
        if not prefix:
            for path in [home, *home.rglob("*")]:
                path.chmod(mode(path) | 0o200)


def test_a_running_server_whose_home_turns_read_only_keeps_serving_reads(app, monkeypatch):
    import archive.uploads

    auditor = logged_in(app, "auditor")
    token = accounts_of(app).create_token("auditor")
    st = app.extensions["auditarchive"]
    for db in (st.accounts().db, st.catalog().db):       # this thread's connections can no longer write
        db.execute("PRAGMA query_only = 1")

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(st.home.files_dir))
    monkeypatch.setattr(archive.uploads.tempfile, "mkstemp", read_only)

    assert auditor.get("/").status_code == 200
    assert auditor.get("/", query_string={"q": "管理评审"}).status_code == 200     # its log row is lost, not the page
    assert auditor.get("/stats").status_code == 200
    api = {"Authorization": f"Bearer {token}"}
    assert app.test_client().get("/api/v1/search?q=审核", headers=api).status_code == 200
    login(app.test_client(), "viewer")                                        # logins go on
    login(app.test_client(), "viewer", "wrong-password", expect=401)
    response = auditor.post("/upload", data={"files": (io.BytesIO(b"%PDF-1.4 x"), "a.pdf"),
                                             "csrf_token": csrf(auditor, "/upload")},
                            content_type="multipart/form-data")
    assert response.status_code == 503 and "数据目录当前不可写" in text(response)
    response = app.test_client().post("/api/v1/documents", headers=api,
                                      data={"file": (io.BytesIO(b"%PDF-1.4 x"), "a.pdf")},
                                      content_type="multipart/form-data")
    assert response.status_code == 503 and response.get_json()["error"]["code"] == "read_only"
    assert "数据目录当前不可写" in response.get_json()["error"]["message"]


def test_users_change_their_own_password(live_server):
    """Any role changes its own password: the current one first, the new one twice and within
    the policy; this browser stays logged in, the user's other sessions end."""
    from test_webui import csrf, login

    from archive.accounts import Accounts

    accounts = Accounts(live_server.home / "auth.db")
    if accounts.user("reader2") is None:
        accounts.add_user("reader2", "viewer", "first-password-1")
    accounts.close()
    me, other = live_server.app.test_client(), live_server.app.test_client()
    login(me, "reader2", "first-password-1")
    login(other, "reader2", "first-password-1")
    assert "修改密码" in me.get("/").get_data(as_text=True)

    def change(current, new, again=None):
        return me.post("/account/password", data={"csrf_token": csrf(me, "/account/password"), "current": current,
                                                  "new": new, "again": again if again is not None else new})
    assert change("wrong-password-9", "second-password-2").status_code == 401
    assert change("first-password-1", "second-password-2", "second-password-3").status_code == 400
    assert change("first-password-1", "1234567890").status_code == 400            # the policy holds here too
    done = change("first-password-1", "second-password-2")
    assert done.status_code == 303
    assert "密码已修改" in me.get("/account/password").get_data(as_text=True)
    assert me.get("/").status_code == 200                    # this browser stays in
    assert other.get("/").status_code == 302                 # the other session ended
    fresh = live_server.app.test_client()
    login(fresh, "reader2", "second-password-2")
    login(live_server.app.test_client(), "reader2", "first-password-1", expect=401)
