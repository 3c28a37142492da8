"""What the interface calls things: Chinese names of the vocabularies (with the abbreviations
auditors use) and dates written the local way. Sentences (errors, messages) are in
`archive.messages`, with the vocabularies the layers below need (failure reasons, the 匹配度
factors and weights), re-exported here for the pages.

Data stays ISO-8601 and English-coded (the API contract); only the pages translate.
"""
from __future__ import annotations

import os
from datetime import date, datetime
from zoneinfo import ZoneInfo

from archive.accounts import ROLE_NAMES as USER_ROLE_NAMES
from archive.messages import FACTOR_NAMES, FAILURE_NAMES, WEIGHT_NAMES, failure_name, format_name  # noqa: F401 — re-exported

FIELD_NAMES = {
    "QMS": "质量管理体系", "EMS": "环境管理体系", "OHSMS": "职业健康安全管理体系", "FSMS": "食品安全管理体系",
    "HACCP": "危害分析与关键控制点", "ISMS": "信息安全管理体系", "ITSMS": "信息技术服务管理体系",
    "EnMS": "能源管理体系", "IPMS": "知识产权管理体系", "MMS": "测量管理体系", "SERVICE": "服务认证",
    "PRODUCT": "产品认证",
}
TYPE_NAMES = {
    "application": "认证申请书", "contract_review": "申请评审", "audit_programme": "审核方案",
    "audit_notice": "审核通知书", "audit_plan": "审核计划", "checklist": "审核检查表", "attendance": "签到表",
    "document_review": "文件审查", "ncr": "不符合报告", "observation": "观察项", "audit_report": "审核报告",
    "decision": "认证决定", "certificate": "认证证书", "other": "其他",
}
STAGE_NAMES = {
    "stage1": "一阶段", "stage2": "二阶段", "surveillance1": "第一次监督", "surveillance2": "第二次监督",
    "surveillance3": "第三次监督", "recertification": "再认证", "special": "特殊审核",
}
ROLE_NAMES = {"leader": "组长", "member": "组员", "expert": "技术专家", "unknown": "未注明角色"}
SEVERITY_NAMES = {"minor": "一般", "major": "严重"}
STATUS_NAMES = {"ok": "正常", "no_text": "无文本层（扫描件）", "partial": "部分可读"}
FACET_NAMES = {"field": "认证领域", "code": "专业代码", "stage": "审核阶段", "type": "文件类型", "year": "年份"}
SORT_NAMES = {"relevance": "相关度", "date": "日期（新→旧）", "date_asc": "日期（旧→新）"}
UPLOAD_STATUS_NAMES = {"pending": "等待处理", "ingested": "已入库", "failed": "失败"}
TABLE_NAMES = {"2020": "2020 版", "legacy": "旧版"}
LEVEL_NAMES = {"major": "大类", "middle": "中类", "minor": "小类"}
# the access log's actions (the codes `webui.auth.audit` stores stay as they are)
ACTION_NAMES = {
    "login": "登录", "login_failed": "登录失败", "login_locked": "登录受限（失败次数过多）", "logout": "退出",
    "password_failed": "修改密码时当前密码错误", "password_changed": "修改密码",
    "search": "检索", "view": "查看文件", "view_case": "查看案例", "download": "下载原件", "upload": "上传",
    "export": "导出", "refused": "拒绝访问", "matching_weights": "修改匹配度权重",
    "user_add": "添加用户", "user_role": "修改角色", "user_password": "重设密码", "user_disable": "停用用户",
    "user_enable": "启用用户", "user_revoke": "吊销令牌", "user_unlock": "解除登录限制",
}
# the rows of `auditarchive show` (the document object's keys)
DOCUMENT_FIELD_NAMES = {
    "id": "文档 ID", "path": "路径", "filename": "文件名", "pages": "页数", "format": "格式",
    "ocr_pages": "OCR 页数", "doc_type": "文件类型", "title": "标题", "org": "受审核组织", "cert_no": "证书号",
    "cert_nos": "证书号（全部）", "fields": "认证领域", "codes": "专业代码", "code_table": "代码表",
    "stage": "审核阶段", "audit_start": "审核开始", "audit_end": "审核结束", "issue_date": "发证日期",
    "expiry_date": "有效期至", "scope": "认证范围", "status": "文本状态", "warnings": "提示",
}


def ui_zone() -> ZoneInfo:
    """The zone times are shown in (the body's own; China Standard Time unless configured)."""
    return ZoneInfo(os.environ.get("AUDITARCHIVE_TZ", "Asia/Shanghai"))


def local_date(value: str | date | None) -> str:
    """2023-05-10 → 2023年5月10日; anything unreadable is shown as it is."""
    if not value:
        return ""
    try:
        day = value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
    except ValueError:
        return str(value)
    return f"{day.year}年{day.month}月{day.day}日"


def local_datetime(value: str | None) -> str:
    """An ISO timestamp (UTC) → 2026年11月21日 17:05 in the interface's zone."""
    if not value:
        return ""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    if moment.tzinfo is not None:
        moment = moment.astimezone(ui_zone())
    return f"{local_date(moment.date())} {moment:%H:%M}"


def field_label(code: str | None) -> str:
    return f"{code} {FIELD_NAMES[code]}" if code in FIELD_NAMES else (code or "")


FILTERS = {
    "local_date": local_date, "local_datetime": local_datetime, "field_label": field_label,
    "type_name": lambda v: TYPE_NAMES.get(v or "", v or ""),
    "stage_name": lambda v: STAGE_NAMES.get(v or "", v or ""),
    "role_name": lambda v: ROLE_NAMES.get(v or "", v or ""),
    "severity_name": lambda v: SEVERITY_NAMES.get(v or "", v or ""),
    "status_name": lambda v: STATUS_NAMES.get(v or "", v or ""),
    "format_name": format_name,
    "failure_name": failure_name,
    "upload_status_name": lambda v: UPLOAD_STATUS_NAMES.get(v or "", v or ""),
    "user_role_name": lambda v: USER_ROLE_NAMES.get(v or "", v or ""),
    "action_name": lambda v: ACTION_NAMES.get(v or "", v or ""),
    "level_name": lambda v: LEVEL_NAMES.get(v or "", v or ""),
    "table_name": lambda v: TABLE_NAMES.get(v or "", v or ""),
}

FILTER_LABELS = {"code": "专业代码", "field": "认证领域", "stage": "审核阶段", "type": "文件类型", "org": "组织",
                 "clause": "条款", "year": "年份", "cert": "证书号", "date": "日期"}


def filter_value_label(name: str, value: str) -> str:
    """How an active filter's value reads in a chip (QMS 质量管理体系, 不符合报告, 17.10 …)."""
    if name == "field":
        return field_label(value)
    if name == "type":
        return TYPE_NAMES.get(value, value)
    if name == "stage":
        return STAGE_NAMES.get(value, value)
    return value


GLOBALS = {"FACET_NAMES": FACET_NAMES, "FIELD_NAMES": FIELD_NAMES, "FILTER_LABELS": FILTER_LABELS,
           "SORT_NAMES": SORT_NAMES, "STAGE_NAMES": STAGE_NAMES, "TYPE_NAMES": TYPE_NAMES,
           "ACTION_NAMES": ACTION_NAMES, "FACTOR_NAMES": FACTOR_NAMES, "WEIGHT_NAMES": WEIGHT_NAMES,
           "USER_ROLE_NAMES": USER_ROLE_NAMES, "filter_value_label": filter_value_label}
