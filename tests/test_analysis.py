"""The jieba analyzer, the domain dictionary and the synonyms, on real Whoosh indexes.

Run `python tests/test_analysis.py` for the speed figure on ~1 MB of text."""
from __future__ import annotations

import pickle
import random
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from whoosh import fields, index
from whoosh.qparser import QueryParser

from indexer import analysis, dictionary, synonyms
from indexer.analysis import JiebaTokenizer, index_analyzer, normalise_chars, query_analyzer, tokens

ROOT = Path(__file__).resolve().parent.parent

# Thirty short records in the style of audit files: narratives, checklist notes, nonconformities.
DOCS = [
    "宁波恒达精密机械制造有限公司主要从事数控机床零部件的机械加工，现场审核未发现重大问题。",
    "数控车间负责粗车、精车和磨削等过程，现场查看数控机床运行正常，设备点检记录填写完整。",
    "查三月份的首件检验记录，检验项目齐全，检验结论明确，检验人员签字完整。",
    "现场抽查数控车间使用的外径千分尺，检定有效期已超期仍在使用，开具一般不符合项。",
    "组织未对外部供方进行评价，不能提供该供方的评价记录，合格供方名录中也无该供方。",
    "查去年的管理评审报告，评审输入未包括外部供方的绩效和资源的充分性等信息。",
    "对顾客投诉的质量问题，组织仅进行了退换货处理，未分析原因，也未采取纠正措施。",
    "组织已对上次审核开具的不符合项采取纠正措施，审核组现场验证纠正措施有效，同意关闭。",
    "内部审核由质量部组织实施，内审员不能审核自己的工作，内部审核覆盖了全部部门和过程。",
    "质量管理体系运行基本有效，审核组长建议推荐注册，技术专家对机械加工过程给予了评价。",
    "环境管理体系中识别的重要环境因素包括废切削液的排放和噪声排放，已制定控制措施。",
    "危险废物委托有资质的单位处置，提供了危险废物转移联单，处置单位资质在有效期内。",
    "职业健康安全管理体系中识别的不可接受风险包括机械伤害和起重伤害，已制定管理方案。",
    "特种作业人员持证上岗，抽查电工的特种作业操作证，均在有效期内。",
    "组织为员工配备了劳动防护用品，组织了职业健康体检，未发现职业禁忌证。",
    "关键控制点为数控车削尺寸控制和热处理外协质量控制，作业指导书规定了控制参数。",
    "现场抽查装配车间的作业指导书，未规定关键尺寸的控制参数，操作人员凭经验操作。",
    "抽查仓库存放的成品，未见产品标识卡，无法追溯其生产批次，不符合标识和可追溯性的要求。",
    "现场发现三件不合格品未标识、未隔离，与合格品混放在待检区。",
    "监督审核抽查了数控车间和质检部，机械加工过程受控，不合格品控制程序得到执行。",
    "再认证审核覆盖了质量管理体系的全部要求，组织的认证范围为机械零部件的机械加工。",
    "一阶段审核发现文件化信息基本满足要求，二阶段审核安排在下月进行。",
    "第一次监督审核开具不符合项两项，组织在规定期限内完成了整改措施。",
    "审核组由审核组长、组员和技术专家组成，技术专家具备机械加工专业能力。",
    "统一社会信用代码与营业执照一致，专业代码为机械零部件加工。",
    "管理评审每年进行一次，管理评审输出包括资源需求和改进的机会。",
    "数控机床零部件的加工精度满足顾客要求，关键尺寸百分之百检验。",
    "设备管理部门编制了设备保养计划，数控机床的保养按计划完成。",
    "质检部对外协热处理的零部件进行进货检验，检验记录保存完整。",
    "技术部负责工艺文件的编制，机械加工工艺卡已经审批，现场使用的是有效版本。",
]

_PLAIN = re.compile(r"[《》“”‘’\"'（）()【】\[\]]")


def plain(text: str) -> str:
    """What a phrase is compared against: the text as the analyzer reads it (normalised, brackets
    and quotes ignored — they add no position gap)."""
    return _PLAIN.sub("", normalise_chars(text))


def contains(text: str, phrase: str) -> bool:
    """Substring test; a phrase cannot start or end inside a run of letters or digits (`1月` is not
    found in `11月`: the index has the word 11)."""
    phrase = normalise_chars(phrase)
    before = r"(?<![a-z0-9])" if re.match(r"[a-z0-9]", phrase) else ""
    after = r"(?![a-z0-9])" if re.search(r"[a-z0-9]$", phrase) else ""
    return re.search(before + re.escape(phrase) + after, plain(text)) is not None


def make_index(path: Path, analyzer, docs=DOCS, stored=False):
    path.mkdir(parents=True, exist_ok=True)
    schema = fields.Schema(id=fields.ID(stored=True),
                           body=fields.TEXT(analyzer=analyzer, phrase=True, stored=stored))
    ix = index.create_in(str(path), schema)
    with ix.writer() as w:
        for i, text in enumerate(docs):
            w.add_document(id=str(i), body=text)
    return ix


def search_ids(ix, qtext: str, fieldname: str = "body") -> set[str]:
    q = QueryParser(fieldname, ix.schema).parse(qtext)
    with ix.searcher() as s:
        return {hit["id"] for hit in s.search(q, limit=None)}


def phrases_from(docs: list[str], count: int, seed: int = 3) -> list[str]:
    """Substrings of the documents, 2–6 accurate-mode jieba words long, cut at word boundaries."""
    import jieba

    analysis.ensure_jieba()
    rng = random.Random(seed)
    cut = [list(jieba.tokenize(normalise_chars(d))) for d in docs]
    out: list[str] = []
    while len(out) < count:
        words = rng.choice(cut)
        n = rng.randint(2, 6)
        i = rng.randrange(0, max(1, len(words) - n))
        phrase = "".join(w for w, _, _ in words[i:i + n])
        if re.fullmatch(r"\w+", phrase) and len(phrase) >= 3 and phrase not in out:
            out.append(phrase)
    return out


# -- tokens, positions, offsets -------------------------------------------------------------------

def spans(text: str, mode: str = "index"):
    an = index_analyzer()
    return [(t.text, t.pos, t.startchar, t.endchar)
            for t in an(text, positions=True, chars=True, mode=mode)]


@pytest.mark.parametrize("text", [
    "宁波恒达精密机械制造有限公司主要从事数控机床零部件的机械加工。",
    "現場審核發現：質量管理體系運行有效，ＱＭＳ證書編號０３４１０Ｑ１０２８６Ｒ０Ｓ。",
    "审核组长张伟，组员李娜；A 级供方 3 号仓库（GB/T 19001-2016）",
    "机械加\n工过程\r\n受控，受 审 核 方签字",
])
def test_positions_are_token_indices_and_offsets_slice_the_original(text):
    for mode in ("index", "query"):
        toks = spans(text, mode)
        assert toks
        positions = [p for _, p, _, _ in toks]
        assert positions == sorted(positions)
        for tok, _, start, end in toks:
            # the slice of the ORIGINAL text, normalised (and with breaks that were joined removed)
            assert re.sub(r"\s+", "", normalise_chars(text[start:end])) == tok, (tok, text[start:end])
    # query mode: one position per token, consecutive except at punctuation
    q = spans("数控机床零部件的机械加工", "query")
    assert [p for _, p, _, _ in q] == list(range(len(q)))
    assert [t for t, _, _, _ in q] == ["数控机床", "零部件", "的", "机械加工"]


def test_index_mode_stacks_search_words_at_their_word():
    toks = spans("数控机床零部件的机械加工")
    at = {}
    for t, p, _, _ in toks:
        at.setdefault(p, []).append(t)
    assert at[0][0] == "数控机床" and {"数控", "机床"} <= set(at[0])
    assert at[1][0] == "零部件"
    assert at[3][0] == "机械加工" and {"机械", "加工"} <= set(at[3])
    assert sorted(at) == [0, 1, 2, 3]
    # jieba's own search mode yields the same words
    import jieba

    assert set(jieba.cut_for_search("数控机床零部件的机械加工")) <= {t for t, _, _, _ in toks}


def test_pair_field_holds_every_adjacent_pair_and_none_across_punctuation():
    """`bodyp`: a token per pair of words at consecutive positions, stacked words included, none
    across a clause break (a phrase cannot match there either)."""
    text = "数控机床零部件的机械加工。现场审核"
    pairs = list(t.text for t in analysis.pair_analyzer()(text))
    at: dict[int, list[str]] = {}
    for t, p, _, _ in spans(text):
        at.setdefault(p, []).append(t)
    want = {f"{a} {b}" for p, firsts in at.items() for a in firsts for b in at.get(p + 1, [])}
    assert set(pairs) == want
    assert {"数控机床 零部件", "机床 零部件", "零部件 的", "的 机械加工", "的 机械"} <= want
    assert not any(p.startswith(("机械加工 ", "加工 ")) for p in pairs)      # 。 is a gap


def test_word_counts_are_whooshs_and_pairs_ascend():
    """`schema.WordFrequency` gives the postings Whoosh's Frequency format gives through the token
    stream; `pair_positions` gives every pair once, its positions ascending, whatever order the
    spans come in."""
    from whoosh import formats

    from indexer.schema import WordFrequency

    analyzer = index_analyzer()
    for text in DOCS + ["质量管理体系 质量管理体系。ＱＭＳ 質量", "", "。，"]:
        for mode in ("index", "query"):
            ours = sorted(WordFrequency(2.5).word_values(text, analyzer, mode=mode))
            assert ours == sorted(formats.Frequency(2.5).word_values(text, analyzer, mode=mode))
        found = analysis.pair_analyzer().pair_positions(text, True)
        for pair, starts in found.items():
            assert starts == sorted(set(starts)), pair
        assert analysis._pairs_in_any_order(list(reversed(spans(text)))) == found


def test_single_characters_digits_letters_kept_and_lowercased():
    assert tokens("A 级供方，3 号仓库", "query") == ["a", "级", "供方", "3", "号", "仓库"]
    assert tokens("ＱＭＳ／ＩＳＯ　９００１", "query") == ["qms", "iso", "9001"]
    assert tokens("不符合项", "query") == ["不符合项"]          # a domain word, whole
    assert "不符合" in tokens("不符合项", "index")               # and its parts for recall
    assert tokens("03.04.01", "query") == ["03.04", "01"]    # codes are not text (own fields)


def test_traditional_and_full_width_normalised_on_both_sides():
    assert tokens("質量管理體系", "query") == tokens("质量管理体系", "query")
    assert tokens("糾正措施", "query") == ["纠正措施"]
    assert normalise_chars("ＱＭＳ　質量１２") == "qms 质量12"
    for text in ("①号", "㎡", "ﬁ"):  # NFKC would change the length: the character is kept
        assert len(normalise_chars(text)) == len(text)


def test_nothing_is_dropped_as_a_stop_word():
    assert tokens("零部件的机械加工", "query") == ["零部件", "的", "机械加工"]


# -- phrase queries on an index -------------------------------------------------------------------

def test_phrase_recall_against_substring_search_and_against_stock_analyzer(tmp_path):
    from jieba.analyse import ChineseAnalyzer

    ours = make_index(tmp_path / "ours", index_analyzer())
    stock = make_index(tmp_path / "stock", ChineseAnalyzer())
    phrases = phrases_from(DOCS, 100)
    exact = {"ours": 0, "stock": 0}
    wrong = []
    for phrase in phrases:
        want = {str(i) for i, d in enumerate(DOCS) if contains(d, phrase)}
        assert want, phrase
        for name, ix in (("ours", ours), ("stock", stock)):
            got = search_ids(ix, f'"{phrase}"')
            if got == want:
                exact[name] += 1
            elif name == "ours":
                wrong.append((phrase, sorted(want), sorted(got)))
    n = len(phrases)
    print(f"\nphrase queries answered exactly like a substring search: ours {exact['ours']}/{n}, "
          f"jieba ChineseAnalyzer {exact['stock']}/{n}; ours wrong on {wrong}")
    assert exact["ours"] >= 0.95 * n, wrong
    assert exact["stock"] < exact["ours"]


@pytest.mark.parametrize("phrase", ["制造有限公司", "数控机床零部件", "精密机械制造", "零部件的机械加工",
                                    "机械加工工艺", "加工工艺", "管理体系运行", "组织的认证范围"])
def test_typed_phrases_that_cut_into_document_words(tmp_path, phrase):
    ix = make_index(tmp_path, index_analyzer())
    want = {str(i) for i, d in enumerate(DOCS) if contains(d, phrase)}
    assert want and search_ids(ix, f'"{phrase}"') == want


def test_phrase_does_not_cross_punctuation_or_match_non_adjacent_words(tmp_path):
    docs = ["现场查看机械。加工车间整洁", "机械，加工", "机械加工过程受控", "机械零件加工"]
    ix = make_index(tmp_path, index_analyzer(), docs)
    assert search_ids(ix, '"机械加工"') == {"2"}
    assert search_ids(ix, "机械 加工") == {"0", "1", "2", "3"}


def test_lines_broken_by_layout_are_joined(tmp_path):
    docs = ["数控机床零部件的机械加\n工，现场审核", "受 审 核 方：某公司", "ISO\n9001"]
    ix = make_index(tmp_path, index_analyzer(), docs)
    assert search_ids(ix, '"机械加工"') == {"0"}
    assert search_ids(ix, "受审核方") == {"1"}
    assert search_ids(ix, '"iso 9001"') == {"2"}
    hard = JiebaTokenizer(join_lines=False)
    assert [t for t, *_ in hard.spans("机械加\n工", False)] != ["机械加工"]


def test_digits_letters_traditional_full_width_found(tmp_path):
    docs = ["该供方评为A 级供方", "存放于3 号仓库", "質量管理體系運行有效", "质量管理体系运行有效",
            "证书覆盖ＱＭＳ和ＥＭＳ", "CK6140数控车床"]
    ix = make_index(tmp_path, index_analyzer(), docs)
    assert search_ids(ix, '"a 级"') == {"0"}
    assert search_ids(ix, "A级") == {"0"}
    assert search_ids(ix, '"3 号"') == {"1"}
    assert search_ids(ix, "质量管理体系") == {"2", "3"}
    assert search_ids(ix, "質量管理體系") == {"2", "3"}
    assert search_ids(ix, '"体系运行"') == {"2", "3"}
    assert search_ids(ix, "qms") == {"4"}
    assert search_ids(ix, "ＱＭＳ") == {"4"}
    assert search_ids(ix, "6140") == {"5"}
    assert search_ids(ix, "ck6140") == {"5"}


# -- synonyms -------------------------------------------------------------------------------------

def test_expand_gives_the_group_term_first():
    group = synonyms.expand("QMS")
    assert group[0] == "QMS"
    assert "质量管理体系" in group and "GB/T 19001" in group and "ISO 9001" in group
    assert synonyms.expand("gb/t19001")[0] == "gb/t19001" and "QMS" in synonyms.expand("gb/t19001")
    assert "GB/T 28001" in synonyms.expand("OHSAS 18001")
    assert "不符合" in synonyms.expand("不合格")
    assert "第一次监督审核" in synonyms.expand("监一")
    assert synonyms.expand("数控机床") == ["数控机床"]
    assert all(len(g) >= 2 for g in synonyms.groups())


def test_expand_query_finds_the_other_wordings(tmp_path):
    docs = ["本组织的质量管理体系运行有效", "符合GB/T 19001-2016标准要求", "开具不符合项两项",
            "现场发现不符合", "环境管理体系运行有效", "第一次监督审核于五月进行", "二阶段审核安排在下月"]
    ix = make_index(tmp_path, index_analyzer(), docs)
    qp = QueryParser("body", ix.schema)

    def run(text):
        q = synonyms.expand_query(qp.parse(text), "body")
        with ix.searcher() as s:
            return {hit["id"] for hit in s.search(q, limit=None)}

    assert search_ids(ix, "QMS") == set()
    assert run("QMS") == {"0", "1"}
    assert run("ISO 9001") >= {"0", "1"}
    assert run("不合格") == {"2", "3"}
    assert run("监一") == {"5"}
    assert run("第二阶段") == {"6"}
    assert run("QMS AND 有效") == {"0"}
    assert run("GB/T 19001 有效") == {"0"}                  # a run of terms inside an And
    assert run("第一次监督审核") == {"5"} and run("监一 五月") == {"5"}
    assert run("EMS OR 不合格") == {"2", "3", "4"}
    assert run("数控机床") == set()


# -- the domain dictionary and organisation names ---------------------------------------------------

def test_domain_dictionary_words_and_load_time():
    import jieba

    analysis.ensure_jieba()
    for word in ("不符合项", "纠正措施", "管理评审", "内部审核", "审核组长", "技术专家", "监督审核",
                 "再认证", "一阶段", "二阶段", "认证范围", "专业代码"):
        assert jieba.lcut(word) == [word], word
        assert tokens(word, "query") == [word]
    # long terms are whole for jieba and split into parts by the analyzer, on both sides
    assert jieba.lcut("统一社会信用代码") == ["统一社会信用代码"]
    parts = tokens("统一社会信用代码", "query")
    assert len(parts) > 1 and "".join(parts) == "统一社会信用代码"
    assert "统一社会信用代码" in tokens("统一社会信用代码", "index")
    words = dict(dictionary.domain_words())
    assert len(words) > 1500
    assert "谷物" in dictionary.code_name_words()
    assert "纠正措施" in dictionary.clause_title_words()
    assert len(dictionary.fingerprint()) == 12
    # loading is cheap: a second pass over every entry (the words are already there)
    t = time.perf_counter()
    dictionary.load_domain_dictionary(jieba.dt)
    assert time.perf_counter() - t < 1.0


def test_short_names():
    names = dictionary.short_names("宁波恒达精密机械有限公司")
    assert names[0] == "恒达"
    assert {"宁波恒达", "恒达精密", "恒达精密机械"} <= set(names)
    assert "宁波恒达精密机械有限公司" not in names
    assert dictionary.short_names("浙江华锐电气设备股份有限公司")[:2] == ["华锐", "浙江华锐"]
    assert dictionary.short_names("恒信精工机械（苏州）有限公司")[0] == "恒信"
    assert dictionary.short_names("中山精工有限公司")[0] == "中山"   # a city name that is the trade name
    assert dictionary.short_names("上海市浦东新区金诚物流有限公司")[0] == "金诚"
    assert dictionary.short_names("") == []


def test_add_org_names_keeps_names_whole_and_phrases_inside_them(tmp_path):
    import jieba

    full = "宁波恒达精密机械制造有限公司"
    assert dictionary.add_org_names([full, "宁波恒达精密机械有限公司", "杭州金诚物流有限公司"]) > 0
    assert dictionary.add_org_names([full]) == 0          # idempotent
    assert jieba.lcut(full) == [full]
    assert jieba.lcut("宁波恒达精密机械有限公司") == ["宁波恒达精密机械有限公司"]
    assert jieba.lcut("恒达") == ["恒达"] and jieba.lcut("宁波恒达") == ["宁波恒达"]
    assert jieba.lcut("恒达精密机械") == ["恒达", "精密机械"]
    assert full in tokens(full, "index")
    ix = make_index(tmp_path, index_analyzer())
    for phrase in ("制造有限公司", "精密机械制造", "恒达精密", "宁波恒达", "恒达精密机械制造有限公司"):
        assert search_ids(ix, f'"{phrase}"') == {"0"}, phrase
    assert search_ids(ix, "恒达") == {"0"}
    assert search_ids(ix, full) == {"0"}


# -- Whoosh stores the analyzer in the index ------------------------------------------------------

def test_analyzer_pickles_and_index_reopens_in_a_fresh_process(tmp_path):
    for an in (index_analyzer(), query_analyzer(), JiebaTokenizer(gap=3, join_lines=False)):
        back = pickle.loads(pickle.dumps(an))
        assert back == an and list(back("机械加工", mode="query")) is not None
    make_index(tmp_path / "ix", index_analyzer(), stored=True).close()
    code = (
        "import sys\n"
        "from whoosh import index\n"
        "from whoosh.qparser import QueryParser\n"
        f"ix = index.open_dir({str(tmp_path / 'ix')!r})\n"
        "assert type(ix.schema['body'].analyzer).__name__ == 'JiebaTokenizer'\n"
        "with ix.searcher() as s:\n"
        "    for q in ['\"制造有限公司\"', '\"數控機床零部件\"', '纠正措施']:\n"
        "        hits = s.search(QueryParser('body', ix.schema).parse(q), limit=None)\n"
        "        print(q, sorted(int(h['id']) for h in hits))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=str(tmp_path),
                         timeout=60)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].endswith("[0]")
    assert lines[1].endswith("[0, 26]")
    assert lines[2].endswith(str(sorted(i for i, d in enumerate(DOCS) if "纠正措施" in d)))


# -- speed (printed, not asserted) ------------------------------------------------------------------

def sample_text(chars: int, seed: int = 0) -> list[str]:
    """Pages of ~2,000 characters shuffled from the documents, wrapped at 40 like a text layer."""
    rng = random.Random(seed)
    pages, size = [], 0
    while size < chars:
        body = "".join(rng.sample(DOCS, len(DOCS)))[:2000]
        page = "\n".join(body[i:i + 40] for i in range(0, len(body), 40))
        pages.append(page)
        size += len(page)
    return pages


def speed(chars: int) -> dict[str, float]:
    import jieba

    analysis.ensure_jieba()
    pages = sample_text(chars)
    n = sum(map(len, pages))
    an = index_analyzer()
    out = {}
    t = time.perf_counter()
    for page in pages:
        for _ in an(page, positions=True, chars=True, mode="index"):
            pass
    out["analyzer, index mode"] = n / (time.perf_counter() - t)
    t = time.perf_counter()
    for page in pages:
        for _ in an(page, positions=True, chars=True, mode="query"):
            pass
    out["analyzer, query mode"] = n / (time.perf_counter() - t)
    t = time.perf_counter()
    for page in pages:
        list(jieba.cut_for_search(page))
    out["jieba.cut_for_search"] = n / (time.perf_counter() - t)
    return out


if __name__ == "__main__":
    for name, value in speed(1_000_000).items():
        print(f"{name}: {value:,.0f} chars/s on ~1 MB")
