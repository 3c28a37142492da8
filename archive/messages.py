"""Every sentence a user reads, in Chinese, in one place: errors of the query language and of
the API, what the pages flash, what the command line says, why a file failed.

Each text has a stable key (`query.unknown_filter`, `api.token_needed` …) and `{placeholders}`;
`message(key, **values)` fills them in. The code that raises or prints names the key, never the
wording, so one thing is said the same way wherever it is said (a page, the API, the CLI).

What stays English, and why: the API's error `code` values and the stored codes (failure
reasons, access-log actions, field and stage codes) are a contract for programs; command and
option names, the query language's filter names (`code:`, `field:` …) and its operators (AND,
OR, NOT) are what people type; standard numbers and abbreviations auditors use (QMS, GB/T, ISO,
PDF, OCR) are written as auditors write them.

The vocabularies the layers below the web UI need live here too (why a file failed, the names of
the 匹配度 factors and weights); the pages' other display names are in `webui.labels`.

This module imports nothing of the project: `archive`, `indexer` and `webui` all use it.
"""
from __future__ import annotations

# -- vocabularies ------------------------------------------------------------------------------

FAILURE_NAMES = {
    "empty": "空文件（0 字节）", "not_pdf": "不是 PDF 文件", "encrypted": "文件已加密，需要密码",
    "truncated": "文件不完整（传输或复制中断）", "damaged": "文件已损坏，无法解析",
    "too_large": "文件过大", "timeout": "处理超时", "crashed": "处理进程崩溃",
    "memory": "处理所需内存超限", "error": "处理出错", "unreadable": "无法读取", "vanished": "文件在处理中被移走",
    "changed": "文件在读取时被改动", "unreachable": "工作节点读不到该文件", "no_page": "没有这一页",
    "unsafe_name": "压缩包中的文件名不安全", "nested": "压缩包嵌套过深", "no_image": "没有页面图像",
    "unsupported": "不支持的格式",
}

# the formats a document is read from (archive/readers/dispatch.py), by the content
FORMAT_NAMES = {
    "pdf": "PDF", "docx": "Word（docx）", "wordml": "Word XML", "doc": "Word 97–2003（doc）",
    "rtf": "RTF", "odt": "ODT", "xlsx": "Excel（xlsx）", "xls": "Excel 97–2003（xls）", "ods": "ODS 表格",
    "ofd": "OFD", "image": "图片",
}

# 匹配度 (archive/mining/matching.py): the factors of the formula, and the weights a manager sets
FACTOR_NAMES = {
    "X": "充分性", "Y": "难度", "P": "匹配度", "A1": "审核员数", "A2": "项目数", "B1": "可用性",
    "B2": "配合度", "C1": "审核员的代码数", "C2": "结合审核体系数", "D": "需求集中度", "E": "政策约束",
}
WEIGHT_NAMES = {
    "alpha": "竞争指数 α", "cooperation_weight": "配合度权重 β_B", "cluster_weight": "集中度权重 β_D",
    "policy_weight": "政策约束权重 β_E", "integration": "结合审核指数 γ", "capacity": "承载系数 k",
    "threshold": "阈值", "window_years": "统计年数", "default_availability": "默认可用性 B1",
    "default_cooperation": "默认配合度 B2", "availability": "审核员可用性 B1", "cooperation": "组织配合度 B2",
    "policy": "代码政策约束 E",
}

# -- sentences ---------------------------------------------------------------------------------

MESSAGES: dict[str, str] = {
    # the query language (indexer/query.py, indexer/search.py): QueryError
    "query.too_long": "检索式有 {length} 个字符，超过上限 {limit} 个",
    "query.filter_needs_value": "筛选条件 {name}: 需要一个值（例如 {example}）",
    "query.filter_value_missing": "筛选条件 {name}: 需要一个值",
    "query.proximity": '不支持 "…"~N（词语彼此靠近）：要找紧挨着的词，把它们原样放在引号里；'
                       "要找同时包含这些词的文件，去掉引号",
    "query.unknown_filter": '没有名为 {name} 的筛选条件：可用的有 {choices}（若要按原文检索，请加引号："{text}"）',
    "query.unclosed_quote": '短语缺少右引号（"）',
    "query.brackets": "检索式中的括号不成对",
    "query.operators": "AND、OR 和 NOT 两边都需要检索词（NOT 的后面需要）",
    "query.unreadable": "无法读取检索式（请检查 AND、OR、NOT 和括号）：{text}",
    "query.nothing": "「{text}」中没有可检索的词",
    "query.bad_code": "专业代码的格式是 17、17.10 或 17.10.02：「{code}」不是专业代码",
    "query.unknown_code": "代码表（2020 版和旧版）中都没有专业代码 {code}：可用 auditarchive scope 或在「范围」页面查询",
    "query.bad_clause": "条款的格式是 8.5 或 8.5.1：「{clause}」不是条款",
    "query.empty_org": "org:{value} 中没有可查找的组织名称",
    "query.unknown_field": "没有认证领域「{value}」：可用 {choices}（或中文名称，如 质量管理体系）",
    "query.unknown_stage": "没有审核阶段「{value}」：可用 {choices}（或 一阶段、监一 …）",
    "query.unknown_type": "没有文件类型「{value}」：可用 {choices}（或 不符合报告、审核报告 …）",
    "query.bad_year": "年份是四位数字，或 2019-2023 这样的范围：「{value}」不是年份",
    "query.year_range": "年份范围「{value}」起止颠倒或跨度超过 100 年",
    "query.bad_date": "日期写作 年-月-日，如 2023-05-10（也可只写 2023-05 或 2023）：「{value}」不是日期",
    "query.no_such_date": "没有这个日期：「{value}」（月份为 1–12，日不超过当月天数）",
    "query.date_range_open": "日期范围至少需要一端，例如 date:2023-01-01..2023-06-30",
    "query.date_range_backwards": "日期范围「{value}」起止颠倒（结束早于开始）",
    "query.page": "页码从 1 开始",
    "query.per_page": "每页条数（per_page）应在 1 到 {max} 之间",
    "query.sort": "排序方式（sort）只能是 {choices}",

    # reading a request (webui/requests.py, webui/api.py, webui/api_mining.py): ApiError
    "request.json_too_large": "请求体过大（JSON 不超过 {kb} KB）",
    "request.json_too_deep": "JSON 嵌套过深（不超过 {depth} 层）",
    "request.json_invalid": "请求体不是有效的 UTF-8 JSON",
    "request.not_integer": "参数 {name} 应为整数：「{value}」不是整数",
    "request.out_of_range": "参数 {name} 应在 {low} 到 {high} 之间",
    "request.scale": "参数 scale 是 0.5 到 3 之间的数",
    "request.page_format": "参数 format 只能是 json 或 png",
    "document.bad_id": "文档 ID 是其文件的 SHA-256 值（64 位十六进制字符，或其前 8 位以上）",
    "document.ambiguous": "有不止一个文档的 ID 以 {prefix} 开头：请多给几位",
    "document.not_found": "没有文档 {doc_id}",
    "document.not_indexed": "文档 {doc_id} 还没有写入检索索引",
    "document.no_page": "该文档的页码是 1 到 {pages}",
    "document.no_page_text": "文档 {doc_id} 的第 {number} 页没有文本记录",
    "document.unrenderable": "页面无法渲染：{detail}",
    "document.no_page_image": "这种格式（直接读取的 Word、表格、OFD）没有固定的页面，没有页面图像；请下载原件查看",
    "original.missing": "原件已不在入库时的位置（被移动或删除），请联系档案管理员",
    "original.changed": "原件位置上的文件已被替换或修改，与入库的文件不一致，不能作为本文件提供；请联系档案管理员重新入库",
    "api.token_needed": "需要 API 令牌：请求头 Authorization: Bearer <令牌>（令牌用 auditarchive tokens create 用户名 创建）",
    "api.token_invalid": "API 令牌无效、已吊销，或其用户已停用",
    "api.forbidden": "令牌所属用户的角色无权使用这个接口",
    "api.not_found": "没有这个接口或资源",
    "upload.no_file": "请以 multipart/form-data 在字段 file 中发送 PDF 文件（可发送多个）",
    "upload.not_found": "没有内容哈希为 {sha256} 的上传文件",
    "case.query_needed": "参数 q 是组织名称、统一社会信用代码、证书号或案例 ID",
    "case.not_found": "没有案例 {case_id}",
    "code.format": "专业代码的格式是 17、17.10 或 17.10.02",
    "code.bad": "「{code}」不是专业代码（格式 17、17.10 或 17.10.02）",
    "code.not_in_table": "{table}代码表中没有 {code}",
    "code.bad_table": "参数 table 只能是 2020 或 legacy",
    "matching.bad_code": "参数 code 的格式是 17、17.10 或 17.10.02（多个代码请重复 code=）",
    "scope.query": "参数 q 是代码、名称或认证范围表述，1 到 {max} 个字符",
    "scope.query_too_long": "查询不能超过 {max} 个字符",
    "scope.suggest_body": '请以 JSON 发送 {{"text": "认证范围表述"}}（1 到 {max} 个字符）',
    "scope.suggest_limit": "参数 limit 是 1 到 50 之间的整数",
    "cases.unknown_field": "没有认证领域 {field}",
    "cases.bad_year": "年份是四位数字",
    "log.export_training": "培训资料（{format}{anonymised}）",
    "training.bad_request": "请给出 code 或 field（二者之一）；format 为 docx、xlsx 或 md；anonymise 为 0 或 1",

    # errors of the web app as a whole (webui/app.py)
    "http.400": "请求有误。",
    "http.403": "当前账号的角色无权执行此操作；如需权限请联系管理员。",
    "http.404": "找不到这个页面或文件。",
    "http.405": "不支持这种请求方式。",
    "http.413": "上传的内容过大（单个文件不超过 100 MB）。",
    "http.429": "尝试次数过多，请稍后再试。",
    "http.internal": "服务器内部错误，已记入日志；请稍后再试或联系管理员。",
    "http.busy": "检索索引正由另一个进程写入，请稍后再试",
    "http.csrf": "表单已过期或来源不明（CSRF 校验失败），请刷新页面后重试",
    "http.read_only": "数据目录当前不可写（只读或没有写权限），这项操作需要保存数据，暂时无法完成；检索和阅读不受影响。请联系管理员。",
    "title.400": "请求有误", "title.401": "需要登录", "title.403": "无权访问", "title.404": "找不到",
    "title.405": "不支持的请求方法", "title.409": "原件已改动", "title.413": "文件过大", "title.422": "无法处理",
    "title.429": "尝试次数过多", "title.500": "服务器内部错误", "title.503": "暂时无法处理",
    "title.other": "出错了",

    # uploads (archive/uploads.py and the upload views): UploadError
    "upload.too_large": "上传的内容过大：一次上传的文件合计不超过 {mb} MB（单个文件同样不超过此限），请分批上传",
    "upload.file_too_large": "文件超过 {mb} MB",
    "upload.empty": "空文件（0 字节）",
    "upload.not_pdf": "不是 PDF 文件：开头没有 %PDF- 标记",
    "upload.unsupported": "无法作为文档入库：{detail}",
    "upload.none_chosen": "（未选择文件）",
    "upload.choose_files": "请选择一个或多个文件（PDF、Word、Excel、OFD、图片或 zip / 7z 压缩包）",
    "upload.more_refused": "另外 {count} 个文件",
    "upload.only_first": "这里只列出前 5 个",

    # why a file could not be read (archive/pdf.py, pagerender.py, ingest.py, executors.py, cluster.py)
    "pdf.empty": "空文件（0 字节）",
    "pdf.not_pdf": "不是 PDF：开头没有 %PDF- 标记（开头是 {sample}）",
    "pdf.not_pdf_bytes": "字节 {hex}",
    "pdf.encrypted": "PDF 已加密，需要密码才能打开",
    "pdf.truncated": "文件不完整或已损坏：{detail}",
    "pdf.damaged": "PDF 已损坏：{detail}",
    "pdf.no_pages": "PDF 中没有页面",
    "pdf.too_many_pages": "共 {count} 页，超过上限 {limit} 页",
    "pdf.cannot_open": "PDF 无法打开：{detail}",
    "pdf.no_such_page": "PDF 的页码是 1 到 {pages}",
    # readers of other formats (archive/readers/): each block is one reader's
    # -- readers: word (docx, Word 2003 XML)
    "word.empty": "空文件（0 字节）",
    "word.not_zip": "不是 docx 文件：docx 是 zip 压缩包，此文件开头是 {sample}",
    "word.old_doc": "这是旧版 Word 二进制文件（OLE2 格式的 .doc）或其他微软办公文档，不是 docx",
    "word.encrypted": "Word 文档已加密，需要密码才能打开",
    "word.truncated": "docx 文件不完整（压缩包的目录缺失），可能在传输或复制中断",
    "word.damaged": "Word 文档已损坏：{detail}",
    "word.no_document": "压缩包里没有 Word 正文（{part}），不是 Word 文档",
    "word.not_word": "不是 Word 文档：正文的根元素是 {root}",
    "word.too_large": "Word 文档解压后的内容超过 {limit} MB（{part}），不予读取",
    "word.bad_xml": "Word 文档的 XML 有错误（{part}）：{detail}",
    "word.dtd": "Word 文档的 XML 含有 DTD 声明（Word 从不写入，可能是恶意文件），不予读取",
    "word.not_wordml": "不是 Word XML 文档（Word 2003 XML 或 Word XML 文档）：根元素是 {root}",
    # -- readers: office (LibreOffice conversion)
    "office.kind_doc": "Word 97–2003 文档（.doc）",
    "office.kind_rtf": "RTF 文档",
    "office.kind_odt": "ODT 文档",
    "office.kind_wps": "WPS 文字文档（.wps）",
    "office.empty": "空文件（0 字节）",
    "office.not_format": "文件内容不是可读取的{kind}：可能已损坏，或扩展名与内容不符",
    "office.encrypted": "{kind}已加密，需要密码才能打开",
    "office.damaged": "无法把这份{kind}转换为 PDF：文件可能已损坏",
    "office.timeout": "把{kind}转换为 PDF 超过 {seconds:g} 秒，已终止（文件可能已损坏）",
    "office.no_libreoffice": "读取{kind}需要文档转换程序「LibreOffice」，本机没有安装：请运行"
                             "「scripts/setup-system.sh」，或「apt-get install libreoffice-writer-nogui」",
    "office.cannot_start": "文档转换程序无法启动：{detail}",
    # -- readers: sheet and ofd
    "sheet.not_sheet": "不是可读取的电子表格（xlsx、xlsm、xls、et、ods）",
    "sheet.xlsb": "不支持 Excel 二进制工作簿（.xlsb）：请在 Excel 或 WPS 中另存为 .xlsx 后再入库",
    "sheet.ole_not_excel": "这个 Office 文件里没有 Excel 工作簿，不是 .xls 表格",
    "sheet.encrypted": "电子表格已加密，需要密码才能打开",
    "sheet.damaged": "电子表格已损坏：{detail}",
    "sheet.too_large": "电子表格解压后超过 {mb} MB（可能是恶意构造的文件），不予读取",
    "sheet.too_many_parts": "电子表格压缩包中有 {count} 个部件，超过上限 {limit} 个",
    "sheet.too_many_sheets": "共 {count} 个工作表，超过上限 {limit} 个",
    "sheet.too_many_cells": "工作表（{where}）的数据区域有 {cells} 个单元格，超过上限 {limit} 个",
    "sheet.xls_sheet": "第 {number} 个工作表",
    "sheet.ods_table": "第 {number} 个表",
    "ofd.damaged": "OFD 文件已损坏：{detail}",
    "ofd.not_ofd": "不是 OFD 文件：OFD.xml 的根元素是 {root}，不是 ofd:OFD",
    "ofd.missing_part": "OFD 文件缺少 {part}",
    "ofd.no_pages": "OFD 文件中没有页面",
    "ofd.too_many_parts": "OFD 压缩包中有 {count} 个部件，超过上限 {limit} 个",
    "ofd.too_large": "OFD 文件的 {part} 解压后超过 {mb} MB（或全部部件合计超限），不予读取",
    "ofd.bad_xml": "OFD 文件的 XML 有错误（{part}）：{detail}",
    "ofd.dtd": "OFD 文件的 XML 含有 DTD 声明（OFD 从不使用，可能是恶意文件），不予读取（{part}）",
    # -- readers: image and photo
    "image.empty": "空文件（0 字节）",
    "image.damaged": "图像已损坏或不是可读取的图像格式（JPEG、PNG、TIFF、BMP、WebP）：{detail}",
    "image.truncated": "图像不完整（传输或复制中断）：{detail}",
    "image.too_large": "图像有 {megapixels} 百万像素，超过上限 {limit} 百万像素",
    "image.memory": "图像解码所需内存超限",
    "image.too_many_frames": "图像的页数（帧数）超过上限 {limit} 页",
    "image.no_such_frame": "图像的页码是 1 到 {frames}",
    # -- readers: dispatch and archives
    "format.unknown": "不支持的格式：不是 PDF、Word、Excel、OFD、图片或压缩包（开头是 {sample}）",
    "format.office_encrypted": "Office 文件已加密，需要密码才能打开",
    "format.ole_other": "不支持的 Office 格式（不是 Word 或 Excel 文件）",
    "format.presentation": "不支持演示文稿（PowerPoint）",
    "format.rar": "不支持 RAR 压缩包：请解压后再入库，或改用 zip / 7z 压缩",
    "archive.damaged": "压缩包已损坏：{detail}",
    "archive.encrypted": "压缩包已加密，需要密码",
    "archive.member_encrypted": "压缩包中的该文件已加密，需要密码",
    "archive.member_damaged": "压缩包中的该文件已损坏：{detail}",
    "archive.member_missing": "压缩包中已没有该文件：{name}",
    "archive.member_too_large": "解压后超过 {mb} MB",
    "archive.total_too_large": "压缩包解压后合计超过 {mb} MB，其余文件未读",
    "archive.ratio": "压缩比超过 {ratio} 倍，疑似压缩炸弹",
    "archive.too_many": "压缩包中有 {count} 个文件，超过上限 {limit} 个",
    "archive.unsafe_name": "文件名指向压缩包之外（{name}），未读取",
    "archive.nested_too_deep": "压缩包中的压缩包只展开一层，更深的未读取",
    "render.timeout": "渲染超过 {seconds:g} 秒",
    "render.memory": "渲染所需内存超过 {mb} MB",
    "render.crashed": "渲染进程意外退出（退出码 {code}）",
    "task.extraction": "提取",
    "task.ocr_page": "该页的 OCR",
    "task.timeout": "{what}超过 {seconds:g} 秒",
    "task.crashed": "工作进程意外退出（退出码 {code}）",
    "task.memory": "{what}所需内存超过 {mb} MB",
    "file.unreadable": "无法读取文件：{detail}",
    "file.changed": "文件在读取过程中被改动",
    "file.vanished": "文件在读取过程中被移走：{detail}",
    "folder.unreadable": "无法列出文件夹内容：{detail}",
    "path.missing": "没有这个文件或文件夹：{path}",
    "ocr.page_failed": "第 {page} 页 OCR 失败（{reason}：{detail}）",
    "cluster.unreachable_path": "{path} 在此工作节点上无法读取",
    "cluster.no_scheduler": "无法连接 Dask 调度器 {address}：{detail}",
    "cluster.no_workers": "{seconds:g} 秒内没有 Dask 工作节点加入调度器",
    "cluster.lost": "与 Dask 调度器的连接已断开：{detail}",
    "cluster.cancelled": "集群取消了一个任务（调度器重启或失联）",
    "catalog.schema": "{path} 处的目录库是第 {found} 版结构，本版 auditarchive 写入第 {expected} 版："
                      "请入库到一个新的数据目录（原件不受影响）",

    # 匹配度 (archive/mining/matching.py, the 匹配度 page, `auditarchive matching`)
    "matching.formula": "充分性 X = Σᵢ B1ᵢ / C1ᵢ^α；难度 Y = A2·(1 + β_B·(1−B2))·(1 + β_D·D)·(1 + β_E·E) / C2^γ；"
                        "匹配度 P = k·X / Y；P 低于阈值时标红",
    "matching.header": "代码      充分性X   难度Y 匹配度P   A1 A2  名称",
    "matching.window": "统计 {since} 至 {as_of} 之间有审核的项目；阈值 {threshold}",
    "weights.negative": "{label}（{key}）不能为负数",
    "weights.unit": "{label}（{key}）应在 0 到 1 之间",
    "weights.not_number": "{label}（{key}）应为数值：「{value}」不是数值",
    "weights.map_line": "「{line}」应写成 名称 = 数值",
    "weights.map_value": "「{line}」中的数值有误",
    "weights.invalid": "权重有误：{detail}",
    "weights.saved": "权重已保存",
    "weights.saved_to": "权重已保存到 {path}",
    "weights.unknown": "没有权重 {key}：可用 {choices}",
    "weights.setting": "「{text}」应写成 键=数值，如 alpha=0.6、availability.张三=0.5",
    "weights.setting_number": "「{text}」中的值应为数值",
    "weights.file": "权重文件 {path} 不是有效的 JSON（第 {line} 行第 {column} 列）",

    # accounts (archive/accounts.py, the user pages, `auditarchive users` and `tokens`)
    "account.throttled": "登录失败次数过多，请 {seconds} 秒后再试（管理员可在 管理 → 用户 中解除限制）。",
    "account.password_short": "密码至少需要 {min} 个字符",
    "account.password_digits": "密码不能全是数字",
    "account.password_repeated": "密码不能由同一个字符重复组成",
    "account.password_is_name": "密码不能与用户名相同",
    "account.name_length": "用户名需要 1 到 64 个字符",
    "account.bad_role": "角色只能是 {roles} 之一",
    "account.exists": "用户 {name} 已经存在",
    "account.no_user": "没有用户 {name}",
    "account.last_admin_role": "{name} 是最后一个管理员，不能改为{role}：请先把另一位用户设为管理员",
    "account.last_admin_disable": "{name} 是最后一个可用的管理员，不能停用：请先把另一位用户设为管理员",
    "account.no_enabled_user": "没有可用的用户 {name}（不存在或已停用）：先添加（auditarchive users add {name} --role …）",
    "account.wrong_login": "用户名或密码不正确。",
    "account.wrong_password": "当前密码不正确。",
    "account.passwords_differ": "两次输入的新密码不一致。",
    "account.password_changed_own": "密码已修改；在其他浏览器或设备上的登录已结束。",
    "account.not_yourself": "不能停用自己的账号",
    "account.unknown_action": "未知操作",
    "account.added": "已添加用户 {name}",
    "account.added_role": "已添加用户 {name}（{role}）",
    "account.role_changed": "已将 {name} 的角色改为{role}（其已登录的会话均已结束）",
    "account.password_set": "已重设 {name} 的密码（其已登录的会话均已结束）",
    "account.disabled": "已停用 {name}（会话已结束，API 令牌已吊销）",
    "account.enabled": "已启用 {name}",
    "account.tokens_revoked": "已吊销 {name} 的 {count} 个 API 令牌",
    "account.unlocked": "已解除 {name} 的登录限制",
    "account.unlocked_count": "已解除 {name} 的登录限制（清除了 {count} 次失败的登录）",

    # the command line (webui/cli/)
    "cli.help_usage": "用法：",
    "cli.help_options": "选项",
    "cli.help_commands": "命令",
    "cli.help_option": "显示此帮助并退出。",
    "cli.error": "错误：{message}",
    "cli.usage_error": "用法有误：{message}",
    "cli.usage_hint": "用 {command} -h 查看用法和选项。",
    "cli.made_private": "注意：以下文件或目录此前其他用户可读，已改为仅所有者可访问：{paths}",
    "cli.no_catalogue": "{path} 处没有目录库：请先入库 PDF（auditarchive --home {home} ingest 路径），或用 --home 指向已有的数据目录",
    "cli.home_unwritable": "{home}，无法完成：{detail}。请检查数据目录的挂载和权限，或用 --home 指向一个可写的数据目录。",
    "cli.serve_unwritable": "{home}（{detail}），无法启动服务：服务需要写入登录会话密钥、访问日志和上传的文件。",
    "cli.serving": "auditarchive：数据目录 {home}，服务地址 http://{host}:{port}/，{workers} 个工作进程 × 每个 {threads} 个线程（Ctrl+C 停止）",
    "cli.ingest_summary": "共 {files} 个文件，用时 {seconds:.1f} 秒（{workers} 个工作进程）：新增 {added}，更新 {updated}，未变 {unchanged}，失败 {failed}",
    "cli.ingest_skipped": "；另有 {count} 个此前失败的文件未重试（加 --retry-failed 重试）",
    "cli.ingest_pages": "页数：{pages}（其中 OCR 识别 {ocr_pages} 页）；无文本层的文件：{no_text}",
    "cli.ingest_formats": "按格式：{formats}",
    "cli.ingest_others": "另有 {count} 个文件不是文档（按文件名判断：笔记、视频、系统文件等），未读取",
    "cli.ingest_failed_file": "  失败：{path}：{reason}（{code}）",
    "cli.ingest_failed_detail": "：{detail}",
    "cli.ingest_failed_note": "失败的文件已记录原因，其余文件照常入库；用 auditarchive failures 查看全部失败记录。",
    "cli.ingest_progress": "已处理 {done}/{total} 个文件（失败 {failed}，OCR {ocr_done}/{ocr_queued} 页）",
    "cli.ingest_bar": "失败 {failed}，OCR {ocr_done}/{ocr_queued} 页，已读 {pages} 页（{rate:.1f} 页/秒）",
    "cli.ingest_bar_failed": "失败 {failed}",
    "cli.ingest_cluster": "在 Dask 集群 {cluster} 上运行：{workers} 个工作节点",
    "cli.ingest_indexed": "已写入索引：{count} 份文件",
    "cli.ingest_stopped": "{detail}（已写入目录并建立索引的文件：{count} 份；再次运行即可完成其余部分）",
    "cli.no_document": "没有与「{ref}」对应的文件",
    "cli.several_documents": "「{ref}」对应 {count} 份文件：{ids}",
    "cli.show_auditor": "审核员          {name}（{role}）{reg_no}",
    "cli.show_finding": "不符合项        {field} {clause} [{severity}] {statement}",
    "cli.search_total": "共 {total} 份文件（用时 {ms} 毫秒），第 {page} 页，按{sort}排序",
    "cli.search_partial_total": "；另有 {count} 份部分匹配",
    "cli.search_partial": "其余部分匹配（只含部分检索词，共 {total} 份，列出前 {shown} 份）：",
    "cli.search_snippet": "       第{page}页：{text}",
    "cli.reindex_progress": "已索引 {done}/{total}",
    "cli.reindex_done": "已索引 {indexed} 份，删除 {removed} 份；目录中共 {documents} 份文件",
    "cli.check_ok": "一致",
    "cli.check_summary": "索引中缺少：{missing}，仅在索引中：{extra}，过期：{stale}；原件缺失：{originals_missing}，原件被改动：{originals_changed}",
    "cli.check_index_absent": "索引不存在，或由另一版本建立",
    "cli.check_fix_index": "索引与目录不一致：运行 auditarchive {home}reindex（只补写缺少和过期的部分）",
    "cli.check_fix_missing": "原件不在入库位置：放回原处，或对其新位置运行 auditarchive {home}ingest 路径",
    "cli.check_fix_changed": "原件已被替换或修改（内容与入库时不符，不再提供下载）：恢复原文件，或对该文件重新运行 "
                             "auditarchive {home}ingest 路径 以新内容入库",
    "cli.check_fix": "处理办法：{fix}",
    "cli.check_missing": "  索引中缺少：{doc_id}",
    "cli.check_extra": "  仅在索引中：{doc_id}",
    "cli.check_stale": "  索引已过期：{doc_id}",
    "cli.check_original_missing": "  原件缺失：{doc_id} {path}",
    "cli.check_original_changed": "  原件被改动：{doc_id} {path}",
    "cli.failure_line": "[{reason}] {path}：{detail}（已尝试 {attempts} 次）",
    "cli.password_prompt": "密码",
    "cli.with_password": "；密码：{password}",
    "cli.password_again": "再输入一次密码",
    "cli.users_exist": "{path} 中已有用户{hint}",
    "cli.users_exist_hint": "（第一个管理员的密码在 {note}）",
    "cli.first_admin": "已创建第一个管理员：用户名 admin，密码 {password}（同时保存在 {note}，仅您可读；请登录后在「管理」中修改）",
    "cli.user_line": "{name:20} {role:8} {role_name}  创建于 {created}{disabled}",
    "cli.user_disabled": "  已停用",
    "cli.token_for": "{name} 的令牌：请现在保存，之后无法再次显示",
    "cli.token_line": "{name:20} {prefix}…  创建于 {created}  {state}",
    "cli.token_revoked": "已吊销于 {at}",
    "cli.token_used": "最近使用 {at}",
    "cli.token_never_used": "从未使用",
    "cli.case_head": "{id}  {org}  {fields}  第{cycle}周期  {start} → {end}  {complete}",
    "cli.case_complete": "记录齐全",
    "cli.case_incomplete": "记录不齐全",
    "cli.case_scope": "  范围：{scope}   代码：{codes}（{table}代码表）",
    "cli.case_certs": "  证书：{certs}",
    "cli.case_audit": "  {start:10} {stage:6} 组长 {leader}  {records} 份记录  {nonconformities} 项不符合",
    "cli.case_missing": "  缺：{missing}",
    "cli.case_sentence": "  · {sentence}",
    "cli.key_control_points": "  关键控制点：{points}",
    "cli.scope_same_number": "  {table}代码表同号：{code} {name}",
    "cli.scope_other_meaning": "（含义不同）",
    "cli.scope_equivalent": "  {table}代码表相近：{code} {name}（{score:.2f}）",
    "cli.code_head": "{code} {name}：{organisations} 个组织，{cases} 个项目，{audits} 次审核",
    "cli.code_first_case": "；首个项目 {org} {start}",
    "cli.code_auditor": "  审核员 {name} {reg_no}：{audits} 次（{roles}）",
    "cli.code_nonconformity": "  {field} {clause} {title}：{count} 项",
    "cli.no_case": "没有与「{ref}」对应的案例（可用组织名称、证书号、统一社会信用代码或案例 ID）",
    "cli.no_matching_code": "没有匹配的代码",
    "cli.training_one_of": "请给出 --code 代码 或 --field 领域（二者之一）",
    "cli.training_done": "{path}：{title}（{format}，{bytes} 字节{anonymised}）— {organisations} 个组织，{audits} 次审核，{nonconformities} 项不符合",
}


def message(key: str, /, **values: object) -> str:
    """The text of `key` with its placeholders filled in (a missing key is a programming error)."""
    text = MESSAGES[key]
    return text.format(**values) if values else text.replace("{{", "{").replace("}}", "}")


def format_name(kind: str | None) -> str:
    return FORMAT_NAMES.get(kind or "", kind or "")


def failure_name(reason: str | None) -> str:
    """The Chinese name of a failure reason (the code itself when it has none)."""
    return FAILURE_NAMES.get(reason or "", reason or "")


def weight_name(key: str) -> str:
    return WEIGHT_NAMES.get(key, key)
