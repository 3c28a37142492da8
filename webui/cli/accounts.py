"""`auditarchive users …` and `tokens …`: who may use the web UI and the API."""
from __future__ import annotations

import sys

import click

from archive.messages import message

from .common import CliError, Context, _dump, main, output_options


@main.group()
def users() -> None:
    """网页界面和 API 的用户。

    角色为 admin（管理员）、auditor（审核员）或 viewer（查阅者）。"""


def _accounts(obj: Context):
    from archive.accounts import Accounts

    return Accounts(obj.home.auth_path)


def _read_password(password_stdin: bool, generate: bool) -> tuple[str, bool]:
    """(password, generated): from stdin, generated, or asked for twice on a terminal."""
    from archive.accounts import new_password

    if password_stdin:
        return sys.stdin.readline().rstrip("\n"), False
    if generate or not sys.stdin.isatty():
        return new_password(), True
    return click.prompt(message("cli.password_prompt"), hide_input=True,
                        confirmation_prompt=message("cli.password_again")), False


@users.command(name="add")
@click.argument("name")
@click.option("--role", type=click.Choice(["admin", "auditor", "viewer"]), required=True,
              help="角色：admin 管理员，auditor 审核员，viewer 查阅者。")
@click.option("--password-stdin", is_flag=True, help="从标准输入读取密码（一行）。")
@click.option("--generate", is_flag=True, help="生成随机密码并显示（不在终端上运行时也这样做）。")
@output_options
@click.pass_obj
def users_add(obj: Context, name: str, role: str, password_stdin: bool, generate: bool, as_json: bool) -> None:
    """添加用户；密码只保存其哈希值（scrypt）。"""
    from archive.accounts import ROLE_NAMES, AccountError

    password, generated = _read_password(password_stdin, generate)
    try:
        _accounts(obj).add_user(name, role, password)
    except AccountError as exc:
        raise CliError(str(exc)) from None
    if as_json:
        click.echo(_dump({"name": name, "role": role, **({"password": password} if generated else {})}))
    else:
        click.echo(message("account.added_role", name=name, role=ROLE_NAMES.get(role, role))
                   + (message("cli.with_password", password=password) if generated else ""))


@users.command(name="bootstrap")
@click.pass_obj
def users_bootstrap(obj: Context) -> None:
    """为新的数据目录创建第一个管理员（已有用户时什么也不做）。

    显示其密码，并保存在 数据目录/initial-admin-password 中（仅您可读），直到修改为止。"""
    import os

    acc = _accounts(obj)
    note = obj.home.root / "initial-admin-password"
    if acc.user_count():
        hint = message("cli.users_exist_hint", note=note) if note.exists() else ""
        click.echo(message("cli.users_exist", path=obj.home.auth_path, hint=hint))
        return
    from archive.accounts import new_password

    password = new_password()
    acc.add_user("admin", "admin", password)
    fd = os.open(note, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(password + "\n")
    click.echo(message("cli.first_admin", password=password, note=note))


@users.command(name="list")
@output_options
@click.pass_obj
def users_list(obj: Context, as_json: bool) -> None:
    """列出全部用户及其角色和状态。"""
    from archive.accounts import ROLE_NAMES

    rows = _accounts(obj).users()
    if as_json:
        click.echo(_dump(rows))
        return
    for r in rows:
        click.echo(message("cli.user_line", name=r["name"], role=r["role"], role_name=ROLE_NAMES.get(r["role"], ""),
                           created=r["created_at"],
                           disabled=message("cli.user_disabled") if r["disabled"] else ""))


@users.command(name="passwd")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="从标准输入读取密码（一行）。")
@click.pass_obj
def users_passwd(obj: Context, name: str, password_stdin: bool) -> None:
    """设置用户的密码（其已登录的会话均结束）。

    密码至少 10 个字符，不能全是数字，不能与用户名相同。"""
    from archive.accounts import AccountError

    password, generated = _read_password(password_stdin, False)
    try:
        _accounts(obj).set_password(name, password)
    except AccountError as exc:
        raise CliError(str(exc)) from None
    click.echo(message("account.password_set", name=name)
               + (message("cli.with_password", password=password) if generated else ""))


@users.command(name="role")
@click.argument("name")
@click.argument("role", type=click.Choice(["admin", "auditor", "viewer"]))
@click.pass_obj
def users_role(obj: Context, name: str, role: str) -> None:
    """修改用户的角色（其已登录的会话均结束；最后一个可用的管理员不能改为其他角色）。"""
    from archive.accounts import ROLE_NAMES, AccountError

    try:
        _accounts(obj).set_role(name, role)
    except AccountError as exc:
        raise CliError(str(exc)) from None
    click.echo(message("account.role_changed", name=name, role=ROLE_NAMES.get(role, role)))


@users.command(name="unlock")
@click.argument("name")
@click.pass_obj
def users_unlock(obj: Context, name: str) -> None:
    """解除用户 NAME 的登录限制（清除其来自各个地址的失败登录记录）。"""
    count = _accounts(obj).unlock(name.strip())
    click.echo(message("account.unlocked_count", name=name.strip(), count=count))


@users.command(name="disable")
@click.argument("name")
@click.pass_obj
def users_disable(obj: Context, name: str) -> None:
    """停用用户 NAME：其会话结束，API 令牌被吊销（最后一个管理员不能停用）。"""
    from archive.accounts import AccountError

    try:
        _accounts(obj).set_disabled(name.strip(), True)
    except AccountError as exc:
        raise CliError(str(exc)) from None
    click.echo(message("account.disabled", name=name.strip()))


@users.command(name="enable")
@click.argument("name")
@click.pass_obj
def users_enable(obj: Context, name: str) -> None:
    """重新启用用户 NAME（已吊销的令牌仍然无效）。"""
    from archive.accounts import AccountError

    try:
        _accounts(obj).set_disabled(name.strip(), False)
    except AccountError as exc:
        raise CliError(str(exc)) from None
    click.echo(message("account.enabled", name=name.strip()))


@main.group()
def tokens() -> None:
    """API 令牌（Authorization: Bearer …）。

    每个令牌属于一个用户，按该用户当前的角色授权。"""


@tokens.command(name="create")
@click.argument("name")
@output_options
@click.pass_obj
def tokens_create(obj: Context, name: str, as_json: bool) -> None:
    """为用户 NAME 创建新令牌；只显示这一次（只保存其哈希值）。"""
    from archive.accounts import AccountError

    try:
        token = _accounts(obj).create_token(name.strip())
    except AccountError as exc:
        raise CliError(str(exc)) from None
    if as_json:
        click.echo(_dump({"name": name.strip(), "token": token}))
    else:
        click.echo(token)
        click.echo(message("cli.token_for", name=name.strip()), err=True)


@tokens.command(name="list")
@output_options
@click.pass_obj
def tokens_list(obj: Context, as_json: bool) -> None:
    """列出每个令牌的用户和日期（从不显示令牌本身）。"""
    rows = _accounts(obj).tokens()
    if as_json:
        click.echo(_dump(rows))
        return
    for r in rows:
        state = (message("cli.token_revoked", at=r["revoked_at"]) if r["revoked_at"] else
                 message("cli.token_used", at=r["last_used_at"]) if r["last_used_at"] else message("cli.token_never_used"))
        click.echo(message("cli.token_line", name=r["name"], prefix=r["hash_prefix"], created=r["created_at"], state=state))


@tokens.command(name="revoke")
@click.argument("name")
@click.pass_obj
def tokens_revoke(obj: Context, name: str) -> None:
    """吊销用户 NAME 的全部令牌。"""
    count = _accounts(obj).revoke_tokens(name)
    click.echo(message("account.tokens_revoked", name=name, count=count))
